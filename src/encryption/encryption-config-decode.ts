// EncryptionConfiguration file text into its raw typed form, with upstream's defaults applied
// (apiserver:pkg/apis/apiserver/v1/types_encryption.go and defaults.go). Decoding is strict like kube-apiserver's
// (serializer.EnableStrict): unknown and repeated fields are errors, and so is a value of the wrong JSON type.
// As with Go's encoding/json, null means "not set".
import { InvalidError } from '../lib/errors.js';
import { parseGoDuration } from './go-duration.js';
import { childPath, parseStrictYaml, printableFieldName } from './strict-yaml.js';

export interface RawKey {
  name: string;
  /** Base64 as written in the file; checked by validation, decoded into a Buffer when the config is built. */
  secret: string;
}

export interface RawKeysConfiguration {
  keys: RawKey[];
}

export interface RawKmsConfiguration {
  apiVersion: string;
  name: string;
  cachesize: number | undefined;
  endpoint: string;
  /** The timeout as written ("3s"), for messages. */
  timeout: string;
  timeoutNs: number;
}

export interface RawProviderConfiguration {
  aesgcm?: RawKeysConfiguration;
  aescbc?: RawKeysConfiguration;
  secretbox?: RawKeysConfiguration;
  identity?: Record<string, never>;
  kms?: RawKmsConfiguration;
}

export interface RawResourceConfiguration {
  resources: string[];
  providers: RawProviderConfiguration[];
}

export interface RawEncryptionConfiguration {
  apiVersion: string;
  kind: string;
  resources: RawResourceConfiguration[];
}

export interface DecodeResult {
  /** undefined when the document is not an EncryptionConfiguration at all (nothing else is worth checking). */
  config: RawEncryptionConfiguration | undefined;
  errors: InvalidError[];
  /** Paths of values that could not be decoded; validation errors at or below them only repeat the problem. */
  badFields: string[];
}

export const API_VERSION = 'apiserver.config.k8s.io/v1';
export const KIND = 'EncryptionConfiguration';
// Registered upstream "due to a docs bug" and still accepted by kube-apiserver.
export const LEGACY_API_VERSION = 'v1';
export const LEGACY_KIND = 'EncryptionConfig';

export const DEFAULT_KMS_API_VERSION = 'v1';
export const DEFAULT_KMS_TIMEOUT = '3s';
export const DEFAULT_KMS_V1_CACHE_SIZE = 1000;

export function decodeEncryptionConfiguration(text: string): DecodeResult {
  const parsed = parseStrictYaml(text);
  const reader = new FieldReader(parsed.errors);
  if (parsed.errors.length > 0) return reader.result(undefined);
  if (parsed.value === undefined) {
    reader.errors.push(new InvalidError('contains no EncryptionConfiguration object'));
    return reader.result(undefined);
  }
  if (!(parsed.value instanceof Map)) {
    reader.errors.push(new InvalidError(`must be a YAML or JSON object, got ${typeName(parsed.value)}`));
    return reader.result(undefined);
  }
  const root = parsed.value as Map<string, unknown>;
  const apiVersion = reader.string(root.get('apiVersion'), 'apiVersion');
  const kind = reader.string(root.get('kind'), 'kind');
  if (reader.errors.length > 0) return reader.result(undefined);
  if (!((apiVersion === API_VERSION && kind === KIND) || (apiVersion === LEGACY_API_VERSION && kind === LEGACY_KIND))) {
    reader.errors.push(
      new InvalidError(
        `no kind ${JSON.stringify(kind)} is registered for version ${JSON.stringify(apiVersion)}: expected kind ` +
          `"${KIND}" with apiVersion "${API_VERSION}" (or the legacy kind "${LEGACY_KIND}" with apiVersion ` +
          `"${LEGACY_API_VERSION}")`,
      ),
    );
    return reader.result(undefined);
  }
  reader.object(root, '', ['apiVersion', 'kind', 'resources']);
  const resources = reader.list(root.get('resources'), 'resources').map((entry, i) => {
    const path = `resources[${i}]`;
    const fields = reader.object(entry, path, ['resources', 'providers']);
    return {
      resources: reader
        .list(fields?.get('resources'), `${path}.resources`)
        .map((r, j) => reader.string(r, `${path}.resources[${j}]`)),
      providers: reader
        .list(fields?.get('providers'), `${path}.providers`)
        .map((p, j) => decodeProvider(reader, p, `${path}.providers[${j}]`)),
    };
  });
  return reader.result({ apiVersion, kind, resources });
}

