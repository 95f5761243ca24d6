// The plaintexts an ObjectStorage has just written, for its own watches. Every write comes back to this API server's
// watchers (the garbage collector's informers watch every resource) as a put event, which they opened again: read
// the value, decrypt it (with KMS v2: HKDF and AES-GCM) and decode it. kube-apiserver's watch cache decodes each event
// once for all its watchers; here a watcher takes the plaintext just written instead of decrypting the value, when
// the event's value is exactly the bytes this storage wrote for that key (so it is this write, whatever its
// revision, and the plaintext under it is the one kept). Other watchers of the same event open it as before, so
// each still gets an object of its own.
//
// The plaintext is kept, not an object decoded from it at the write: a watcher that lags more than MAX_ENTRIES
// writes behind (the informer under a sustained stream of creates) never takes most entries, and a decode made for
// nobody cost as much as the one the watcher then makes (issue 16's creates: most entries were dropped untaken).
// With identity the stored value is the plaintext, so nothing is copied. The object the write decoded from the
// plaintext for its own answer is kept with it: the watcher that takes the entry gets that object (with its own
// top level and metadata) instead of decoding the plaintext again, which was a second decode of every create.
//
// Bounds, because these are decrypted plaintexts: at most MAX_ENTRIES (the oldest go first), only while a watch is
// open, none kept more than LIFETIME_MS after its write (a write normally reaches the watchers within milliseconds),
// and every copy is zero-filled when it is dropped or handed over.

import type { KubeObject } from '../objects/object-meta.js';

const MAX_ENTRIES = 64;
const LIFETIME_MS = 1000;

/** A write's plaintext, handed to a watcher: decode it (unless object is there), then call done() (which wipes a copy). */
export interface TakenPlaintext {
  plain: Uint8Array;
  /** The object the write decoded from plain, when it kept it: its nested values are shared with the write's answer. */
  object: KubeObject | undefined;
  done(): void;
}

interface Entry {
  /** The stored value (what the transformers made of the plaintext). */
  value: Uint8Array;
  /** The plaintext: a copy of this storage's own, or the stored value itself when they are the same bytes. */
  plain: Uint8Array;
  /** The object decoded from plain at the write, if the writer gave it. */
  object: KubeObject | undefined;
  /** Performance clock time of the write. */
  at: number;
}

export class RecentWrites {
  /** In insertion order, which is also age order. */
  private readonly entries = new Map<string, Entry>();
  private watchers = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;

  /** True while someone could take an entry: only then is a write worth remembering. */
  get wanted(): boolean {
    return this.watchers > 0;
  }

  /** A watch opened; the returned function closes it (the last close forgets every entry). */
  watching(): () => void {
    this.watchers++;
    let closed = false;
    return () => {
      if (closed) return;
      closed = true;
      if (--this.watchers === 0) this.clear();
    };
  }

  /**
   * Remembers the write of plain under key as value (replacing an earlier write of the key). plain stays the caller's
   * (who wipes it): a copy is kept, unless value holds the same bytes (identity), which is kept instead. object: what
   * the writer decoded from plain (read-only from here on, as every watched object is).
   */
  put(key: string, value: Uint8Array, plain: Uint8Array, object?: KubeObject): void {
    if (!this.wanted) return;
    this.forget(key);
    const same = value.byteLength === plain.byteLength && Buffer.compare(value, plain) === 0;
    // Buffer.from copies into Node's shared pool (under 4 KiB): no ArrayBuffer of its own per write for V8 to collect.
    this.entries.set(key, { value, plain: same ? value : Buffer.from(plain), object, at: performance.now() });
    if (this.entries.size > MAX_ENTRIES) this.forget(this.entries.keys().next().value!);
    this.timer ??= setTimeout(() => this.expire(), LIFETIME_MS).unref();
  }

  /** The plaintext of the write that stored exactly value under key, once; undefined otherwise. */
  take(key: string, value: Uint8Array): TakenPlaintext | undefined {
    const entry = this.entries.get(key);
    if (!entry || entry.value.byteLength !== value.byteLength || Buffer.compare(entry.value, value) !== 0) return undefined;
    this.entries.delete(key);
    return { plain: entry.plain, object: entry.object, done: () => wipe(entry) };
  }

  /** Forgets the write of key (it failed, or the key changed in another way). */
  forget(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    wipe(entry);
  }

  clear(): void {
    for (const entry of this.entries.values()) wipe(entry);
    this.entries.clear();
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Drops the entries older than LIFETIME_MS (not the younger ones); runs again when the oldest left is due. */
  private expire(): void {
    this.timer = undefined;
    const now = performance.now();
    for (const [key, entry] of this.entries) {
      const due = entry.at + LIFETIME_MS - now;
      if (due > 0) {
        this.timer = setTimeout(() => this.expire(), due).unref();
        return;
      }
      this.forget(key);
    }
  }
}

/** Zero-fills a kept copy of a plaintext (never the stored value itself, which is what the store holds). */
function wipe(entry: Entry): void {
  if (entry.plain !== entry.value) entry.plain.fill(0);
}
