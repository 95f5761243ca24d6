// Kubernetes Events (core/v1) on the objects the controller acts on, so `kubectl describe externalsecret` shows what
// happened (Created, Updated, Deleted, UpdateFailed). Recording is best effort: a failed Event never fails a reconcile.
// As client-go's recorder does, a repeat of an identical event (same object, type, reason and message) updates the
// first one's count and lastTimestamp instead of adding another object, so a failure retried with backoff or a
// remote key missing at every refresh reads "x12 over 2m" in describe, not twelve lines.
import type { CoreV1Event } from '@kubernetes/client-node';
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { Clock } from '../lib/clock.js';
import type { CustomObject, KubeApi } from './kube-api.js';

export type EventType = 'Normal' | 'Warning';

export interface EventRecorder {
  record(obj: CustomObject, type: EventType, reason: string, message: string): void;
}

/** How many distinct events are remembered for aggregation (oldest forgotten first), and for how long. */
const MAX_AGGREGATED = 4096;
const AGGREGATION_WINDOW_MS = 10 * 60_000;

interface Recorded {
  /** The event as last written (name, count, lastTimestamp). */
  event: CoreV1Event;
  /** When it was first written; after the window a repeat starts a new event, as client-go does. */
  since: number;
  /** The latest write of this event (true when it exists), so writes of one event never race each other. */
  last: Promise<boolean>;
}

export class KubeEventRecorder implements EventRecorder {
  private readonly pending = new Set<Promise<unknown>>();
  private readonly recorded = new Map<string, Recorded>();

  constructor(
    private readonly kube: KubeApi,
    private readonly opts: { component: string; clock: Clock; logger: Logger },
  ) {}

  record(obj: CustomObject, type: EventType, reason: string, message: string): void {
    const nowMs = this.opts.clock.now();
    const now = new Date(nowMs);
    const namespace = obj.metadata.namespace || 'default';
    const text = message.length > 1024 ? `${message.slice(0, 1021)}...` : message;
    const key = [obj.metadata.uid ?? `${namespace}/${obj.metadata.name}`, type, reason, text].join('\u0000');
    const previous = this.recorded.get(key);
    if (previous && nowMs - previous.since < AGGREGATION_WINDOW_MS) {
      previous.last = previous.last.then((exists) => this.repeat(previous, exists, now));
      this.track(previous.last);
      return;
    }
    const event: CoreV1Event = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: newName(obj.metadata.name!), namespace },
      involvedObject: {
        ...(obj.apiVersion ? { apiVersion: obj.apiVersion } : {}),
        ...(obj.kind ? { kind: obj.kind } : {}),
        name: obj.metadata.name!,
        ...(obj.metadata.namespace ? { namespace: obj.metadata.namespace } : {}),
        ...(obj.metadata.uid ? { uid: obj.metadata.uid } : {}),
        ...(obj.metadata.resourceVersion ? { resourceVersion: obj.metadata.resourceVersion } : {}),
      },
      type,
      reason,
      message: text,
      source: { component: this.opts.component },
      reportingComponent: this.opts.component,
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
    };
    const entry: Recorded = { event, since: nowMs, last: this.create(event) };
    this.recorded.delete(key);
    this.recorded.set(key, entry);
    if (this.recorded.size > MAX_AGGREGATED) this.recorded.delete(this.recorded.keys().next().value!);
    this.track(entry.last);
  }

  /** A repeat: count+1 on the existing event, or a fresh event when it is gone (TTL) or was never written. */
  private async repeat(entry: Recorded, exists: boolean, now: Date): Promise<boolean> {
    if (exists) {
      const next: CoreV1Event = { ...entry.event, count: (entry.event.count ?? 1) + 1, lastTimestamp: now };
      try {
        await this.kube.replaceEvent(next, { signal: AbortSignal.timeout(10_000) });
        entry.event = next;
        return true;
      } catch (e) {
        this.opts.logger.debug({ reason: next.reason, error: e instanceof Error ? e.message : String(e) }, 'could not update event; creating another');
      }
    }
    entry.event = { ...entry.event, metadata: { ...entry.event.metadata, name: newName(entry.event.involvedObject.name!) }, count: 1, firstTimestamp: now, lastTimestamp: now };
    return this.create(entry.event);
  }

  private async create(event: CoreV1Event): Promise<boolean> {
    try {
      await this.kube.createEvent(event, { signal: AbortSignal.timeout(10_000) });
      return true;
    } catch (e) {
      this.opts.logger.debug({ reason: event.reason, error: e instanceof Error ? e.message : String(e) }, 'could not record event');
      return false;
    }
  }

  private track(p: Promise<unknown>): void {
    const tracked = p.finally(() => this.pending.delete(tracked));
    this.pending.add(tracked);
  }

  /** Waits for events in flight (shutdown, tests). */
  async flush(): Promise<void> {
    await Promise.all([...this.pending]);
  }
}

function newName(objectName: string): string {
  return `${objectName}.${randomBytes(8).toString('hex')}`;
}
