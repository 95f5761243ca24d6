// A worker thread that opens many KMS v2 type-1 values at once (the layout of upstream's aes_extended_nonce.go, as
// aes-gcm-extended-nonce.ts opens them one at a time), so that a LIST's decryption runs on a second core while the
// main thread decodes the values already opened. kube-apiserver runs its transformers on every core (each request is
// a goroutine); Node runs a request's JavaScript, its crypto included, on one thread. Used only for batches (a LIST):
// a single read stays synchronous on the main thread, where a worker's round trip would only add latency.
//
// Key material: the worker gets a copy of the seed once (transferred, so no copy stays in the message), derives each
// value's key as the main thread does, keeps the derived keys in its own bounded cache, and zero-fills the seed's
// pads, every cached key and every plaintext scratch buffer when it is closed. Errors name what failed with the
// messages the synchronous path uses, never key material or plaintext.
import { Worker } from 'node:worker_threads';
import { DecryptError } from '../lib/errors.js';
import { DERIVED_KEY_CACHE_SIZE, DERIVED_KEY_TTL_MS } from './derived-key-cache.js';

/** What the worker answers for a value that does not open (the synchronous path's messages, by code). */
const FAILURES = ['', 'the stored data was shorter than the required size', 'cipher: message authentication failed'] as const;

// The worker's program: CommonJS, self-contained, given as source so that it runs the same under the compiled build and
// under the tests' TypeScript loader (a worker does not inherit the main thread's module hooks on every Node version).
// Its steps are those of aes-gcm-extended-nonce.ts and aes-gcm.ts: HKDF-Expand(SHA-256, seed, info) as one
// HMAC-SHA256 over info ‖ 0x01 with the padded key blocks computed once, then AES-256-GCM open with the storage key as
// authenticated data. Only authentic values set a cache entry (as DerivedKeyCache.set after an open).
const WORKER_SOURCE = String.raw`
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const { createDecipheriv, hash } = require('node:crypto');
const INFO = 32, NONCE = 12, TAG = 16, BLOCK = 64;
const { capacity, ttlMs } = workerData;
const inner = Buffer.alloc(BLOCK + INFO + 1);
const outer = Buffer.alloc(BLOCK + 32);
const cache = new Map(); // path -> { slot: Buffer(info ‖ key), at: ms }; Map order: oldest first
function wipeAll() {
  inner.fill(0);
  outer.fill(0);
  for (const e of cache.values()) e.slot.fill(0);
  cache.clear();
}
function setSeed(seed) {
  let key = seed;
  if (seed.length > BLOCK) key = hash('sha256', seed, 'buffer');
  for (let i = 0; i < BLOCK; i++) {
    inner[i] = (key[i] || 0) ^ 0x36;
    outer[i] = (key[i] || 0) ^ 0x5c;
  }
  inner[BLOCK + INFO] = 1;
  if (key !== seed) key.fill(0);
  seed.fill(0);
}
function derive(info) {
  inner.set(info, BLOCK);
  const innerDigest = hash('sha256', inner, 'buffer');
  outer.set(innerDigest, BLOCK);
  innerDigest.fill(0);
  return hash('sha256', outer, 'buffer');
}
function cachedKey(path, value, now) {
  const e = cache.get(path);
  if (!e) return undefined;
  if (now - e.at > ttlMs) {
    e.slot.fill(0);
    cache.delete(path);
    return undefined;
  }
  for (let i = 0; i < INFO; i++) if (e.slot[i] !== value[i]) return undefined;
  return e.slot.subarray(INFO);
}
function remember(path, info, key, now) {
  if (capacity === 0) return;
  let e = cache.get(path);
  if (e) cache.delete(path);
  else if (cache.size >= capacity) {
    const [oldestPath, oldest] = cache.entries().next().value;
    cache.delete(oldestPath);
    e = oldest;
  } else e = { slot: Buffer.alloc(INFO + 32), at: 0 };
  e.slot.set(info, 0);
  e.slot.set(key, INFO);
  e.at = now;
  cache.set(path, e);
}
function open(value, aad, out, at, now) {
  if (value.length < INFO + NONCE) return -1;
  if (value.length - INFO - NONCE < TAG) return -2;
  const path = aad.toString('latin1');
  let key = cachedKey(path, value, now);
  let derived;
  if (!key) key = derived = derive(value.subarray(0, INFO));
  const tagAt = value.length - TAG;
  let plain;
  try {
    const d = createDecipheriv('aes-256-gcm', key, value.subarray(INFO, INFO + NONCE));
    d.setAAD(aad);
    d.setAuthTag(value.subarray(tagAt));
    plain = d.update(value.subarray(INFO + NONCE, tagAt));
    d.final();
  } catch {
    if (plain) plain.fill(0);
    if (derived) derived.fill(0);
    return -2;
  }
  out.set(plain, at);
  plain.fill(0);
  if (derived) {
    remember(path, value.subarray(0, INFO), derived, now);
    derived.fill(0);
  }
  return plain.length;
}
parentPort.on('message', (m) => {
  if (m.type === 'seed') {
    setSeed(Buffer.from(m.seed));
    return parentPort.postMessage({ ready: true });
  }
  if (m.type === 'close') {
    wipeAll();
    parentPort.close();
    return;
  }
  if (m.type === 'crash') throw new Error('crash requested by a test');
  // open: m.bytes = values ‖ authenticated data; m.ends[2i], m.ends[2i+1] = where value i and its data end.
  const bytes = Buffer.from(m.bytes);
  const ends = m.ends;
  const n = ends.length / 2;
  let size = 0, from = 0;
  for (let i = 0; i < n; i++) {
    size += Math.max(0, ends[2 * i] - from - INFO - NONCE - TAG);
    from = ends[2 * i + 1];
  }
  const out = Buffer.from(new ArrayBuffer(size));
  const lengths = new Int32Array(n); // a plaintext's length, or -code
  const now = Date.now();
  let at = 0;
  from = 0;
  for (let i = 0; i < n; i++) {
    const valueEnd = ends[2 * i], aadEnd = ends[2 * i + 1];
    const got = open(bytes.subarray(from, valueEnd), bytes.subarray(valueEnd, aadEnd), out, at, now);
    lengths[i] = got;
    if (got > 0) at += got;
    from = aadEnd;
  }
  parentPort.postMessage({ plain: out.buffer, lengths }, [out.buffer, lengths.buffer]);
});
`;

