// The SQLite store's group commit: a write is answered, readable and seen by watchers only after an fsync of the WAL
// that covers it, and one fsync covers every commit made while the previous one ran. The fsync is held back here (the
// syncWal hook) so that what waits for it can be seen; the real one is fdatasync, exercised by every other test.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as turn } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { AlreadyExistsError, UnavailableError } from '../../lib/errors.js';
import type { WatchEvent } from '../store.js';
import { SqliteStore } from './sqlite-store.js';

const text = (s: string) => new TextEncoder().encode(s);

/** An fsync that completes only when the test says so. */
function heldSync() {
  const calls: { release: () => void; fail: (e: Error) => void }[] = [];
  const syncWal = () => new Promise<void>((release, fail) => calls.push({ release, fail }));
  return { calls, syncWal };
}

/** Whether a promise has settled, after letting everything already queued run. */
async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  p.then(
    () => (done = true),
    () => (done = true),
  );
  for (let i = 0; i < 5; i++) await turn();
  return done;
}

let root: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'coffer-sqlite-group-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

void describe('sqlite store: group commit', () => {
  void it('answers, shows and publishes a write only once an fsync covers it; one fsync covers the writes queued behind another', async () => {
    const sync = heldSync();
    const s = await SqliteStore.open({ dataDir: join(root, 'order'), syncWal: sync.syncWal });
    try {
      const r0 = await s.currentRevision();
      const watch = s.watch('/registry/', { fromRevision: r0, signal: AbortSignal.timeout(10_000) })[Symbol.asyncIterator]();
      const seen: number[] = [];
      const watching = (async () => {
        for (let i = 0; i < 3; i++) {
          const r = await watch.next();
          seen.push((r.value as Extract<WatchEvent, { type: 'put' }>).kv.modRevision);
        }
      })();

      const a = s.create('/registry/a', text('a'));
      assert.equal(await settled(a), false, 'not answered before its fsync');
      assert.equal(sync.calls.length, 1);
      const b = s.create('/registry/b', text('b'));
      const c = s.create('/registry/c', text('c'));
      assert.equal(await s.currentRevision(), r0, 'reads run at the durable revision');
      assert.equal((await s.get('/registry/a')).kv, undefined);
      await settled(watching);
      assert.deepEqual(seen, [], 'watchers hear of nothing yet');
      assert.equal(sync.calls.length, 1, 'b and c wait for the fsync after the one in flight');

      sync.calls[0]!.release();
      assert.equal(await a, r0 + 1);
      assert.equal(await settled(b), false, 'b was committed after the first fsync started');
      assert.equal((await s.get('/registry/a')).kv?.modRevision, r0 + 1);
      assert.equal((await s.get('/registry/b')).kv, undefined);
      await settled(watching);
      assert.deepEqual(seen, [r0 + 1]);
      assert.equal(sync.calls.length, 2, 'one fsync for b and c together');

      sync.calls[1]!.release();
      assert.deepEqual(await Promise.all([b, c]), [r0 + 2, r0 + 3]);
      await watching;
      assert.deepEqual(seen, [r0 + 1, r0 + 2, r0 + 3]);
      assert.equal(sync.calls.length, 2);
      assert.equal(await s.currentRevision(), r0 + 3);
    } finally {
      for (const c of sync.calls) c.release();
      await s.close();
    }
  });

  void it('answers a refused write only once the write it collided with is durable', async () => {
    const sync = heldSync();
    const s = await SqliteStore.open({ dataDir: join(root, 'refused'), syncWal: sync.syncWal });
    try {
      const first = s.create('/registry/k', text('1'));
      const second = s.create('/registry/k', text('2'));
      assert.equal(await settled(second), false, 'its reason is a write nobody has been told about yet');
      sync.calls[0]!.release();
      await first;
      await assert.rejects(second, AlreadyExistsError);
    } finally {
      for (const c of sync.calls) c.release();
      await s.close();
    }
  });

  void it('revisionOf answers a key asked about before with the durable revision: a write shows once its fsync is done', async () => {
    const sync = heldSync();
    const s = await SqliteStore.open({ dataDir: join(root, 'revision-of'), syncWal: sync.syncWal });
    const durable = async <T>(write: Promise<T>): Promise<T> => {
      await turn();
      sync.calls.at(-1)!.release();
      return write;
    };
    try {
      assert.equal(await s.revisionOf('/registry/a'), undefined);
      const created = s.create('/registry/a', text('1'));
      assert.equal(await s.revisionOf('/registry/a'), undefined, 'created, not durable yet');
      const ra = await durable(created);
      assert.equal(await s.revisionOf('/registry/a'), ra);
      // Other keys' writes leave it where it is.
      await durable(s.create('/registry/b', text('b')));
      assert.equal(await s.revisionOf('/registry/a'), ra);
      const updated = s.update('/registry/a', text('2'), { ifRevision: ra });
      assert.equal(await s.revisionOf('/registry/a'), ra, 'updated, not durable yet');
      const rb = await durable(updated);
      assert.equal(await s.revisionOf('/registry/a'), rb);
      const deleted = s.delete('/registry/a');
      assert.equal(await s.revisionOf('/registry/a'), rb, 'deleted, not durable yet');
      await durable(deleted);
      assert.equal(await s.revisionOf('/registry/a'), undefined);
      const again = await durable(s.create('/registry/a', text('3')));
      assert.equal(await s.revisionOf('/registry/a'), again);
      // The keys it keeps are bounded; those it dropped are read again.
      for (let i = 0; i < 5000; i++) await s.revisionOf(`/registry/k${i}`);
      assert.ok(s['latestRevisions'].size <= 4096);
      assert.equal(await s.revisionOf('/registry/a'), again);
    } finally {
      for (const c of sync.calls) c.release();
      await s.close();
    }
  });

  void it('fails the writes an fsync failure leaves undurable, and every request after it', async () => {
    const sync = heldSync();
    const s = await SqliteStore.open({ dataDir: join(root, 'failed'), syncWal: sync.syncWal });
    try {
      const a = s.create('/registry/a', text('a'));
      await turn();
      const b = s.create('/registry/b', text('b'));
      sync.calls[0]!.fail(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }));
      const fsyncFailed = (e: Error) => e instanceof UnavailableError && /fsync of its write-ahead log failed \(EIO/.test(e.message);
      await assert.rejects(a, fsyncFailed);
      await assert.rejects(b, fsyncFailed);
      await assert.rejects(s.get('/registry/a'), fsyncFailed);
      await assert.rejects(s.create('/registry/c', text('c')), fsyncFailed);
      assert.equal(sync.calls.length, 1);
    } finally {
      await s.close();
    }
  });
});
