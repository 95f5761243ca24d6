// When an ExternalSecret must be fetched again (ESO's shouldRefresh / isSecretValid in
// pkg/controllers/externalsecret/externalsecret_controller.go), and when to look
// at it next. The skip rule (no refresh due and the Secret intact) is what keeps providers quiet between intervals.
import { parseGoDuration } from '../../encryption/go-duration.js';
import { InvalidError } from '../../lib/errors.js';
import type { V1Secret } from '@kubernetes/client-node';
import { ANNOTATION_DATA_HASH, LABEL_MANAGED, type ExternalSecret } from './external-secret-types.js';
import { hashLabelsAndAnnotations, hashSecretData } from './object-hash.js';

export const DEFAULT_REFRESH_MS = 3_600_000;

/** spec.refreshInterval in ms (Go duration; absent → 1h; "0" → 0 = fetch once). */
export function refreshIntervalMs(es: ExternalSecret): number {
  const text = es.spec?.refreshInterval;
  if (text === undefined || text === null) return DEFAULT_REFRESH_MS;
  let nanos: number;
  try {
    nanos = parseGoDuration(String(text));
  } catch (e) {
    throw new InvalidError((e as Error).message, { field: 'spec.refreshInterval' });
  }
  if (nanos < 0) throw new InvalidError(`must not be negative, got ${JSON.stringify(text)}`, { field: 'spec.refreshInterval' });
  return nanos / 1e6;
}

/** "<generation>-<hash of labels and annotations>": a label or annotation change (force-sync) changes it. */
export function currentVersion(es: ExternalSecret): string {
  return `${es.metadata.generation ?? 0}-${hashLabelsAndAnnotations(es.metadata.labels, es.metadata.annotations)}`;
}

export function shouldRefresh(es: ExternalSecret, now: number, intervalMs: number): boolean {
  const synced = es.status?.syncedResourceVersion ?? '';
  const refreshTime = es.status?.refreshTime ? Date.parse(es.status.refreshTime) : undefined;
  switch (es.spec?.refreshPolicy ?? 'Periodic') {
    case 'CreatedOnce':
      return synced === '' || refreshTime === undefined;
    case 'OnChange':
      return synced === '' || refreshTime === undefined || synced !== currentVersion(es);
    default:
      if (intervalMs <= 0 && synced !== '') return false;
      if (synced !== currentVersion(es)) return true;
      if (refreshTime === undefined || Number.isNaN(refreshTime) || refreshTime > now) return true;
      return refreshTime + intervalMs < now;
  }
}

/** Whether a refresh is due only because time passed (not a first sync, a spec change or a force-sync). */
export function isPeriodicOnly(es: ExternalSecret): boolean {
  return (es.status?.syncedResourceVersion ?? '') === currentVersion(es) && Boolean(es.status?.refreshTime);
}

/** The managed Secret is intact: managed label present and data hash matching (Orphan: always). */
export function isSecretValid(secret: V1Secret | undefined, es: ExternalSecret): boolean {
  if (es.spec?.target?.creationPolicy === 'Orphan') return true;
  if (!secret) return false;
  if (secret.metadata?.labels?.[LABEL_MANAGED] !== 'true') return false;
  const data: Record<string, Buffer> = {};
  for (const [k, v] of Object.entries(secret.data ?? {})) data[k] = Buffer.from(v, 'base64');
  return secret.metadata?.annotations?.[ANNOTATION_DATA_HASH] === hashSecretData(data);
}

/** Time until the next refresh is due (ESO's getRequeueResult), or undefined for "no periodic refresh". */
export function nextRefreshDelay(es: ExternalSecret, refreshTime: number | undefined, now: number, intervalMs: number): number | undefined {
  if (intervalMs <= 0) return undefined;
  if (refreshTime === undefined) return intervalMs;
  return Math.max(0, refreshTime + intervalMs - now);
}
