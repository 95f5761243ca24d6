import assert from 'node:assert/strict';
import { createCipheriv, createHmac, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { DecryptError, InvalidError } from '../lib/errors.js';
import { AesCbcTransformer, cbcEncrypt } from './aes-cbc.js';
import { AesGcmExtendedNonceTransformer, hkdfExpandSha256Key } from './aes-gcm-extended-nonce.js';
import { AesGcmTransformer, gcmOpen } from './aes-gcm.js';
import { runTransformerContract } from './transformer.contract.js';
import { contextForKey } from './transformer.js';

interface UpstreamVector {
  key_hex?: string;
  seed_hex?: string;
  aad_ascii: string;
  ciphertext_hex: string;
  derived_key_hex?: string;
  plaintext_ascii: string;
}
const vectors = JSON.parse(
  readFileSync(new URL('../../test/fixtures/encryption-vectors.json', import.meta.url), 'utf8'),
) as { upstream: { upstream_gcm_legacy: UpstreamVector; upstream_xnonce_legacy: UpstreamVector } };

const hex = (s: string): Buffer => Buffer.from(s, 'hex');
const ctx = contextForKey('/registry/secrets/default/a');
const key16 = Buffer.from('0123456789abcdef');

/** Encrypts exactly the given blocks, so a test can choose the bytes that the padding check will see. */
function cbcRawBlocks(key: Buffer, iv: Buffer, blocks: Buffer): Buffer {
  const c = createCipheriv('aes-128-cbc', key, iv).setAutoPadding(false);
  return Buffer.concat([iv, c.update(blocks), c.final()]);
}

void describe('upstream vectors (k8s.io/apiserver pkg/storage/value/encrypt/aes/aes_test.go)', () => {
  void it('AES-GCM legacy data from TestGCMLegacyDataCompatibility decrypts', async () => {
    const v = vectors.upstream.upstream_gcm_legacy;
    const t = new AesGcmTransformer(hex(v.key_hex!));
    const out = await t.fromStorage(hex(v.ciphertext_hex), contextForKey(v.aad_ascii));
    assert.equal(Buffer.from(out.data).toString('utf8'), v.plaintext_ascii);
    assert.equal(out.stale, false);
  });

  void it('AES-GCM legacy data fails under another AAD', async () => {
    const v = vectors.upstream.upstream_gcm_legacy;
    const t = new AesGcmTransformer(hex(v.key_hex!));
    await assert.rejects(t.fromStorage(hex(v.ciphertext_hex), contextForKey('panda')), {
      name: 'DecryptError',
      message: 'cipher: message authentication failed',
    });
  });

  void it('extended-nonce legacy data from TestExtendedNonceGCMLegacyDataCompatibility decrypts', async () => {
    const v = vectors.upstream.upstream_xnonce_legacy;
    const data = hex(v.ciphertext_hex);
    assert.equal(hkdfExpandSha256Key(hex(v.seed_hex!), data.subarray(0, 32)).toString('hex'), v.derived_key_hex);
    const t = new AesGcmExtendedNonceTransformer(hex(v.seed_hex!));
    const out = await t.fromStorage(data, contextForKey(v.aad_ascii));
    assert.equal(Buffer.from(out.data).toString('utf8'), v.plaintext_ascii);
    assert.equal(out.stale, false);
  });
});

void describe('aes-gcm errors (k8s.io/apiserver pkg/storage/value/encrypt/aes/aes.go)', () => {
  void it('refuses data shorter than the nonce', async () => {
    const t = new AesGcmTransformer(key16);
    await assert.rejects(t.fromStorage(randomBytes(11), ctx), {
      name: 'DecryptError',
      message: 'the stored data was shorter than the required size',
    });
  });

  void it('refuses a nonce with a short tag and a wrong tag', async () => {
    const t = new AesGcmTransformer(key16);
    for (const data of [randomBytes(12), randomBytes(12 + 15), randomBytes(12 + 16 + 5)]) {
      await assert.rejects(t.fromStorage(data, ctx), { message: 'cipher: message authentication failed' });
    }
  });

  void it('binds the storage key: a value moved to another key fails', async () => {
    const t = new AesGcmTransformer(key16);
    const stored = await t.toStorage(Buffer.from('v'), ctx);
    await assert.rejects(t.fromStorage(stored, contextForKey('/registry/secrets/default/b')), DecryptError);
  });

  void it('accepts AES-128/192/256 keys only', () => {
    for (const n of [16, 24, 32]) assert.doesNotThrow(() => new AesGcmTransformer(randomBytes(n)));
    for (const n of [0, 15, 31, 33]) assert.throws(() => new AesGcmTransformer(randomBytes(n)), InvalidError);
  });
});

void describe('aes-cbc errors (k8s.io/apiserver pkg/storage/value/encrypt/aes/aes.go)', () => {
  const t = new AesCbcTransformer(key16);
  const iv = Buffer.alloc(16, 7);

  void it('refuses data shorter than the IV', async () => {
    await assert.rejects(t.fromStorage(randomBytes(15), ctx), {
      name: 'DecryptError',
      message: 'the stored data was shorter than the required size',
    });
  });

  void it('refuses a ciphertext that is not a multiple of the block size', async () => {
    await assert.rejects(t.fromStorage(randomBytes(16 + 17), ctx), {
      message: 'the stored data is not a multiple of the block size',
    });
  });

  void it('refuses an IV with no ciphertext (Go would index out of range here)', async () => {
    await assert.rejects(t.fromStorage(randomBytes(16), ctx), { message: 'invalid PKCS7 data (empty or not padded)' });
  });

  void it('refuses a last byte of 0 or larger than the data', async () => {
    for (const last of [0x00, 0x11]) {
      const block = Buffer.alloc(16, 1);
      block[15] = last;
      await assert.rejects(t.fromStorage(cbcRawBlocks(key16, iv, block), ctx), {
        message: 'invalid PKCS7 data (empty or not padded)',
      });
    }
  });

  void it('refuses inconsistent pad bytes', async () => {
    const block = Buffer.from('abcdefghijkl\x03\x02\x03\x03', 'latin1');
    await assert.rejects(t.fromStorage(cbcRawBlocks(key16, iv, block), ctx), { message: 'invalid padding on input' });
  });

  void it('pads like PKCS#7: an aligned plaintext gets a whole block of 16s', async () => {
    const plain = Buffer.alloc(16, 0x61);
    const out = cbcEncrypt(key16, iv, plain);
    assert.equal(out.length, 32);
    const expected = cbcRawBlocks(key16, iv, Buffer.concat([plain, Buffer.alloc(16, 16)])).subarray(16);
    assert.deepEqual(out, expected);
    assert.deepEqual(Buffer.from((await t.fromStorage(Buffer.concat([iv, out]), ctx)).data), plain);
  });

  void it('ignores the storage key (upstream TestCBCKeyRotation): a moved value still decrypts', async () => {
    const stored = await t.toStorage(Buffer.from('moved'), ctx);
    const out = await t.fromStorage(stored, contextForKey('/registry/secrets/other/x'));
    assert.equal(Buffer.from(out.data).toString(), 'moved');
  });
});

void describe('extended-nonce errors', () => {
  void it('refuses data shorter than info ‖ nonce, and seeds shorter than 32 bytes', async () => {
    const t = new AesGcmExtendedNonceTransformer(randomBytes(32));
    await assert.rejects(t.fromStorage(randomBytes(43), ctx), {
      message: 'the stored data was shorter than the required size',
    });
    assert.throws(() => new AesGcmExtendedNonceTransformer(randomBytes(31)), InvalidError);
  });
});

for (const n of [16, 24, 32]) {
  runTransformerContract(`AesGcmTransformer (${n * 8}-bit)`, () => new AesGcmTransformer(randomBytes(n)));
  runTransformerContract(`AesCbcTransformer (${n * 8}-bit)`, () => new AesCbcTransformer(randomBytes(n)), {
    detectsTampering: false,
  });
}
runTransformerContract('AesGcmExtendedNonceTransformer', () => new AesGcmExtendedNonceTransformer(randomBytes(32)));

void it('the per-seed key derivation equals HMAC-SHA256(seed, info ‖ 0x01), also for seeds longer than a block', async () => {
  for (const size of [32, 64, 65, 100]) {
    const seed = randomBytes(size);
    const t = new AesGcmExtendedNonceTransformer(seed);
    const ctx = { authenticatedData: Buffer.from('/registry/secrets/ns/a') };
    const stored = Buffer.from(await t.toStorage(Buffer.from('payload'), ctx));
    const key = createHmac('sha256', seed).update(stored.subarray(0, 32)).update(Uint8Array.of(1)).digest();
    assert.equal(gcmOpen(key, stored.subarray(32, 44), stored.subarray(44), ctx.authenticatedData).toString(), 'payload', `seed of ${size} bytes`);
  }
});

void describe('extended-nonce derived-key cache (upstream aes_extended_nonce.go keeps one per storage path)', () => {
  const upstreamVector = () => vectors.upstream.upstream_xnonce_legacy;

  void it('a value read again uses the key kept from the first read; writes keep none', async () => {
    const v = upstreamVector();
    const t = new AesGcmExtendedNonceTransformer(hex(v.seed_hex!));
    await t.toStorage(Buffer.from('x'), contextForKey(v.aad_ascii));
    assert.equal(t.derivedKeys, 0, 'a write keeps no derived key');
    for (let n = 0; n < 3; n++) {
      const out = await t.fromStorage(hex(v.ciphertext_hex), contextForKey(v.aad_ascii));
      assert.equal(Buffer.from(out.data).toString('utf8'), v.plaintext_ascii);
      assert.equal(t.derivedKeys, 1);
    }
    // A context without its key as text (another caller's) indexes the same cache by the bytes.
    const out = await t.fromStorage(hex(v.ciphertext_hex), { authenticatedData: Buffer.from(v.aad_ascii) });
    assert.equal(Buffer.from(out.data).toString('utf8'), v.plaintext_ascii);
  });

  void it('an object rewritten under its path (new info) is read with its own key, and replaces the entry', async () => {
    const t = new AesGcmExtendedNonceTransformer(randomBytes(32));
    const first = await t.toStorage(Buffer.from('first'), ctx);
    const second = await t.toStorage(Buffer.from('second'), ctx);
    assert.equal(Buffer.from((await t.fromStorage(first, ctx)).data).toString(), 'first');
    assert.equal(Buffer.from((await t.fromStorage(second, ctx)).data).toString(), 'second');
    assert.equal(Buffer.from((await t.fromStorage(first, ctx)).data).toString(), 'first');
    assert.equal(t.derivedKeys, 1);
  });

  void it('a cached key still authenticates: a value moved to another path or tampered with fails, and is not kept', async () => {
    const t = new AesGcmExtendedNonceTransformer(randomBytes(32));
    const stored = Buffer.from(await t.toStorage(Buffer.from('payload'), ctx));
    await t.fromStorage(stored, ctx);
    await assert.rejects(t.fromStorage(stored, contextForKey('/registry/secrets/default/b')), { name: 'DecryptError' });
    const tampered = Buffer.from(stored);
    tampered[tampered.length - 1]! ^= 1;
    await assert.rejects(t.fromStorage(tampered, ctx), { name: 'DecryptError', message: 'cipher: message authentication failed' });
    assert.equal(t.derivedKeys, 1, 'the failed read under another path kept nothing');
  });

  void it('destroy zero-fills the kept keys with the seed; a cache of size 0 keeps none', async () => {
    const seed = randomBytes(32);
    const t = new AesGcmExtendedNonceTransformer(seed);
    const stored = await t.toStorage(Buffer.from('payload'), ctx);
    await t.fromStorage(stored, ctx);
    t.destroy();
    assert.equal(t.derivedKeys, 0);
    const none = new AesGcmExtendedNonceTransformer(seed, { derivedKeyCacheSize: 0 });
    assert.equal(Buffer.from((await none.fromStorage(stored, ctx)).data).toString(), 'payload');
    assert.equal(none.derivedKeys, 0);
  });
});
