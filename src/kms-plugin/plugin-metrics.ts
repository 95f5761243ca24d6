// /metrics of the plugin (prom-client): what an operator needs to alert on a KMS - calls by method and gRPC code,
// latency, errors by kind, whether the backend answers, and which key is current. The key id appears only as its
// sha256 (as kube-apiserver logs it): ids can name infrastructure, and a label is visible to anyone who scrapes.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { keyIdHash } from '../kms/kms-v2-encrypted-object.js';

export class KmsPluginMetrics {
  readonly registry = new Registry();
  readonly operations: Counter<'method' | 'backend' | 'grpc_code'>;
  readonly duration: Histogram<'method' | 'backend'>;
  readonly errors: Counter<'method' | 'backend' | 'error'>;
  readonly backendProbes: Counter<'backend' | 'result'>;
  readonly backendHealthy: Gauge<'backend'>;
  private readonly currentKeyId: Gauge<'key_id_hash' | 'backend'>;
  private currentKeyIdLabel: string | undefined;

  constructor(opts: { processMetrics?: boolean } = {}) {
    const registers = [this.registry];
    this.operations = new Counter({
      name: 'coffer_kms_plugin_operations_total',
      help: 'KMS plugin gRPC calls by method (v2 Status/Encrypt/Decrypt, v1 Version/Encrypt/Decrypt), backend and gRPC status code.',
      labelNames: ['method', 'backend', 'grpc_code'],
      registers,
    });
    this.duration = new Histogram({
      name: 'coffer_kms_plugin_operation_duration_seconds',
      help: 'KMS plugin gRPC call latency by method and backend.',
      labelNames: ['method', 'backend'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.errors = new Counter({
      name: 'coffer_kms_plugin_errors_total',
      help: 'Failed KMS plugin calls by method, backend and error kind (InvalidError, DecryptError, NotFoundError, UnavailableError, ...).',
      labelNames: ['method', 'backend', 'error'],
      registers,
    });
    this.backendProbes = new Counter({
      name: 'coffer_kms_plugin_backend_probes_total',
      help: 'Backend health probes actually sent (Status and /healthz answers come from a cache in between).',
      labelNames: ['backend', 'result'],
      registers,
    });
    this.backendHealthy = new Gauge({
      name: 'coffer_kms_plugin_backend_healthy',
      help: '1 when the last backend probe succeeded, else 0.',
      labelNames: ['backend'],
      registers,
    });
    this.currentKeyId = new Gauge({
      name: 'coffer_kms_plugin_current_key_id',
      help: 'Always 1, labelled with the sha256 of the key id Status reports; a change of label is a KEK rotation.',
      labelNames: ['key_id_hash', 'backend'],
      registers,
    });
    if (opts.processMetrics) collectDefaultMetrics({ register: this.registry });
  }

  setCurrentKeyId(keyId: string, backend: string): void {
    const label = keyIdHash(keyId);
    if (label === this.currentKeyIdLabel) return;
    this.currentKeyId.reset();
    if (label) this.currentKeyId.set({ key_id_hash: label, backend }, 1);
    this.currentKeyIdLabel = label;
  }

  async text(): Promise<{ body: string; contentType: string }> {
    return { body: await this.registry.metrics(), contentType: this.registry.contentType };
  }
}
