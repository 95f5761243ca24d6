// Checkpoints of the SQLite store's WAL, off the event loop.
//
// Why: SQLite's automatic checkpoint (wal_autocheckpoint, every 1,000 pages) runs inside the commit that crosses the
// mark: it copies the WAL's pages into the database file and fsyncs both, synchronously, so every ~1,000 pages one
// request, and the whole event loop with it, waits for that (measured in docs/performance.md, "Checkpoints off the
// event loop"). Here the store's connection never checkpoints (wal_autocheckpoint=0); a worker thread with a second
// connection to the same file runs PASSIVE checkpoints, which take no write lock, while the store goes on committing
// (https://www.sqlite.org/wal.html "Checkpointing" and "Concurrency"; sqlite3_wal_checkpoint_v2).
//
// Bound: commits made while a checkpoint runs keep the log from starting again (a writer restarts the WAL only when
// every frame was copied), so under a steady stream of writes the WAL would grow without end. Past boundFrames, the
// worker asks the store to hold its writes (they wait as promises; the event loop keeps serving reads), finishes the
// checkpoint, and lets them go; the next commit starts the log over. TRUNCATE (which takes the write lock) runs the
// same way, once writes stopped for idleMs. Something outside Coffer holding a read transaction open (an operator's
// sqlite3 shell) can still pin the log, as it can for SQLite's own checkpoints; the writes are held only for one
// checkpoint each time, never until that reader ends.
//
// The worker starts once the WAL first reaches thresholdFrames (the store looks every 16 commits): a store that writes
// little (tests, a small cluster) never pays for a thread, and `coffer up` does not wait for one.
//
// Fallback: if the worker fails (it cannot open the file, a checkpoint fails), the store goes back to SQLite's
// automatic checkpoint in the commit, which is what it did before, and a warning says so.
import { Worker } from 'node:worker_threads';
import {
  CONTROL,
  CONTROL_WORDS,
  type CheckpointTuning,
  type CheckpointWorkerData,
  type FromWorker,
  walState,
} from './wal-checkpoint-protocol.js';

export const DEFAULT_CHECKPOINT_TUNING: CheckpointTuning = {
  thresholdFrames: 1_000,
  boundFrames: 8_000,
  idleMs: 2_000,
  checkEveryMs: 5,
};

/** What the worker did, for tests and the bench. */
export interface CheckpointStats {
  /** The worker has its connection open. */
  ready: boolean;
  checkpoints: number;
  /** Frames copied, summed over checkpoints. */
  frames: number;
  /** Checkpoints run with the store's writes held, and how long writes were held in all. */
  paused: number;
  pausedMs: number;
  /** The longest checkpoint (worker time, not the event loop's). */
  maxMs: number;
  truncates: number;
  /** Set once the worker failed and the store checkpoints in its commits again. */
  fallback?: string;
}

/**
 * The worker runs as whatever this module runs as: compiled JavaScript, or TypeScript under tsx (tests, the bench),
 * where it registers tsx's loader first: Node 20 does not apply `--import` to worker threads.
 */
function startWorker(workerData: CheckpointWorkerData, transferList: ArrayBuffer[]): Worker {
  if (!import.meta.url.endsWith('.ts')) {
    return new Worker(new URL('./wal-checkpoint-worker.js', import.meta.url), { workerData, transferList });
  }
  const tsx = JSON.stringify(import.meta.resolve('tsx/esm/api'));
  const worker = JSON.stringify(new URL('./wal-checkpoint-worker.ts', import.meta.url).href);
  const code = `import(${tsx}).then((tsx) => { tsx.register(); return import(${worker}); });`;
  return new Worker(code, { eval: true, workerData, transferList });
}

export class WalCheckpointer {
  readonly stats: CheckpointStats = { ready: false, checkpoints: 0, frames: 0, paused: 0, pausedMs: 0, maxMs: 0, truncates: 0 };
  private readonly control = new Int32Array(new SharedArrayBuffer(CONTROL_WORDS * 4));
  private worker: Worker | undefined;
  /** Set while the worker holds the store's writes; resolves when they may go on. */
  private gate: Promise<void> | undefined;
  private openGate: (() => void) | undefined;
  private pausedAt = 0;
  private ended: Promise<void> = Promise.resolve();
  private endedResolve: () => void = () => undefined;
  /** Kept, for the worker, until it starts; the store's connection has the key anyway. */
  private key: Uint8Array | undefined;
  private readonly shm = Buffer.alloc(136);
  private commits = 0;

