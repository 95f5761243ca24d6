// What a stored value says about how it was written, read from its prefix (and, for KMS v2, from the EncryptedObject's
// key_id) without decrypting anything: `k8s:enc:<provider>:v1:<key>:`, `k8s:enc:kms:v1:<name>:`,
// `k8s:enc:kms:v2:<name>:<EncryptedObject>`, or no `k8s:enc:` prefix at all (identity: plaintext protobuf or JSON).
import type { ProviderConfig } from '../encryption/encryption-config.js';
import { decodeEncryptedObject, keyIdHash } from '../kms/kms-v2-encrypted-object.js';

export type StoredFormat =
  | { kind: 'plaintext' }
  | { kind: 'unknown'; prefix: string }
  | { kind: 'local'; provider: 'aescbc' | 'aesgcm' | 'secretbox'; key: string }
  | { kind: 'kms-v1'; name: string }
  | { kind: 'kms-v2'; name: string; keyId: string };

const ENC = Buffer.from('k8s:enc:', 'latin1');
const LOCAL = ['aescbc', 'aesgcm', 'secretbox'] as const;
/** The longest prefix worth showing in a report: a foreign prefix is short, and a value is never printed. */
const SHOWN_PREFIX_MAX = 40;

function startsWith(value: Uint8Array, prefix: Uint8Array): boolean {
  return value.length >= prefix.length && Buffer.from(value.buffer, value.byteOffset, prefix.length).equals(prefix);
}

/** The text of `value` from `from` up to (not including) the next ':' within `max` bytes, or undefined. */
function field(value: Uint8Array, from: number, max = 256): string | undefined {
  for (let i = from; i < value.length && i < from + max; i++) {
    if (value[i] === 0x3a) return Buffer.from(value.subarray(from, i)).toString('utf8');
  }
  return undefined;
}

function unknownPrefix(value: Uint8Array): StoredFormat {
  const head = Buffer.from(value.subarray(0, SHOWN_PREFIX_MAX)).toString('latin1');
  // Up to the end of `k8s:enc:<name>:<version>:`, which is all a foreign transformer's prefix is known to be.
  const parts = head.split(':');
  const shown = parts.length > 4 ? `${parts.slice(0, 4).join(':')}:` : head;
  return { kind: 'unknown', prefix: shown.replace(/[^\x20-\x7e]/g, '?') };
}

/**
 * Classifies a stored value. Local key names may contain ':', so when a configuration's key names are given the
 * longest one that matches wins; otherwise the name ends at the first ':'.
 */
export function classifyStoredValue(value: Uint8Array, opts: { keyNames?: ReadonlyMap<string, readonly string[]> } = {}): StoredFormat {
  if (!startsWith(value, ENC)) return { kind: 'plaintext' };
  const provider = field(value, ENC.length, 32);
  if (provider === undefined) return unknownPrefix(value);
  const afterProvider = ENC.length + provider.length + 1;
  const version = field(value, afterProvider, 8);
  if (version === undefined) return unknownPrefix(value);
  const at = afterProvider + version.length + 1;
  if ((LOCAL as readonly string[]).includes(provider) && version === 'v1') {
    const rest = Buffer.from(value.buffer, value.byteOffset + at, value.length - at);
    const known = [...(opts.keyNames?.get(provider) ?? [])].sort((a, b) => b.length - a.length);
    const key = known.find((k) => rest.subarray(0, Buffer.byteLength(k) + 1).equals(Buffer.from(`${k}:`))) ?? field(value, at);
    if (key === undefined) return unknownPrefix(value);
    return { kind: 'local', provider: provider as (typeof LOCAL)[number], key };
  }
  if (provider === 'kms' && (version === 'v1' || version === 'v2')) {
    const name = field(value, at);
    if (name === undefined) return unknownPrefix(value);
    if (version === 'v1') return { kind: 'kms-v1', name };
    try {
      return { kind: 'kms-v2', name, keyId: decodeEncryptedObject(value.subarray(at + Buffer.byteLength(name) + 1)).keyId };
    } catch {
      return unknownPrefix(value);
    }
  }
  return unknownPrefix(value);
}

/** How reports name what wrote a value: `aescbc/key1`, `kms-v1/name`, `kms-v2/name/sha256:<hex of key_id>`. */
export function formatLabel(f: StoredFormat): string {
  switch (f.kind) {
    case 'plaintext':
      return 'identity';
    case 'unknown':
      return `unknown ${JSON.stringify(f.prefix)}`;
    case 'local':
      return `${f.provider}/${f.key}`;
    case 'kms-v1':
      return `kms-v1/${f.name}`;
    case 'kms-v2':
      return `kms-v2/${f.name}/${keyIdHash(f.keyId) || '(empty key_id)'}`;
  }
}

/** What the first provider of a configuration writes; `kmsV2KeyIds` holds the plugins' current key_ids by name. */
export function writtenByFirst(f: StoredFormat, first: ProviderConfig | undefined, kmsV2KeyIds?: ReadonlyMap<string, string>): boolean {
  // No rule for the resource: kube-apiserver stores it as plaintext.
  if (first === undefined || first.type === 'identity') return f.kind === 'plaintext';
  if (first.type === 'kms') {
    if (first.apiVersion === 'v1') return f.kind === 'kms-v1' && f.name === first.name;
    if (f.kind !== 'kms-v2' || f.name !== first.name) return false;
    const current = kmsV2KeyIds?.get(first.name);
    return current === undefined || current === f.keyId;
  }
  return f.kind === 'local' && f.provider === first.type && f.key === first.keys[0]?.name;
}

/** The key names of each local provider type in a list of providers, for classifyStoredValue. */
export function localKeyNames(providers: Iterable<ProviderConfig>): Map<string, string[]> {
  const names = new Map<string, string[]>();
  for (const p of providers) {
    if (p.type === 'aescbc' || p.type === 'aesgcm' || p.type === 'secretbox') {
      names.set(p.type, [...(names.get(p.type) ?? []), ...p.keys.map((k) => k.name)]);
    }
  }
  return names;
}
