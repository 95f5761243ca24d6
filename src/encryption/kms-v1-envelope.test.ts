import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { KmsV1Service } from '../kms/kms-service.js';
import { FakeClock } from '../lib/clock.js';
import { DecryptError } from '../lib/errors.js';
import { gcmOpen } from './aes-gcm.js';
import { KmsV1EnvelopeTransformer, kmsV1Prefix } from './kms-v1-envelope.js';
import { FakeKmsV1Service } from './testing/fake-kms.js';
import { contextForKey } from './transformer.js';

interface KmsV1Vector {
  name: string;
  dek: string;
  encryptedDEK: string;
  aad?: string;
  value: string;
  plaintext: string;
}
const vectors = JSON.parse(
  readFileSync(new URL('../../test/fixtures/encryption-vectors.json', import.meta.url), 'utf8'),
) as { derived: { kmsv1: KmsV1Vector; kmsv1_legacy_cbc: KmsV1Vector } };

const KEY = '/registry/secrets/default/secret1';
const ctx = contextForKey(KEY);

function afterPrefix(v: KmsV1Vector): Buffer {
  const value = Buffer.from(v.value, 'hex');
  const prefix = Buffer.from(kmsV1Prefix(v.name));
  assert.deepEqual(value.subarray(0, prefix.length), prefix);
  return value.subarray(prefix.length);
}

const isZero = (b: Uint8Array): boolean => b.every((x) => x === 0);

void describe('KMS v1 envelope: vectors (k8s.io/apiserver pkg/storage/value/encrypt/envelope/envelope.go layout; derived vectors)', () => {
  void it('builds the provider prefix', () => {
    assert.equal(kmsV1Prefix('myplugin'), 'k8s:enc:kms:v1:myplugin:');
  });

  void it('decrypts the GCM vector, fresh', async () => {
    const v = vectors.derived.kmsv1;
    const t = new KmsV1EnvelopeTransformer(new FakeKmsV1Service(), { cacheSize: 10 });
    const out = await t.fromStorage(afterPrefix(v), contextForKey(v.aad!));
    assert.equal(Buffer.from(out.data).toString(), v.plaintext);
    assert.equal(out.stale, false);
  });

  void it('decrypts the legacy CBC vector and reports it stale', async () => {
    const v = vectors.derived.kmsv1_legacy_cbc;
    const fake = new FakeKmsV1Service();
    const t = new KmsV1EnvelopeTransformer(fake, { cacheSize: 10 });
    // CBC has no AAD: any storage key reads it.
    const out = await t.fromStorage(afterPrefix(v), contextForKey('/registry/secrets/other/place'));
    assert.equal(Buffer.from(out.data).toString(), v.plaintext);
    assert.equal(out.stale, true);
    assert.equal(Buffer.from(fake.decryptResults[0]!).toString('hex'), v.dek);
  });
});

void describe('KMS v1 envelope: writes', () => {
  void it('writes uint16 length ‖ EDEK ‖ nonce ‖ GCM(DEK, AAD = key) with a fresh DEK per write', async () => {
    const fake = new FakeKmsV1Service();
    const t = new KmsV1EnvelopeTransformer(fake, { cacheSize: 10 });
    const plain = Buffer.from('pandas are the best');
    const a = Buffer.from(await t.toStorage(plain, ctx));
    const b = Buffer.from(await t.toStorage(plain, ctx));
    assert.equal(fake.calls.encrypt, 2);
    const dek = Buffer.from(fake.encryptPlaintexts[0]!); // still cached, so not wiped
    assert.equal(dek.length, 32);
    assert.notDeepEqual(dek, Buffer.from(fake.encryptPlaintexts[1]!));
    const edek = Buffer.from(dek.toString('base64'));
    assert.equal(a.readUInt16BE(0), edek.length);
    assert.deepEqual(a.subarray(2, 2 + edek.length), edek);
    const inner = a.subarray(2 + edek.length);
    assert.equal(inner.length, 12 + plain.length + 16);
    // Independently decrypted with the DEK the plugin was given.
    assert.deepEqual(gcmOpen(dek, inner.subarray(0, 12), inner.subarray(12), Buffer.from(KEY)), plain);
    assert.notDeepEqual(a, b);
  });

  void it('round-trips through another instance (Decrypt), fresh', async () => {
    const fake = new FakeKmsV1Service();
    const stored = await new KmsV1EnvelopeTransformer(fake, { cacheSize: 10 }).toStorage(Buffer.from('hello'), ctx);
    const reader = new KmsV1EnvelopeTransformer(fake, { cacheSize: 10 });
    const out = await reader.fromStorage(stored, ctx);
    assert.equal(Buffer.from(out.data).toString(), 'hello');
    assert.equal(out.stale, false);
    assert.equal(fake.calls.decrypt, 1);
  });

  void it('refuses an EDEK longer than 65535 bytes', async () => {
    const huge: KmsV1Service = {
      encrypt: async () => Buffer.alloc(70_000, 0x41),
      decrypt: async () => Buffer.alloc(32),
      close: () => {},
    };
    const t = new KmsV1EnvelopeTransformer(huge, { cacheSize: 10 });
    await assert.rejects(t.toStorage(Buffer.from('x'), ctx), /pending child length 70000 exceeds 2-byte length prefix/);
  });

  void it('passes the plugin Encrypt error through unwrapped', async () => {
    const fake = new FakeKmsV1Service();
    const boom = new Error('rpc error: code = Unavailable');
    fake.encryptError = boom;
    const t = new KmsV1EnvelopeTransformer(fake, { cacheSize: 10 });
    await assert.rejects(t.toStorage(Buffer.from('x'), ctx), (e) => e === boom);
  });
});

