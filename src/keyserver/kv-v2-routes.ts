// KV version 2's HTTP endpoints (Vault's vault-plugin-secrets-kv path_data.go, path_metadata.go): data (read, write with check-and-set, merge-patch, soft
// delete), delete/undelete/destroy, metadata (read, write, patch, delete, list) and config. Reads of deleted or
// destroyed versions answer 404 with a success envelope, which clients (the Go SDK, ESO, `vault kv get`) rely on.
import { formatGoDuration } from '../encryption/go-duration.js';
import { isJsonObject, JsonNumber, parseJson, stringifyJson, type JsonValue } from './lossless-json.js';
import { has, optBool, optDurationSeconds, optInt, optIntList, type RequestData } from './request-fields.js';
import { KvV2Store, type KvMetadata } from './kv-v2-store.js';
import type { SealedStorage } from './sealed-storage.js';
import type { Clock } from '../lib/clock.js';
import { badRequest, VaultError } from './vault-error.js';
import type { Mount, Operation, VaultRequest, VaultResponse } from './vault-request.js';

const CLI_VERB: Record<Operation, string> = { read: 'get', list: 'list', create: 'put', update: 'put', delete: 'delete', patch: 'patch' };

export function kvV2Mount(storage: SealedStorage, clock: Clock, path = 'secret/'): Mount {
  const kv = new KvV2Store(storage, clock, `kv/${path}`);
  const key = (p: readonly string[]) => {
    const k = p[0]!;
    if (k === '') throw badRequest('missing path');
    return k;
  };
  const exists = (p: readonly string[]) => p[0] !== '' && kv.metadata(p[0]!) !== undefined;
  return {
    path,
    type: 'kv',
    noRoute: (req) => ({
      status: 404,
      data: null,
      warnings: [
        `Invalid path for a versioned K/V secrets engine. See the API docs for the appropriate API endpoints to use. If using the Vault CLI, use 'vault kv ${CLI_VERB[req.operation]}' for this operation.`,
      ],
    }),
    routes: [
      {
        pattern: /^config$/,
        handlers: {
          read: () => {
            const c = kv.config();
            return { data: { cas_required: c.casRequired, delete_version_after: formatGoDuration(c.deleteVersionAfter * 1e9), max_versions: c.maxVersions } };
          },
          write: (req) => {
            const c = kv.config();
            kv.setConfig({
              maxVersions: nonNegative(req.data, 'max_versions') ?? c.maxVersions,
              casRequired: optBool(req.data, 'cas_required') ?? c.casRequired,
              deleteVersionAfter: optDurationSeconds(req.data, 'delete_version_after') ?? c.deleteVersionAfter,
            });
            return undefined;
          },
        },
      },
      {
        pattern: /^data\/(.*)$/,
        exists,
        handlers: {
          read: (req, p) => readData(kv, key(p), req),
          write: (req, p) => writeData(kv, key(p), req.data),
          patch: (req, p) => patchData(kv, key(p), req.data),
          delete: (_req, p) => {
            const meta = kv.metadata(key(p));
            if (meta && meta.currentVersion > 0) kv.changeVersions(key(p), [meta.currentVersion], 'delete');
            return undefined;
          },
        },
      },
      versionsRoute(kv, 'delete', 'No version number provided'),
      versionsRoute(kv, 'undelete', 'No version number provided'),
      versionsRoute(kv, 'destroy', 'no version number provided'),
      {
        pattern: /^metadata\/(.*)$/,
        exists,
        handlers: {
          list: (_req, p) => ({ data: { keys: kv.list(p[0]!) } }),
          read: (_req, p) => {
            const meta = kv.metadata(key(p));
            return meta ? { data: describeMetadata(meta) } : undefined;
          },
          write: (req, p) => writeMetadata(kv, key(p), req.data, false),
          patch: (req, p) => writeMetadata(kv, key(p), req.data, true),
          delete: (_req, p) => {
            kv.deleteAll(key(p));
            return undefined;
          },
        },
      },
    ],
  };
}