export interface OpenJob {
  /** info[32] ‖ nonce[12] ‖ ciphertext ‖ tag[16]. */
  value: Uint8Array;
  authenticatedData: Uint8Array;
}

/** One value's answer: its plaintext (a view of the batch's buffer, the caller's to zero-fill) or why it failed. */
export type OpenResult = Buffer | DecryptError;

interface Pending {
  resolve(results: OpenResult[]): void;
  reject(err: Error): void;
}

export interface ExtendedNonceWorkerOptions {
  /** Derived keys the worker keeps (DERIVED_KEY_CACHE_SIZE by default); 0 keeps none. */
  derivedKeyCacheSize?: number;
}

/** The opening worker of one seed: started at the first batch, again after a crash, closed (and wiped) by destroy. */
export class ExtendedNonceWorker {
  private readonly seed: Buffer;
  private worker: Worker | undefined;
  /** The running worker answered its seed message. */
  private started = false;
  private readonly pending: Pending[] = [];
  private destroyed = false;

  constructor(
    seed: Uint8Array,
    private readonly opts: ExtendedNonceWorkerOptions = {},
  ) {
    this.seed = Buffer.alloc(seed.length);
    this.seed.set(seed);
  }

  /** Jobs sent and not answered yet (for tests). */
  get inFlight(): number {
    return this.pending.length;
  }

  /** Whether a worker thread is running now (for tests). */
  get running(): boolean {
    return this.worker !== undefined;
  }

