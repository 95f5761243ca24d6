// kube-apiserver's --event-ttl (default 1 h): kube attaches an etcd lease to every Event write, so an event
// disappears an hour after it was last written. The Store interface has no leases, so a sweeper does the same: events
// whose last activity (latest of creation, first/last timestamp, eventTime, series observation, managedFields time)
// is older than the TTL are deleted, conditionally on the resourceVersion seen, so a concurrent update (or another
// API server's sweeper) wins and nothing is deleted twice.
import type { Logger } from 'pino';
import { SYSTEM_CLOCK, type Clock } from '../../lib/clock.js';
import type { CoreEvent } from '../../objects/event.js';
import type { KubeObject } from '../../objects/object-meta.js';
import { ApiStatusError } from '../api-status.js';
import type { ResourceStore } from '../resource-store.js';

export const DEFAULT_EVENT_TTL_MS = 60 * 60_000;

/** The last moment an event was written or observed, in ms since the epoch. */
export function lastActivity(obj: KubeObject): number {
  const e = obj as Partial<CoreEvent>;
  const times = [
    obj.metadata?.creationTimestamp,
    e.firstTimestamp,
    e.lastTimestamp,
    e.eventTime,
    e.series?.lastObservedTime,
    ...(obj.metadata?.managedFields ?? []).map((m) => m.time),
  ];
  return Math.max(0, ...times.map((t) => (typeof t === 'string' ? Date.parse(t) : NaN)).filter((t) => !Number.isNaN(t)));
}

export interface EventTtlOptions {
  events: ResourceStore;
  ttlMs?: number;
  /** How often to look (default: a tenth of the TTL, at most a minute). */
  intervalMs?: number;
  clock?: Clock;
  logger?: Logger;
}

export class EventTtl {
  private timer: { cancel(): void } | undefined;
  private closed = false;
  private readonly clock: Clock;
  private readonly ttlMs: number;
  private readonly intervalMs: number;

  constructor(private readonly opts: EventTtlOptions) {
    this.clock = opts.clock ?? SYSTEM_CLOCK;
    this.ttlMs = opts.ttlMs ?? DEFAULT_EVENT_TTL_MS;
    this.intervalMs = opts.intervalMs ?? Math.min(60_000, Math.max(1000, Math.floor(this.ttlMs / 10)));
  }

  start(): void {
    if (this.closed || this.timer) return;
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      void this.sweep()
        .catch((err: unknown) => this.opts.logger?.warn({ error: (err as Error).message }, 'event TTL sweep failed; retrying next interval'))
        .finally(() => this.start());
    }, this.intervalMs);
  }

  close(): void {
    this.closed = true;
    this.timer?.cancel();
    this.timer = undefined;
  }

  /** Deletes every expired event once; returns how many went. */
  async sweep(): Promise<number> {
    const cutoff = this.clock.now() - this.ttlMs;
    let removed = 0;
    for (const e of (await this.opts.events.list(undefined)).items) {
      if (lastActivity(e) > cutoff) continue;
      const meta = e.metadata!;
      try {
        await this.opts.events.delete(meta.namespace, meta.name!, { preconditions: { uid: meta.uid!, resourceVersion: meta.resourceVersion! } });
        removed++;
      } catch (err) {
        if (!(err instanceof ApiStatusError && (err.status.code === 404 || err.status.code === 409))) throw err;
      }
    }
    return removed;
  }
}
