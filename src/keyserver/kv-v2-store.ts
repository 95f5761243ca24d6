// KV version 2's model (Vault's vault-plugin-secrets-kv): per key a metadata entry and one sealed entry per version, after
// Vault's kv plugin. Version data is kept as the exact JSON text the client sent (numbers included). Timestamps are
// RFC 3339 with trailing fraction zeros trimmed, as Go's RFC3339Nano prints them; "not set" is "".
import type { Clock } from '../lib/clock.js';
import type { SealedStorage } from './sealed-storage.js';
import { badRequest } from './vault-error.js';

export interface KvVersionInfo {
  created_time: string;
  deletion_time: string;
  destroyed: boolean;
}

export interface KvMetadata {
  createdTime: string;
  updatedTime: string;
  currentVersion: number;
  oldestVersion: number;
  maxVersions: number;
  casRequired: boolean;
  /** Seconds; 0 = never. */
  deleteVersionAfter: number;
  customMetadata: Record<string, string> | null;
  versions: Record<string, KvVersionInfo>;
}

export interface KvConfig {
  maxVersions: number;
  casRequired: boolean;
  deleteVersionAfter: number;
}

const DEFAULT_MAX_VERSIONS = 10;

export function formatRfc3339Nano(ms: number): string {
  return new Date(ms).toISOString().replace(/\.?0+Z$/, 'Z');
}

export class KvV2Store {
  constructor(
    private readonly storage: SealedStorage,
    private readonly clock: Clock,
    /** Storage prefix of this mount, e.g. `kv/secret/`. */
    private readonly prefix: string,
  ) {}

  config(): KvConfig {
    return this.storage.getJson<KvConfig>(`${this.prefix}config`) ?? { maxVersions: 0, casRequired: false, deleteVersionAfter: 0 };
  }

  setConfig(c: KvConfig): void {
    this.storage.putJson(`${this.prefix}config`, c);
  }

  metadata(path: string): KvMetadata | undefined {
    return this.storage.getJson<KvMetadata>(this.metaPath(path));
  }

  saveMetadata(path: string, meta: KvMetadata): void {
    this.storage.putJson(this.metaPath(path), meta);
  }

  newMetadata(): KvMetadata {
    const now = formatRfc3339Nano(this.clock.now());
    return { createdTime: now, updatedTime: now, currentVersion: 0, oldestVersion: 0, maxVersions: 0, casRequired: false, deleteVersionAfter: 0, customMetadata: null, versions: {} };
  }

  touch(meta: KvMetadata): void {
    meta.updatedTime = formatRfc3339Nano(this.clock.now());
  }

  /** The stored JSON text of a version; the caller zero-fills it. */
  versionData(path: string, version: number): Buffer | undefined {
    return this.storage.get(this.versionPath(path, version));
  }

  isDeleted(v: KvVersionInfo): boolean {
    return v.deletion_time !== '' && Date.parse(v.deletion_time) <= this.clock.now();
  }

  /** Writes a new version (check-and-set as Vault: cas given must equal current_version). */
  write(path: string, dataJson: Uint8Array, cas: number | undefined): { version: number; meta: KvMetadata } {
    const config = this.config();
    return this.storage.transaction(() => {
      const meta = this.metadata(path) ?? this.newMetadata();
      if (cas === undefined && (meta.casRequired || config.casRequired)) throw badRequest('check-and-set parameter required for this call');
      if (cas !== undefined && cas !== meta.currentVersion) throw badRequest('check-and-set parameter did not match the current version');
      const nowMs = this.clock.now();
      const version = meta.currentVersion + 1;
      const after = effectiveDeleteAfter(meta.deleteVersionAfter, config.deleteVersionAfter);
      meta.versions[String(version)] = {
        created_time: formatRfc3339Nano(nowMs),
        deletion_time: after > 0 ? formatRfc3339Nano(nowMs + after * 1000) : '',
        destroyed: false,
      };
      meta.currentVersion = version;
      meta.updatedTime = formatRfc3339Nano(nowMs);
      this.storage.put(this.versionPath(path, version), dataJson);
      // Pruning follows the kv plugin's code: max(key, mount) when either is set, else 10.
      const max = Math.max(meta.maxVersions, config.maxVersions) || DEFAULT_MAX_VERSIONS;
      if (meta.currentVersion - meta.oldestVersion >= max) {
        const keepFrom = meta.currentVersion - max + 1;
        for (const v of Object.keys(meta.versions)) {
          if (Number(v) < keepFrom) {
            delete meta.versions[v];
            this.storage.delete(this.versionPath(path, Number(v)));
          }
        }
        meta.oldestVersion = keepFrom;
      }
      this.saveMetadata(path, meta);
      return { version, meta };
    });
  }

  /** Soft-deletes, undeletes or destroys versions; unknown versions and keys are skipped silently. */
  changeVersions(path: string, versions: readonly number[], action: 'delete' | 'undelete' | 'destroy'): void {
    const config = this.config();
    this.storage.transaction(() => {
      const meta = this.metadata(path);
      if (!meta) return;
      const nowMs = this.clock.now();
      for (const n of versions) {
        const v = meta.versions[String(n)];
        if (!v) continue;
        if (action === 'delete') {
          if (!v.destroyed && !this.isDeleted(v)) v.deletion_time = formatRfc3339Nano(nowMs);
        } else if (action === 'undelete') {
          if (v.destroyed) continue;
          const after = effectiveDeleteAfter(meta.deleteVersionAfter, config.deleteVersionAfter);
          v.deletion_time = after > 0 ? formatRfc3339Nano(nowMs + after * 1000) : '';
        } else {
          v.destroyed = true;
          this.storage.delete(this.versionPath(path, n));
        }
      }
      meta.updatedTime = formatRfc3339Nano(nowMs);
      this.saveMetadata(path, meta);
    });
  }

  /** Removes a key's metadata and every version permanently. */
  deleteAll(path: string): void {
    this.storage.transaction(() => {
      const meta = this.metadata(path);
      if (!meta) return;
      for (const v of Object.keys(meta.versions)) this.storage.delete(this.versionPath(path, Number(v)));
      this.storage.delete(this.metaPath(path));
    });
  }

  /** Immediate children of a folder ("" = mount root): leaf names and `sub/` folder names, sorted, de-duplicated. */
  list(folder: string): string[] {
    const base = `${this.prefix}meta/${folder}`;
    const names = new Set<string>();
    for (const p of this.storage.list(base)) {
      const rest = p.slice(base.length);
      const slash = rest.indexOf('/');
      names.add(slash < 0 ? rest : rest.slice(0, slash + 1));
    }
    names.delete('');
    return [...names].sort();
  }

  private metaPath(path: string): string {
    return `${this.prefix}meta/${path}`;
  }

  private versionPath(path: string, version: number): string {
    return `${this.prefix}version/${version}/${path}`;
  }
}

/** The smaller non-zero of the key's and the mount's delete_version_after; a negative mount value disables it. */
function effectiveDeleteAfter(key: number, mount: number): number {
  if (mount < 0) return key > 0 ? key : 0;
  if (key > 0 && mount > 0) return Math.min(key, mount);
  return key > 0 ? key : mount > 0 ? mount : 0;
}
