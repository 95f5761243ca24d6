// One pass over a source: per resource, how many objects each provider and key wrote, how many are plaintext or have
// a prefix no provider writes, and which are stale for a configuration (not written by its first provider and key, or
// by a KMS v2 key_id other than the plugin's current one). Findings name storage keys only, never values.
import type { EncryptionConfiguration, ProviderConfig } from '../encryption/encryption-config.js';
import { providersFor } from '../encryption/encryption-config-resolution.js';
import { classifyStoredValue, formatLabel, localKeyNames, writtenByFirst, type StoredFormat } from './stored-value.js';
import type { Source } from './source.js';

export interface ResourceCounts {
  resource: string;
  total: number;
  /** Objects per writer label (`aescbc/key1`, `kms-v2/name/sha256:...`, `identity`, `unknown "k8s:enc:x:v1:"`). */
  byWriter: Record<string, number>;
  plaintext: number;
  unknown: number;
  /** null when no configuration was given. */
  stale: number | null;
}

export interface Finding {
  key: string;
  resource: string;
  writer: string;
  kind: StoredFormat['kind'];
  stale: boolean;
}

export interface ScanResult {
  source: string;
  prefix: string;
  resources: ResourceCounts[];
  /** Every object that is plaintext, has an unknown prefix or is stale; fresh encrypted objects are only counted. */
  findings: Finding[];
  total: number;
}

export interface ScanOptions {
  /** The key prefix with a trailing slash (normalizeEtcdPrefix). */
  prefix: string;
  config?: EncryptionConfiguration;
  /** The current key_id of each KMS v2 provider, by name (from the plugins' Status). */
  kmsV2KeyIds?: ReadonlyMap<string, string>;
  /** Only these resources (e.g. ["secrets"]); all when absent. */
  resources?: readonly string[];
  pageSize?: number;
  signal?: AbortSignal;
  onProgress?: (scanned: number) => void;
}

/** `<prefix><resource>/...` → resource; kube-apiserver's keys name the resource but not its group. */
export function resourceOfKey(key: string, prefix: string): string | undefined {
  if (!key.startsWith(prefix)) return undefined;
  const rest = key.slice(prefix.length);
  const slash = rest.indexOf('/');
  return slash > 0 ? rest.slice(0, slash) : undefined;
}

function firstProvider(config: EncryptionConfiguration | undefined, resource: string): ProviderConfig | undefined {
  return config ? providersFor(config, '', resource)?.[0] : undefined;
}

export async function scanSource(source: Source, opts: ScanOptions): Promise<ScanResult> {
  const keyNames = opts.config ? localKeyNames(opts.config.resources.flatMap((r) => r.providers)) : undefined;
  const counts = new Map<string, ResourceCounts>();
  const findings: Finding[] = [];
  const wanted = opts.resources ? new Set(opts.resources) : undefined;
  const prefixes = wanted ? [...wanted].map((r) => `${opts.prefix}${r}/`) : [opts.prefix];
  let total = 0;
  for (const prefix of prefixes) {
    for await (const entry of source.entries(prefix, { ...(opts.pageSize ? { pageSize: opts.pageSize } : {}), ...(opts.signal ? { signal: opts.signal } : {}) })) {
      const resource = resourceOfKey(entry.key, opts.prefix);
      if (resource === undefined) continue; // a key right under the prefix is no object
      let c = counts.get(resource);
      if (!c) counts.set(resource, (c = { resource, total: 0, byWriter: {}, plaintext: 0, unknown: 0, stale: opts.config ? 0 : null }));
      const format = classifyStoredValue(entry.value, keyNames ? { keyNames } : {});
      const writer = formatLabel(format);
      c.total++;
      c.byWriter[writer] = (c.byWriter[writer] ?? 0) + 1;
      if (format.kind === 'plaintext') c.plaintext++;
      if (format.kind === 'unknown') c.unknown++;
      const stale = opts.config !== undefined && !writtenByFirst(format, firstProvider(opts.config, resource), opts.kmsV2KeyIds);
      if (stale) c.stale!++;
      if (stale || format.kind === 'plaintext' || format.kind === 'unknown') {
        findings.push({ key: entry.key, resource, writer, kind: format.kind, stale });
      }
      if (++total % 1000 === 0) opts.onProgress?.(total);
    }
  }
  const resources = [...counts.values()].sort((a, b) => a.resource.localeCompare(b.resource));
  return { source: source.description, prefix: opts.prefix, resources, findings, total };
}
