import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { DecryptError } from '../lib/errors.js';
import { AesGcmExtendedNonceTransformer, MIN_WORKER_BATCH } from './aes-gcm-extended-nonce.js';
import { ExtendedNonceWorker } from './extended-nonce-worker.js';
import { contextForKey } from './transformer.js';

const vectors = JSON.parse(readFileSync(new URL('../../test/fixtures/encryption-vectors.json', import.meta.url), 'utf8')) as {
  upstream: { upstream_xnonce_legacy: { seed_hex: string; aad_ascii: string; ciphertext_hex: string; plaintext_ascii: string } };
};

const keyOf = (i: number): string => `/registry/secrets/default/s${i}`;

/** Values sealed by the synchronous path, one per key. */
function sealed(t: AesGcmExtendedNonceTransformer, n: number): { values: Buffer[]; plains: Buffer[] } {
  const plains = Array.from({ length: n }, (_, i) => Buffer.from(`secret number ${i} `.repeat(1 + (i % 7))));
  return { values: plains.map((p, i) => t.seal(p, contextForKey(keyOf(i)))), plains };
}

async function untilStarted(w: ExtendedNonceWorker): Promise<void> {
  while (!w.ready()) await new Promise((r) => setTimeout(r, 5));
}

/** openInBatch of every value in one turn, as a LIST's page gives them. */
function openAll(t: AesGcmExtendedNonceTransformer, values: readonly Uint8Array[], keys = values.map((_, i) => keyOf(i))): Promise<PromiseSettledResult<Buffer>[]> {
  return Promise.allSettled(values.map((v, i) => t.openInBatch(v, contextForKey(keys[i]!, { inBatch: true }))));
}

