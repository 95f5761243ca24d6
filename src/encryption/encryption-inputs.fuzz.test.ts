// Property-based fuzzing of what the encryption engine reads from outside (issue 11): EncryptionConfiguration files,
// and stored values - the KMS v2 EncryptedObject decoder and every provider's fromStorage, reached through one
// engine. Property: a result, or one of Coffer's precise errors (EncryptionConfigurationError, InvalidError,
// DecryptError) - never a TypeError or RangeError, never more than 1 s of CPU.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { stringify as toYaml } from 'yaml';
import { CofferError, InvalidError } from '../lib/errors.js';
import { fuzzOptions } from '../../test/support/fuzz-options.js';
import { EncryptionConfigurationError, loadEncryptionConfiguration } from './encryption-config.js';
import { EncryptionEngine } from './encryption-engine.js';
import { decodeEncryptedObject, encodeEncryptedObject, validateEncryptedObject } from '../kms/kms-v2-encrypted-object.js';
import { contextForKey } from './transformer.js';
import { FakeKmsV2Service } from './testing/fake-kms.js';

const HANG_CPU_MS = 1000;
const opts = fuzzOptions();

function withinCpu<T>(what: string, f: () => T): T {
  const cpu = process.cpuUsage();
  try {
    return f();
  } finally {
    const used = process.cpuUsage(cpu);
    assert.ok((used.user + used.system) / 1000 < HANG_CPU_MS, `${what} took ${(used.user + used.system) / 1000} ms of CPU`);
  }
}

const fixture = (name: string) => readFileSync(new URL(`../../test/fixtures/encryption-configs/valid/${name}`, import.meta.url), 'utf8');
const VALID = [fixture('all-providers.yaml'), fixture('legacy.yaml'), fixture('aescbc.json')];

const text = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.constantFrom('', '*', '*.*', '*.apps', 'secrets', 'unix:///x.sock', '0s', '-1s', '3m', 'c2VjcmV0IGlzIHNlY3VyZQ=='));
const anything = fc.oneof(text, fc.jsonValue({ maxDepth: 3 }));
const key = fc.record({ name: fc.oneof(text, anything), secret: fc.oneof(text, fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b).toString('base64')), anything) }, { requiredKeys: [] });
const keys = fc.record({ keys: fc.oneof(fc.array(key, { maxLength: 3 }), anything) }, { requiredKeys: [] });
const kms = fc.record({ apiVersion: fc.oneof(fc.constantFrom('v1', 'v2'), anything), name: fc.oneof(text, anything), endpoint: fc.oneof(text, anything), timeout: fc.oneof(text, anything), cachesize: anything }, { requiredKeys: [] });
const provider = fc.oneof(
  fc.record({ aescbc: keys }),
  fc.record({ aesgcm: keys }),
  fc.record({ secretbox: keys }),
  fc.record({ identity: fc.oneof(fc.constant({}), anything) }),
  fc.record({ kms }),
  fc.dictionary(text, anything, { maxKeys: 2 }),
);
const config = fc.record(
  {
    apiVersion: fc.oneof(fc.constantFrom('apiserver.config.k8s.io/v1', 'apiserver.k8s.io/v1'), anything),
    kind: fc.oneof(fc.constantFrom('EncryptionConfiguration', 'EncryptionConfig'), anything),
    resources: fc.oneof(fc.array(fc.record({ resources: fc.oneof(fc.array(text, { maxLength: 3 }), anything), providers: fc.oneof(fc.array(provider, { maxLength: 3 }), anything) }, { requiredKeys: [] }), { maxLength: 3 }), anything),
  },
  { requiredKeys: [] },
);
/** One of the valid fixtures with a slice replaced by random text. */
const mutatedFixture = fc.tuple(fc.constantFrom(...VALID), fc.nat(), fc.nat({ max: 20 }), text).map(([t, at, len, insert]) => {
  const i = at % (t.length + 1);
  return t.slice(0, i) + insert + t.slice(i + len);
});

void describe('EncryptionConfiguration under fuzzing', () => {
  void it('loads or answers EncryptionConfigurationError, for structured, mutated and random input', () => {
    const input = fc.oneof(config.map((c) => toYaml(c)), config.map((c) => JSON.stringify(c)), mutatedFixture, fc.uint8Array({ maxLength: 300 }));
    fc.assert(
      fc.property(input, (i) => {
        try {
          withinCpu('loadEncryptionConfiguration', () => loadEncryptionConfiguration(i, { reload: true }));
        } catch (e) {
          assert.ok(e instanceof EncryptionConfigurationError, `not a precise error: ${String(e)} for ${String(i).slice(0, 300)}`);
        }
      }),
      opts,
    );
  });
});

void describe('stored values under fuzzing', () => {
  let engine: EncryptionEngine;
  before(async () => {
    const kmsService = new FakeKmsV2Service();
    engine = await EncryptionEngine.create(loadEncryptionConfiguration(VALID[0]!), { connectKmsV2: () => kmsService });
  });
  after(() => engine.close());

  const validObject = fc.record({
    encryptedData: fc.uint8Array({ minLength: 1, maxLength: 64 }),
    keyId: fc.string({ minLength: 1, maxLength: 20 }),
    encryptedDekSource: fc.uint8Array({ minLength: 1, maxLength: 40 }),
    annotations: fc.dictionary(fc.constantFrom('a.io', 'b.example.com', 'x'), fc.uint8Array({ maxLength: 8 }), { maxKeys: 2 }),
    encryptedDekSourceType: fc.constantFrom(0, 1, 2),
  });
  const flipped = fc.tuple(validObject, fc.nat(), fc.integer({ min: 0, max: 255 })).map(([o, at, byte]) => {
    const b = encodeEncryptedObject(o);
    b[at % b.length] = byte;
    return b;
  });
  const bytes = fc.oneof(fc.uint8Array({ maxLength: 200 }), flipped, validObject.map((o) => encodeEncryptedObject(o)));

  void it('decodes an EncryptedObject or throws InvalidError', () => {
    fc.assert(
      fc.property(bytes, (b) => {
        try {
          withinCpu('decodeEncryptedObject', () => validateEncryptedObject(decodeEncryptedObject(b)));
        } catch (e) {
          assert.ok(e instanceof InvalidError, `not a precise error: ${String(e)}`);
        }
      }),
      opts,
    );
  });

  void it('reads any stored value behind any provider prefix as data or a precise error', async () => {
    const prefix = fc.constantFrom('', 'k8s:enc:kms:v2:coffer:', 'k8s:enc:kms:v1:legacy:', 'k8s:enc:aesgcm:v1:gcm1:', 'k8s:enc:aescbc:v1:cbc1:', 'k8s:enc:secretbox:v1:box1:', 'k8s:enc:', 'k8s\0');
    const resource = fc.constantFrom({ group: '', resource: 'secrets' }, { group: 'apps', resource: 'deployments' }, { group: 'x', resource: 'y' });
    await fc.assert(
      fc.asyncProperty(prefix, bytes, resource, async (p, b, gr) => {
        const value = Buffer.concat([Buffer.from(p, 'latin1'), b]);
        const cpu = process.cpuUsage();
        try {
          await engine.transformerFor(gr).fromStorage(value, contextForKey('/registry/secrets/default/fuzz'));
        } catch (e) {
          assert.ok(e instanceof CofferError, `not a precise error: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
        }
        const used = process.cpuUsage(cpu);
        assert.ok((used.user + used.system) / 1000 < HANG_CPU_MS);
      }),
      opts,
    );
  });
});
