// The derived-key cache of a KMS v2 seed, as upstream's extendedNonceGCM keeps one (k8s.io/apiserver
// pkg/storage/value/encrypt/aes/aes_extended_nonce.go and cache.go): indexed by the storage path (the authenticated
// data), and answering only when the stored info matches, so a rewritten object (new info) misses and replaces its
// entry. Upstream sets an entry on every read and every write; here only reads set one (see the transformer's seal),
// so a value read once is read again without HKDF: the garbage collector's informer and a client's LIST after a
// restart, a controller's repeated LISTs, each read every value again. A hit costs about 0.7 µs against the 3.3 µs
// of the two SHA-256 it replaces (CPU, medians; docs/performance.md).
//
// Bounded, unlike upstream's (a 10-minute TTL only): at most `capacity` entries in one slab grown as they come
// (info ‖ key, 64 bytes each; when full, the least recently set is overwritten first), none served after DERIVED_KEY_TTL_MS, and
// every slot zero-filled when it expires or the seed is destroyed. A derived key is a function of the seed this process holds
// anyway, so the cache adds nothing an attacker with the memory would not have; it is still wiped with the seed.

/** Upstream's cacheTTL. */
export const DERIVED_KEY_TTL_MS = 10 * 60_000;
/** Entries per seed: a LIST of 5,000 after a restart is served whole; at most 512 KiB of slab. */
export const DERIVED_KEY_CACHE_SIZE = 8192;

const INFO = 32;
const KEY = 32;
const SLOT = INFO + KEY;

export class DerivedKeyCache {
  // Grown as entries come (256 slots first, doubling up to capacity): a seed that is never read (or a cache of capacity
  // 0) costs nothing, and an old seed after a rotation, read for a few objects, costs a few KiB, not the whole bound.
  private slab = Buffer.alloc(0);
  private setAt = new Float64Array(0);
  private allocated = 0;
  /** Path → slot; Map order is insertion order, so the first entry is the oldest. */
  private readonly slots = new Map<string, number>();
  private readonly free: number[] = [];

  constructor(
    readonly capacity: number,
    private readonly now: () => number = Date.now,
    private readonly ttlMs = DERIVED_KEY_TTL_MS,
  ) {}

  get size(): number {
    return this.slots.size;
  }

  /**
   * The key derived for info (the first 32 bytes of `info`, so a stored value can be passed whole), if path's entry
   * holds that info: a view into the slab, valid until the next set or wipe, so the caller uses it synchronously and
   * never zero-fills it.
   */
  get(path: string, info: Uint8Array): Buffer | undefined {
    const slot = this.slots.get(path);
    if (slot === undefined || info.length < INFO) return undefined;
    if (this.now() - this.setAt[slot]! > this.ttlMs) {
      this.drop(path, slot);
      return undefined;
    }
    const at = slot * SLOT;
    // A loop, not Buffer#compare with offsets (whose argument checks cost more than these 32 bytes); info is stored in
    // the clear beside every value, so a comparison that stops early tells nothing.
    const slab = this.slab;
    for (let i = 0; i < INFO; i++) if (slab[at + i] !== info[i]) return undefined;
    return slab.subarray(at + INFO, at + SLOT);
  }

  /** Keeps key (derived from info's first 32 bytes) for path, replacing path's entry, or the oldest entry when full. */
  set(path: string, info: Uint8Array, key: Uint8Array): void {
    if (this.capacity === 0) return;
    if (this.free.length === 0 && this.allocated < this.capacity && !this.slots.has(path)) this.grow();
    let slot = this.slots.get(path);
    if (slot !== undefined) {
      this.slots.delete(path); // set again below: now the newest
    } else {
      slot = this.free.pop();
      if (slot === undefined) {
        const [oldestPath, oldest] = this.slots.entries().next().value as [string, number];
        this.slots.delete(oldestPath);
        slot = oldest;
      }
    }
    const at = slot * SLOT;
    this.slab.set(info.subarray(0, INFO), at);
    this.slab.set(key.subarray(0, KEY), at + INFO);
    this.setAt[slot] = this.now();
    this.slots.set(path, slot);
  }

  /** Zero-fills every slot and forgets every path. */
  wipe(): void {
    this.slab.fill(0);
    this.slab = Buffer.alloc(0);
    this.setAt = new Float64Array(0);
    this.allocated = 0;
    this.slots.clear();
    this.free.length = 0;
  }

  /** More slots: the entries move to a larger slab, and the old one is zero-filled. */
  private grow(): void {
    const size = Math.min(this.capacity, Math.max(256, this.allocated * 2));
    const slab = Buffer.alloc(size * SLOT);
    this.slab.copy(slab);
    this.slab.fill(0);
    const setAt = new Float64Array(size);
    setAt.set(this.setAt);
    for (let i = size - 1; i >= this.allocated; i--) this.free.push(i);
    [this.slab, this.setAt, this.allocated] = [slab, setAt, size];
  }

  private drop(path: string, slot: number): void {
    this.slots.delete(path);
    this.slab.fill(0, slot * SLOT, (slot + 1) * SLOT);
    this.free.push(slot);
  }
}
