// The dashboard's encryption and rotation views over the operations scan (src/operations/scan.ts), so the page and
// `coffer encryption status` count the same way: per resource, objects by provider/key/key_id, plaintext, unknown
// prefix, and stale for the EncryptionConfiguration (and the KMS v2 plugins' current key_ids), read from stored
// bytes only, never decrypting. The rotation stage is `coffer rotate status`'s. What this file adds is what a page
// needs beyond one command run: a fresh pass per change notice, the keys behind one count, and the change notices.
import { watch as watchFile } from 'node:fs';
import { basename, dirname } from 'node:path';
import { readEncryptionConfigurationFile, wipeEncryptionConfigurationKeys, type EncryptionConfiguration } from '../encryption/encryption-config.js';
import { probeKmsV2 } from '../operations/config-health.js';
import { kmsStateFileOf } from '../operations/kms-rotation-state.js';
import { rotationStatus, stateFileOf } from '../operations/rotate.js';
import { classifyEntry, keyNamesOf, keyPrefixOf, resourceOfKey, scanSource, type ResourceCounts } from '../operations/scan.js';
import { pagedEntries, type Source } from '../operations/source.js';
import type { Store } from '../storage/store.js';

export type { ResourceCounts };

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

/** `coffer rotate status`: the stage of a local-key rotation of the configuration file, and the next step. */
export interface RotationSummary {
  stage: string;
  next: string;
  resource?: string;
  from?: string;
  to?: string;
  /** Why the stage could not be read (an unreadable state file), in plain words. */
  error?: string;
  /** `coffer rotate kms-v2`'s KEK rotation, when one was started against this configuration. */
  kms?: { stage: string; next: string; latestVersion?: number };
}

export interface EncryptionScan {
  /** Where the values were read (a store or source description, never a credential). */
  source: string;
  scannedAt: string;
  resources: ResourceCounts[];
  config: ConfigSummary | null;
  /** Why the configuration is missing or unreadable, in plain words. */
  configError?: string;
  rotation: RotationSummary | null;
}

export type KeyFilter = { kind: 'stale' | 'plaintext' | 'unknown' } | { kind: 'writer'; writer: string };

export interface EncryptionScanProvider {
  scan(opts: { signal?: AbortSignal }): Promise<EncryptionScan>;
  /** Storage keys (names only) of one resource matching the filter, at most `limit`. */
  keys(resource: string, filter: KeyFilter, opts: { limit: number; signal?: AbortSignal }): Promise<{ keys: string[]; more: boolean }>;
  /** Calls `onChange` when a stored object or the configuration changes, until the signal aborts (a watch, no polling). */
  watch(onChange: () => void, signal: AbortSignal): void;
}

/** Where a scan reads: a source opened per pass (a fresh copy of a SQLite store) or kept open, and its change notices. */
export interface ScanSource {
  description: string;
  /** A source for one pass; `release` is called after it. */
  acquire(): Promise<{ source: Source; release(): Promise<void> }>;
  /** Change notices of what the source reads; absent for a source that does not change (a snapshot file). */
  watch?: (onChange: () => void, signal: AbortSignal) => void;
  close(): Promise<void>;
}

/** A source kept open for the dashboard's life (a live store, an etcd, a snapshot file). */
export function openedSource(source: Source, watch?: ScanSource['watch']): ScanSource {
  return {
    description: source.description,
    acquire: async () => ({ source, release: async () => undefined }),
    ...(watch ? { watch } : {}),
    close: () => source.close(),
  };
}

/** A Store (Coffer's own, SQLite or etcd) read as a Source, with its watch as the change notice. */
export function storeSource(store: Store, description: string, prefix: string): ScanSource {
  const source: Source = { description, entries: (p, o) => pagedEntries(store, p, o), close: async () => undefined };
  return openedSource(source, watchStore(store, prefix));
}

/** A store's watch of everything under `prefix` as change notices, re-opened from the current revision when it ends. */
export function watchStore(store: Pick<Store, 'watch' | 'currentRevision'>, prefix: string): NonNullable<ScanSource['watch']> {
  return (onChange, signal) =>
    void (async () => {
      for (;;) {
        try {
          const from = await store.currentRevision({ signal });
          // Whatever changed before `from` (while the page loaded, or while the watch was down) is announced once
          // here; what changes after it, the watch replays.
          onChange();
          for await (const _ of store.watch(prefix, { fromRevision: from, signal })) onChange();
        } catch {
          // compacted or the store restarting: start again from the current revision
        }
        if (signal.aborted) return;
        await new Promise((r) => setTimeout(r, 1000));
      }
    })();
}

/** Calls `onChange` when one of the named files in `dir` is written, created or renamed over. */
export function watchFiles(dir: string, names: string[], onChange: () => void, signal: AbortSignal): void {
  const w = watchFile(dir, (_event, file) => {
    if (file && names.includes(file.toString())) onChange();
  });
  w.on('error', () => undefined);
  signal.addEventListener('abort', () => w.close(), { once: true });
}

const kmsV2Providers = (c: EncryptionConfiguration) => c.resources.some((r) => r.providers.some((p) => p.type === 'kms' && p.apiVersion === 'v2'));