void describe('KMS v1 envelope: reads that must fail', () => {
  void it('refuses a value without a whole length prefix and EDEK', async () => {
    const t = new KmsV1EnvelopeTransformer(new FakeKmsV1Service(), { cacheSize: 10 });
    const message = 'invalid data encountered by envelope transformer: failed to read uint16 length prefixed data';
    for (const bad of [Buffer.of(), Buffer.of(0), Buffer.of(0, 5, 1, 2, 3, 4)]) {
      await assert.rejects(t.fromStorage(bad, ctx), (e) => e instanceof DecryptError && e.message === message);
    }
  });

  void it('refuses any one flipped byte', async () => {
    const fake = new FakeKmsV1Service();
    // "tamper me" gives a 37-byte inner value: never a whole number of CBC blocks, so the unauthenticated CBC
    // fallback cannot accept it by luck; every flip must be caught by GCM or by the plugin.
    const stored = Buffer.from(await new KmsV1EnvelopeTransformer(fake, { cacheSize: 10 }).toStorage(Buffer.from('tamper me'), ctx));
    for (let i = 0; i < stored.length; i++) {
      const t = new KmsV1EnvelopeTransformer(fake, { cacheSize: 10 });
      const tampered = Buffer.from(stored);
      tampered[i] = tampered[i]! ^ 0x01;
      await assert.rejects(t.fromStorage(tampered, ctx), Error, `byte ${i}`);
    }
  });

  void it('refuses a value moved to another storage key', async () => {
    const t = new KmsV1EnvelopeTransformer(new FakeKmsV1Service(), { cacheSize: 10 });
    const stored = await t.toStorage(Buffer.from('secret'), ctx);
    await assert.rejects(t.fromStorage(stored, contextForKey('/registry/secrets/default/other')), /message authentication failed/);
  });

  void it('refuses a DEK of an unusable size from the plugin', async () => {
    const fake = new FakeKmsV1Service();
    const edek = Buffer.from(Buffer.alloc(5).toString('base64'));
    const value = Buffer.concat([Buffer.of(0, edek.length), edek, Buffer.alloc(40)]);
    const t = new KmsV1EnvelopeTransformer(fake, { cacheSize: 10 });
    await assert.rejects(t.fromStorage(value, ctx), /the KMS plugin returned an unusable DEK: AES key must be 16, 24 or 32 bytes, got 5/);
    assert.ok(isZero(fake.decryptResults[0]!));
  });

  void it('passes the plugin Decrypt error through unwrapped', async () => {
    const fake = new FakeKmsV1Service();
    const boom = new Error('rpc error: code = PermissionDenied');
    fake.decryptError = boom;
    const t = new KmsV1EnvelopeTransformer(fake, { cacheSize: 10 });
    await assert.rejects(t.fromStorage(afterPrefix(vectors.derived.kmsv1), ctx), (e) => e === boom);
  });
});

