// Prometheus metrics with ESO's names and labels (external-secrets pkg/controllers/*/*metrics and its
// docs/api/metrics.md), so dashboards and alerts written for ESO work unchanged.
// Durations are gauges in nanoseconds, as ESO's are.
import { Counter, Gauge, type Registry } from 'prom-client';

export class ExternalSecretsMetrics {
  readonly syncCalls: Counter<'name' | 'namespace'>;
  readonly syncErrors: Counter<'name' | 'namespace'>;
  readonly esCondition: Gauge<'name' | 'namespace' | 'condition' | 'status'>;
  readonly esDuration: Gauge<'name' | 'namespace'>;
  readonly providerCalls: Counter<'provider' | 'call' | 'status'>;
  readonly storeCondition: Gauge<'name' | 'namespace' | 'condition' | 'status'>;
  readonly storeDuration: Gauge<'name' | 'namespace'>;
  readonly clusterStoreCondition: Gauge<'name' | 'namespace' | 'condition' | 'status'>;
  readonly clusterStoreDuration: Gauge<'name' | 'namespace'>;
  readonly cesCondition: Gauge<'name' | 'namespace' | 'condition' | 'status'>;
  readonly cesDuration: Gauge<'name' | 'namespace'>;

  constructor(registry: Registry) {
    const registers = [registry];
    const resource = ['name', 'namespace'] as const;
    const condition = ['name', 'namespace', 'condition', 'status'] as const;
    this.syncCalls = new Counter({ name: 'externalsecret_sync_calls_total', help: 'Total number of ExternalSecret reconciles', labelNames: resource, registers });
    this.syncErrors = new Counter({ name: 'externalsecret_sync_calls_error', help: 'Total number of failed ExternalSecret reconciles', labelNames: resource, registers });
    this.esCondition = new Gauge({ name: 'externalsecret_status_condition', help: 'The status condition of an ExternalSecret', labelNames: condition, registers });
    this.esDuration = new Gauge({ name: 'externalsecret_reconcile_duration', help: 'Duration of the last ExternalSecret reconcile in nanoseconds', labelNames: resource, registers });
    this.providerCalls = new Counter({ name: 'externalsecret_provider_api_calls_count', help: 'Number of API calls made to providers', labelNames: ['provider', 'call', 'status'], registers });
    this.storeCondition = new Gauge({ name: 'secretstore_status_condition', help: 'The status condition of a SecretStore', labelNames: condition, registers });
    this.storeDuration = new Gauge({ name: 'secretstore_reconcile_duration', help: 'Duration of the last SecretStore reconcile in nanoseconds', labelNames: resource, registers });
    this.clusterStoreCondition = new Gauge({ name: 'clustersecretstore_status_condition', help: 'The status condition of a ClusterSecretStore', labelNames: condition, registers });
    this.clusterStoreDuration = new Gauge({ name: 'clustersecretstore_reconcile_duration', help: 'Duration of the last ClusterSecretStore reconcile in nanoseconds', labelNames: resource, registers });
    this.cesCondition = new Gauge({ name: 'clusterexternalsecret_status_condition', help: 'The status condition of a ClusterExternalSecret', labelNames: condition, registers });
    this.cesDuration = new Gauge({ name: 'clusterexternalsecret_reconcile_duration', help: 'Duration of the last ClusterExternalSecret reconcile in nanoseconds', labelNames: resource, registers });
  }

  recordProviderCall(provider: string, call: string, ok: boolean): void {
    this.providerCalls.inc({ provider, call, status: ok ? 'success' : 'error' });
  }

  /** Ready=<status> set to 1 and the opposite to 0, as ESO's UpdateExternalSecretCondition. */
  setReady(gauge: Gauge<'name' | 'namespace' | 'condition' | 'status'>, name: string, namespace: string, status: 'True' | 'False'): void {
    const other = status === 'True' ? 'False' : 'True';
    gauge.set({ name, namespace, condition: 'Ready', status }, 1);
    gauge.set({ name, namespace, condition: 'Ready', status: other }, 0);
  }

  /** ExternalSecret deleted: its Ready series go, `{condition="Deleted",status="False"}` = 1 remains (ESO's quirk). */
  externalSecretDeleted(name: string, namespace: string): void {
    for (const status of ['True', 'False']) this.esCondition.remove({ name, namespace, condition: 'Ready', status });
    this.esCondition.set({ name, namespace, condition: 'Deleted', status: 'False' }, 1);
    this.syncCalls.remove({ name, namespace });
    this.syncErrors.remove({ name, namespace });
    this.esDuration.remove({ name, namespace });
  }
}
