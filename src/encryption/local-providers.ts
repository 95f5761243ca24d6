// The local providers of an EncryptionConfiguration as upstream's config.go builds them: one entry of the
// top-level list per provider, whose transformer is itself a list with one `<keyname>:` entry per key, key 0 writing.
// Values are `k8s:enc:<provider>:v1:<keyname>:<data>`.
import { InvalidError } from '../lib/errors.js';
import { AesCbcTransformer } from './aes-cbc.js';
import { AesGcmTransformer } from './aes-gcm.js';
import { IdentityTransformer } from './identity.js';
import {
  NO_MATCHING_AES_KEY,
  NO_MATCHING_SECRETBOX_KEY,
  PrefixTransformers,
  type PrefixTransformerEntry,
} from './prefix-transformers.js';
import { SecretboxTransformer } from './secretbox.js';
import type { Transformer } from './transformer.js';

export const AESCBC_PREFIX = 'k8s:enc:aescbc:v1:';
export const AESGCM_PREFIX = 'k8s:enc:aesgcm:v1:';
export const SECRETBOX_PREFIX = 'k8s:enc:secretbox:v1:';

/** A key of an aescbc/aesgcm/secretbox provider, its secret already base64-decoded. */
export interface LocalKey {
  readonly name: string;
  readonly secret: Uint8Array;
}

function keyList(
  provider: string,
  keys: readonly LocalKey[],
  makeTransformer: (key: LocalKey) => Transformer,
  noMatchMessage: string,
): PrefixTransformers {
  if (keys.length === 0) throw new InvalidError(`${provider} provider has no valid keys`);
  for (const key of keys) {
    if (key.name === '') throw new InvalidError('key with invalid name provided');
    if (key.secret.length === 0) throw new InvalidError(`key ${key.name} has no provided secret`);
  }
  const entries = keys.map((key) => ({
    prefix: `${key.name}:`,
    transformer: makeTransformer(key),
    label: `key ${JSON.stringify(key.name)}`,
  }));
  return new PrefixTransformers(entries, { noMatchMessage });
}

function aesCipher(key: LocalKey, make: (secret: Uint8Array) => Transformer): Transformer {
  try {
    return make(key.secret);
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new InvalidError(`error while creating cipher for named key ${key.name}: ${reason}`, { cause });
  }
}

export function aesCbcProvider(keys: readonly LocalKey[]): PrefixTransformerEntry {
  const transformer = keyList('aes', keys, (k) => aesCipher(k, (s) => new AesCbcTransformer(s)), NO_MATCHING_AES_KEY);
  return { prefix: AESCBC_PREFIX, transformer, label: 'aescbc' };
}

export function aesGcmProvider(keys: readonly LocalKey[]): PrefixTransformerEntry {
  const transformer = keyList('aes', keys, (k) => aesCipher(k, (s) => new AesGcmTransformer(s)), NO_MATCHING_AES_KEY);
  return { prefix: AESGCM_PREFIX, transformer, label: 'aesgcm' };
}

export function secretboxProvider(keys: readonly LocalKey[]): PrefixTransformerEntry {
  const transformer = keyList('secretbox', keys, (k) => new SecretboxTransformer(k.secret), NO_MATCHING_SECRETBOX_KEY);
  return { prefix: SECRETBOX_PREFIX, transformer, label: 'secretbox' };
}

/** The empty prefix matches everything; the list skips identity's refusals silently (see PrefixTransformers). */
export function identityProvider(): PrefixTransformerEntry {
  return { prefix: new Uint8Array(0), transformer: new IdentityTransformer(), label: 'identity' };
}
