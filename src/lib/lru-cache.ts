// A small least-recently-used cache. Its onEvict hook sees every value that leaves the cache (pushed out, replaced,
// deleted, cleared) so that a cache of keys can zero-fill them: a DEK that lingers in the heap after the cache let go of
// it is exactly what a memory dump finds.
import { InvalidError } from './errors.js';

export interface LruCacheOptions<K, V> {
  onEvict?: (value: V, key: K) => void;
}

export class LruCache<K, V> {
  // A Map iterates in insertion order; re-inserting on use keeps the least recently used entry first.
  private readonly entries = new Map<K, V>();
  private readonly onEvict: (value: V, key: K) => void;

  constructor(
    readonly maxSize: number,
    opts: LruCacheOptions<K, V> = {},
  ) {
    if (!Number.isInteger(maxSize) || maxSize < 1) {
      throw new InvalidError(`LRU cache size must be a positive integer, got ${maxSize}`);
    }
    this.onEvict = opts.onEvict ?? (() => {});
  }

  get size(): number {
    return this.entries.size;
  }

  /** The value, marked as most recently used. */
  get(key: K): V | undefined {
    if (!this.entries.has(key)) return undefined;
    const value = this.entries.get(key) as V;
    this.entries.delete(key);
    this.entries.set(key, value);
    return value;
  }

  /** The value, without touching its recency. */
  peek(key: K): V | undefined {
    return this.entries.get(key);
  }

  has(key: K): boolean {
    return this.entries.has(key);
  }

  set(key: K, value: V): void {
    const had = this.entries.has(key);
    const old = this.entries.get(key);
    this.entries.delete(key);
    this.entries.set(key, value);
    if (had && old !== value) this.onEvict(old as V, key);
    while (this.entries.size > this.maxSize) {
      const [oldestKey, oldestValue] = this.entries.entries().next().value as [K, V];
      this.entries.delete(oldestKey);
      this.onEvict(oldestValue, oldestKey);
    }
  }

  delete(key: K): boolean {
    if (!this.entries.has(key)) return false;
    const value = this.entries.get(key) as V;
    this.entries.delete(key);
    this.onEvict(value, key);
    return true;
  }

  clear(): void {
    const all = [...this.entries];
    this.entries.clear();
    for (const [key, value] of all) this.onEvict(value, key);
  }
}
