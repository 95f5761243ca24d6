// The SQLite store's checkpoints run in a worker thread (wal-checkpointer.ts), never inside a commit on the event
// loop; the WAL is copied into the file in the background, stays bounded under a stream of writes, is truncated once
// writes stop, and close() leaves the file complete with no WAL. (A kill -9 among background checkpoints: the crash
// safety tests in sqlite-store.test.ts.)
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { SQLITE_FILE_NAME, SqliteStore } from './sqlite-store.js';

/** A WAL frame: 24 bytes of header and a 4 KiB page. */
const FRAME = 24 + 4096;

let root: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'coffer-sqlite-checkpoint-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

const size = async (file: string) => (await stat(file).catch(() => ({ size: 0 }))).size;

async function untilReady(s: SqliteStore): Promise<void> {
  for (let i = 0; i < 600 && !s.checkpointStats()?.ready; i++) await sleep(50);
  assert.ok(s.checkpointStats()?.ready, `the checkpoint worker started: ${JSON.stringify(s.checkpointStats())}`);
}

async function writeMany(s: SqliteStore, prefix: string, count: number, bytes: number, inFlight = 16): Promise<void> {
  const value = randomBytes(bytes);
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < count) await s.create(`${prefix}${next++}`, value);
    }),
  );
}

void describe('sqlite store: checkpoints off the event loop', () => {
  void it('no commit on the event loop copies the WAL into the file (SQLite checkpoints every 1,000 pages in a commit)', async () => {
    const dataDir = join(root, 'no-inline');
    // The worker held off: only a checkpoint made by a commit itself could reach the file.
    const s = await SqliteStore.open({ dataDir, walCheckpoint: { thresholdFrames: 1e9, boundFrames: 1e9, idleMs: 600_000 } });
    const file = join(dataDir, SQLITE_FILE_NAME);
    const before = await size(file);
    try {
      await writeMany(s, '/registry/a/', 1_500, 4096);
      const walFrames = (await size(`${file}-wal`)) / FRAME;
      assert.ok(walFrames > 3_000, `the WAL holds every write: ${walFrames} frames`);
      assert.equal(await size(file), before, 'no commit copied the log into the file');
      assert.equal(s.checkpointStats()?.checkpoints, 0);
    } finally {
      await s.close();
    }
    // close() stops the worker and leaves the file whole, without WAL or index.
    assert.deepEqual((await readdir(dataDir)).sort(), [SQLITE_FILE_NAME, `${SQLITE_FILE_NAME}-lock`]);
    const again = await SqliteStore.open({ dataDir });
    try {
      assert.equal((await again.list('/registry/a/')).kvs.length, 1_500);
      assert.deepEqual(again.integrityCheck(), ['ok']);
    } finally {
      await again.close();
    }
  });

  for (const encrypted of [false, true]) {
    void it(`copies the WAL in the background, keeps it bounded under a stream of writes and truncates it when writes stop (${encrypted ? 'encrypted' : 'plain'})`, async () => {
      const dataDir = join(root, `background-${encrypted}`);
      const keyFile = join(root, `background-${encrypted}.key`);
      if (encrypted) await writeFile(keyFile, randomBytes(32), { mode: 0o600 });
      const s = await SqliteStore.open({
        dataDir,
        ...(encrypted ? { encryptionKeyFile: keyFile } : {}),
        walCheckpoint: { thresholdFrames: 128, boundFrames: 512, idleMs: 300, checkEveryMs: 1 },
      });
      const file = join(dataDir, SQLITE_FILE_NAME);
      try {
        // The worker starts once the WAL reaches the threshold.
        await writeMany(s, '/registry/start/', 100, 4096);
        await untilReady(s);
        // About 12,000 frames: without a restart of the log, the WAL would hold them all.
        await writeMany(s, '/registry/b/', 3_000, 4096);
        const stats = s.checkpointStats()!;
        assert.equal(stats.fallback, undefined);
        assert.ok(stats.checkpoints > 0 && (await size(file)) > 3_000 * 4096, `copied into the file: ${JSON.stringify(stats)}`);
        // The bound is soft: 4,512 and 6,083 frames were seen on an idle machine against a bound of 512, more than what
        // is written while one checkpoint runs (why is still open: docs/performance.md); unbounded, the WAL would hold
        // all 12,000 frames.
        const walFrames = (await size(`${file}-wal`)) / FRAME;
        assert.ok(walFrames < 9_000, `the WAL stayed bounded: ${walFrames.toFixed(0)} frames at most; ${JSON.stringify(stats)}`);
        for (let i = 0; i < 200 && s.checkpointStats()!.truncates === 0; i++) await sleep(50);
        assert.ok(s.checkpointStats()!.truncates > 0, `a TRUNCATE checkpoint once writes stopped: ${JSON.stringify(s.checkpointStats())}`);
        assert.equal(await size(`${file}-wal`), 0, 'truncated once writes stopped');
        // Writes go on after a truncation; the log starts again.
        await writeMany(s, '/registry/c/', 100, 4096);
        assert.equal((await s.list('/registry/b/')).kvs.length, 3_000);
        assert.deepEqual(s.integrityCheck(), ['ok']);
      } finally {
        await s.close();
      }
      assert.deepEqual((await readdir(dataDir)).sort(), [SQLITE_FILE_NAME, `${SQLITE_FILE_NAME}-lock`]);
      const again = await SqliteStore.open({ dataDir, ...(encrypted ? { encryptionKeyFile: keyFile } : {}) });
      try {
        assert.equal((await again.list('/registry/c/')).kvs.length, 100);
        assert.deepEqual(again.integrityCheck(), ['ok']);
      } finally {
        await again.close();
      }
    });
  }
});
