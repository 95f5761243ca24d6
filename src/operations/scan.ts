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

/**
 * `<prefix><resource>/...` → resource. kube-apiserver keeps built-in resources at `<prefix><resource>/` (no group) and
 * custom resources at `<prefix><group>/<resource>/`; those are named `<resource>.<group>`, as kubectl names them.
 */
export function resourceOfKey(key: string, prefix: string): string | undefined {
  if (!key.startsWith(prefix)) return undefined;
  const [first, second, third] = key.slice(prefix.length).split('/', 3);
  if (!first || second === undefined) return undefined; // a key right under the prefix is no object
  return first.includes('.') && third !== undefined ? `${second}.${first}` : first;
}

/** Where the keys of a resource named as resourceOfKey names it start. */
export function keyPrefixOf(resource: string, prefix: string): string {
  const { group, name } = splitResource(resource);
  return group ? `${prefix}${group}/${name}/` : `${prefix}${name}/`;
}

function splitResource(resource: string): { group: string; name: string } {
  const dot = resource.indexOf('.');
  return dot > 0 ? { group: resource.slice(dot + 1), name: resource.slice(0, dot) } : { group: '', name: resource };
}

function firstProvider(config: EncryptionConfiguration | undefined, resource: string): ProviderConfig | undefined {
  const { group, name } = splitResource(resource);
  return config ? providersFor(config, group, name)?.[0] : undefined;
}

/** What the scan says about one stored object: its writer label and kind, and whether it is stale for the options. */
export function classifyEntry(
  value: Uint8Array,
  resource: string,
  opts: Pick<ScanOptions, 'config' | 'kmsV2KeyIds'> & { keyNames?: ReadonlyMap<string, readonly string[]> },
): { writer: string; kind: StoredFormat['kind']; stale: boolean } {
  const format = classifyStoredValue(value, opts.keyNames ? { keyNames: opts.keyNames } : {});
  const stale = opts.config !== undefined && !writtenByFirst(format, firstProvider(opts.config, resource), opts.kmsV2KeyIds);
  return { writer: formatLabel(format), kind: format.kind, stale };
}

/** The local key names of a configuration, for classifyEntry (key names may contain ':'). */
export const keyNamesOf = (config: EncryptionConfiguration | undefined) => (config ? localKeyNames(config.resources.flatMap((r) => r.providers)) : undefined);

export async function scanSource(source: Source, opts: ScanOptions): Promise<ScanResult> {
  const keyNames = keyNamesOf(opts.config);
  const counts = new Map<string, ResourceCounts>();
  const findings: Finding[] = [];
  const wanted = opts.resources ? new Set(opts.resources) : undefined;
  const prefixes = wanted ? [...wanted].map((r) => keyPrefixOf(r, opts.prefix)) : [opts.prefix];
  let total = 0;
  for (const prefix of prefixes) {
    for await (const entry of source.entries(prefix, { ...(opts.pageSize ? { pageSize: opts.pageSize } : {}), ...(opts.signal ? { signal: opts.signal } : {}) })) {
      const resource = resourceOfKey(entry.key, opts.prefix);
      if (resource === undefined) continue;
      let c = counts.get(resource);
      if (!c) counts.set(resource, (c = { resource, total: 0, byWriter: {}, plaintext: 0, unknown: 0, stale: opts.config ? 0 : null }));
      const { writer, kind, stale } = classifyEntry(entry.value, resource, { ...opts, ...(keyNames ? { keyNames } : {}) });
      c.total++;
      c.byWriter[writer] = (c.byWriter[writer] ?? 0) + 1;
      if (kind === 'plaintext') c.plaintext++;
      if (kind === 'unknown') c.unknown++;
      if (stale) c.stale!++;
      if (stale || kind === 'plaintext' || kind === 'unknown') {
        findings.push({ key: entry.key, resource, writer, kind, stale });
      }
      if (++total % 1000 === 0) opts.onProgress?.(total);
    }
  }
  const resources = [...counts.values()].sort((a, b) => a.resource.localeCompare(b.resource));
  return { source: source.description, prefix: opts.prefix, resources, findings, total };
}
