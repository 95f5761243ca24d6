// What the dashboard needs from the encryption-status scan (`coffer encryption status`, issue 15): per resource, how
// many stored objects each provider/key/key_id wrote, how many are plaintext, have an unknown prefix, or are stale for
// the current EncryptionConfiguration, and the storage keys behind each count. Read from stored bytes only, never
// decrypting. This file holds the interface and a small implementation over a Store; once src/operations lands, the
// provider should be built on its scanSource() and Source instead (see docs/dashboard.md, "Wiring").
import { watch as watchFile } from 'node:fs';
import { basename, dirname } from 'node:path';
import { readEncryptionConfigurationFile, wipeEncryptionConfigurationKeys, type EncryptionConfiguration, type ProviderConfig } from '../encryption/encryption-config.js';
import { providersFor } from '../encryption/encryption-config-resolution.js';
import { decodeEncryptedObject, keyIdHash } from '../encryption/kms-v2-encrypted-object.js';
import type { Store } from '../storage/store.js';

export interface ResourceCounts {
  resource: string;
  total: number;
  /** Objects per writer label: `aesgcm/key1`, `kms-v2/name/sha256:<hex of key_id>`, `identity`, `unknown "k8s:enc:x:v1:"`. */
  byWriter: Record<string, number>;
  plaintext: number;
  unknown: number;
  /** null when no configuration is known. */
  stale: number | null;
}

/** A provider of the configuration, in order, without key material. */
export interface ProviderSummary {
  /** `aesgcm`, `kms-v2`, `identity`... */
  type: string;
  /** Local key names in order (the first writes), or the KMS provider's name. */
  keys: string[];
  /** The writer label new writes get (first provider only). */
  writes?: string;
}

export interface ConfigSummary {
  hash: string;
  /** Providers of each resource rule, in file order. */
  rules: { resources: string[]; providers: ProviderSummary[] }[];
}

export interface EncryptionScan {
  /** Where the values were read (a store or source description, never a credential). */
  source: string;
  scannedAt: string;
  resources: ResourceCounts[];
  config: ConfigSummary | null;
  /** Why the configuration is missing or unreadable, in plain words. */
  configError?: string;
}

export type KeyFilter = { kind: 'stale' | 'plaintext' | 'unknown' } | { kind: 'writer'; writer: string };

export interface EncryptionScanProvider {
  scan(opts: { signal?: AbortSignal }): Promise<EncryptionScan>;
  /** Storage keys (names only) of one resource matching the filter, at most `limit`. */
  keys(resource: string, filter: KeyFilter, opts: { limit: number; signal?: AbortSignal }): Promise<{ keys: string[]; more: boolean }>;
  /** Calls `onChange` when a stored object or the configuration changes, until the signal aborts (a watch, no polling). */
  watch(onChange: () => void, signal: AbortSignal): void;
}

const ENC = 'k8s:enc:';

/** Writer label of a stored value, read from its prefix; the value itself is never kept or shown. */
export function writerOf(value: Uint8Array): { label: string; kind: 'plaintext' | 'unknown' | 'encrypted' } {
  const head = Buffer.from(value.buffer, value.byteOffset, Math.min(value.byteLength, 300)).toString('latin1');
  if (!head.startsWith(ENC)) return { label: 'identity', kind: 'plaintext' };
  const [, , provider, version, name] = head.split(':', 5);
  const unknown = { label: `unknown ${JSON.stringify(`${ENC}${provider ?? ''}:${version ?? ''}:`.replace(/[^\x20-\x7e]/g, '?'))}`, kind: 'unknown' as const };
  if (name === undefined || name.length > 250) return unknown;
  if (['aescbc', 'aesgcm', 'secretbox'].includes(provider!) && version === 'v1') return { label: `${provider}/${name}`, kind: 'encrypted' };
  if (provider === 'kms' && version === 'v1') return { label: `kms-v1/${name}`, kind: 'encrypted' };
  if (provider === 'kms' && version === 'v2') {
    const at = `${ENC}kms:v2:${name}:`.length;
    try {
      const keyId = decodeEncryptedObject(value.subarray(at)).keyId;
      return { label: `kms-v2/${name}/${keyIdHash(keyId) || '(empty key_id)'}`, kind: 'encrypted' };
    } catch {
      return unknown;
    }
  }
  return unknown;
}

function firstWriter(p: ProviderConfig | undefined): string {
  if (!p || p.type === 'identity') return 'identity';
  if (p.type === 'kms') return p.apiVersion === 'v1' ? `kms-v1/${p.name}` : `kms-v2/${p.name}/`;
  return `${p.type}/${p.keys[0]?.name ?? ''}`;
}

/** Stale: not written by the first provider (and key) of the resource's rule. KMS v2 matches by name here. */
function isStale(label: string, config: EncryptionConfiguration, resource: string): boolean {
  const dot = resource.indexOf('.');
  const gr = dot > 0 ? { group: resource.slice(dot + 1), resource: resource.slice(0, dot) } : { group: '', resource };
  const first = firstWriter(providersFor(config, gr.group, gr.resource)?.[0]);
  return first.endsWith('/') ? !label.startsWith(first) : label !== first;
}

