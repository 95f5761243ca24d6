import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import { FakeClock } from '../lib/clock.js';
import { runReconcileLoop } from './reconcile-loop.js';
import type { ObjectKey, Reconciler } from './reconciler.js';
import { WorkQueue } from './work-queue.js';

const logger = pino({ level: 'silent' });

/** A reconciler that records the keys it was given. */
function recording(): Reconciler & { seen: string[] } {
  const seen: string[] = [];
  return {
    seen,
    reconcile: async (key: ObjectKey) => {
      seen.push(key.name);
      return {};
    },
  };
}

void describe('runReconcileLoop', () => {
  void it('reconciles queued keys and returns once its signal aborts', async () => {
    const queue = new WorkQueue(new FakeClock());
    const stop = new AbortController();
    const r = recording();
    const loop = runReconcileLoop(queue, r, { name: 't', workers: 2, signal: stop.signal, logger });
    queue.add('/a');
    queue.add('/b');
    while (r.seen.length < 2) await new Promise((res) => setImmediate(res));
    stop.abort();
    await loop;
    assert.deepEqual(r.seen.sort(), ['a', 'b']);
  });

  // `coffer up` stopped while its controller was still starting: the loops start with an aborted signal, whose
  // 'abort' event has already fired. They must return at once (they used to wait on the empty queue for ever).
  void it('returns at once when started with an aborted signal, reconciling nothing', async () => {
    const queue = new WorkQueue(new FakeClock());
    queue.add('/a');
    const r = recording();
    await runReconcileLoop(queue, r, { name: 't', workers: 4, signal: AbortSignal.abort(), logger });
    assert.deepEqual(r.seen, []);
  });
});
