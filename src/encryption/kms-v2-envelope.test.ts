import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { FakeClock } from '../lib/clock.js';
import { DecryptError, EncryptError } from '../lib/errors.js';
import { hkdfExpandSha256Key } from './aes-gcm-extended-nonce.js';
import { gcmOpen } from './aes-gcm.js';
import {
  AES_GCM_KEY,
  decodeEncryptedObject,
  encodeEncryptedObject,
  HKDF_SHA256_XNONCE_AES_GCM_SEED,
  type EncryptedObject,
} from '../kms/kms-v2-encrypted-object.js';
import { KmsV2EnvelopeTransformer, kmsV2Prefix, type KmsV2EnvelopeOptions } from './kms-v2-envelope.js';
import { fakeAnnotations, FakeKmsV2Service } from './testing/fake-kms.js';
import { runTransformerContract } from './transformer.contract.js';
import { contextForKey } from './transformer.js';

interface KmsV2Vector {
  name: string;
  keyID: string;
  aad: string;
  value: string;
  plaintext: string;
}
const vectors = JSON.parse(
  readFileSync(new URL('../../test/fixtures/encryption-vectors.json', import.meta.url), 'utf8'),
) as { derived: { kmsv2_hkdf: KmsV2Vector; kmsv2_aesgcmkey: KmsV2Vector } };

const MIN = 60_000;
const KEY = '/registry/secrets/default/secret1';
const ctx = contextForKey(KEY);
const isZero = (b: Uint8Array): boolean => b.every((x) => x === 0);
const text = (b: Uint8Array): string => Buffer.from(b).toString();

function afterPrefix(v: KmsV2Vector): Buffer {
  const value = Buffer.from(v.value, 'hex');
  const prefix = Buffer.from(kmsV2Prefix(v.name));
  assert.deepEqual(value.subarray(0, prefix.length), prefix);
  return value.subarray(prefix.length);
}
const hkdfValue = (): Buffer => afterPrefix(vectors.derived.kmsv2_hkdf);
const aesGcmKeyValue = (): Buffer => afterPrefix(vectors.derived.kmsv2_aesgcmkey);

async function primed(opts: Partial<KmsV2EnvelopeOptions> = {}, fake = new FakeKmsV2Service(), clock = new FakeClock()) {
  const t = new KmsV2EnvelopeTransformer(fake, { name: 'kms-provider', clock, ...opts });
  await t.prime();
  return { t, fake, clock };
}

function withMessage(cls: new (...args: never[]) => Error, message: string | RegExp): (e: unknown) => boolean {
  return (e) => e instanceof cls && (typeof message === 'string' ? e.message === message : message.test(e.message));
}

/** A well-formed stored object with the fake's annotations, to be broken one field at a time. */
function objectBytes(overrides: Partial<EncryptedObject>): Buffer {
  return encodeEncryptedObject({
    encryptedData: randomBytes(60),
    keyId: '1',
    encryptedDekSource: Buffer.from(randomBytes(32).toString('base64')),
    annotations: fakeAnnotations(),
    encryptedDekSourceType: HKDF_SHA256_XNONCE_AES_GCM_SEED,
    ...overrides,
  });
}

runTransformerContract('KMS v2 envelope', async () => (await primed()).t);
runTransformerContract('KMS v2 envelope, no DEK cache', async () => (await primed({ noDekCache: true })).t);