void describe('KMS v1 envelope: DEK cache', () => {
  void it('calls Decrypt once for repeated reads, and never for its own writes', async () => {
    const fake = new FakeKmsV1Service();
    const t = new KmsV1EnvelopeTransformer(fake, { cacheSize: 10 });
    for (let i = 0; i < 3; i++) await t.fromStorage(afterPrefix(vectors.derived.kmsv1), ctx);
    assert.equal(fake.calls.decrypt, 1);
    const stored = await t.toStorage(Buffer.from('mine'), ctx);
    await t.fromStorage(stored, ctx);
    assert.equal(fake.calls.decrypt, 1);
  });

  void it('with cacheSize -1 every read calls Decrypt, and every DEK is wiped after use', async () => {
    const fake = new FakeKmsV1Service();
    const t = new KmsV1EnvelopeTransformer(fake, { cacheSize: -1 });
    for (let i = 0; i < 3; i++) {
      const out = await t.fromStorage(afterPrefix(vectors.derived.kmsv1), ctx);
      assert.equal(Buffer.from(out.data).toString(), 'pandas are the best');
    }
    assert.equal(fake.calls.decrypt, 3);
    assert.ok(fake.decryptResults.every(isZero));
    const stored = await t.toStorage(Buffer.from('mine'), ctx);
    assert.ok(isZero(fake.encryptPlaintexts[0]!));
    await t.fromStorage(stored, ctx);
    assert.equal(fake.calls.decrypt, 4);
  });

  void it('zero-fills a DEK when the LRU evicts it', async () => {
    const fake = new FakeKmsV1Service();
    const t = new KmsV1EnvelopeTransformer(fake, { cacheSize: 1 });
    await t.fromStorage(afterPrefix(vectors.derived.kmsv1), ctx);
    const readDek = fake.decryptResults[0]!;
    assert.equal(Buffer.from(readDek).toString('hex'), vectors.derived.kmsv1.dek);
    await t.toStorage(Buffer.from('one'), ctx); // pushes the read DEK out
    assert.ok(isZero(readDek));
    const writeDek = fake.encryptPlaintexts[0]!;
    assert.ok(!isZero(writeDek));
    await t.toStorage(Buffer.from('two'), ctx);
    assert.ok(isZero(writeDek));
  });

  void it('close() zero-fills every cached DEK', async () => {
    const fake = new FakeKmsV1Service();
    const t = new KmsV1EnvelopeTransformer(fake, { cacheSize: 10 });
    await t.toStorage(Buffer.from('one'), ctx);
    await t.fromStorage(afterPrefix(vectors.derived.kmsv1), ctx);
    t.close();
    assert.ok(isZero(fake.encryptPlaintexts[0]!));
    assert.ok(isZero(fake.decryptResults[0]!));
  });
});

void describe('KMS v1 health check (k8s.io/apiserver pkg/server/options/encryptionconfig/config.go)', () => {
  void it('encrypts "ping" and decrypts it, reusing an OK result for 20 s', async () => {
    const clock = new FakeClock();
    const fake = new FakeKmsV1Service();
    const t = new KmsV1EnvelopeTransformer(fake, { cacheSize: 10, name: 'p', clock });
    await t.healthCheck();
    assert.equal(Buffer.from(fake.encryptPlaintexts[0]!).toString(), 'ping');
    assert.deepEqual(fake.calls, { encrypt: 1, decrypt: 1 });
    await clock.advance(19_999);
    await t.healthCheck();
    assert.deepEqual(fake.calls, { encrypt: 1, decrypt: 1 });
    await clock.advance(1);
    await t.healthCheck();
    assert.deepEqual(fake.calls, { encrypt: 2, decrypt: 2 });
  });

  void it('reports which section failed, reusing a failure for 3 s', async () => {
    const clock = new FakeClock();
    const fake = new FakeKmsV1Service();
    const t = new KmsV1EnvelopeTransformer(fake, { cacheSize: 10, name: 'p', clock });
    fake.encryptError = new Error('down');
    const encryptFailed = /: failed to perform encrypt section of the healthz check for KMS Provider p, error: down$/;
    await assert.rejects(t.healthCheck(), encryptFailed);
    fake.encryptError = undefined;
    await clock.advance(2_999);
    await assert.rejects(t.healthCheck(), encryptFailed);
    assert.equal(fake.calls.encrypt, 1);
    fake.decryptError = new Error('no key');
    await clock.advance(1);
    await assert.rejects(t.healthCheck(), /: failed to perform decrypt section of the healthz check for KMS Provider p, error: no key$/);
    fake.decryptError = undefined;
    await clock.advance(3_000);
    await t.healthCheck();
  });
});
