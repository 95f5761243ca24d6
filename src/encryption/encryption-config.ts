// EncryptionConfiguration (`--encryption-provider-config`) loaded as kube-apiserver loads it: strict decoding,
// defaults, validation and the per-resource provider lists, so a file is accepted here iff a real kube-apiserver
// accepts it. Every problem is reported at once, each naming its field path; key secrets never appear in messages.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { InvalidError } from '../lib/errors.js';
import { decodeEncryptionConfiguration, type RawProviderConfiguration } from './encryption-config-decode.js';
import { resolveResourceRules, type ResolvedProviders, type ResourceRule } from './encryption-config-resolution.js';
import { validateEncryptionConfiguration } from './encryption-config-validation.js';
import { decodeStrictBase64 } from './strict-base64.js';

export interface EncryptionKey {
  readonly name: string;
  /** Decoded key bytes. Wipe with wipeEncryptionConfigurationKeys once the transformers built from them are gone. */
  readonly secret: Buffer;
}

export interface LocalProviderConfig {
  readonly type: 'aescbc' | 'aesgcm' | 'secretbox';
  readonly keys: readonly EncryptionKey[];
}

export interface IdentityProviderConfig {
  readonly type: 'identity';
}

export interface KmsProviderConfig {
  readonly type: 'kms';
  readonly apiVersion: 'v1' | 'v2';
  readonly name: string;
  readonly endpoint: string;
  /** v1 only (default 1000; negative disables the cache). Always undefined for v2. */
  readonly cachesize?: number;
  readonly timeoutMs: number;
  /** Coffer's KMS v2 "no DEK cache" mode; see LoadEncryptionConfigurationOptions.kmsNoDekCache. False for v1. */
  readonly noDekCache: boolean;
}

export type ProviderConfig = LocalProviderConfig | IdentityProviderConfig | KmsProviderConfig;

/**
 * A loaded configuration. Each entry has its own ProviderConfig objects and two resources of one entry share them,
 * so a transformer builder that makes one transformer per ProviderConfig object (not per resource) matches upstream,
 * where each entry builds its own transformer instances (and its own KMS client and DEK state).
 */
export interface EncryptionConfiguration extends ResolvedProviders<ProviderConfig> {
  readonly apiVersion: string;
  readonly kind: string;
  /** The entries in file order. */
  readonly resources: readonly ResourceRule<ProviderConfig>[];
  /** Advice that does not stop loading (KMS v1, aescbc), each naming its field path. */
  readonly warnings: readonly string[];
  /** `"sha256:" + hex(sha256(raw bytes))`, as kube-apiserver's computeEncryptionConfigHash. */
  readonly hash: string;
}

export interface LoadEncryptionConfigurationOptions {
  /** kube-apiserver's automatic-reload mode: KMS v1 provider names must then be unique as well. */
  reload?: boolean;
  /** Names the input in messages (a file path, say). */
  sourceName?: string;
  /**
   * Coffer's own KMS v2 "no DEK cache" mode: true for every KMS v2 provider, or the names of those that use it.
   * It is an option of the caller, not a field of the file, because upstream's strict decoding rejects any extra
   * field inside `kms`, and the file must stay loadable by a real kube-apiserver. Naming a provider that is not a
   * KMS v2 provider of the file is an error.
   */
  kmsNoDekCache?: boolean | readonly string[];
}

/** Everything wrong with a configuration; `errors` has one InvalidError per problem (decoding, then rules). */
export class EncryptionConfigurationError extends InvalidError {
  readonly errors: readonly InvalidError[];

  constructor(source: string, errors: readonly InvalidError[], options?: { cause?: unknown }) {
    super(`invalid encryption provider config ${source}: ${errors.map((e) => e.message).join('; ')}`, options);
    this.errors = errors;
  }
}