function firstWriter(p: EncryptionConfiguration['resources'][number]['providers'][number]): string {
  if (p.type === 'identity') return 'identity';
  if (p.type === 'kms') return p.apiVersion === 'v1' ? `kms-v1/${p.name}` : `kms-v2/${p.name}`;
  return `${p.type}/${p.keys[0]?.name ?? ''}`;
}

export function summarizeConfig(config: EncryptionConfiguration): ConfigSummary {
  return {
    hash: config.hash,
    rules: config.resources.map((r) => ({
      resources: [...r.resources],
      providers: r.providers.map((p, i) => ({
        type: p.type === 'kms' ? `kms-${p.apiVersion}` : p.type,
        keys: p.type === 'kms' ? [p.name] : p.type === 'identity' ? [] : p.keys.map((k) => k.name),
        ...(i === 0 ? { writes: firstWriter(p) } : {}),
      })),
    })),
  };
}

async function rotationOf(configFile: string): Promise<RotationSummary> {
  try {
    const s = await rotationStatus(configFile);
    const key = (k: { type: string; name: string }) => `${k.type}/${k.name}`;
    return {
      stage: s.stage,
      next: s.next,
      ...(s.state ? { resource: s.state.resource, from: key(s.state.from), to: key(s.state.to) } : s.writes ? { to: key(s.writes) } : {}),
      ...(s.kms ? { kms: s.kms } : {}),
    };
  } catch (e) {
    return { stage: 'unknown', next: 'coffer rotate status', error: e instanceof Error ? e.message : String(e) };
  }
}

/**
 * The scan over a source with kube-apiserver's key layout `<prefix><resource>/...`. With a configuration file, stale
 * objects are counted, the KMS v2 plugins it names are asked for their current key_id (as `coffer encryption status`
 * does), and the rotation stage is read beside it.
 */
export function sourceScanProvider(src: ScanSource, opts: { configFile?: string; prefix?: string }): EncryptionScanProvider {
  const prefix = opts.prefix ?? '/registry/';
  async function withConfig<T>(fn: (c: { config?: EncryptionConfiguration; error?: string; kmsV2KeyIds?: Map<string, string> }) => Promise<T>): Promise<T> {
    if (!opts.configFile) return fn({ error: 'no EncryptionConfiguration given, so stale objects cannot be told apart' });
    let config: EncryptionConfiguration;
    try {
      config = await readEncryptionConfigurationFile(opts.configFile);
    } catch (e) {
      return fn({ error: e instanceof Error ? e.message : String(e) });
    }
    try {
      // A plugin that does not answer within 3 s leaves its objects judged by provider name only.
      const kmsV2KeyIds = kmsV2Providers(config) ? (await probeKmsV2(config, 3_000)).keyIds : undefined;
      return await fn({ config, ...(kmsV2KeyIds ? { kmsV2KeyIds } : {}) });
    } finally {
      wipeEncryptionConfigurationKeys(config);
    }
  }
  async function withSource<T>(fn: (s: Source) => Promise<T>): Promise<T> {
    const held = await src.acquire();
    try {
      return await fn(held.source);
    } finally {
      await held.release();
    }
  }
  return {
    scan: ({ signal }) =>
      withConfig(async ({ config, error, kmsV2KeyIds }) => {
        const result = await withSource((source) =>
          scanSource(source, { prefix, ...(config ? { config } : {}), ...(kmsV2KeyIds ? { kmsV2KeyIds } : {}), ...(signal ? { signal } : {}) }),
        );
        return {
          source: src.description,
          scannedAt: new Date().toISOString(),
          resources: result.resources,
          config: config ? summarizeConfig(config) : null,
          ...(error ? { configError: error } : {}),
          rotation: opts.configFile && config ? await rotationOf(opts.configFile) : null,
        };
      }),
    keys: (resource, filter, { limit, signal }) =>
      withConfig(({ config, kmsV2KeyIds }) =>
        withSource(async (source) => {
          const ctx = { ...(config ? { config } : {}), ...(kmsV2KeyIds ? { kmsV2KeyIds } : {}), keyNames: keyNamesOf(config) ?? new Map<string, string[]>() };
          const out: string[] = [];
          for await (const entry of source.entries(keyPrefixOf(resource, prefix), signal ? { signal } : {})) {
            if (resourceOfKey(entry.key, prefix) !== resource) continue;
            const c = classifyEntry(entry.value, resource, ctx);
            const hit = filter.kind === 'writer' ? c.writer === filter.writer : filter.kind === 'stale' ? c.stale : c.kind === filter.kind;
            if (!hit) continue;
            if (out.length === limit) return { keys: out, more: true };
            out.push(entry.key);
          }
          return { keys: out, more: false };
        }),
      ),
    watch(onChange, signal) {
      src.watch?.(onChange, signal);
      // The directory, not the file: editors and tools replace the file by renaming over it. The rotation state file
      // `coffer rotate` keeps beside the configuration changes with each stage (and `coffer rotate kms-v2`'s, with its own).
      if (opts.configFile) watchFiles(dirname(opts.configFile), [basename(opts.configFile), basename(stateFileOf(opts.configFile)), basename(kmsStateFileOf(opts.configFile))], onChange, signal);
    },
  };
}