function versionsRoute(kv: KvV2Store, action: 'delete' | 'undelete' | 'destroy', emptyMessage: string) {
  return {
    pattern: new RegExp(`^${action}/(.*)$`),
    handlers: {
      write: (req: VaultRequest, p: readonly string[]) => {
        if (p[0] === '') throw badRequest('missing path');
        const versions = optIntList(req.data, 'versions') ?? [];
        if (versions.length === 0) throw badRequest(emptyMessage);
        kv.changeVersions(p[0]!, versions, action);
        return undefined;
      },
    },
  };
}

function versionMetadata(meta: KvMetadata, version: number): Record<string, unknown> {
  const v = meta.versions[String(version)]!;
  return { created_time: v.created_time, custom_metadata: meta.customMetadata, deletion_time: v.deletion_time, destroyed: v.destroyed, version };
}

function readData(kv: KvV2Store, path: string, req: VaultRequest): VaultResponse | undefined {
  const meta = kv.metadata(path);
  if (!meta) return undefined;
  const version = optInt(req.data, 'version') || meta.currentVersion;
  const info = meta.versions[String(version)];
  if (!info) return undefined;
  if (info.destroyed || kv.isDeleted(info)) return { status: 404, data: { data: null, metadata: versionMetadata(meta, version) } };
  const raw = kv.versionData(path, version);
  if (!raw) return undefined;
  try {
    return { data: { data: parseJson(raw.toString('utf8')), metadata: versionMetadata(meta, version) } };
  } finally {
    raw.fill(0);
  }
}

function casOf(data: RequestData): number | undefined {
  const options = data.options;
  if (options === undefined || options === null) return undefined;
  if (!isJsonObject(options)) throw badRequest('invalid value for field "options": want an object');
  if (!has(options, 'cas')) return undefined;
  try {
    return optInt(options, 'cas');
  } catch {
    throw badRequest('error parsing check-and-set parameter');
  }
}

function writeData(kv: KvV2Store, path: string, data: RequestData): VaultResponse {
  if (!has(data, 'data')) throw badRequest('no data provided');
  if (!isJsonObject(data.data)) throw badRequest('invalid value for field "data": want a JSON object');
  const text = Buffer.from(stringifyJson(data.data), 'utf8');
  try {
    const { version, meta } = kv.write(path, text, casOf(data));
    return { data: versionMetadata(meta, version) };
  } finally {
    text.fill(0);
  }
}

function patchData(kv: KvV2Store, path: string, data: RequestData): VaultResponse {
  if (!has(data, 'data')) throw badRequest('no data provided');
  if (!isJsonObject(data.data)) throw badRequest('invalid value for field "data": want a JSON object');
  const meta = kv.metadata(path);
  const current = meta?.versions[String(meta.currentVersion)];
  if (!meta || !current) throw new VaultError(404, [], { body: {} });
  if (current.destroyed || kv.isDeleted(current)) {
    throw new VaultError(404, [], { body: { data: versionMetadata(meta, meta.currentVersion) } });
  }
  const raw = kv.versionData(path, meta.currentVersion);
  if (!raw) throw new VaultError(404, [], { body: {} });
  let merged: Buffer;
  try {
    merged = Buffer.from(stringifyJson(mergePatch(parseJson(raw.toString('utf8')), data.data)), 'utf8');
  } finally {
    raw.fill(0);
  }
  try {
    const { version, meta: after } = kv.write(path, merged, casOf(data));
    return { data: versionMetadata(after, version) };
  } finally {
    merged.fill(0);
  }
}

/** RFC 7386 JSON merge patch: null removes a member, objects merge recursively, anything else replaces. */
export function mergePatch(target: JsonValue, patch: JsonValue): JsonValue {
  if (!isJsonObject(patch)) return patch;
  const out: { [k: string]: JsonValue } = isJsonObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else Object.defineProperty(out, k, { value: mergePatch(out[k] ?? null, v), enumerable: true, writable: true, configurable: true });
  }
  return out;
}

