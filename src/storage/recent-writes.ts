// The objects an ObjectStorage has just written, for its own watches. Every write comes back to this API server's
// watchers (the garbage collector's informers watch every resource) as a put event, which they opened again: read
// the value, decrypt it (with KMS v2: HKDF and AES-GCM) and decode it. kube-apiserver's watch cache decodes each event
// once for all its watchers; here a watcher takes the object decoded from the plaintext just written instead, when
// the event's value is exactly the bytes this storage wrote for that key (so it is this write, whatever its
// revision, and the plaintext under it is the one decoded). Other watchers of the same event open it as before, so
// each still gets an object of its own.
//
// Bounds, because these are decrypted objects: at most MAX_ENTRIES (the oldest go first), only while a watch is open,
// and none lives more than LIFETIME_MS (a write normally reaches the watchers within milliseconds).
import type { KubeObject } from '../objects/object-meta.js';

const MAX_ENTRIES = 64;
const LIFETIME_MS = 1000;

interface Entry {
  /** The stored value (what the transformers made of the plaintext). */
  value: Uint8Array;
  /** The object decoded from the plaintext, without resourceVersion; nobody else holds it. */
  obj: KubeObject;
}

export class RecentWrites {
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

  /** Remembers the object written under key as value (replacing an earlier write of the key). */
  put(key: string, value: Uint8Array, obj: KubeObject): void {
    if (!this.wanted) return;
    this.entries.delete(key);
    this.entries.set(key, { value, obj });
    if (this.entries.size > MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value!);
    // Entries are meant to live for milliseconds: whatever is still here after LIFETIME_MS goes, at once.
    this.timer ??= setTimeout(() => this.clear(), LIFETIME_MS).unref();
  }

  /** The object of the write that stored exactly value under key, once; undefined otherwise. */
  take(key: string, value: Uint8Array): KubeObject | undefined {
    const entry = this.entries.get(key);
    if (!entry || entry.value.byteLength !== value.byteLength || Buffer.compare(entry.value, value) !== 0) return undefined;
    this.entries.delete(key);
    return entry.obj;
  }

  /** Forgets the write of key (it failed, or the key changed in another way). */
  forget(key: string): void {
    this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  get size(): number {
    return this.entries.size;
  }
}