void describe('KMS v2 envelope: vectors (k8s.io/apiserver pkg/storage/value/encrypt/envelope/kmsv2/envelope.go layout; derived vectors)', () => {
  void it('builds the provider prefix', () => {
    assert.equal(kmsV2Prefix('kms-provider'), 'k8s:enc:kms:v2:kms-provider:');
  });

  void it('decrypts the type-1 (HKDF seed) vector through Decrypt, fresh', async () => {
    const { t, fake } = await primed();
    const out = await t.fromStorage(hkdfValue(), contextForKey(vectors.derived.kmsv2_hkdf.aad));
    assert.equal(text(out.data), vectors.derived.kmsv2_hkdf.plaintext);
    assert.equal(out.stale, false);
    assert.equal(fake.calls.decrypt, 1);
    assert.equal(fake.decryptRequests[0]!.keyId, '1');
    assert.match(fake.decryptRequests[0]!.uid, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(text(fake.decryptRequests[0]!.annotations['local-kek.kms.kubernetes.io']!), 'encrypted-local-kek');
    // The seed the plugin returned is wiped once the reader has its copy.
    assert.ok(isZero(fake.decryptResults[0]!));
    t.close();
  });

  void it('decrypts the type-0 (AES-GCM key) vector and reports it stale', async () => {
    const { t } = await primed();
    const out = await t.fromStorage(aesGcmKeyValue(), contextForKey(vectors.derived.kmsv2_aesgcmkey.aad));
    assert.equal(text(out.data), vectors.derived.kmsv2_aesgcmkey.plaintext);
    assert.equal(out.stale, true);
    t.close();
  });

  void it('reads both vectors in no-DEK-cache mode too', async () => {
    const { t, fake } = await primed({ noDekCache: true });
    assert.equal(text((await t.fromStorage(hkdfValue(), ctx)).data), 'pandas are the best');
    assert.equal(text((await t.fromStorage(aesGcmKeyValue(), ctx)).data), 'pandas are the best');
    assert.ok(fake.decryptResults.every(isZero));
    t.close();
  });
});

void describe('KMS v2 envelope: writes (k8s.io/apiserver pkg/storage/value/encrypt/envelope/kmsv2/envelope.go TransformToStorage)', () => {
  void it('writes a validated type-1 object without calling the plugin per write', async () => {
    const { t, fake } = await primed();
    const plain = Buffer.from('pandas are the best');
    const stored = Buffer.from(await t.toStorage(plain, ctx));
    await t.toStorage(plain, ctx);
    await t.toStorage(plain, ctx);
    assert.deepEqual(fake.calls, { status: 1, encrypt: 1, decrypt: 0 });

    const o = decodeEncryptedObject(stored);
    assert.equal(o.encryptedDekSourceType, HKDF_SHA256_XNONCE_AES_GCM_SEED);
    assert.equal(o.keyId, '1');
    assert.deepEqual(Object.keys(o.annotations), ['local-kek.kms.kubernetes.io']);
    assert.equal(o.encryptedData.length, 32 + 12 + plain.length + 16);
    // Decrypted independently: seed from the base64 "KEK", HKDF-Expand with the stored info, GCM with the storage key.
    const seed = Buffer.from(text(o.encryptedDekSource), 'base64');
    assert.equal(seed.length, 32);
    const data = Buffer.from(o.encryptedData);
    const key = hkdfExpandSha256Key(seed, data.subarray(0, 32));
    assert.deepEqual(gcmOpen(key, data.subarray(32, 44), data.subarray(44), Buffer.from(KEY)), plain);
    t.close();
  });

  void it('reads its own writes from the cache, and another server reads them through Decrypt', async () => {
    const { t, fake, clock } = await primed();
    const stored = await t.toStorage(Buffer.from('mine'), ctx);
    const out = await t.fromStorage(stored, ctx);
    assert.equal(text(out.data), 'mine');
    assert.equal(out.stale, false);
    assert.equal(fake.calls.decrypt, 0);
    const { t: other } = await primed({}, fake, clock);
    assert.equal(text((await other.fromStorage(stored, ctx)).data), 'mine');
    assert.equal(fake.calls.decrypt, 1);
    t.close();
    other.close();
  });

  void it('refuses a value moved to another storage key, and any flipped byte of the ciphertext', async () => {
    const { t } = await primed();
    const stored = Buffer.from(await t.toStorage(Buffer.from('secret'), ctx));
    await assert.rejects(t.fromStorage(stored, contextForKey('/registry/secrets/default/other')), /message authentication failed/);
    const data = Buffer.from(decodeEncryptedObject(stored).encryptedData);
    const at = stored.indexOf(data);
    for (let i = at; i < at + data.length; i++) {
      const tampered = Buffer.from(stored);
      tampered[i] = tampered[i]! ^ 0x80;
      await assert.rejects(t.fromStorage(tampered, ctx), DecryptError, `byte ${i}`);
    }
    t.close();
  });
});

void describe('KMS v2 envelope: key rotation and expiry (k8s.io/apiserver pkg/server/options/encryptionconfig/config.go rotateDEKOnKeyIDChange)', () => {
  void it('uses a new seed after a key ID change; older data stays readable and is stale', async () => {
    const { t, fake, clock } = await primed();
    const a = await t.toStorage(Buffer.from('under key 1'), ctx);
    fake.keyId = '2';
    await clock.advance(MIN);
    assert.equal(fake.calls.encrypt, 2);
    const b = await t.toStorage(Buffer.from('under key 2'), ctx);
    assert.equal(decodeEncryptedObject(b).keyId, '2');
    const readA = await t.fromStorage(a, ctx);
    assert.equal(text(readA.data), 'under key 1');
    assert.equal(readA.stale, true);
    assert.equal((await t.fromStorage(b, ctx)).stale, false);
    assert.equal(fake.calls.decrypt, 0); // both seeds are in this server's cache
    // A server started after the rotation reads the old data through Decrypt.
    const { t: fresh } = await primed({}, fake, clock);
    const again = await fresh.fromStorage(a, ctx);
    assert.equal(text(again.data), 'under key 1');
    assert.equal(again.stale, true);
    assert.equal(fake.calls.decrypt, 1);
    assert.equal(fake.decryptRequests[0]!.keyId, '1');
    t.close();
    fresh.close();
  });

  void it('keeps a replaced seed that wrote data until the cache lets go, and wipes one that never wrote', async () => {
    const { t, fake, clock } = await primed();
    const used = t.state.current().source!;
    await t.toStorage(Buffer.from('x'), ctx);
    fake.keyId = '2';
    await clock.advance(MIN);
    assert.equal(used.destroyed, false); // still in the decrypt cache
    const unused = t.state.current().source!;
    fake.keyId = '3';
    await clock.advance(MIN);
    assert.equal(unused.destroyed, true);
    t.close();
    assert.equal(used.destroyed, true);
  });

  void it('refuses writes 3 minutes after the last good Status, keeps serving reads, recovers', async () => {
    const { t, fake, clock } = await primed();
    await clock.advance(MIN); // last good Status at 00:01:00
    fake.statusError = new Error('plugin gone');
    const stored = await t.toStorage(Buffer.from('before'), ctx);
    await clock.advance(3 * MIN - 1000); // 00:03:59
    await t.toStorage(Buffer.from('still fine'), ctx);
    await clock.advance(2000); // 00:04:01
    await assert.rejects(
      t.toStorage(Buffer.from('too late'), ctx),
      withMessage(
        EncryptError,
        'encryptedDEKSource with keyID hash "sha256:6b86b273ff34fce19d6b804eff5a3f5747ada4eaa22f1d49c01e52ddb7875b4b" ' +
          'expired at 2026-01-01T00:04:00Z (current time is 2026-01-01T00:04:01Z)',
      ),
    );
    assert.equal(text((await t.fromStorage(stored, ctx)).data), 'before');
    fake.statusError = undefined;
    await clock.advance(10_000);
    assert.equal(fake.calls.encrypt, 1); // same key ID: same seed, new deadline
    await t.toStorage(Buffer.from('back'), ctx);
    t.close();
  });

  void it('keeps writing while Status says healthz != "ok", though the health check fails', async () => {
    const fake = new FakeKmsV2Service();
    fake.healthz = 'warming up';
    const { t, clock } = await primed({}, fake);
    await t.toStorage(Buffer.from('x'), ctx);
    await assert.rejects(t.healthCheck(), /kmsv2 Provider kms-provider is not healthy, error: got unexpected healthz status: warming up/);
    await clock.advance(10 * MIN);
    await t.toStorage(Buffer.from('y'), ctx); // deadline kept moving
    t.close();
  });

  void it('keeps the old seed and key ID when Encrypt answers with another key ID', async () => {
    const { t, fake, clock } = await primed();
    fake.keyId = '2';
    fake.encryptKeyId = '9';
    await clock.advance(MIN);
    assert.equal(decodeEncryptedObject(await t.toStorage(Buffer.from('x'), ctx)).keyId, '1');
    await clock.advance(3 * MIN);
    await assert.rejects(t.toStorage(Buffer.from('x'), ctx), /expired at/);
    t.close();
  });
});

void describe('KMS v2 envelope: plugin down at start', () => {
  void it('fails writes and reads clearly, then works after the 10 s retry', async () => {
    const fake = new FakeKmsV2Service();
    fake.statusError = new Error('connect ENOENT /run/kms.sock');
    const { t, clock } = await primed({}, fake);
    const notReady = /^kmsv2 provider kms-provider is not ready: .*connect ENOENT \/run\/kms.sock\)$/;
    await assert.rejects(t.toStorage(Buffer.from('x'), ctx), withMessage(EncryptError, notReady));
    await assert.rejects(t.fromStorage(hkdfValue(), ctx), withMessage(DecryptError, notReady));
    assert.equal(fake.calls.decrypt, 0);
    fake.statusError = undefined;
    await clock.advance(10_000);
    const stored = await t.toStorage(Buffer.from('x'), ctx);
    assert.equal(text((await t.fromStorage(stored, ctx)).data), 'x');
    assert.equal(text((await t.fromStorage(hkdfValue(), ctx)).data), 'pandas are the best');
    t.close();
  });

  void it('fails writes when Encrypt answers with another key ID at start', async () => {
    const fake = new FakeKmsV2Service();
    fake.encryptKeyId = '2';
    const { t } = await primed({}, fake);
    await assert.rejects(t.toStorage(Buffer.from('x'), ctx), /not ready: .*the key ID of Encrypt differs from the key ID of Status/);
    t.close();
  });
});

