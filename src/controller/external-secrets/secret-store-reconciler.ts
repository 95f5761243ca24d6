// SecretStore and ClusterSecretStore: the Ready condition says whether the provider answers with these credentials
// (external-secrets pkg/controllers/secretstore/common.go). capabilities is ReadWrite for the providers Coffer pushes
// to (fake, vault, kubernetes, as in ESO), ReadOnly for the others. Events are recorded when the condition changes, not on every periodic
// check, to keep `kubectl describe` readable.
import type { Logger } from 'pino';
import { parseGoDuration } from '../../encryption/go-duration.js';
import type { Clock } from '../../lib/clock.js';
import type { EventRecorder } from '../event-recorder.js';
import type { KubeApi } from '../kube-api.js';
import type { ProviderPool } from '../providers/provider-pool.js';
import type { ObjectKey, ReconcileResult, Reconciler } from '../reconciler.js';
import { formatTime } from './external-secret-reconciler.js';
import type { Condition, SecretStore } from './external-secret-types.js';
import type { ExternalSecretsMetrics } from './external-secrets-metrics.js';
import type { ObjectReader } from './object-reader.js';

export const DEFAULT_STORE_REQUEUE_MS = 5 * 60_000;

export interface SecretStoreReconcilerDeps {
  kind: 'SecretStore' | 'ClusterSecretStore';
  kube: KubeApi;
  reader: ObjectReader;
  pool: ProviderPool;
  events: EventRecorder;
  clock: Clock;
  logger: Logger;
  metrics?: ExternalSecretsMetrics;
  controllerClass?: string;
}

export function storeRequeueMs(store: SecretStore): number {
  const r = store.spec?.refreshInterval;
  if (r === undefined || r === null || r === 0 || r === '') return DEFAULT_STORE_REQUEUE_MS;
  const ms = typeof r === 'number' ? r * 1000 : /^\d+$/.test(r) ? Number(r) * 1000 : parseGoDuration(r) / 1e6;
  return ms > 0 ? ms : DEFAULT_STORE_REQUEUE_MS;
}

export class SecretStoreReconciler implements Reconciler {
  constructor(private readonly deps: SecretStoreReconcilerDeps) {}

  async reconcile(key: ObjectKey, opts: { signal: AbortSignal }): Promise<ReconcileResult> {
    const { kind, reader } = this.deps;
    const start = this.deps.clock.now();
    const store = kind === 'SecretStore' ? await reader.secretStore(key.namespace, key.name, opts) : await reader.clusterSecretStore(key.name, opts);
    const gauge = kind === 'SecretStore' ? this.deps.metrics?.storeCondition : this.deps.metrics?.clusterStoreCondition;
    const duration = kind === 'SecretStore' ? this.deps.metrics?.storeDuration : this.deps.metrics?.clusterStoreDuration;
    if (!store) {
      for (const status of ['True', 'False']) gauge?.remove({ name: key.name, namespace: key.namespace, condition: 'Ready', status });
      duration?.remove({ name: key.name, namespace: key.namespace });
      return {};
    }
    const cls = store.spec?.controller ?? '';
    if (cls !== '' && cls !== (this.deps.controllerClass ?? 'default')) return {};

    let condition: Omit<Condition, 'lastTransitionTime'>;
    let event: [ 'Normal' | 'Warning', string, string ];
    try {
      const result = await this.deps.pool.reader(store, kind, undefined).validate(opts);
      condition = result === 'Ready'
        ? { type: 'Ready', status: 'True', reason: 'Valid', message: 'store validated' }
        : { type: 'Ready', status: 'True', reason: 'ValidationUnknown', message: 'could not determine validation status' };
      event = result === 'Ready' ? ['Normal', 'Valid', 'store validated'] : ['Warning', 'ValidationUnknown', 'could not determine validation status'];
    } catch (e) {
      if (opts.signal.aborted) throw e;
      const text = e instanceof Error ? e.message : String(e);
      condition = { type: 'Ready', status: 'False', reason: 'InvalidProviderConfig', message: 'unable to validate store' };
      event = ['Warning', 'InvalidProviderConfig', text];
    }
    const previous = store.status?.conditions?.find((c) => c.type === 'Ready');
    const next: Condition = {
      ...condition,
      lastTransitionTime: previous?.status === condition.status && previous.lastTransitionTime ? previous.lastTransitionTime : formatTime(start),
    };
    // ESO's fake, vault and kubernetes providers answer ReadWrite (their Capabilities()); the others cannot push in Coffer.
    const provider = store.spec?.provider;
    const capabilities = provider?.fake || provider?.vault || provider?.kubernetes ? 'ReadWrite' : 'ReadOnly';
    const status = { ...(store.status ?? {}), capabilities, conditions: [...(store.status?.conditions ?? []).filter((c) => c.type !== 'Ready'), next] };
    const changed = JSON.stringify(status) !== JSON.stringify(store.status ?? {});
    if (changed) {
      await this.deps.kube.replaceCustomStatus(kind === 'SecretStore' ? 'secretstores' : 'clustersecretstores', { ...store, status }, opts);
      if (previous?.reason !== next.reason || previous?.message !== next.message || event[0] === 'Warning') this.deps.events.record(store, ...event);
    }
    if (gauge) this.deps.metrics!.setReady(gauge, key.name, key.namespace, next.status === 'True' ? 'True' : 'False');
    duration?.set({ name: key.name, namespace: key.namespace }, (this.deps.clock.now() - start) * 1e6);
    return { requeueAfterMs: storeRequeueMs(store) };
  }
}
