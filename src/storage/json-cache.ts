// The compact JSON of recently read objects, keyed by storage key and revision, so that a GET of an unchanged object
// skips the decryption, the decode and the JSON encoding (kube-apiserver serves such reads from its watch cache,
// k8s.io/apiserver pkg/storage/cacher). These bodies are decrypted Secrets, so the cache is bounded three ways and
// wipes (zero-fills) every body it drops:
// - an entry answers only for the exact revision it was made from: the caller reads the key's current revision from
//   the store first, and a write or a delete of the key through this process drops the entry at once;
// - at most `maxEntries` entries and `maxBytes` bytes (the oldest go first; a body larger than 1/16 of maxBytes is
//   not kept);
// - no entry lives longer than `ttlMs` after it was made, whether or not it is read again (a timer drops it), which
//   bounds how long the plaintext of an object changed or deleted by another API server (on a shared etcd) stays here.
import { SYSTEM_CLOCK, type Clock } from '../lib/clock.js';

export interface JsonCacheOptions {
  maxEntries?: number;
  maxBytes?: number;
  ttlMs?: number;
  clock?: Clock;
}

interface Entry {
  revision: number;
  body: Buffer;
  expires: number;
}

export const JSON_CACHE_DEFAULTS = { maxEntries: 1000, maxBytes: 8 * 1024 * 1024, ttlMs: 10_000 } as const;

export class JsonCache {
  /** In insertion order, which is also expiry order: entries are never moved, only dropped. */
  private readonly entries = new Map<string, Entry>();
  private bytes = 0;
  private timer: { cancel(): void } | undefined;
  private readonly maxEntries: number;
  private readonly maxBytes: number;
  private readonly ttlMs: number;
  private readonly clock: Clock;

  constructor(opts: JsonCacheOptions = {}) {
    this.maxEntries = opts.maxEntries ?? JSON_CACHE_DEFAULTS.maxEntries;
    this.maxBytes = opts.maxBytes ?? JSON_CACHE_DEFAULTS.maxBytes;
    this.ttlMs = opts.ttlMs ?? JSON_CACHE_DEFAULTS.ttlMs;
    this.clock = opts.clock ?? SYSTEM_CLOCK;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Whether there is an entry for key, of any revision; one past its time is dropped (and wiped) here. */
  has(key: string): boolean {
    const entry = this.entries.get(key);
    if (!entry) return false;
    if (entry.expires > this.clock.now()) return true;
    this.drop(key, entry);
    return false;
  }

  /**
   * A copy of the body made from `revision` of key (the response may still be on its way when the entry is wiped);
   * undefined when there is none. An entry of another revision is dropped.
   */
  get(key: string, revision: number): Buffer | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.revision !== revision || entry.expires <= this.clock.now()) {
      this.drop(key, entry);
      return undefined;
    }
    return Buffer.from(entry.body);
  }

  /** Keeps body as key's JSON at revision; the cache owns it from now on (and wipes it when it drops it). */
  set(key: string, revision: number, body: Buffer): void {
    const old = this.entries.get(key);
    if (old) this.drop(key, old);
    if (body.byteLength > this.maxBytes / 16) {
      body.fill(0);
      return;
    }
    this.entries.set(key, { revision, body, expires: this.clock.now() + this.ttlMs });
    this.bytes += body.byteLength;
    for (const [k, e] of this.entries) {
      if (this.entries.size <= this.maxEntries && this.bytes <= this.maxBytes) break;
      this.drop(k, e);
    }
    this.timer ??= this.clock.setTimeout(() => this.expire(), this.ttlMs);
  }

  /** Drops key's entry: the key was written or deleted (or a watch saw it change). */
  delete(key: string): void {
    const entry = this.entries.get(key);
    if (entry) this.drop(key, entry);
  }

  /** Drops every entry (wiped). */
  clear(): void {
    for (const [k, e] of this.entries) this.drop(k, e);
  }

  private drop(key: string, entry: Entry): void {
    this.entries.delete(key);
    this.bytes -= entry.body.byteLength;
    entry.body.fill(0);
    if (this.entries.size === 0) {
      this.timer?.cancel();
      this.timer = undefined;
    }
  }

  /** Drops the entries past their time; runs again when the oldest one left is due. */
  private expire(): void {
    this.timer = undefined;
    const now = this.clock.now();
    for (const [k, e] of this.entries) {
      if (e.expires > now) {
        this.timer = this.clock.setTimeout(() => this.expire(), e.expires - now);
        return;
      }
      this.drop(k, e);
    }
  }
}