void describe('KMS v2 envelope: reads that must fail (k8s.io/apiserver pkg/storage/value/encrypt/envelope/kmsv2/envelope.go TransformFromStorage)', () => {
  void it('applies the validation rules to stored objects, with upstream messages', async () => {
    const { t, fake } = await primed();
    const cases: [Partial<EncryptedObject>, string][] = [
      [{ keyId: 'k'.repeat(1025) }, 'failed to validate key id: keyID is 1025 bytes, which exceeds the max size of 1024'],
      [
        { encryptedDekSource: Buffer.alloc(1025, 0x41) },
        'failed to validate encrypted DEK source: encrypted DEK source is 1025 bytes, which exceeds the max size of 1024',
      ],
      [
        { annotations: { 'not_fqdn.io': Buffer.of(1) } },
        'failed to validate annotations: annotations: Invalid value: "not_fqdn.io": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, \'-\' or \'.\', and must start and end with an alphanumeric character (e.g. \'example.com\', regex used for validation is \'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\')',
      ],
      [{ annotations: { 'a.io': Buffer.alloc(32 * 1024) } }, 'failed to validate annotations: total size of annotations is 32772, which exceeds the max size of 32768'],
      [{ encryptedDekSourceType: 7 }, 'unknown encryptedDEKSourceType: 7'],
      [{ encryptedData: new Uint8Array(0) }, 'encrypted data is empty'],
      [{ keyId: '' }, 'failed to validate key id: keyID is empty'],
    ];
    for (const [overrides, message] of cases) {
      await assert.rejects(t.fromStorage(objectBytes(overrides), ctx), withMessage(DecryptError, message), message);
    }
    assert.equal(fake.calls.decrypt, 0);
    t.close();
  });

  void it('validates every header that differs from the last valid one, however close', async () => {
    const { t } = await primed();
    const edek = Buffer.from(randomBytes(32).toString('base64'));
    // A valid header is remembered (its Decrypt then fails on the random EDEK, which is not what is tested).
    await assert.rejects(t.fromStorage(objectBytes({ encryptedDekSource: edek }), ctx), (e) => e instanceof DecryptError && !/validate/.test(e.message));
    const cases: [Partial<EncryptedObject>, RegExp][] = [
      [{ encryptedDekSource: edek, keyId: '' }, /keyID is empty/],
      [{ encryptedDekSource: edek, annotations: { ...fakeAnnotations(), 'not_fqdn.io': Buffer.of(1) } }, /failed to validate annotations/],
      [{ encryptedDekSource: edek, encryptedDekSourceType: 7 }, /unknown encryptedDEKSourceType: 7/],
      [{ encryptedDekSource: edek, encryptedData: new Uint8Array(0) }, /encrypted data is empty/],
    ];
    for (const [overrides, message] of cases) {
      await assert.rejects(t.fromStorage(objectBytes(overrides), ctx), withMessage(DecryptError, message), String(message));
    }
    t.close();
  });

  void it('reads a value whose header bytes repeat the last valid one’s under that header, and no other value', async () => {
    const { t, fake } = await primed();
    const stored = Buffer.from(await t.toStorage(Buffer.from('payload'), ctx));
    assert.equal(text((await t.fromStorage(stored, ctx)).data), 'payload'); // remembers the header and its bytes
    const o = decodeEncryptedObject(stored);
    const remembered = (t as unknown as { lastHeader?: { tail?: Buffer } }).lastHeader?.tail;
    assert.deepEqual(remembered, stored.subarray(o.encryptedData.byteOffset - stored.byteOffset + o.encryptedData.length), 'the bytes after the data are remembered');
    const tailStart = o.encryptedData.byteOffset - stored.byteOffset + o.encryptedData.length;
    assert.ok(tailStart < stored.length);
    // Any change after the data is another header: validated and looked up on its own (refused, or a Decrypt of its
    // own), never read with the remembered seed.
    for (let i = tailStart; i < stored.length; i++) {
      const changed = Buffer.from(stored);
      changed[i]! ^= 0x01;
      const decrypts = fake.calls.decrypt;
      const read = await t.fromStorage(changed, ctx).then(
        () => true,
        () => false,
      );
      assert.ok(!read || fake.calls.decrypt > decrypts, `byte ${i} of ${stored.length} changed was read under the remembered header`);
    }
    // The data's length prefix must end the data exactly where the remembered bytes start; a value whose prefix says
    // otherwise is decoded in full (and here refused), never cut at the remembered bytes.
    const start = o.encryptedData.byteOffset - stored.byteOffset;
    for (let i = 1; i < start; i++) {
      for (const delta of [1, -1]) {
        const changed = Buffer.from(stored);
        changed[i] = (changed[i]! + delta) & 0xff;
        await assert.rejects(t.fromStorage(changed, ctx), DecryptError, `length byte ${i} changed by ${delta}`);
      }
    }
    // A second field 1 after the same header bytes wins, as in any proto3 reader: the value is decoded in full.
    const twice = Buffer.concat([stored, Buffer.of(0x0a, 0x01, 0x00)]);
    await assert.rejects(t.fromStorage(twice, ctx), DecryptError);
    assert.equal(text((await t.fromStorage(stored, ctx)).data), 'payload');
    t.close();
  });

  void it('refuses to write an object the plugin made invalid', async () => {
    const fake = new FakeKmsV2Service();
    const { t, clock } = await primed({ noDekCache: true }, fake);
    fake.annotations = { 'a.io': Buffer.alloc(40_000) };
    await assert.rejects(t.toStorage(Buffer.from('x'), ctx), withMessage(EncryptError, /^failed to validate annotations: total size of annotations is 40004/));
    fake.annotations = fakeAnnotations();
    fake.encryptKeyId = 'k'.repeat(1025);
    await assert.rejects(t.toStorage(Buffer.from('x'), ctx), withMessage(EncryptError, /^failed to validate key id: keyID is 1025 bytes/));
    await clock.advance(0);
    t.close();
  });

  void it('refuses malformed protobuf with a DecryptError, never a crash', async () => {
    const { t } = await primed();
    await assert.rejects(t.fromStorage(Buffer.of(0x0a, 0x7f, 1), ctx), withMessage(DecryptError, /^cannot decode KMS v2 EncryptedObject: /));
    for (let i = 0; i < 300; i++) {
      await assert.rejects(t.fromStorage(randomBytes(1 + (i % 100)), ctx), DecryptError);
    }
    t.close();
  });

  void it('wraps a Decrypt failure as upstream does', async () => {
    const { t, fake } = await primed();
    fake.decryptError = new Error('rpc error: code = Internal desc = kek unavailable');
    await assert.rejects(
      t.fromStorage(hkdfValue(), ctx),
      withMessage(DecryptError, 'failed to decrypt DEK, error: rpc error: code = Internal desc = kek unavailable'),
    );
    t.close();
  });

  void it('refuses a type-0 DEK of the wrong size and a type-1 seed that is too short', async () => {
    const { t, fake } = await primed();
    const short = Buffer.from(Buffer.alloc(20, 1).toString('base64'));
    await assert.rejects(
      t.fromStorage(objectBytes({ encryptedDekSource: short, encryptedDekSourceType: AES_GCM_KEY }), ctx),
      withMessage(DecryptError, 'AES key must be 16, 24 or 32 bytes, got 20'),
    );
    await assert.rejects(
      t.fromStorage(objectBytes({ encryptedDekSource: short }), ctx),
      withMessage(DecryptError, 'invalid seed length 20 used for key generation'),
    );
    assert.ok(fake.decryptResults.every(isZero));
    t.close();
  });
});

