// The documents behind each dashboard view, fetched from the API server as the signed-in user, so its authorization
// decides what a view may show (a 403 becomes a "not allowed" panel, not an error page). No document carries a
// Secret's data: the encryption view reads stored bytes' prefixes, and Secrets are only ever listed as a Table
// (name, type, number of keys), which is how the access check below asks.
import { getJson, type ApiCredential, type ApiTarget } from './api-client.js';
import type { EncryptionScanProvider, KeyFilter } from './encryption-scan.js';
import { parsePrometheusText, sum, type Sample } from './prometheus-text.js';

/** A view the user may not see: the API server's own denial text. */
export interface NotAllowed {
  allowed: false;
  message: string;
}

const TABLE = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json';
const CORE = new Set(['secrets', 'configmaps', 'namespaces', 'events']);

function denial(status: number, body: unknown, what: string): NotAllowed | undefined {
  if (status === 200) return undefined;
  const message = (body as { message?: unknown } | undefined)?.message;
  const reason = typeof message === 'string' ? message : `HTTP ${status}`;
  return { allowed: false, message: status === 403 ? `Not allowed: ${reason}` : `Cannot ${what}: ${reason}` };
}

/** May this user list the resource? Asked as a one-row Table list, which carries no Secret data. */
export async function canList(api: ApiTarget, cred: ApiCredential, resource: string, signal?: AbortSignal): Promise<NotAllowed | undefined> {
  const r = await getJson(api, cred, `/api/v1/${encodeURIComponent(resource)}?limit=1`, { accept: TABLE, ...(signal ? { signal } : {}) });
  return denial(r.status, r.body, `list ${resource}`);
}

export async function encryptionView(api: ApiTarget, cred: ApiCredential, scan: EncryptionScanProvider | undefined, signal?: AbortSignal) {
  const denied = await canList(api, cred, 'secrets', signal);
  if (denied) return denied;
  if (!scan) {
    return { allowed: true as const, available: false, message: 'No storage source was given, so the stored encryption cannot be read (start with --etcd-endpoints, or use coffer up).' };
  }
  return { allowed: true as const, available: true, ...(await scan.scan(signal ? { signal } : {})) };
}

export async function storageKeysView(
  api: ApiTarget,
  cred: ApiCredential,
  scan: EncryptionScanProvider | undefined,
  q: { resource: string; filter: KeyFilter },
  signal?: AbortSignal,
) {
  // The scan covers every resource; listing secrets is the bar for all of it, and a core resource needs its own list right.
  const denied = (await canList(api, cred, 'secrets', signal)) ?? (CORE.has(q.resource) ? await canList(api, cred, q.resource, signal) : undefined);
  if (denied) return denied;
  if (!scan) return { allowed: true as const, keys: [], more: false };
  return { allowed: true as const, ...(await scan.keys(q.resource, q.filter, { limit: 500, ...(signal ? { signal } : {}) })) };
}

interface Condition {
  type?: string;
  status?: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}
interface Item {
  metadata?: { name?: string; namespace?: string; creationTimestamp?: string };
  spec?: { refreshInterval?: string; secretStoreRef?: { name?: string; kind?: string } };
  status?: { conditions?: Condition[]; refreshTime?: string };
}
interface KubeEvent {
  type?: string;
  reason?: string;
  message?: string;
  lastTimestamp?: string;
  eventTime?: string;
  metadata?: { creationTimestamp?: string };
  involvedObject?: { kind?: string; name?: string; namespace?: string };
}

const ESO = '/apis/external-secrets.io/v1';
const ESO_KINDS = new Set(['ExternalSecret', 'SecretStore', 'ClusterSecretStore', 'ClusterExternalSecret']);

/** Go duration (`1h`, `2s`, `1m30s`) in ms; undefined when absent or unreadable. */
export function durationMs(d: string | undefined): number | undefined {
  if (!d) return undefined;
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let total = 0;
  let rest = d;
  while (rest) {
    const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)/.exec(rest);
    if (!m) return undefined;
    total += Number(m[1]) * units[m[2]!]!;
    rest = rest.slice(m[0].length);
  }
  return total;
}