function describeMetadata(meta: KvMetadata): Record<string, unknown> {
  return {
    cas_required: meta.casRequired,
    created_time: meta.createdTime,
    current_version: meta.currentVersion,
    custom_metadata: meta.customMetadata,
    delete_version_after: formatGoDuration(meta.deleteVersionAfter * 1e9),
    max_versions: meta.maxVersions,
    oldest_version: meta.oldestVersion,
    updated_time: meta.updatedTime,
    versions: meta.versions,
  };
}

function writeMetadata(kv: KvV2Store, path: string, data: RequestData, patch: boolean): VaultResponse | undefined {
  const fields = ['max_versions', 'cas_required', 'delete_version_after', 'custom_metadata'];
  const existing = kv.metadata(path);
  if (patch && !existing) throw new VaultError(404, [], { body: {} });
  if (!fields.some((f) => Object.prototype.hasOwnProperty.call(data, f))) return undefined;
  const meta = existing ?? kv.newMetadata();
  const maxVersions = nonNegative(data, 'max_versions');
  if (maxVersions !== undefined) meta.maxVersions = maxVersions;
  const cas = optBool(data, 'cas_required');
  if (cas !== undefined) meta.casRequired = cas;
  const after = optDurationSeconds(data, 'delete_version_after');
  if (after !== undefined) meta.deleteVersionAfter = after;
  if (Object.prototype.hasOwnProperty.call(data, 'custom_metadata')) {
    meta.customMetadata = customMetadata(data.custom_metadata ?? null, patch ? meta.customMetadata : null);
  }
  kv.touch(meta);
  kv.saveMetadata(path, meta);
  const warnings = cas === false && kv.config().casRequired
    ? ['"cas_required" set to false, but is mandated by backend config. This value will be ignored.']
    : [];
  return warnings.length ? { warnings } : undefined;
}

/** custom_metadata with Vault's limits: at most 64 keys, keys 1-128 and values 1-512 printable characters. */
function customMetadata(value: JsonValue, base: Record<string, string> | null): Record<string, string> | null {
  if (value === null) return base;
  if (!isJsonObject(value)) throw badRequest('custom_metadata validation failed: want an object of strings');
  const out: Record<string, string> = { ...(base ?? {}) };
  for (const [k, v] of Object.entries(value)) {
    if (v === null) {
      delete out[k];
      continue;
    }
    if (v instanceof JsonNumber) out[k] = v.text;
    else if (typeof v === 'object') throw badRequest(`custom_metadata validation failed: value of key ${JSON.stringify(k)} is not a string`);
    else out[k] = String(v);
  }
  const problems: string[] = [];
  const entries = Object.entries(out);
  if (entries.length > 64) problems.push(`payload must contain at most 64 keys, provided ${entries.length}`);
  for (const [k, v] of entries) {
    if (k.length < 1 || k.length > 128) problems.push(`length of key ${JSON.stringify(k.slice(0, 20))} is ${k.length} but must be 1-128 characters`);
    if (v.length < 1 || v.length > 512) problems.push(`length of value for key ${JSON.stringify(k.slice(0, 20))} is ${v.length} but must be 1-512 characters`);
    if (/[^\P{C}]/u.test(k) || /[^\P{C}]/u.test(v)) problems.push(`key ${JSON.stringify(k.slice(0, 20))} or its value contains unprintable characters`);
  }
  if (problems.length) throw badRequest(`custom_metadata validation failed: ${problems.join('; ')}`);
  return out;
}

function nonNegative(data: RequestData, field: string): number | undefined {
  const n = optInt(data, field);
  if (n !== undefined && n < 0) throw badRequest(`invalid value ${n} for field "${field}": must not be negative`);
  return n;
}