void describe('KMS v2 envelope: decrypt cache (k8s.io/apiserver pkg/storage/value/encrypt/envelope/kmsv2/envelope.go, kmsv2/cache.go)', () => {
  void it('calls Decrypt once per DEK source, keyed by type, source, key ID and annotations', async () => {
    const { t, fake } = await primed();
    for (let i = 0; i < 3; i++) await t.fromStorage(hkdfValue(), ctx);
    await t.fromStorage(aesGcmKeyValue(), ctx);
    assert.equal(fake.calls.decrypt, 2);
    assert.equal(t.decryptCacheSize, 2);
    t.close();
  });

  void it('serves expired entries until a later write collects them; the live seed survives collection', async () => {
    const { t, fake, clock } = await primed({ decryptCacheTtlMs: 30_000 });
    const live = t.state.current().source!;
    const mine = await t.toStorage(Buffer.from('mine'), ctx);
    await t.fromStorage(hkdfValue(), ctx);
    assert.equal(fake.calls.decrypt, 1);
    await clock.advance(40_000);
    await t.fromStorage(hkdfValue(), ctx); // expired but still served
    assert.equal(fake.calls.decrypt, 1);
    await t.toStorage(Buffer.from('collect'), ctx); // collects both expired entries, re-adds the live seed
    assert.equal(t.decryptCacheSize, 1);
    assert.equal(live.destroyed, false);
    await t.fromStorage(mine, ctx);
    assert.equal(fake.calls.decrypt, 1);
    await t.fromStorage(hkdfValue(), ctx);
    assert.equal(fake.calls.decrypt, 2);
    t.close();
  });

  void it('close() wipes every seed it holds and refuses further use', async () => {
    const { t } = await primed();
    const live = t.state.current().source!;
    await t.toStorage(Buffer.from('x'), ctx);
    t.close();
    assert.equal(live.destroyed, true);
    assert.equal(t.decryptCacheSize, 0);
    await assert.rejects(t.toStorage(Buffer.from('x'), ctx), withMessage(EncryptError, 'kmsv2 provider kms-provider is closed'));
    await assert.rejects(t.fromStorage(hkdfValue(), ctx), withMessage(DecryptError, 'kmsv2 provider kms-provider is closed'));
  });
});

