import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeClock } from '../lib/clock.js';
import type { KeyManager, KeyManagerStatus } from './key-manager.js';
import { StatusCache } from './status-cache.js';

function stub(answers: (() => Promise<KeyManagerStatus>)[]) {
  let calls = 0;
  const km: KeyManager = {
    name: 'stub',
    status: () => answers[Math.min(calls++, answers.length - 1)]!(),
    encrypt: () => Promise.reject(new Error('unused')),
    decrypt: () => Promise.reject(new Error('unused')),
    close: async () => {},
  };
  return { km, calls: () => calls };
}

void describe('status cache', () => {
  void it('shares one probe between concurrent callers and keeps it for the TTL', async () => {
    const clock = new FakeClock();
    const { km, calls } = stub([async () => ({ healthy: true, keyId: 'k1' })]);
    const cache = new StatusCache(km, { okTtlMs: 1000, errorTtlMs: 100, timeoutMs: 1000, clock });
    const all = await Promise.all([cache.get(), cache.get(), cache.get()]);
    assert.equal(calls(), 1);
    assert.ok(all.every((r) => r.healthy && r.keyId === 'k1'));
    await clock.advance(999);
    await cache.get();
    assert.equal(calls(), 1);
    await clock.advance(1);
    await cache.get();
    assert.equal(calls(), 2);
  });

  void it('keeps the last key id when the backend throws, and refuses an invalid key id', async () => {
    const clock = new FakeClock();
    const { km } = stub([
      async () => ({ healthy: true, keyId: 'k1' }),
      async () => Promise.reject(new Error('vault down')),
      async () => ({ healthy: true, keyId: '' }),
    ]);
    const cache = new StatusCache(km, { okTtlMs: 0, errorTtlMs: 0, timeoutMs: 1000, clock });
    await cache.get();
    assert.deepEqual(await cache.get(), { healthy: false, keyId: 'k1', reason: 'vault down', checkedAt: clock.now() });
    const bad = await cache.get();
    assert.equal(bad.healthy, false);
    assert.match(bad.reason!, /invalid key id: keyID is empty/);
  });

  void it('invalidate() makes the next caller probe again, even while a probe is in flight', async () => {
    const clock = new FakeClock();
    let release!: () => void;
    const { km, calls } = stub([
      () => new Promise((resolve) => (release = () => resolve({ healthy: true, keyId: 'old' }))),
      async () => ({ healthy: true, keyId: 'new' }),
    ]);
    const cache = new StatusCache(km, { okTtlMs: 60_000, errorTtlMs: 0, timeoutMs: 1000, clock });
    const first = cache.get();
    cache.invalidate();
    assert.equal((await cache.get()).keyId, 'new');
    release();
    assert.equal((await first).keyId, 'old');
    assert.equal((await cache.get()).keyId, 'new', 'the stale probe did not overwrite the fresh result');
    assert.equal(calls(), 2);
  });
});
