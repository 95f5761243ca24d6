import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeClock } from '../lib/clock.js';
import { CallDeduplicator } from './call-deduplicator.js';
import { TokenBucket } from './token-bucket.js';
import { backoffDelay, DEFAULT_BACKOFF, WorkQueue } from './work-queue.js';

void describe('WorkQueue', () => {
  void it('deduplicates keys and never hands one key to two workers', async () => {
    const q = new WorkQueue(new FakeClock());
    q.add('a');
    q.add('a');
    q.add('b');
    assert.equal(q.length, 2);
    const first = await q.get();
    assert.equal(first, 'a');
    q.add('a'); // while processing: queued again only after done()
    assert.equal(await q.get(), 'b');
    assert.equal(q.length, 0);
    q.done('a');
    assert.equal(q.length, 1);
    assert.equal(await q.get(), 'a');
  });

  void it('keeps the earliest delayed add and fires it on time', async () => {
    const clock = new FakeClock();
    const q = new WorkQueue(clock);
    q.addAfter('k', 10_000);
    q.addAfter('k', 5_000);
    q.addAfter('k', 20_000);
    await clock.advance(4_999);
    assert.equal(q.length, 0);
    await clock.advance(1);
    assert.equal(q.length, 1);
  });

  void it('backs off exponentially per key with bounded jitter, and forget resets it', () => {
    const q = new WorkQueue(new FakeClock(), DEFAULT_BACKOFF, () => 0);
    assert.deepEqual([q.addRateLimited('x'), q.addRateLimited('x'), q.addRateLimited('x')], [1000, 2000, 4000]);
    assert.equal(q.addRateLimited('y'), 1000, 'per key');
    q.forget('x');
    assert.equal(q.addRateLimited('x'), 1000);
    for (let n = 0; n < 40; n++) {
      for (const r of [0, 0.5, 0.999]) {
        const d = backoffDelay(n, DEFAULT_BACKOFF, () => r);
        const base = Math.min(DEFAULT_BACKOFF.maxMs, 1000 * 2 ** n);
        assert.ok(d >= base && d <= base * (1 + DEFAULT_BACKOFF.jitter), `n=${n} r=${r} d=${d}`);
      }
    }
  });

  void it('wakes waiting workers on shutdown', async () => {
    const q = new WorkQueue(new FakeClock());
    const waiting = q.get();
    q.shutDown();
    assert.equal(await waiting, undefined);
  });
});

void describe('TokenBucket', () => {
  void it('allows the burst, then one call per 1/rate seconds', async () => {
    const clock = new FakeClock();
    const bucket = new TokenBucket(2, 3, clock);
    const signal = new AbortController().signal;
    let done = 0;
    const all = Array.from({ length: 7 }, () => bucket.take(signal).then(() => done++));
    await clock.advance(0);
    assert.equal(done, 3);
    await clock.advance(500);
    assert.equal(done, 4);
    await clock.advance(1500);
    assert.equal(done, 7);
    await Promise.all(all);
  });

  void it('rejects a waiter whose signal aborts', async () => {
    const clock = new FakeClock();
    const bucket = new TokenBucket(1, 1, clock);
    const ac = new AbortController();
    await bucket.take(ac.signal);
    const waiting = bucket.take(ac.signal);
    ac.abort(new Error('stop'));
    await assert.rejects(waiting, /stop/);
  });
});

void describe('CallDeduplicator', () => {
  void it('shares in-flight calls and reuses results within the window only', async () => {
    const clock = new FakeClock();
    const d = new CallDeduplicator(clock);
    let calls = 0;
    const fn = async () => {
      calls++;
      return Buffer.from('v');
    };
    const many = await Promise.all(Array.from({ length: 1000 }, () => d.run('k', 60_000, fn)));
    assert.equal(calls, 1);
    assert.ok(many.every((b) => b.toString() === 'v'));
    many[0]!.fill(0);
    assert.equal((await d.run('k', 60_000, fn)).toString(), 'v', 'callers get copies');
    await clock.advance(60_001);
    await d.run('k', 60_000, fn);
    assert.equal(calls, 2);
    await d.run('k', 0, fn);
    assert.equal(calls, 3, 'maxAge 0 always calls');
  });

  void it('does not cache failures', async () => {
    const d = new CallDeduplicator(new FakeClock());
    let calls = 0;
    const fail = async (): Promise<Buffer> => {
      calls++;
      throw new Error('down');
    };
    await assert.rejects(d.run('k', 60_000, fail));
    await assert.rejects(d.run('k', 60_000, fail));
    assert.equal(calls, 2);
  });
});
