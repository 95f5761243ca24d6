// In-process fan-out of committed writes to watchers, so a watch on the embedded store never polls the file.
//
// Why there is no gap and no duplicate: better-sqlite3 is synchronous and the store holds the file's exclusive lock, so
// a revision becoming durable (readable) and its publish() happen in one turn of the event loop, and so do a watcher's
// last replay read (which reads only durable revisions) and its subscription. Nothing can become durable between "read
// everything after the cursor" and "subscribe": the watcher sees a revision either in the replay or live, never both,
// never neither.
//
// Why a slow watcher cannot block writers or eat memory: publish() only appends to a bounded queue. When a watcher
// falls too far behind, it leaves the hub and, once it has drained what it holds, reads the rest back from the log table
// (the same replay it started with), then rejoins. Compaction in the meantime ends it with CompactedError, as etcd does.
import type { WatchEvent } from '../store.js';

/** Reads, synchronously and in revision order, up to `limit` events on keys with the prefix after revision `after`. */
export type ReadEventsAfter = (prefix: string, after: number, limit: number) => WatchEvent[];

export interface WatchHubLimits {
  /** Events one replay read fetches. */
  pageEvents: number;
  /** A live watcher holding more than this many undelivered events falls back to reading the log. */
  maxQueuedEvents: number;
  /** ...or more than this many bytes of undelivered values. */
  maxQueuedBytes: number;
}

export const DEFAULT_WATCH_LIMITS: WatchHubLimits = {
  pageEvents: 256,
  maxQueuedEvents: 1024,
  maxQueuedBytes: 16 * 1024 * 1024,
};

export class WatchHub {
  private readonly live = new Set<Watcher>();
  private readonly all = new Set<Watcher>();
  private closed = false;

  constructor(
    private readonly readAfter: ReadEventsAfter,
    private readonly limits: WatchHubLimits = DEFAULT_WATCH_LIMITS,
  ) {}

  /** Called when a revision becomes durable, in that synchronous turn. `build` runs at most once, if someone listens. */
  publish(key: string, revision: number, build: () => WatchEvent): void {
    let event: WatchEvent | undefined;
    for (const w of this.live) {
      if (!key.startsWith(w.prefix)) continue;
      event ??= build();
      w.push(event, revision);
    }
  }

  /** True when a watcher would hear of a write of key published now (so its event is worth making). */
  wants(key: string): boolean {
    for (const w of this.all) if (key.startsWith(w.prefix)) return true;
    return false;
  }

  watch(prefix: string, opts: { fromRevision: number; signal: AbortSignal }): AsyncIterable<WatchEvent> {
    return {
      [Symbol.asyncIterator]: () => {
        const w = new Watcher(this, prefix, opts.fromRevision, opts.signal);
        if (this.closed) w.end();
        return w;
      },
    };
  }

  /** Ends every watch (their iterations finish normally). */
  close(): void {
    this.closed = true;
    for (const w of [...this.all]) w.end();
  }

  get watcherCount(): number {
    return this.all.size;
  }

  /** @internal */ register(w: Watcher): void {
    this.all.add(w);
  }
  /** @internal */ subscribe(w: Watcher): void {
    this.live.add(w);
  }
  /** @internal */ unsubscribe(w: Watcher, forever: boolean): void {
    this.live.delete(w);
    if (forever) this.all.delete(w);
  }
  /** @internal */ read(prefix: string, after: number): WatchEvent[] {
    return this.readAfter(prefix, after, this.limits.pageEvents);
  }
  /** @internal */ get limitsUsed(): WatchHubLimits {
    return this.limits;
  }
}

class Watcher implements AsyncIterableIterator<WatchEvent> {
  private readonly queue: WatchEvent[] = [];
  private queuedBytes = 0;
  /** The newest revision queued or delivered; replay continues after it, live events at or below it are skipped. */
  private cursor: number;
  private state: 'replay' | 'live' | 'ended' = 'replay';
  /** Settles when an event arrives or the watch ends; shared, so even overlapping next() calls all wake. */
  private waiter: { promise: Promise<void>; resolve: () => void } | undefined;
  private readonly onAbort = () => this.end();

  constructor(
    private readonly hub: WatchHub,
    readonly prefix: string,
    fromRevision: number,
    private readonly signal: AbortSignal,
  ) {
    this.cursor = fromRevision;
    hub.register(this);
    if (signal.aborted) this.end();
    else signal.addEventListener('abort', this.onAbort, { once: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<WatchEvent> {
    return this;
  }

  async next(): Promise<IteratorResult<WatchEvent>> {
    for (;;) {
      const event = this.queue.shift();
      if (event) {
        this.queuedBytes -= eventBytes(event);
        return { done: false, value: event };
      }
      if (this.state === 'ended') return { done: true, value: undefined };
      if (this.state === 'replay') {
        this.replayPage();
        continue;
      }
      if (!this.waiter) {
        let resolve!: () => void;
        const promise = new Promise<void>((r) => (resolve = r));
        this.waiter = { promise, resolve };
      }
      await this.waiter.promise;
    }
  }

  async return(): Promise<IteratorResult<WatchEvent>> {
    this.end();
    return { done: true, value: undefined };
  }

  /** Called by the hub for a live watcher whose prefix matches. */
  push(event: WatchEvent, revision: number): void {
    if (revision <= this.cursor) return; // a watch that asked to start beyond the present
    this.queue.push(event);
    this.queuedBytes += eventBytes(event);
    this.cursor = revision;
    const limits = this.hub.limitsUsed;
    if (this.queue.length >= limits.maxQueuedEvents || this.queuedBytes >= limits.maxQueuedBytes) {
      // Too far behind: stop buffering; after draining the queue, read from the log after `cursor`.
      this.hub.unsubscribe(this, false);
      this.state = 'replay';
    }
    this.wakeUp();
  }

  end(): void {
    if (this.state === 'ended') return;
    this.state = 'ended';
    this.queue.length = 0;
    this.queuedBytes = 0;
    this.hub.unsubscribe(this, true);
    this.signal.removeEventListener('abort', this.onAbort);
    this.wakeUp();
  }

  private wakeUp(): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.resolve();
  }

  private replayPage(): void {
    let page: WatchEvent[];
    try {
      page = this.hub.read(this.prefix, this.cursor);
    } catch (e) {
      this.end();
      throw e;
    }
    for (const event of page) {
      this.queue.push(event);
      this.queuedBytes += eventBytes(event);
    }
    const last = page.at(-1);
    if (last) this.cursor = eventRevision(last);
    // A short page means the log holds nothing newer right now, and nothing can commit before the next line runs.
    if (page.length < this.hub.limitsUsed.pageEvents) {
      this.state = 'live';
      this.hub.subscribe(this);
    }
  }
}

function eventRevision(e: WatchEvent): number {
  return e.type === 'put' ? e.kv.modRevision : e.revision;
}

function eventBytes(e: WatchEvent): number {
  return (e.type === 'put' ? e.kv.value.byteLength : 0) + (e.prev?.value.byteLength ?? 0);
}
