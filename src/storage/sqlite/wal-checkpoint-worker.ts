// The SQLite store's checkpointer, in a worker thread with its own connection to the store's file (see
// wal-checkpointer.ts for why and for the protocol with the store). It copies the WAL into the database file with
// PASSIVE checkpoints, which never take the write lock, so the store's commits on the event loop go on meanwhile; it
// asks the store to hold its writes only for what needs the log to itself: finishing a checkpoint once the WAL passed
// its bound (so the next commit starts the log again, https://www.sqlite.org/wal.html "Avoiding Excessively Large WAL
// Files"), and TRUNCATE when writes stopped.
import { setTimeout as sleep } from 'node:timers/promises';
import { parentPort, workerData } from 'node:worker_threads';
import { openDatabase } from '../../lib/sqlite-database.js';
import { CONTROL, walState, type CheckpointWorkerData, type FromWorker } from './wal-checkpoint-protocol.js';

const data = workerData as CheckpointWorkerData;
const port = parentPort!;
const control = new Int32Array(data.control);

const shm = Buffer.alloc(136);
const walNow = () => walState(data.shmFd, shm);

// The store's connection opened it with the same key: the worker's copy of the key is wiped once used.
const db = openDatabase(data.file, { timeout: 1000 });
if (data.key) {
  const key = Buffer.from(data.key.buffer, data.key.byteOffset, data.key.byteLength);
  try {
    db.pragma(`cipher = 'sqlcipher'`);
    db.key(key);
  } finally {
    key.fill(0);
  }
}
db.prepare('SELECT count(*) FROM sqlite_master').get();
// NORMAL: a checkpoint fsyncs the WAL before it copies and the database file after, before it records the frames as
// copied; only then may a writer start the log again over them. The worker itself never writes.
db.pragma('synchronous = NORMAL');
db.pragma('wal_autocheckpoint = 0');
interface CheckpointRow {
  busy: number;
  log: number;
  checkpointed: number;
}
const passive = db.prepare<[], CheckpointRow>('PRAGMA wal_checkpoint(PASSIVE)');
const truncate = db.prepare<[], CheckpointRow>('PRAGMA wal_checkpoint(TRUNCATE)');

function post(m: FromWorker): void {
  port.postMessage(m);
}

function checkpoint(statement: typeof passive, mode: 'passive' | 'truncate', paused: boolean): CheckpointRow {
  const start = performance.now();
  const row = statement.get()!;
  post({ type: 'checkpoint', mode, paused, frames: row.checkpointed, log: row.log, ms: performance.now() - start });
  return row;
}

// Atomics.waitAsync (ES2024) is in Node 20's V8; TypeScript's ES2022 library does not declare it.
const waitAsync = (Atomics as unknown as {
  waitAsync: (a: Int32Array, i: number, v: number, ms: number) => { async: boolean; value: Promise<string> | string };
}).waitAsync;

/** Asks the store to hold its writes, runs fn once it does, and lets them go. */
async function whilePaused<T>(fn: () => T): Promise<T> {
  Atomics.store(control, CONTROL.pause, 1);
  post({ type: 'pause' });
  while (Atomics.load(control, CONTROL.paused) === 0 && !stopping()) {
    const waited = waitAsync(control, CONTROL.paused, 0, 1000);
    if (waited.async) await waited.value;
  }
  try {
    return fn();
  } finally {
    Atomics.store(control, CONTROL.pause, 0);
    Atomics.store(control, CONTROL.paused, 0);
    post({ type: 'resume' });
  }
}

// A pending Atomics.waitAsync does not keep a thread alive; the open port does, until run() closes it.
port.on('message', () => undefined);

const stopping = () => Atomics.load(control, CONTROL.stop) !== 0;

async function run(): Promise<void> {
  post({ type: 'ready' });
  let seen = Atomics.load(control, CONTROL.writes);
  while (!stopping()) {
    const waited = waitAsync(control, CONTROL.writes, seen, data.idleMs);
    if (waited.async) await waited.value;
    if (stopping()) break;
    const now = Atomics.load(control, CONTROL.writes);
    if (now === seen) {
      // No write for idleMs: the whole log into the file and the WAL back to nothing, with the writes held (TRUNCATE
      // takes the write lock; a commit meeting it would wait on the event loop, in SQLite's busy handler).
      if (walNow().frames > 0) await whilePaused(() => checkpoint(truncate, 'truncate', true));
      continue;
    }
    seen = now;
    const { frames, backfilled } = walNow();
    const behind = frames - backfilled;
    if (behind >= data.thresholdFrames || (frames >= data.boundFrames && behind > 0)) {
      const row = checkpoint(passive, 'passive', false);
      // Commits made during the checkpoint keep the log from starting again; past the bound, the rest is copied with
      // the writes held, so the next commit starts the log over.
      if (row.log >= data.boundFrames && row.checkpointed < row.log) await whilePaused(() => checkpoint(passive, 'passive', true));
    }
    // Checks at most this often: every commit wakes the worker otherwise.
    await sleep(data.checkEveryMs);
  }
  // The store has stopped writing: leave the file complete and the WAL empty, as a close by SQLite itself would.
  checkpoint(truncate, 'truncate', false);
  db.close();
}

run().then(
  () => {
    post({ type: 'stopped' });
    port.close();
  },
  (e: unknown) => {
    try {
      db.close();
    } catch {
      // already failing
    }
    const code = (e as { code?: unknown }).code;
    post({ type: 'failed', message: (e as Error).message, code: typeof code === 'string' ? code : '' });
    port.close();
  },
);