export function computeEncryptionConfigHash(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** Throws EncryptionConfigurationError listing every problem. */
export function loadEncryptionConfiguration(
  input: Uint8Array | string,
  opts?: LoadEncryptionConfigurationOptions,
): EncryptionConfiguration {
  const bytes = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
  const source = opts?.sourceName === undefined ? '(input)' : JSON.stringify(opts.sourceName);
  const fail = (errors: InvalidError[]) => new EncryptionConfigurationError(source, errors);
  if (bytes.length === 0) throw fail([new InvalidError(`encryption provider config ${source} is empty`)]);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw fail([new InvalidError(`encryption provider config ${source} is not valid UTF-8`)]);
  }

  const decoded = decodeEncryptionConfiguration(text);
  const raw = decoded.config;
  if (!raw) throw fail(decoded.errors);
  const validation = validateEncryptionConfiguration(raw, { reload: opts?.reload ?? false });
  const repeatsDecodeError = (e: InvalidError) =>
    decoded.badFields.some((f) => e.field === f || e.field?.startsWith(`${f}.`) || e.field?.startsWith(`${f}[`));
  const invalidFields = new Set(validation.errors.map((e) => e.field ?? ''));
  const masking = resolveResourceRules(raw.resources, { skip: invalidFields });
  const errors = [
    ...decoded.errors,
    ...validation.errors.filter((e) => !repeatsDecodeError(e)),
    ...masking.errors,
    ...noDekCacheErrors(raw.resources.flatMap((r) => r.providers), opts?.kmsNoDekCache),
  ];
  if (errors.length > 0) throw fail(errors);

  const rules = raw.resources.map((entry) => ({
    resources: [...entry.resources],
    providers: entry.providers.map((p) => buildProvider(p, opts?.kmsNoDekCache)),
  }));
  return {
    apiVersion: raw.apiVersion,
    kind: raw.kind,
    resources: rules,
    providersByResource: resolveResourceRules(rules).providersByResource,
    warnings: validation.warnings,
    hash: computeEncryptionConfigHash(bytes),
  };
}

/** Reads the whole file (as kube-apiserver does) and loads it; the thrown error names the file. */
export async function readEncryptionConfigurationFile(
  path: string,
  opts?: Omit<LoadEncryptionConfigurationOptions, 'sourceName'> & { signal?: AbortSignal },
): Promise<EncryptionConfiguration> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path, { signal: opts?.signal });
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    const message = `cannot read encryption provider config file ${JSON.stringify(path)}: ${reason}`;
    throw new EncryptionConfigurationError(JSON.stringify(path), [new InvalidError(message)], { cause });
  }
  try {
    return loadEncryptionConfiguration(bytes, { ...opts, sourceName: path });
  } finally {
    bytes.fill(0);
  }
}

/** Zero-fills the decoded keys of a retired configuration: a memory dump holds only keys in use (docs/security.md). */
export function wipeEncryptionConfigurationKeys(config: EncryptionConfiguration): void {
  for (const rule of config.resources) {
    for (const provider of rule.providers) {
      if (provider.type === 'aescbc' || provider.type === 'aesgcm' || provider.type === 'secretbox') {
        for (const key of provider.keys) key.secret.fill(0);
      }
    }
  }
}

function noDekCacheErrors(
  providers: readonly RawProviderConfiguration[],
  wanted: boolean | readonly string[] | undefined,
): InvalidError[] {
  if (!Array.isArray(wanted)) return [];
  const v2Names = new Set(providers.flatMap((p) => (p.kms?.apiVersion === 'v2' ? [p.kms.name] : [])));
  return (wanted as readonly string[])
    .filter((name) => !v2Names.has(name))
    .map((name) => new InvalidError(`no KMS v2 provider is named ${JSON.stringify(name)}`, { field: 'kmsNoDekCache' }));
}

// Called only on a configuration that passed validation: exactly one provider type is set and every secret decodes.
function buildProvider(
  raw: RawProviderConfiguration,
  noDekCache: boolean | readonly string[] | undefined,
): ProviderConfig {
  if (raw.kms) {
    const { apiVersion, name, endpoint, cachesize, timeoutNs } = raw.kms;
    const isV2 = apiVersion === 'v2';
    return {
      type: 'kms',
      apiVersion: isV2 ? 'v2' : 'v1',
      name,
      endpoint,
      ...(isV2 ? {} : { cachesize }),
      timeoutMs: timeoutNs / 1e6,
      noDekCache: isV2 && (noDekCache === true || (Array.isArray(noDekCache) && noDekCache.includes(name))),
    };
  }
  if (raw.identity) return { type: 'identity' };
  for (const type of ['aesgcm', 'aescbc', 'secretbox'] as const) {
    const keys = raw[type]?.keys;
    if (keys) return { type, keys: keys.map((k) => ({ name: k.name, secret: decodeStrictBase64(k.secret)! })) };
  }
  throw new Error('unreachable: provider without a type passed validation');
}
