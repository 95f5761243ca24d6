// Vault API items of issue 14 against a real `coffer keyserver` process, in Vault's wire format as the Go client,
// hvac and node-vault send it (plain fetch: no Vault client library is installed): sys/init, sys/auth,
// auth/token/accessors, the legacy sys/policy API, response wrapping, and Transit's read_key, hmac, verify, sign and
// export answers.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Dict, VaultReply } from '../src/keyserver/testing/test-keyserver.js';
import { startCoffer, type CofferChild } from './support/processes.js';

type Reply = VaultReply;
/** Status and body only, for comparing whole answers. */
const sb = (r: Reply) => ({ status: r.status, body: r.body });

void describe('coffer keyserver: Vault API compatibility (issue 14)', () => {
  let dir: string;
  let ks: CofferChild;
  let url: string;
  let root: string;
  const call = async (method: string, path: string, o: { token?: string | null; body?: unknown; headers?: Record<string, string> } = {}): Promise<Reply> => {
    const token = o.token === undefined ? root : o.token;
    const res = await fetch(`${url}/v1/${path}`, {
      method,
      headers: { ...(token ? { 'X-Vault-Token': token } : {}), ...(o.body ? { 'Content-Type': 'application/json' } : {}), ...o.headers },
      ...(o.body ? { body: JSON.stringify(o.body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : {}) as VaultReply['body'], text };
  };
  const b64 = (s: string) => Buffer.from(s).toString('base64');

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'coffer-ks-api-'));
    const started = await startCoffer(
      ['keyserver', '--data-dir', join(dir, 'data'), '--root-key-file', join(dir, 'root.key'), '--init', '--root-token-file', join(dir, 'root.token'), '--listen', '127.0.0.1:0'],
      /keyserver listening on (\S+)/,
      'coffer keyserver',
    );
    ks = started.child;
    url = started.match[1]!;
    root = (await readFile(join(dir, 'root.token'), 'utf8')).trim();
  });
  after(async () => {
    await ks?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  void it('GET sys/init answers without a token; GET sys/auth lists the auth methods', async () => {
    assert.deepEqual(sb(await call('GET', 'sys/init', { token: null })), { status: 200, body: { initialized: true } });
    const auth = await call('GET', 'sys/auth');
    assert.equal(auth.status, 200);
    assert.deepEqual(Object.keys(auth.body.data as object).sort(), ['approle/', 'token/']);
    assert.equal((auth.body['token/'] as Dict).type, 'token');
    assert.equal((auth.body.data['approle/'] as Dict).type, 'approle');
    assert.equal((await call('GET', 'sys/auth', { token: null })).status, 403);
  });

  void it('LIST auth/token/accessors needs sudo and lists live tokens', async () => {
    const made = await call('POST', 'auth/token/create', { body: { policies: ['default'] } });
    const accessor = made.body.auth.accessor;
    const list = await call('LIST', 'auth/token/accessors');
    assert.equal(list.status, 200);
    assert.ok((list.body.data.keys as string[]).includes(accessor));
    assert.equal((await call('LIST', 'auth/token/accessors', { token: made.body.auth.client_token })).status, 403);
    await call('POST', 'auth/token/revoke-accessor', { body: { accessor } });
    assert.ok(!((await call('GET', 'auth/token/accessors?list=true')).body.data.keys as string[]).includes(accessor));
  });

  void it('serves the legacy sys/policy API as node-vault policy helpers use it', async () => {
    const rules = 'path "secret/data/app" { capabilities = ["read"] }';
    assert.equal((await call('PUT', 'sys/policy/app-reader', { body: { rules } })).status, 204);
    const read = await call('GET', 'sys/policy/app-reader');
    assert.equal(read.status, 200);
    assert.equal(read.body.rules, rules);
    assert.equal(read.body.data.name, 'app-reader');
    const all = await call('GET', 'sys/policy');
    assert.ok((all.body.policies as string[]).includes('app-reader'));
    assert.deepEqual(all.body.data.keys, all.body.policies);
    assert.equal((await call('DELETE', 'sys/policy/app-reader')).status, 204);
    assert.equal((await call('GET', 'sys/policy/app-reader')).status, 404);
    assert.equal((await call('PUT', 'sys/policy/root', { body: { rules } })).status, 400);
  });

  void it('wraps an AppRole secret_id so the intermediary never sees it', async () => {
    assert.equal((await call('POST', 'auth/approle/role/eso', { body: { token_policies: 'default' } })).status, 204);
    const wrapped = await call('POST', 'auth/approle/role/eso/secret-id', { headers: { 'X-Vault-Wrap-TTL': '2m' } });
    assert.equal(wrapped.status, 200);
    assert.equal(wrapped.body.data, null);
    const info = wrapped.body.wrap_info as Dict;
    assert.equal(info.ttl, 120);
    const open = await call('PUT', 'sys/wrapping/unwrap', { token: info.token as string });
    assert.equal(open.status, 200);
    const roleId = (await call('GET', 'auth/approle/role/eso/role-id')).body.data.role_id as string;
    const login = await call('POST', 'auth/approle/login', { token: null, body: { role_id: roleId, secret_id: open.body.data.secret_id } });
    assert.equal(login.status, 200);
  });

  void it('Transit: read_key hides versions below min_decryption_version', async () => {
    await call('POST', 'transit/keys/kek', { body: {} });
    await call('POST', 'transit/keys/kek/rotate');
    await call('POST', 'transit/keys/kek/rotate');
    assert.deepEqual(Object.keys((await call('GET', 'transit/keys/kek')).body.data.keys as object), ['1', '2', '3']);
    assert.equal((await call('POST', 'transit/keys/kek/config', { body: { min_decryption_version: 2 } })).status, 200);
    const key = (await call('GET', 'transit/keys/kek')).body.data;
    assert.deepEqual(Object.keys(key.keys as object), ['2', '3']);
    assert.equal(key.min_decryption_version, 2);
    assert.equal(key.latest_version, 3);
  });

  void it('Transit: hmac and verify/hmac, single and batch, with the algorithm in the body or the URL', async () => {
    await call('POST', 'transit/keys/mac', { body: {} });
    const mac = await call('POST', 'transit/hmac/mac', { body: { input: b64('hello') } });
    assert.equal(mac.status, 200);
    assert.match(mac.body.data.hmac as string, /^vault:v1:[A-Za-z0-9+/]{43}=$/);
    const ok = await call('POST', 'transit/verify/mac', { body: { input: b64('hello'), hmac: mac.body.data.hmac } });
    assert.deepEqual(ok.body.data, { valid: true });
    assert.deepEqual((await call('POST', 'transit/verify/mac', { body: { input: b64('hellO'), hmac: mac.body.data.hmac } })).body.data, { valid: false });
    const sha512 = await call('POST', 'transit/hmac/mac/sha2-512', { body: { input: b64('hello') } });
    assert.match(sha512.body.data.hmac as string, /^vault:v1:[A-Za-z0-9+/]{86}==$/);
    assert.deepEqual((await call('POST', 'transit/verify/mac', { body: { input: b64('hello'), hmac: sha512.body.data.hmac, hash_algorithm: 'sha2-512' } })).body.data, { valid: true });
    const batch = await call('POST', 'transit/hmac/mac', { body: { batch_input: [{ input: b64('a'), reference: 'r1' }, { input: '***', reference: 'r2' }] } });
    assert.equal(batch.status, 400);
    const results = batch.body.data.batch_results as Dict[];
    assert.equal(results[0]!.reference, 'r1');
    assert.match(results[0]!.hmac as string, /^vault:v1:/);
    assert.equal(results[1]!.error, 'unable to decode input as base64: illegal base64 data at input byte 0');
    for (const [body, error] of [
      [{}, 'missing input for HMAC'],
      [{ input: b64('x'), algorithm: 'md5' }, 'unsupported algorithm "md5"'],
    ] as const) {
      assert.deepEqual(sb(await call('POST', 'transit/hmac/mac', { body })), { status: 400, body: { errors: [error] } });
    }
    assert.deepEqual((await call('POST', 'transit/verify/mac', { body: { input: b64('x'), hmac: 'nope' } })).body.errors, ['invalid HMAC to verify: no prefix']);
    assert.deepEqual((await call('POST', 'transit/verify/mac', { body: { input: b64('x'), hmac: 'vault:v9:AAAA' } })).body.errors, ['invalid HMAC: version is too new']);
  });

  void it("Transit: sign, verify and export answer with Vault's 400 texts for keys that cannot", async () => {
    await call('POST', 'transit/keys/aes', { body: {} });
    const cases: [string, string, unknown, number, string][] = [
      ['POST', 'transit/sign/aes', { input: b64('x') }, 400, 'key type aes256-gcm96 does not support signing'],
      ['POST', 'transit/sign/aes/sha2-256', { input: b64('x') }, 400, 'key type aes256-gcm96 does not support signing'],
      ['POST', 'transit/verify/aes', { input: b64('x'), signature: 'vault:v1:AAAA' }, 400, 'key type aes256-gcm96 does not support verification'],
      ['POST', 'transit/sign/none', { input: b64('x') }, 400, 'signing key not found'],
      ['GET', 'transit/export/encryption-key/aes', undefined, 400, 'private key material is not exportable'],
      ['GET', 'transit/export/signing-key/aes', undefined, 400, 'private key material is not exportable'],
      ['GET', 'transit/export/bogus/aes', undefined, 400, 'invalid export type: bogus'],
    ];
    for (const [method, path, body, status, error] of cases) {
      assert.deepEqual(sb(await call(method, path, { body })), { status, body: { errors: [error] } }, `${method} ${path}`);
    }
    assert.equal((await call('GET', 'transit/export/encryption-key/none')).status, 404);

    await call('POST', 'transit/keys/movable', { body: { exportable: true } });
    assert.deepEqual(sb(await call('GET', 'transit/export/signing-key/movable')), { status: 400, body: { errors: ['signing not supported for the key'] } });
    const exported = await call('GET', 'transit/export/encryption-key/movable/latest');
    assert.equal(exported.status, 200);
    assert.equal(Buffer.from((exported.body.data.keys as Dict)['1'] as string, 'base64').length, 32);
    assert.equal(exported.body.data.type, 'aes256-gcm96');
  });
});