  /**
   * Whether the worker has started and holds the seed: until then its caller opens values itself, since a new
   * thread's start (tens of ms) would hold up the first batches of a LIST right after a restart. Starts the worker when
   * none is running.
   */
  ready(): boolean {
    if (this.destroyed) return false;
    this.start();
    return this.started;
  }

  /** Opens the values in the worker; one answer per job, in order. Rejects only when the worker itself failed. */
  open(jobs: readonly OpenJob[]): Promise<OpenResult[]> {
    if (this.destroyed) return Promise.reject(new DecryptError('the KMS v2 decryption worker was closed'));
    let size = 0;
    for (const j of jobs) size += j.value.length + j.authenticatedData.length;
    // Shared, not transferred: no detach of an ArrayBuffer on this thread. Only ciphertext and storage keys go in, which
    // are stored in the clear: nothing in it needs wiping.
    const bytes = new Uint8Array(new SharedArrayBuffer(size));
    const ends = new Uint32Array(jobs.length * 2);
    let at = 0;
    for (let i = 0; i < jobs.length; i++) {
      const j = jobs[i]!;
      bytes.set(j.value, at);
      ends[2 * i] = at += j.value.length;
      bytes.set(j.authenticatedData, at);
      ends[2 * i + 1] = at += j.authenticatedData.length;
    }
    const worker = this.start();
    return new Promise<OpenResult[]>((resolve, reject) => {
      this.pending.push({ resolve, reject });
      if (this.pending.length === 1) worker.ref();
      worker.postMessage({ type: 'open', bytes: bytes.buffer, ends });
    });
  }

  /**
   * Zero-fills this side's seed copy and closes the worker, which zero-fills its own copy and cached keys after the
   * jobs already sent (a seed is destroyed only once no read holds it, so there are none in practice).
   */
  destroy(): void {
    this.destroyed = true;
    this.seed.fill(0);
    const worker = this.worker;
    [this.worker, this.started] = [undefined, false];
    worker?.postMessage({ type: 'close' });
  }

  /** For tests: makes the worker throw, as a crash would. */
  crashForTest(): void {
    this.worker?.postMessage({ type: 'crash' });
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { capacity: this.opts.derivedKeyCacheSize ?? DERIVED_KEY_CACHE_SIZE, ttlMs: DERIVED_KEY_TTL_MS },
      // No inherited loaders or flags: the program above needs none, and a loader would only slow its start.
      execArgv: [],
    });
    worker.unref();
    const seed = new Uint8Array(this.seed); // a copy of its own, transferred (detached here) below
    worker.postMessage({ type: 'seed', seed: seed.buffer }, [seed.buffer]);
    worker.on('message', (m: { plain: ArrayBuffer; lengths: Int32Array } | { ready: true }) => {
      if ('ready' in m) {
        if (this.worker === worker) this.started = true;
        return;
      }
      const job = this.pending.shift();
      if (this.pending.length === 0) worker.unref();
      job?.resolve(resultsOf(m.plain, m.lengths));
    });
    const stopped = (why: string): void => {
      if (this.worker === worker) [this.worker, this.started] = [undefined, false]; // the next batch starts a new one
      const jobs = this.pending.splice(0);
      for (const job of jobs) job.reject(new DecryptError(`the KMS v2 decryption worker stopped (${why}) before it answered`));
    };
    // A thrown error's message is the worker program's own (never key material); only its kind is reported.
    worker.on('error', (err) => stopped(err.name));
    worker.on('exit', (code) => stopped(`exit code ${code}`));
    this.worker = worker;
    return worker;
  }
}

function resultsOf(plain: ArrayBuffer, lengths: Int32Array): OpenResult[] {
  const all = Buffer.from(plain);
  const out: OpenResult[] = [];
  let at = 0;
  for (const n of lengths) {
    if (n < 0) out.push(new DecryptError(FAILURES[-n]!));
    else {
      out.push(all.subarray(at, at + n));
      at += n;
    }
  }
  return out;
}