export function summarizeConfig(config: EncryptionConfiguration): ConfigSummary {
  return {
    hash: config.hash,
    rules: config.resources.map((r) => ({
      resources: [...r.resources],
      providers: r.providers.map((p, i) => ({
        type: p.type === 'kms' ? `kms-${p.apiVersion}` : p.type,
        keys: p.type === 'kms' ? [p.name] : p.type === 'identity' ? [] : p.keys.map((k) => k.name),
        ...(i === 0 ? { writes: firstWriter(p).replace(/\/$/, '') } : {}),
      })),
    })),
  };
}

/** Over a Store (Coffer's own, SQLite or etcd) with kube-apiserver's key layout `<prefix><resource>/...`. */
export function storeScanProvider(store: Store, opts: { description: string; configFile?: string; prefix?: string }): EncryptionScanProvider {
  const prefix = opts.prefix ?? '/registry/';
  // kube-apiserver keeps core resources at <prefix><resource>/ and others (custom resources) at <prefix><group>/<resource>/;
  // the dashboard names the latter `<resource>.<group>`, as kubectl does.
  const resourceOf = (key: string) => {
    const [first, second, third] = key.slice(prefix.length).split('/', 3);
    if (!first || second === undefined) return undefined;
    return first.includes('.') && third !== undefined ? `${second}.${first}` : first;
  };
  const keyPrefixOf = (resource: string) => {
    const dot = resource.indexOf('.');
    return dot > 0 ? `${prefix}${resource.slice(dot + 1)}/${resource.slice(0, dot)}/` : `${prefix}${resource}/`;
  };
  async function readConfig(): Promise<{ config?: EncryptionConfiguration; error?: string }> {
    if (!opts.configFile) return { error: 'no EncryptionConfiguration given, so stale objects cannot be told apart' };
    try {
      return { config: await readEncryptionConfigurationFile(opts.configFile) };
    } catch (e) {
      return { error: e instanceof Error ? e.message : String(e) };
    }
  }
  async function* entries(under: string, signal?: AbortSignal) {
    let revision: number | undefined;
    let startKey: string | undefined;
    for (;;) {
      const page = await store.list(under, { limit: 500, ...(revision ? { revision } : {}), ...(startKey ? { startKey } : {}), ...(signal ? { signal } : {}) });
      revision ??= page.revision;
      yield* page.kvs;
      if (!page.more || page.kvs.length === 0) return;
      startKey = `${page.kvs.at(-1)!.key}\0`;
    }
  }
  return {
    async scan({ signal }) {
      const { config, error } = await readConfig();
      try {
        const counts = new Map<string, ResourceCounts>();
        for await (const kv of entries(prefix, signal)) {
          const resource = resourceOf(kv.key);
          if (!resource) continue;
          let c = counts.get(resource);
          if (!c) counts.set(resource, (c = { resource, total: 0, byWriter: {}, plaintext: 0, unknown: 0, stale: config ? 0 : null }));
          const w = writerOf(kv.value);
          c.total++;
          c.byWriter[w.label] = (c.byWriter[w.label] ?? 0) + 1;
          if (w.kind === 'plaintext') c.plaintext++;
          if (w.kind === 'unknown') c.unknown++;
          if (config && isStale(w.label, config, resource)) c.stale!++;
        }
        return {
          source: opts.description,
          scannedAt: new Date().toISOString(),
          resources: [...counts.values()].sort((a, b) => a.resource.localeCompare(b.resource)),
          config: config ? summarizeConfig(config) : null,
          ...(error ? { configError: error } : {}),
        };
      } finally {
        if (config) wipeEncryptionConfigurationKeys(config);
      }
    },
    async keys(resource, filter, { limit, signal }) {
      const { config } = filter.kind === 'stale' ? await readConfig() : {};
      try {
        const out: string[] = [];
        for await (const kv of entries(keyPrefixOf(resource), signal)) {
          const w = writerOf(kv.value);
          const hit =
            filter.kind === 'writer' ? w.label === filter.writer
            : filter.kind === 'stale' ? config !== undefined && isStale(w.label, config, resource)
            : w.kind === filter.kind;
          if (!hit) continue;
          if (out.length === limit) return { keys: out, more: true };
          out.push(kv.key);
        }
        return { keys: out, more: false };
      } finally {
        if (config) wipeEncryptionConfigurationKeys(config);
      }
    },
    watch(onChange, signal) {
      void (async () => {
        for (;;) {
          try {
            const from = await store.currentRevision({ signal });
            for await (const _ of store.watch(prefix, { fromRevision: from, signal })) onChange();
          } catch {
            // compacted or the store restarting: start again from the current revision
          }
          if (signal.aborted) return;
          await new Promise((r) => setTimeout(r, 1000));
          onChange();
        }
      })();
      if (opts.configFile) {
        // The directory, not the file: editors and `kubectl`-style tools replace the file by renaming over it.
        const name = basename(opts.configFile);
        const w = watchFile(dirname(opts.configFile), (_event, file) => {
          if (file === name) onChange();
        });
        signal.addEventListener('abort', () => w.close(), { once: true });
      }
    },
  };
}
