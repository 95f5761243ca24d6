import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { DecryptError, InvalidError } from '../lib/errors.js';
import { SecretboxTransformer, secretboxOpen, secretboxSeal } from './secretbox.js';
import { runTransformerContract } from './transformer.contract.js';
import { contextForKey } from './transformer.js';

interface SecretboxVector {
  keyName: string;
  keyB64: string;
  nonce: string;
  value: string;
  plaintext: string;
}
const vector = (
  JSON.parse(readFileSync(new URL('../../test/fixtures/encryption-vectors.json', import.meta.url), 'utf8')) as {
    derived: { secretbox: SecretboxVector };
  }
).derived.secretbox;
const key = Buffer.from(vector.keyB64, 'base64');
const prefixLength = `k8s:enc:secretbox:v1:${vector.keyName}:`.length;
const raw = Buffer.from(vector.value, 'hex').subarray(prefixLength);
const ctx = contextForKey('/registry/secrets/default/a');

void describe('SecretboxTransformer', () => {
  void it('decrypts the derived vector (nonce ‖ tag ‖ ciphertext, k8s.io/apiserver pkg/storage/value/encrypt/secretbox/secretbox.go)', async () => {
    const out = await new SecretboxTransformer(key).fromStorage(raw, ctx);
    assert.equal(Buffer.from(out.data).toString('utf8'), vector.plaintext);
    assert.equal(out.stale, false);
  });

  void it('seals byte-identically to NaCl with the vector nonce', () => {
    const nonce = Buffer.from(vector.nonce, 'hex');
    const sealed = Buffer.from(secretboxSeal(key, nonce, Buffer.from(vector.plaintext)));
    assert.deepEqual(Buffer.concat([nonce, sealed]), raw);
    assert.equal(Buffer.from(secretboxOpen(key, nonce, sealed)).toString(), vector.plaintext);
  });

  void it('refuses fewer than 40 bytes', async () => {
    for (const n of [0, 24, 39]) {
      await assert.rejects(new SecretboxTransformer(key).fromStorage(randomBytes(n), ctx), {
        name: 'DecryptError',
        message: 'the stored data was shorter than the required size',
      });
    }
  });

  void it('refuses a flipped byte in nonce, tag or ciphertext with upstream message', async () => {
    for (const i of [0, 23, 24, 39, 40, raw.length - 1]) {
      const tampered = Buffer.from(raw);
      tampered[i] = tampered[i]! ^ 0x80;
      await assert.rejects(new SecretboxTransformer(key).fromStorage(tampered, ctx), (err: unknown) => {
        assert.ok(err instanceof DecryptError);
        assert.equal(err.message, 'output array was not large enough for encryption');
        return true;
      });
    }
  });

  void it('refuses the vector under another key', async () => {
    await assert.rejects(new SecretboxTransformer(randomBytes(32)).fromStorage(raw, ctx), DecryptError);
  });

  void it('ignores the storage key: a moved value still decrypts (no AAD upstream)', async () => {
    const t = new SecretboxTransformer(key);
    const stored = await t.toStorage(Buffer.from('moved'), ctx);
    const out = await t.fromStorage(stored, contextForKey('/registry/secrets/other/b'));
    assert.equal(Buffer.from(out.data).toString(), 'moved');
  });

  void it('accepts only 32-byte keys', () => {
    for (const n of [0, 16, 31, 33]) {
      assert.throws(() => new SecretboxTransformer(randomBytes(n)), {
        name: 'InvalidError',
        message: `expected key size 32 for secretbox provider, got ${n}`,
      });
    }
    assert.throws(() => new SecretboxTransformer(randomBytes(16)), InvalidError);
  });

  void it('destroy() zero-fills its key so it can no longer decrypt', async () => {
    const t = new SecretboxTransformer(key);
    t.destroy();
    await assert.rejects(t.fromStorage(raw, ctx), DecryptError);
    assert.equal(key.every((b) => b === 0), false, 'the caller’s key buffer is not touched');
  });
});

runTransformerContract('SecretboxTransformer', () => new SecretboxTransformer(randomBytes(32)));
