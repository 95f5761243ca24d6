// Provider calls shared between ExternalSecrets: identical calls in flight share one promise, and a result stays
// reusable for a while (the caller says how old a value it accepts: a fraction of its refreshInterval). A thousand
// ExternalSecrets reading one remote key then cost one provider call per window instead of a thousand.
// Values are secret material: they are copied out, and zero-filled when they expire or are evicted.
import type { Clock } from '../lib/clock.js';

type Value = Buffer | Record<string, Buffer>;

interface Entry {
  fetchedAt: number;
  value: Value;
}

function copy(v: Value): Value {
  if (Buffer.isBuffer(v)) return Buffer.from(v);
  const out: Record<string, Buffer> = {};
  for (const [k, b] of Object.entries(v)) out[k] = Buffer.from(b);
  return out;
}

function wipe(v: Value): void {
  if (Buffer.isBuffer(v)) v.fill(0);
  else for (const b of Object.values(v)) b.fill(0);
}

export class CallDeduplicator {
  private readonly done = new Map<string, Entry>();
  private readonly inFlight = new Map<string, Promise<Value>>();
  private readonly maxEntries: number;

  constructor(
    private readonly clock: Clock,
    opts: { maxEntries?: number } = {},
  ) {
    this.maxEntries = opts.maxEntries ?? 10_000;
  }

  async run<T extends Value>(key: string, maxAgeMs: number, fn: () => Promise<T>): Promise<T> {
    const hit = this.done.get(key);
    if (hit && maxAgeMs > 0 && this.clock.now() - hit.fetchedAt <= maxAgeMs) return copy(hit.value) as T;
    let pending = this.inFlight.get(key);
    if (!pending) {
      const started = this.clock.now();
      pending = fn().then(
        (value) => {
          this.inFlight.delete(key);
          this.store(key, { fetchedAt: started, value: copy(value) });
          return value;
        },
        (e: unknown) => {
          this.inFlight.delete(key);
          throw e;
        },
      );
      this.inFlight.set(key, pending);
      return copy(await pending) as T;
    }
    return copy(await pending) as T;
  }

  private store(key: string, entry: Entry): void {
    const old = this.done.get(key);
    if (old) wipe(old.value);
    this.done.delete(key);
    this.done.set(key, entry);
    while (this.done.size > this.maxEntries) {
      const [oldest, e] = this.done.entries().next().value as [string, Entry];
      wipe(e.value);
      this.done.delete(oldest);
    }
  }

  /** Forgets every entry whose key starts with prefix (a store changed). */
  invalidate(prefix: string): void {
    for (const [k, e] of this.done) {
      if (k.startsWith(prefix)) {
        wipe(e.value);
        this.done.delete(k);
      }
    }
  }

  clear(): void {
    this.invalidate('');
  }
}
