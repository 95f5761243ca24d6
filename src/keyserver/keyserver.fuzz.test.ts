// Property-based fuzzing of what the key server takes from outside: Vault request bodies (JSON, form, junk) on every
// kind of endpoint, with or without response wrapping, and HCL/JSON policy documents. Property: a precise Vault answer
// (2xx, or 4xx with an `errors` list) - never a 5xx, a crash, or an answer slower than 1 s - and the server still serves.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { fuzzOptions } from '../../test/support/fuzz-options.js';
import { parsePolicy } from './acl-policy.js';
import { startTestKeyserver, type TestKeyserver } from './testing/test-keyserver.js';

const LIVENESS_MS = 1000;

/** JSON values shaped like Vault bodies: known field names with any type, nesting, huge and odd numbers. */
const FIELD_NAMES = [
  'plaintext', 'ciphertext', 'input', 'hmac', 'batch_input', 'context', 'key_version', 'type', 'data', 'options', 'cas',
  'policy', 'rules', 'policies', 'ttl', 'period', 'num_uses', 'bound_cidrs', 'token', 'accessor', 'increment', 'metadata',
  'role_id', 'secret_id', 'token_policies', 'min_decryption_version', 'exportable', 'versions', 'reference', 'algorithm',
];
const jsonValue = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.string(),
    fc.base64String(),
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    fc.constantFrom('1e400', '-0', '99999999999999999999', '1h', '-5s', 'vault:v1:AAAA', 'vault:v999999999999:x', '10.0.0.0/8'),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.constantFrom(...FIELD_NAMES, '__proto__', 'constructor'), tie('value'), { maxKeys: 5 }),
  ),
})).value;
const body = fc.oneof(
  fc.dictionary(fc.constantFrom(...FIELD_NAMES), jsonValue, { maxKeys: 6 }).map((o) => JSON.stringify(o)),
  jsonValue.map((v) => JSON.stringify(v)),
  fc.string({ maxLength: 200 }),
  fc.constantFrom('{', '{"a":', '[]', 'null', '{"data":{"a":1}}'.repeat(3), `${'['.repeat(5000)}${']'.repeat(5000)}`, '{"plaintext":"\u0000"}'),
);
const PATHS = [
  'transit/encrypt/k', 'transit/decrypt/k', 'transit/rewrap/k', 'transit/hmac/k', 'transit/verify/k', 'transit/sign/k',
  'transit/keys/k2', 'transit/keys/k/config', 'transit/datakey/plaintext/k', 'secret/data/app', 'secret/metadata/app',
  'secret/delete/app', 'auth/token/create', 'auth/token/lookup', 'auth/token/renew-self', 'auth/approle/role/r',
  'auth/approle/role/r/secret-id', 'auth/approle/login', 'sys/policies/acl/fz', 'sys/policy/fz', 'sys/capabilities-self',
  'sys/wrapping/wrap', 'sys/wrapping/unwrap', 'sys/wrapping/lookup', 'sys/wrapping/rewrap', 'cubbyhole/x',
];

void describe('key server fuzz', () => {
  let ks: TestKeyserver;
  before(async () => {
    ks = await startTestKeyserver();
    await ks.call('POST', 'transit/keys/k', { body: {} });
    await ks.call('POST', 'auth/approle/role/r', { body: { token_policies: 'default' } });
  });
  after(() => ks.dispose());

  void it('answers every request body with a precise Vault answer within 1 s', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('POST', 'PUT', 'PATCH', 'GET', 'DELETE', 'LIST'),
        fc.constantFrom(...PATHS),
        body,
        fc.constantFrom('application/json', 'application/x-www-form-urlencoded', 'application/merge-patch+json'),
        fc.option(fc.constantFrom('60', '1m', '0', 'x', '-1', '99999999999'), { nil: undefined }),
        async (method, path, text, contentType, wrapTtl) => {
          const started = performance.now();
          const hasBody = !['GET', 'DELETE', 'LIST'].includes(method);
          const res = await ks.call(method, path, {
            ...(hasBody ? { body: text } : {}),
            headers: { 'Content-Type': contentType, ...(wrapTtl ? { 'X-Vault-Wrap-TTL': wrapTtl } : {}) },
          });
          const ms = performance.now() - started;
          assert.ok(res.status < 500, `${method} ${path} answered ${res.status}: ${res.text.slice(0, 300)}`);
          assert.ok(ms < LIVENESS_MS, `${method} ${path} took ${Math.round(ms)} ms`);
          if (res.status >= 400 && res.status !== 404 && res.status !== 405) {
            assert.ok(Array.isArray(res.body?.errors), `${method} ${path} ${res.status} without an errors list: ${res.text.slice(0, 200)}`);
          }
        },
      ),
      fuzzOptions(300),
    );
    assert.equal((await ks.call('GET', 'sys/health', { token: null })).status, 200);
  });

  void it('parses any policy document or refuses it with a "failed to parse policy" error, within 1 s', () => {
    const word = fc.constantFrom('path', 'capabilities', 'policy', 'name', '"secret/*"', '"+"', '{', '}', '[', ']', '=', ',', '"read"', '"deny"', '#', '//', '/*', '*/', '\n', '"', '\\', 'true', '1');
    const hcl = fc.oneof(fc.array(word, { maxLength: 40 }).map((ws) => ws.join(' ')), fc.string({ maxLength: 300 }), jsonValue.map((v) => JSON.stringify(v)));
    fc.assert(
      fc.property(hcl, (text) => {
        const started = performance.now();
        try {
          parsePolicy('fz', text);
        } catch (e) {
          assert.match((e as Error).message, /^failed to parse policy: /, `unexpected error for ${JSON.stringify(text.slice(0, 100))}`);
        }
        assert.ok(performance.now() - started < LIVENESS_MS);
      }),
      fuzzOptions(1000),
    );
  });
});