  /**
   * `key` (the store's key in SQLite3MultipleCiphers' raw-key form) is copied here and, when the worker starts, moved
   * into it (transferred, never cloned) and wiped there. onFallback runs once if the worker fails.
   */
  constructor(
    private readonly opts: { file: string; shmFd: number; key: Uint8Array | undefined; tuning: CheckpointTuning },
    private readonly onFallback: (reason: string) => void,
  ) {
    this.key = opts.key ? new Uint8Array(opts.key) : undefined;
  }

  get started(): boolean {
    return this.worker !== undefined || this.stats.fallback !== undefined;
  }

  private start(): void {
    this.ended = new Promise((resolve) => (this.endedResolve = resolve));
    const key = this.key;
    this.key = undefined;
    const { file, shmFd, tuning } = this.opts;
    const workerData: CheckpointWorkerData = { file, shmFd, control: this.control.buffer, ...tuning, ...(key ? { key } : {}) };
    try {
      this.worker = startWorker(workerData, key ? [key.buffer as ArrayBuffer] : []);
    } catch (e) {
      key?.fill(0);
      this.fail(`the checkpoint worker did not start: ${(e as Error).message}`);
      this.endedResolve();
      return;
    }
    this.worker.on('message', (m: FromWorker) => this.onMessage(m));
    this.worker.on('error', (e) => this.fail(`the checkpoint worker failed: ${e.message}`));
    this.worker.on('exit', () => {
      this.release();
      if (Atomics.load(this.control, CONTROL.stop) === 0) this.fail('the checkpoint worker exited');
      this.endedResolve();
    });
  }

  /** Defined while writes must wait; resolves when they may go on. */
  get held(): Promise<void> | undefined {
    if (this.gate === undefined && Atomics.load(this.control, CONTROL.pause) === 1) this.hold();
    return this.gate;
  }

  /**
   * Between two store calls no transaction is open (every one is synchronous), so from here on the worker may have
   * the log to itself.
   */
  private hold(): void {
    this.gate = new Promise((resolve) => (this.openGate = resolve));
    this.pausedAt = performance.now();
    Atomics.store(this.control, CONTROL.paused, 1);
    Atomics.notify(this.control, CONTROL.paused);
  }

  /** After each commit: tells the worker (a shared counter, no message), or starts it once the WAL has grown. */
  wrote(lookNow = false): void {
    if (this.worker) {
      Atomics.add(this.control, CONTROL.writes, 1);
      Atomics.notify(this.control, CONTROL.writes);
    } else if (!this.started && (lookNow || (++this.commits & 15) === 0)) {
      if (walState(this.opts.shmFd, this.shm).frames >= this.opts.tuning.thresholdFrames) this.start();
    }
  }

  /** Stops the worker once it has copied the whole log and truncated the WAL; the store must have stopped writing. */
  async stop(): Promise<void> {
    this.key?.fill(0);
    this.key = undefined;
    Atomics.store(this.control, CONTROL.stop, 1);
    Atomics.notify(this.control, CONTROL.writes);
    await this.ended;
  }

  private onMessage(m: FromWorker): void {
    switch (m.type) {
      case 'ready':
        this.stats.ready = true;
        return;
      case 'pause':
        // Unless a commit saw the request first, or the worker is done already (its 'resume' follows).
        if (this.gate === undefined && Atomics.load(this.control, CONTROL.pause) === 1) this.hold();
        return;
      case 'resume':
        this.stats.pausedMs += performance.now() - this.pausedAt;
        this.release();
        return;
      case 'checkpoint':
        this.stats.checkpoints++;
        this.stats.frames += m.frames;
        if (m.paused) this.stats.paused++;
        if (m.mode === 'truncate') this.stats.truncates++;
        this.stats.maxMs = Math.max(this.stats.maxMs, m.ms);
        return;
      case 'stopped':
        return;
      case 'failed':
        this.fail(`a checkpoint failed (${m.code || m.message})`);
        return;
    }
  }

  private release(): void {
    const open = this.openGate;
    this.gate = undefined;
    this.openGate = undefined;
    open?.();
  }

  private fail(reason: string): void {
    this.release();
    if (this.stats.fallback !== undefined || Atomics.load(this.control, CONTROL.stop) !== 0) return;
    this.stats.fallback = reason;
    this.onFallback(reason);
  }
}