/** Ready, SecretSyncedError (or another failure reason), or stale: last sync older than twice the refresh interval. */
export function externalSecretState(es: Item, now: number): string {
  const ready = es.status?.conditions?.find((c) => c.type === 'Ready');
  if (!ready) return 'Pending';
  if (ready.status !== 'True') return ready.reason || 'NotReady';
  const every = durationMs(es.spec?.refreshInterval);
  const last = es.status?.refreshTime ? Date.parse(es.status.refreshTime) : NaN;
  if (every && every > 0 && Number.isFinite(last) && now - last > 2 * every + 5000) return 'Stale';
  return 'Ready';
}

const readyOf = (i: Item) => i.status?.conditions?.find((c) => c.type === 'Ready');

export async function externalSecretsView(api: ApiTarget, cred: ApiCredential, signal?: AbortSignal) {
  const get = (path: string, accept?: string) => getJson(api, cred, path, { ...(accept ? { accept } : {}), ...(signal ? { signal } : {}) });
  const [es, ss, css, ev] = await Promise.all([get(`${ESO}/externalsecrets`), get(`${ESO}/secretstores`), get(`${ESO}/clustersecretstores`), get('/api/v1/events')]);
  const denied = denial(es.status, es.body, 'list ExternalSecrets');
  if (denied) return denied;
  const items = (r: { status: number; body: unknown }) => (r.status === 200 ? ((r.body as { items?: Item[] }).items ?? []) : []);
  const now = Date.now();
  const stores = [...items(ss).map((s) => ({ s, kind: 'SecretStore' })), ...items(css).map((s) => ({ s, kind: 'ClusterSecretStore' }))].map(({ s, kind }) => ({
    kind,
    namespace: s.metadata?.namespace ?? '',
    name: s.metadata?.name ?? '',
    ready: readyOf(s)?.status ?? 'Unknown',
    reason: readyOf(s)?.reason ?? '',
    message: readyOf(s)?.message ?? '',
  }));
  const externalSecrets = items(es).map((e) => ({
    namespace: e.metadata?.namespace ?? '',
    name: e.metadata?.name ?? '',
    store: `${e.spec?.secretStoreRef?.kind ?? 'SecretStore'}/${e.spec?.secretStoreRef?.name ?? ''}`,
    state: externalSecretState(e, now),
    message: readyOf(e)?.message ?? '',
    lastSync: e.status?.refreshTime ?? null,
    refreshInterval: e.spec?.refreshInterval ?? '',
  }));
  const events = items(ev)
    .map((x) => x as KubeEvent)
    .filter((e) => ESO_KINDS.has(e.involvedObject?.kind ?? ''))
    .map((e) => ({
      time: e.lastTimestamp ?? e.eventTime ?? e.metadata?.creationTimestamp ?? '',
      type: e.type ?? '',
      reason: e.reason ?? '',
      object: `${e.involvedObject?.kind}/${e.involvedObject?.namespace ? `${e.involvedObject.namespace}/` : ''}${e.involvedObject?.name}`,
      message: e.message ?? '',
    }))
    .sort((a, b) => b.time.localeCompare(a.time))
    .slice(0, 20);
  const byState: Record<string, number> = {};
  for (const e of externalSecrets) byState[e.state] = (byState[e.state] ?? 0) + 1;
  return {
    allowed: true as const,
    stores,
    storesNotAllowed: ss.status === 403 || css.status === 403,
    externalSecrets,
    byState,
    events,
    eventsNotAllowed: ev.status === 403,
  };
}

/** One point of the time series the dashboard charts, from one scrape of each /metrics. */
export interface MetricsPoint {
  t: number;
  /** API server requests by verb (counter totals; the page charts rates from consecutive points). */
  requests: Record<string, number>;
  requestSeconds: { sum: number; count: number };
  /** KMS plugin operations: totals, errors and latency sums. */
  kms: { encrypt: number; decrypt: number; errors: number; encryptSeconds: number; decryptSeconds: number } | null;
  kmsHealth: { healthy: boolean; text: string; keyId: string | null } | null;
  /** Per KMS v2 provider, when the API server refuses writes unless a good Status comes first (epoch ms). */
  kmsWriteDeadlines: { provider: string; at: number }[];
  transformations: { ok: number; failed: number };
  providerCalls: number;
}

