// /metrics in the Prometheus text format, with kube-apiserver's metric names so existing dashboards read it:
// apiserver_request_total and apiserver_request_duration_seconds by verb/group/version/resource/subresource/scope/code,
// apiserver_longrunning_requests for open watches, and (registered by the registry into the same Registry)
// apiserver_storage_transformation_operations_total by transformer prefix and status.
import { createHash, randomUUID } from 'node:crypto';
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { FastCounter, FastHistogram } from './request-series.js';

/** What a request is, in kube's metric labels. Non-resource requests have resource "" and scope "". */
export interface RequestLabels {
  verb: string; // GET LIST WATCH POST PUT PATCH APPLY DELETE DELETECOLLECTION, or the HTTP method for non-resource paths
  group: string;
  version: string;
  resource: string;
  subresource: string;
  scope: '' | 'resource' | 'namespace' | 'cluster';
  /** The values joined (seriesKey), on labels made once for every request they describe (sharedLabels). */
  readonly series?: string;
}

/** The label values joined: unique per label set (label values never hold NUL: verbs, groups, plurals, scopes). */
function seriesKey(l: RequestLabels): string {
  return `${l.verb}\0${l.group}\0${l.version}\0${l.resource}\0${l.subresource}\0${l.scope}`;
}

/**
 * Labels that many requests share, made once with their series key: a request then counts without building its
 * labels object and key text (frozen: no request may change what the others are counted under).
 */
export function sharedLabels(l: Omit<RequestLabels, 'series'>): RequestLabels {
  return Object.freeze({ verb: l.verb, group: l.group, version: l.version, resource: l.resource, subresource: l.subresource, scope: l.scope, series: seriesKey(l) });
}

const NON_RESOURCE = new Map<string, RequestLabels>();

/**
 * The labels of a request that names no resource (yet): its verb is its method until routing says more. One object per
 * method (Node's parser accepts only the methods it knows, so they are few).
 */
export function nonResourceLabels(verb: string): RequestLabels {
  let labels = NON_RESOURCE.get(verb);
  if (!labels) NON_RESOURCE.set(verb, (labels = sharedLabels({ verb, group: '', version: '', resource: '', subresource: '', scope: '' })));
  return labels;
}

const LABELS = ['verb', 'group', 'version', 'resource', 'subresource', 'scope'] as const;

/** The labels in kube's order, whatever order the object had. */
function seriesLabels(l: RequestLabels): Record<(typeof LABELS)[number], string> {
  return { verb: l.verb, group: l.group, version: l.version, resource: l.resource, subresource: l.subresource, scope: l.scope };
}

function counterLabels(labels: RequestLabels, code: number): Record<(typeof LABELS)[number] | 'code', string> {
  return { ...seriesLabels(labels), code: String(code) };
}

export class ApiMetrics {
  readonly registry = new Registry();
  private readonly requests: FastCounter<RequestLabels, number>;
  private readonly duration: FastHistogram<RequestLabels>;
  private readonly longRunning: Gauge<'verb' | 'group' | 'version' | 'resource' | 'scope'>;

  constructor(opts: { processMetrics?: boolean } = {}) {
    this.requests = new FastCounter({
      name: 'apiserver_request_total',
      help: 'Counter of apiserver requests broken out for each verb, group, version, resource, subresource, scope and HTTP response code.',
      labelNames: [...LABELS, 'code'],
      registry: this.registry,
    });
    this.duration = new FastHistogram(
      'apiserver_request_duration_seconds',
      'Response latency distribution in seconds for each verb, group, version, resource, subresource and scope (watches excluded).',
      [0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1, 1.25, 1.5, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 45, 60],
      this.registry,
    );
    this.longRunning = new Gauge({
      name: 'apiserver_longrunning_requests',
      help: 'Gauge of all active long-running apiserver requests (watches) broken out by verb, group, version, resource and scope.',
      labelNames: ['verb', 'group', 'version', 'resource', 'scope'],
      registers: [this.registry],
    });
    if (opts.processMetrics) collectDefaultMetrics({ register: this.registry });
  }

  /**
   * kube-apiserver's apiserver_encryption_config_controller_last_config_info (k8s.io/apiserver
   * pkg/server/options/encryptionconfig/metrics): 1 for the hash of the configuration in use, labelled with this
   * server's identity hash, so `coffer rotate` can tell when every API server has loaded a new file.
   */
  reportEncryptionConfig(configHash: () => string | undefined): void {
    const apiserverIdHash = `sha256:${createHash('sha256').update(`apiserver-${randomUUID()}`).digest('hex')}`;
    new Gauge({
      name: 'apiserver_encryption_config_controller_last_config_info',
      help: 'Information about the last applied encryption configuration with hash as label, split by API server identity.',
      labelNames: ['apiserver_id_hash', 'hash'],
      registers: [this.registry],
      collect() {
        this.reset();
        const hash = configHash();
        if (hash) this.set({ apiserver_id_hash: apiserverIdHash, hash }, 1);
      },
    });
  }

  /**
   * Coffer's own coffer_kmsv2_write_deadline_timestamp_seconds: per KMS v2 provider, when writes will be refused unless
   * the plugin answers a good Status first (the last good Status plus the write TTL, 3 min upstream; k8s.io/apiserver
   * pkg/server/options/encryptionconfig config.go, rotateDEKOnKeyIDChange). kube-apiserver keeps this deadline but
   * exports no metric for it; while the KMS is down it is the time left before writes fail.
   */
  reportKmsV2WriteDeadlines(deadlines: () => readonly { name: string; deadline: number | undefined }[]): void {
    new Gauge({
      name: 'coffer_kmsv2_write_deadline_timestamp_seconds',
      help: 'When KMS v2 writes are refused unless the plugin answers a good Status first (Unix seconds), by provider.',
      labelNames: ['provider_name'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const d of deadlines()) if (d.deadline !== undefined) this.set({ provider_name: d.name }, d.deadline / 1000);
      },
    });
  }

  /** Counts a finished request; watches are counted but kept out of the latency histogram, as their length is the client's. */
  observe(labels: RequestLabels, code: number, seconds: number): void {
    const key = labels.series ?? seriesKey(labels);
    this.requests.inc(`${key}\0${code}`, counterLabels, labels, code);
    if (labels.verb !== 'WATCH') this.duration.observe(key, seriesLabels, labels, seconds);
  }

  /** Marks a watch open; the returned function marks it closed. */
  watchStarted(labels: RequestLabels): () => void {
    const l = { verb: labels.verb, group: labels.group, version: labels.version, resource: labels.resource, scope: labels.scope };
    this.longRunning.inc(l);
    return () => this.longRunning.dec(l);
  }

  async text(): Promise<{ body: string; contentType: string }> {
    return { body: await this.registry.metrics(), contentType: this.registry.contentType };
  }
}
