// Stage 4 of the pipeline, and the only place an ExternalSecret's status is written: the Ready condition
// (lastTransitionTime kept while the status does not flip), refreshTime, syncedResourceVersion and binding.
// Nothing is written when nothing changed, so a steady state costs no API writes and triggers no watch events.
import type { KubeApi } from '../kube-api.js';
import type { Condition, ExternalSecret } from './external-secret-types.js';

export interface StatusUpdate {
  ready: 'True' | 'False';
  reason: string;
  message: string;
  /** Set on success: the reconcile start time, the synced version and the target name. */
  synced?: { refreshTime: string; syncedResourceVersion: string; binding?: string };
}

export function nextStatus(es: ExternalSecret, update: StatusUpdate, now: string): NonNullable<ExternalSecret['status']> {
  const status = structuredClone(es.status ?? {});
  const previous = status.conditions?.find((c) => c.type === 'Ready');
  const condition: Condition = {
    type: 'Ready',
    status: update.ready,
    reason: update.reason,
    message: update.message,
    lastTransitionTime: previous && previous.status === update.ready && previous.lastTransitionTime ? previous.lastTransitionTime : now,
  };
  status.conditions = [...(status.conditions ?? []).filter((c) => c.type !== 'Ready'), condition];
  if (update.synced) {
    status.refreshTime = update.synced.refreshTime;
    status.syncedResourceVersion = update.synced.syncedResourceVersion;
    if (update.synced.binding) status.binding = { name: update.synced.binding };
  }
  return status;
}

/** Writes the status through the status subresource when it differs; returns the object as stored. */
export async function writeExternalSecretStatus(kube: KubeApi, es: ExternalSecret, update: StatusUpdate, opts: { now: string; signal: AbortSignal }): Promise<ExternalSecret> {
  const status = nextStatus(es, update, opts.now);
  if (JSON.stringify(status) === JSON.stringify(es.status ?? {})) return es;
  return kube.replaceCustomStatus('externalsecrets', { ...es, status }, { signal: opts.signal });
}
