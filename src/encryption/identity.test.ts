import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DecryptError } from '../lib/errors.js';
import { IdentityTransformer } from './identity.js';
import { runTransformerContract } from './transformer.contract.js';
import { contextForKey } from './transformer.js';

const ctx = contextForKey('/registry/secrets/default/a');

void describe('IdentityTransformer', () => {
  void it('stores the value verbatim', async () => {
    const plain = Buffer.from('k8s\x00\x0a\x0c\x0a\x02v1\x12\x06Secret', 'latin1');
    assert.deepEqual(Buffer.from(await new IdentityTransformer().toStorage(plain, ctx)), plain);
  });

  void it('reads protobuf, JSON and empty values unchanged and not stale', async () => {
    for (const s of ['k8s\x00\x0a\x0c', '{"kind":"Secret"}', '', 'k8s:en', 'k8s:ENC:x']) {
      const out = await new IdentityTransformer().fromStorage(Buffer.from(s, 'latin1'), ctx);
      assert.equal(Buffer.from(out.data).toString('latin1'), s);
      assert.equal(out.stale, false);
    }
  });

  void it('refuses values that start with k8s:enc:, whatever follows', async () => {
    for (const s of ['k8s:enc:', 'k8s:enc:aescbc:v1:key1:\x00\x01', 'k8s:enc:unknown']) {
      await assert.rejects(new IdentityTransformer().fromStorage(Buffer.from(s, 'latin1'), ctx), (err: unknown) => {
        assert.ok(err instanceof DecryptError);
        assert.equal(err.message, 'identity transformer tried to read encrypted data');
        return true;
      });
    }
  });
});

runTransformerContract('IdentityTransformer', () => new IdentityTransformer(), { passthrough: true });
