// `coffer/transform`: what `coffer transform decrypt|encrypt` does, for one stored value, as a function — the
// disaster-recovery path (read a value from a datastore backup, decrypt it with the EncryptionConfiguration that
// wrote it). API and examples: docs/library.md.
import { readEncryptionConfigurationFile, type EncryptionConfiguration } from '../encryption/encryption-config.js';
import { EncryptionEngine } from '../encryption/encryption-engine.js';
import { groupResourceFromStorageKey, parseGroupResource, type GroupResource } from '../encryption/group-resource.js';
import { contextForKey } from '../encryption/transformer.js';
import { DecryptError, InvalidError } from '../lib/errors.js';

export interface StoredValueOptions {
  /** An EncryptionConfiguration file, or one already loaded (loadEncryptionConfiguration). */
  encryptionConfig: string | EncryptionConfiguration;
  /** The storage key the value lives under (`/registry/secrets/<ns>/<name>`): AES-GCM authenticates it. */
  key: string;
  /** `secrets`, `deployments.apps`, ...; derived from a `/registry/<resource>/...` key when absent. */
  resource?: string;
}

export interface DecryptedValue {
  /** The plaintext stored object (kube's JSON or protobuf encoding, as written). */
  data: Uint8Array;
  /** The providers that opened it, outermost first; empty when the resource is not configured (identity). */
  via: string[];
  /** True when a provider other than the first wrote it: a rewrite re-encrypts it with the current one. */
  stale: boolean;
}

function resolveResource(opts: StoredValueOptions): GroupResource {
  if (opts.resource) return parseGroupResource(opts.resource);
  const gr = groupResourceFromStorageKey(opts.key);
  if (!gr) throw new InvalidError(`cannot tell the resource from ${JSON.stringify(opts.key)}; give --resource`, { field: '--key' });
  return gr;
}

async function withEngine<T>(opts: StoredValueOptions, fn: (engine: EncryptionEngine) => Promise<T>): Promise<T> {
  const config = typeof opts.encryptionConfig === 'string' ? await readEncryptionConfigurationFile(opts.encryptionConfig) : opts.encryptionConfig;
  const engine = await EncryptionEngine.create(config);
  try {
    return await fn(engine);
  } finally {
    engine.close();
  }
}

/**
 * AES-GCM (aesgcm, and the DEK of KMS v2) authenticates the storage key with the value, so Go's bare "message
 * authentication failed" has three causes a user can act on; name them, and the key that was used.
 */
function explainDecryptFailure(e: unknown, key: string): unknown {
  if (!(e instanceof Error) || !e.message.includes('message authentication failed')) return e;
  return new DecryptError(
    `authentication failed: wrong key, wrong storage key, or tampered (check that --encryption-config holds the key that wrote it and that --key ${JSON.stringify(key)} is the exact key it is stored under; ${e.message})`,
    { cause: e },
  );
}

/** Decrypts one stored value with the resource's providers, as kube-apiserver reads it. */
export async function decryptStoredValue(stored: Uint8Array, opts: StoredValueOptions): Promise<DecryptedValue> {
  const gr = resolveResource(opts);
  return withEngine(opts, async (engine) => {
    const result = await engine
      .transformerFor(gr)
      .fromStorage(stored, contextForKey(opts.key))
      .catch((e: unknown) => {
        throw explainDecryptFailure(e, opts.key);
      });
    return { data: result.data, via: [...(result.via ?? [])], stale: result.stale };
  });
}

/** Encrypts one plaintext stored object with the resource's first provider, as kube-apiserver writes it. */
export async function encryptStoredValue(plain: Uint8Array, opts: StoredValueOptions): Promise<Uint8Array> {
  const gr = resolveResource(opts);
  return withEngine(opts, (engine) => engine.transformerFor(gr).toStorage(plain, contextForKey(opts.key)));
}
