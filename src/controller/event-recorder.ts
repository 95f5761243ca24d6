// Kubernetes Events (core/v1) on the objects the controller acts on, so `kubectl describe externalsecret` shows what
// happened (Created, Updated, Deleted, UpdateFailed). Recording is best effort: a failed Event never fails a reconcile.
import type { CoreV1Event } from '@kubernetes/client-node';
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { Clock } from '../lib/clock.js';
import type { CustomObject, KubeApi } from './kube-api.js';

export type EventType = 'Normal' | 'Warning';

export interface EventRecorder {
  record(obj: CustomObject, type: EventType, reason: string, message: string): void;
}

export class KubeEventRecorder implements EventRecorder {
  private readonly pending = new Set<Promise<void>>();

  constructor(
    private readonly kube: KubeApi,
    private readonly opts: { component: string; clock: Clock; logger: Logger },
  ) {}

  record(obj: CustomObject, type: EventType, reason: string, message: string): void {
    const now = new Date(this.opts.clock.now());
    const namespace = obj.metadata.namespace || 'default';
    const event: CoreV1Event = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: `${obj.metadata.name}.${randomBytes(8).toString('hex')}`, namespace },
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
      message: message.length > 1024 ? `${message.slice(0, 1021)}...` : message,
      source: { component: this.opts.component },
      reportingComponent: this.opts.component,
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
    };
    const p = this.kube
      .createEvent(event, { signal: AbortSignal.timeout(10_000) })
      .catch((e: unknown) => this.opts.logger.debug({ reason, error: e instanceof Error ? e.message : String(e) }, 'could not record event'))
      .finally(() => this.pending.delete(p));
    this.pending.add(p);
  }

  /** Waits for events in flight (shutdown, tests). */
  async flush(): Promise<void> {
    await Promise.all([...this.pending]);
  }
}
