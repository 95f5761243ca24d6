// Compaction of a long history on the SQLite store runs in batches with the event loop free between them (as etcd's
// compaction batches), so requests are answered while it runs; and the result is the same as one big compaction.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { after, before, describe, it } from 'node:test';
import { CompactedError } from '../store.js';
import { SqliteStore } from './sqlite-store.js';

const KEYS = 20;
const REVISIONS = 30_000;
/** A liveness bound only: one batch takes milliseconds; the whole compaction in one go takes far longer here. */
const MAX_STALL_MS = 2_000;

let root: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'coffer-sqlite-compaction-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

void describe('sqlite store: compaction of a long history', () => {
  void it('answers requests while it runs and leaves each key its last value', async () => {
    const s = await SqliteStore.open({ dataDir: join(root, 'history'), synchronous: 'normal' });
    try {
      const last = new Map<string, number>();
      for (let i = 0; i < REVISIONS; i++) {
        const key = `/registry/h/k${i % KEYS}`;
        const prev = last.get(key);
        const value = new TextEncoder().encode(`v${i}`);
        last.set(key, prev === undefined ? await s.create(key, value) : await s.update(key, value, { ifRevision: prev }));
      }
      const revision = await s.currentRevision();

      const order: string[] = [];
      const delay = monitorEventLoopDelay({ resolution: 10 });
      delay.enable();
      const compaction = s.compact(revision).then(() => order.push('compaction done'));
      // Asked on the next turn of the event loop: one big transaction would have finished the compaction first.
      const get = new Promise((resolve) => setImmediate(resolve))
        .then(() => s.get('/registry/h/k0'))
        .then((r) => order.push(`get answered at revision ${r.revision}`));
      await Promise.all([compaction, get]);
      delay.disable();

      assert.deepEqual(order, [`get answered at revision ${revision}`, 'compaction done']);
      assert.ok(delay.max / 1e6 < MAX_STALL_MS, `the event loop stalled ${(delay.max / 1e6).toFixed(0)} ms`);
      for (const [key, rev] of last) assert.equal((await s.get(key)).kv?.modRevision, rev);
      await assert.rejects(s.get('/registry/h/k0', { revision: revision - 1 }), CompactedError);
      const { kvs } = await s.list('/registry/h/');
      assert.equal(kvs.length, KEYS);
      assert.deepEqual(s.integrityCheck(), ['ok']);
    } finally {
      await s.close();
    }
  });
});