void describe('KMS v2 type-1 opening in a worker thread', () => {
  void it('opens what the synchronous path sealed, byte for byte, and the upstream vector', async () => {
    const t = new AesGcmExtendedNonceTransformer(randomBytes(32));
    try {
      await untilStarted(t.batchWorker!);
      const { values, plains } = sealed(t, 40);
      const out = await openAll(t, values);
      for (const [i, r] of out.entries()) assert.deepEqual(r.status === 'fulfilled' ? r.value : r.reason, plains[i]);
      assert.equal(t.derivedKeys, 0, 'opened in the worker: the main thread derived no key');

      const v = vectors.upstream.upstream_xnonce_legacy;
      const u = new AesGcmExtendedNonceTransformer(Buffer.from(v.seed_hex, 'hex'));
      try {
        await untilStarted(u.batchWorker!);
        const values = Array.from({ length: MIN_WORKER_BATCH }, () => Buffer.from(v.ciphertext_hex, 'hex'));
        const got = await openAll(u, values, values.map(() => v.aad_ascii));
        for (const r of got) assert.equal(r.status === 'fulfilled' && r.value.toString('utf8'), v.plaintext_ascii);
        assert.equal(u.derivedKeys, 0);
      } finally {
        u.destroy();
      }
    } finally {
      t.destroy();
    }
  });

  void it('what the worker opened (and cached) opens synchronously too, and the reverse', async () => {
    const t = new AesGcmExtendedNonceTransformer(randomBytes(32));
    try {
      await untilStarted(t.batchWorker!);
      const { values, plains } = sealed(t, 16);
      for (let round = 0; round < 2; round++) {
        const out = await openAll(t, values); // the second round is served from the worker's derived-key cache
        for (const [i, r] of out.entries()) assert.deepEqual(r.status === 'fulfilled' && r.value, plains[i]);
      }
      for (const [i, v] of values.entries()) assert.deepEqual(t.open(v, contextForKey(keyOf(i))), plains[i]);
      assert.equal(t.derivedKeys, 16, 'the synchronous opens cached their own keys');
      const out = await openAll(t, values);
      for (const [i, r] of out.entries()) assert.deepEqual(r.status === 'fulfilled' && r.value, plains[i]);
    } finally {
      t.destroy();
    }
  });

  void it('fails each bad value with the synchronous path\'s message, and opens the rest of its batch', async () => {
    const t = new AesGcmExtendedNonceTransformer(randomBytes(32));
    try {
      await untilStarted(t.batchWorker!);
      const { values, plains } = sealed(t, 12);
      const tampered = Buffer.from(values[3]!);
      tampered[tampered.length - 20]! ^= 1;
      const batch = [...values];
      batch[3] = tampered;
      batch[5] = values[5]!.subarray(0, 40); // shorter than info and nonce
      batch[7] = values[7]!.subarray(0, 50); // no room for the tag
      const keys = values.map((_, i) => keyOf(i));
      keys[9] = keyOf(10); // moved to another key: the authenticated data differs
      const out = await openAll(t, batch, keys);
      const syncMessage = (i: number): string => {
        try {
          t.open(batch[i]!, contextForKey(keys[i]!));
          return 'opened';
        } catch (err) {
          assert.ok(err instanceof DecryptError);
          return err.message;
        }
      };
      for (const [i, r] of out.entries()) {
        if ([3, 5, 7, 9].includes(i)) {
          assert.equal(r.status, 'rejected');
          const err = (r).reason as Error;
          assert.ok(err instanceof DecryptError, `value ${i}`);
          assert.equal(err.message, syncMessage(i), `value ${i}`);
        } else assert.deepEqual(r.status === 'fulfilled' && r.value, plains[i]);
      }
    } finally {
      t.destroy();
    }
  });

  void it('a crash rejects the pending batch with a clear error, and the next batch starts a new worker', async () => {
    const t = new AesGcmExtendedNonceTransformer(randomBytes(32));
    try {
      const w = t.batchWorker!;
      await untilStarted(w);
      const { values, plains } = sealed(t, 12);
      w.crashForTest();
      const out = await openAll(t, values);
      for (const r of out) {
        assert.equal(r.status, 'rejected');
        const err = (r).reason as Error;
        assert.ok(err instanceof DecryptError);
        assert.match(err.message, /^the KMS v2 decryption worker stopped \(.+\) before it answered$/);
      }
      assert.equal(w.inFlight, 0);
      assert.equal(w.running, false);
      // Until the new worker is up, batches are opened on this thread; then in the new worker.
      const meanwhile = await openAll(t, values);
      for (const [i, r] of meanwhile.entries()) assert.deepEqual(r.status === 'fulfilled' && r.value, plains[i]);
      await untilStarted(w);
      const again = await openAll(t, values);
      for (const [i, r] of again.entries()) assert.deepEqual(r.status === 'fulfilled' && r.value, plains[i]);
    } finally {
      t.destroy();
    }
  });

  void it('small batches and batches before the worker is up are opened on this thread', async () => {
    const t = new AesGcmExtendedNonceTransformer(randomBytes(32));
    try {
      const { values, plains } = sealed(t, MIN_WORKER_BATCH - 1);
      const out = await openAll(t, values);
      for (const [i, r] of out.entries()) assert.deepEqual(r.status === 'fulfilled' && r.value, plains[i]);
      assert.equal(t.derivedKeys, MIN_WORKER_BATCH - 1);
      assert.equal(t.batchWorker!.running, false, 'no worker for a small batch');
    } finally {
      t.destroy();
    }
  });

  void it('destroy zero-fills the seed copy, closes the worker, and refuses later batches', async () => {
    const seed = randomBytes(32);
    const w = new ExtendedNonceWorker(seed);
    await untilStarted(w);
    const copy = (w as unknown as { seed: Buffer }).seed;
    assert.deepEqual(copy, seed);
    w.destroy();
    assert.ok(copy.every((b) => b === 0), 'the main thread\'s copy is zero-filled');
    assert.equal(w.running, false);
    await assert.rejects(w.open([{ value: Buffer.alloc(80), authenticatedData: Buffer.from('k') }]), /worker was closed/);

    const t = new AesGcmExtendedNonceTransformer(seed);
    const { values } = sealed(t, MIN_WORKER_BATCH);
    t.destroy();
    await assert.rejects(t.openInBatch(values[0]!, contextForKey(keyOf(0), { inBatch: true })), DecryptError);
  });
});