const API_FAMILIES = new Set([
  'apiserver_request_total',
  'apiserver_request_duration_seconds_sum',
  'apiserver_request_duration_seconds_count',
  'apiserver_storage_transformation_operations_total',
  'externalsecret_provider_api_calls_count',
  'coffer_kmsv2_write_deadline_timestamp_seconds',
]);
const PLUGIN_FAMILIES = new Set([
  'coffer_kms_plugin_operations_total',
  'coffer_kms_plugin_errors_total',
  'coffer_kms_plugin_operation_duration_seconds_sum',
  'coffer_kms_plugin_current_key_id',
]);

/** A plugin that is stopped or hung answers nothing; 3 s is what the page waits before saying so. */
const PLUGIN_TIMEOUT_MS = 3_000;

async function fetchText(url: string, signal?: AbortSignal): Promise<{ ok: boolean; text: string }> {
  const timeout = AbortSignal.timeout(PLUGIN_TIMEOUT_MS);
  const r = await fetch(url, { signal: signal ? AbortSignal.any([signal, timeout]) : timeout });
  return { ok: r.ok, text: (await r.text()).slice(0, 4 * 1024 * 1024) };
}

/**
 * Scrapes the API server's /metrics as the user (403 → null: the view says not allowed) and, when known, the KMS
 * plugin's side port (/healthz and /metrics on loopback, which kube-apiserver's operators scrape the same way).
 */
export async function scrapeMetrics(
  api: ApiTarget,
  cred: ApiCredential,
  kmsPluginUrl: string | undefined,
  signal?: AbortSignal,
): Promise<MetricsPoint | NotAllowed> {
  const r = await getJson(api, cred, '/metrics', { accept: 'text/plain', ...(signal ? { signal } : {}) });
  const denied = denial(r.status, r.body, 'read /metrics');
  if (denied) return denied;
  const s = parsePrometheusText(String(r.body), (n) => API_FAMILIES.has(n));
  const requests: Record<string, number> = {};
  for (const x of s.filter((x) => x.name === 'apiserver_request_total')) requests[x.labels.verb ?? '?'] = (requests[x.labels.verb ?? '?'] ?? 0) + x.value;
  let kms: MetricsPoint['kms'] = null;
  let kmsHealth: MetricsPoint['kmsHealth'] = null;
  if (kmsPluginUrl) {
    try {
      const [health, metrics] = await Promise.all([fetchText(`${kmsPluginUrl}/healthz`, signal), fetchText(`${kmsPluginUrl}/metrics`, signal)]);
      const p: Sample[] = parsePrometheusText(metrics.text, (n) => PLUGIN_FAMILIES.has(n));
      const op = (name: string, o: string) => sum(p, name, (l) => (l.operation ?? l.method ?? '').toLowerCase().includes(o));
      kms = {
        encrypt: op('coffer_kms_plugin_operations_total', 'encrypt'),
        decrypt: op('coffer_kms_plugin_operations_total', 'decrypt'),
        errors: sum(p, 'coffer_kms_plugin_errors_total'),
        encryptSeconds: op('coffer_kms_plugin_operation_duration_seconds_sum', 'encrypt'),
        decryptSeconds: op('coffer_kms_plugin_operation_duration_seconds_sum', 'decrypt'),
      };
      const keyId = p.find((x) => x.name === 'coffer_kms_plugin_current_key_id' && x.value === 1);
      kmsHealth = { healthy: health.ok && health.text.trim() === 'ok', text: health.text.trim().slice(0, 300), keyId: keyId?.labels.key_id_hash ?? null };
    } catch (e) {
      kmsHealth = { healthy: false, text: `KMS plugin not reachable: ${e instanceof Error ? e.message : String(e)}`, keyId: null };
    }
  }
  const transformed = (ok: boolean) => sum(s, 'apiserver_storage_transformation_operations_total', (l) => (l.status === 'OK') === ok);
  return {
    t: Date.now(),
    requests,
    requestSeconds: { sum: sum(s, 'apiserver_request_duration_seconds_sum'), count: sum(s, 'apiserver_request_duration_seconds_count') },
    kms,
    kmsHealth,
    kmsWriteDeadlines: s
      .filter((x) => x.name === 'coffer_kmsv2_write_deadline_timestamp_seconds')
      .map((x) => ({ provider: x.labels.provider_name ?? '', at: x.value * 1000 })),
    transformations: { ok: transformed(true), failed: transformed(false) },
    providerCalls: sum(s, 'externalsecret_provider_api_calls_count'),
  };
}