void describe('KMS v2 envelope: no-DEK-cache mode (Coffer option)', () => {
  void it('calls Encrypt per write and Decrypt per read, and wipes every seed it handled', async () => {
    const { t, fake } = await primed({ noDekCache: true });
    assert.equal(fake.calls.encrypt, 0);
    const stored = [];
    for (let i = 0; i < 3; i++) stored.push(await t.toStorage(Buffer.from(`w${i}`), ctx));
    assert.equal(fake.calls.encrypt, 3);
    assert.equal(fake.encryptPlaintexts.length, 3);
    assert.ok(fake.encryptPlaintexts.every(isZero), 'seeds handed to Encrypt are zero-filled');
    const edeks = new Set(stored.map((s) => text(decodeEncryptedObject(s).encryptedDekSource)));
    assert.equal(edeks.size, 3, 'a fresh seed per write');
    for (let i = 0; i < 3; i++) {
      const out = await t.fromStorage(stored[i]!, ctx);
      assert.equal(text(out.data), `w${i}`);
      assert.equal(out.stale, false);
    }
    await t.fromStorage(stored[0]!, ctx);
    assert.equal(fake.calls.decrypt, 4);
    assert.ok(fake.decryptResults.every(isZero), 'seeds returned by Decrypt are zero-filled');
    assert.equal(t.decryptCacheSize, 0);
    t.close();
  });

  void it('still needs a recent good Status to write, and reports Encrypt failures', async () => {
    const { t, fake, clock } = await primed({ noDekCache: true });
    fake.encryptError = new Error('kek disabled');
    await assert.rejects(t.toStorage(Buffer.from('x'), ctx), withMessage(EncryptError, 'failed to encrypt DEK, error: kek disabled'));
    assert.ok(fake.encryptPlaintexts.every(isZero));
    fake.encryptError = undefined;
    fake.statusError = new Error('gone');
    await clock.advance(3 * MIN + 1000);
    await assert.rejects(t.toStorage(Buffer.from('x'), ctx), /expired at 2026-01-01T00:03:00Z/);
    t.close();
  });

  void it('marks data stale when written under another key ID', async () => {
    const { t, fake, clock } = await primed({ noDekCache: true });
    const old = await t.toStorage(Buffer.from('x'), ctx);
    fake.keyId = '2';
    await clock.advance(MIN);
    assert.equal((await t.fromStorage(old, ctx)).stale, true);
    assert.equal((await t.fromStorage(await t.toStorage(Buffer.from('y'), ctx), ctx)).stale, false);
    t.close();
  });
});