function decodeProvider(reader: FieldReader, value: unknown, path: string): RawProviderConfiguration {
  const fields = reader.object(value, path, ['aesgcm', 'aescbc', 'secretbox', 'identity', 'kms']);
  const provider: RawProviderConfiguration = {};
  if (!fields) return provider;
  for (const type of ['aesgcm', 'aescbc', 'secretbox'] as const) {
    const keysPath = childPath(path, type);
    const keysFields = reader.object(fields.get(type), keysPath, ['keys']);
    if (!keysFields) {
      if (isSet(fields.get(type))) provider[type] = { keys: [] }; // badly typed: still counts as "set"
      continue;
    }
    provider[type] = {
      keys: reader.list(keysFields.get('keys'), `${keysPath}.keys`).map((k, i) => {
        const keyPath = `${keysPath}.keys[${i}]`;
        const key = reader.object(k, keyPath, ['name', 'secret']);
        return {
          name: reader.string(key?.get('name'), `${keyPath}.name`),
          secret: reader.string(key?.get('secret'), `${keyPath}.secret`),
        };
      }),
    };
  }
  reader.object(fields.get('identity'), `${path}.identity`, []);
  if (isSet(fields.get('identity'))) provider.identity = {};
  const kmsFields = ['apiVersion', 'name', 'cachesize', 'endpoint', 'timeout'];
  const kms = reader.object(fields.get('kms'), `${path}.kms`, kmsFields);
  if (isSet(fields.get('kms'))) provider.kms = decodeKms(reader, kms ?? new Map<string, unknown>(), `${path}.kms`);
  return provider;
}

// A provider field of the wrong type is reported by decoding; it still counts as set so that validation does not
// add "no provider specified" on top (its own checks fall below the bad field's path and are dropped).
function isSet(value: unknown): boolean {
  return value !== null && value !== undefined;
}

function decodeKms(reader: FieldReader, fields: Map<string, unknown>, path: string): RawKmsConfiguration {
  const apiVersion = reader.string(fields.get('apiVersion'), `${path}.apiVersion`) || DEFAULT_KMS_API_VERSION;
  const timeout = reader.string(fields.get('timeout'), `${path}.timeout`, DEFAULT_KMS_TIMEOUT);
  let timeoutNs = 0;
  try {
    timeoutNs = parseGoDuration(timeout);
  } catch (e) {
    reader.fail(`${path}.timeout`, (e as Error).message.replace(/^time: /, ''));
  }
  let cachesize = reader.int32(fields.get('cachesize'), `${path}.cachesize`);
  if (cachesize === undefined && apiVersion === 'v1') cachesize = DEFAULT_KMS_V1_CACHE_SIZE;
  return {
    apiVersion,
    name: reader.string(fields.get('name'), `${path}.name`),
    cachesize,
    endpoint: reader.string(fields.get('endpoint'), `${path}.endpoint`),
    timeout,
    timeoutNs,
  };
}

/** Reads typed values out of plain YAML values, recording every problem with its path instead of stopping. */
class FieldReader {
  readonly badFields: string[] = [];

  constructor(readonly errors: InvalidError[]) {}

  result(config: RawEncryptionConfiguration | undefined): DecodeResult {
    return { config, errors: this.errors, badFields: this.badFields };
  }

  fail(path: string, message: string): void {
    this.errors.push(new InvalidError(message, { field: path }));
    this.badFields.push(path);
  }

  /** An object with only the given fields; null or absent gives undefined (Go leaves the pointer nil). */
  object(value: unknown, path: string, fields: readonly string[]): Map<string, unknown> | undefined {
    if (value === null || value === undefined) return undefined;
    if (!(value instanceof Map)) {
      this.fail(path, `must be an object, got ${typeName(value)}`);
      return undefined;
    }
    const map = value as Map<string, unknown>;
    for (const name of map.keys()) {
      if (!fields.includes(name)) {
        this.errors.push(
          new InvalidError(`strict decoding error: unknown field "${childPath(path, printableFieldName(name))}"`),
        );
      }
    }
    return map;
  }

  list(value: unknown, path: string): unknown[] {
    if (value === null || value === undefined) return [];
    if (Array.isArray(value)) return value;
    this.fail(path, `must be a list, got ${typeName(value)}`);
    return [];
  }

  // Values are never echoed: the string may be a key secret.
  string(value: unknown, path: string, absent = ''): string {
    if (value === null || value === undefined) return absent;
    if (typeof value === 'string') return value;
    this.fail(path, `must be a string, got ${typeName(value)}`);
    return absent;
  }

  int32(value: unknown, path: string): number | undefined {
    if (value === null || value === undefined) return undefined;
    if (typeof value === 'number' && Number.isInteger(value) && value >= -(2 ** 31) && value < 2 ** 31) return value;
    const got = typeof value === 'number' ? `a 32-bit integer, got ${value}` : `an integer, got ${typeName(value)}`;
    this.fail(path, `must be ${got}`);
    return undefined;
  }
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'list';
  if (value instanceof Map) return 'object';
  return typeof value;
}
