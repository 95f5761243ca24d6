// What the SQLite store and its checkpoint worker (wal-checkpoint-worker.ts) share: the worker's start data, the
// control words in shared memory, their messages, and how both read the WAL's state.
import { readSync } from 'node:fs';
import { endianness } from 'node:os';

/**
 * The WAL's state from the wal-index header in the -shm file (https://www.sqlite.org/walformat.html, "The WAL-Index
 * Header"), native byte order: mxFrame (frames in the log) at byte 16, and the checkpoint's nBackfill (frames already
 * copied into the file) at byte 96. Read through the store's descriptor (closing one of our own would drop SQLite's
 * POSIX locks on the file); an estimate, read without SQLite's locks, which is all its users need.
 */
export function walState(shmFd: number, buf = Buffer.alloc(136)): { frames: number; backfilled: number } {
  if (readSync(shmFd, buf, 0, 136, 0) < 136) return { frames: 0, backfilled: 0 };
  return endianness() === 'LE'
    ? { frames: buf.readUInt32LE(16), backfilled: buf.readUInt32LE(96) }
    : { frames: buf.readUInt32BE(16), backfilled: buf.readUInt32BE(96) };
}

/** Indexes into the shared Int32Array. */
export const CONTROL = {
  /** Bumped by the store after each commit; the worker waits on it. */
  writes: 0,
  /** Set by the store when it closes. */
  stop: 1,
  /**
   * Set by the worker to ask that writes be held (it also sends 'pause', for a store that is not writing): a store
   * writing in a loop that never yields to the event loop (only resolved promises) would never see the message.
   */
  pause: 2,
  /** Set by the store once it holds its writes; the worker waits on it. */
  paused: 3,
} as const;
export const CONTROL_WORDS = 4;

export interface CheckpointTuning {
  /** Frames the WAL may hold beyond what was copied before a checkpoint runs (SQLite's own default is 1,000). */
  thresholdFrames: number;
  /** Frames past which a checkpoint is finished with the store's writes held, so that the log starts again. */
  boundFrames: number;
  /** Without a write for this long, the log is copied whole and the WAL truncated. */
  idleMs: number;
  /** The least time between two looks at the WAL (each commit would wake the worker otherwise). */
  checkEveryMs: number;
}

export interface CheckpointWorkerData extends CheckpointTuning {
  file: string;
  /** SQLite3MultipleCiphers' raw-key form, transferred (not copied) to the worker, which wipes it once used. */
  key?: Uint8Array;
  /** The store's descriptor of the -shm file, which the worker reads the WAL's state from. */
  shmFd: number;
  control: SharedArrayBuffer;
}

export type FromWorker =
  | { type: 'ready' }
  | { type: 'pause' }
  | { type: 'resume' }
  | { type: 'checkpoint'; mode: 'passive' | 'truncate'; paused: boolean; frames: number; log: number; ms: number }
  | { type: 'stopped' }
  | { type: 'failed'; message: string; code: string };
