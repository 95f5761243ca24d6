// Turning loot into recovered canaries: a stored value's prefix says which provider wrote it (that is public - it is
// how kube-apiserver picks the reader), so each candidate key is tried only against the formats it could open. A
// candidate is first screened against one block of one value (does the plaintext start with kube's `k8s\0` protobuf
// magic?), which costs one AES block; only survivors get a full, authenticated decryption.
import { createCipheriv, createDecipheriv, createHmac } from 'node:crypto';
import { xsalsa20 } from '@noble/ciphers/salsa.js';
import { AesCbcTransformer } from '../encryption/aes-cbc.js';
import { AesGcmExtendedNonceTransformer } from '../encryption/aes-gcm-extended-nonce.js';
import { AesGcmTransformer } from '../encryption/aes-gcm.js';
import { decodeEncryptedObject, HKDF_SHA256_XNONCE_AES_GCM_SEED, type EncryptedObject } from '../kms/kms-v2-encrypted-object.js';
import { SecretboxTransformer } from '../encryption/secretbox.js';
import { contextForKey } from '../encryption/transformer.js';

/** A value as the datastore holds it, with where the attacker got it. */
export interface StoredValue {
  key: string;
  value: Buffer;
  /** e.g. "etcd get --prefix /registry/secrets", "disk copy store/coffer.db (SQLite, read directly)". */
  source: string;
}

export type ValueFormat =
  | { kind: 'identity' }
  | { kind: 'aescbc' | 'aesgcm' | 'secretbox'; keyName: string; body: Buffer }
  | { kind: 'kms-v2'; providerName: string; object: EncryptedObject }
  | { kind: 'unknown'; prefix: string };

const LOCAL_RE = /^k8s:enc:(aescbc|aesgcm|secretbox):v1:([^:]*):/;
const KMS_V2_RE = /^k8s:enc:kms:v2:([^:]*):/;
const MAGIC = Buffer.from('k8s\0', 'latin1');

export function parseStoredValue(value: Buffer): ValueFormat {
  const head = value.toString('latin1', 0, Math.min(value.length, 300));
  const local = LOCAL_RE.exec(head);
  if (local) return { kind: local[1] as 'aescbc', keyName: local[2]!, body: value.subarray(local[0].length) };
  const kms = KMS_V2_RE.exec(head);
  if (kms) {
    try {
      return { kind: 'kms-v2', providerName: kms[1]!, object: decodeEncryptedObject(value.subarray(kms[0].length)) };
    } catch {
      return { kind: 'unknown', prefix: kms[0] };
    }
  }
  if (head.startsWith('k8s:enc:')) return { kind: 'unknown', prefix: head.split(':').slice(0, 4).join(':') };
  return { kind: 'identity' };
}

function aesEcbEncrypt(key: Uint8Array, block: Uint8Array): Buffer | undefined {
  if (key.length !== 16 && key.length !== 24 && key.length !== 32) return undefined;
  const c = createCipheriv(`aes-${key.length * 8}-ecb`, key, null);
  c.setAutoPadding(false);
  return c.update(block);
}

function aesEcbDecrypt(key: Uint8Array, block: Uint8Array): Buffer | undefined {
  if (key.length !== 16 && key.length !== 24 && key.length !== 32) return undefined;
  const d = createDecipheriv(`aes-${key.length * 8}-ecb`, key, null);
  d.setAutoPadding(false);
  return d.update(block);
}

/** GCM's first keystream block for a 96-bit nonce is E(K, nonce ‖ 0x00000002). */
function gcmFirstBytesMatch(key: Uint8Array, nonce: Uint8Array, ciphertext: Uint8Array): boolean {
  if (ciphertext.length < 4) return false;
  const ctr = Buffer.concat([nonce, Buffer.from([0, 0, 0, 2])]);
  const ks = aesEcbEncrypt(key, ctr);
  if (!ks) return false;
  for (let i = 0; i < 4; i++) if ((ks[i]! ^ ciphertext[i]!) !== MAGIC[i]) return false;
  return true;
}

/** The cheap screen: could `key` be the key (or seed) this value was written with? */
export function screenCandidate(format: ValueFormat, key: Uint8Array): boolean {
  switch (format.kind) {
    case 'aescbc': {
      if (format.body.length < 32) return false;
      const p = aesEcbDecrypt(key, format.body.subarray(16, 32));
      if (!p) return false;
      for (let i = 0; i < 4; i++) if ((p[i]! ^ format.body[i]!) !== MAGIC[i]) return false;
      return true;
    }
    case 'aesgcm':
      return format.body.length >= 28 && gcmFirstBytesMatch(key, format.body.subarray(0, 12), format.body.subarray(12));
    case 'secretbox': {
      if (key.length !== 32 || format.body.length < 44) return false;
      // XSalsa20's first 32 keystream bytes make the Poly1305 key; the message starts at keystream byte 32.
      const ks = xsalsa20(key, format.body.subarray(0, 24), new Uint8Array(36));
      for (let i = 0; i < 4; i++) if ((ks[32 + i]! ^ format.body[40 + i]!) !== MAGIC[i]) return false;
      return true;
    }
    case 'kms-v2': {
      const data = format.object.encryptedData;
      if (format.object.encryptedDekSourceType === HKDF_SHA256_XNONCE_AES_GCM_SEED) {
        if (key.length < 32 || data.length < 48) return false;
        const derived = createHmac('sha256', key).update(data.subarray(0, 32)).update(Uint8Array.of(1)).digest();
        return gcmFirstBytesMatch(derived, data.subarray(32, 44), data.subarray(44));
      }
      return data.length >= 16 && gcmFirstBytesMatch(key, data.subarray(0, 12), data.subarray(12));
    }
    default:
      return false;
  }
}

/**
 * Full, authenticated decryption of one value with a key (or a KMS v2 seed/DEK); undefined when it does not open.
 * `storageKey` is the key the value was read at - the authenticated data of AES-GCM and KMS v2.
 */
export async function decryptWith(format: ValueFormat, key: Uint8Array, storageKey: string): Promise<Buffer | undefined> {
  const ctx = contextForKey(storageKey);
  try {
    switch (format.kind) {
      case 'aescbc':
        return Buffer.from((await new AesCbcTransformer(key).fromStorage(format.body, ctx)).data);
      case 'aesgcm':
        return Buffer.from((await new AesGcmTransformer(key).fromStorage(format.body, ctx)).data);
      case 'secretbox':
        return Buffer.from((await new SecretboxTransformer(key).fromStorage(format.body, ctx)).data);
      case 'kms-v2': {
        const t =
          format.object.encryptedDekSourceType === HKDF_SHA256_XNONCE_AES_GCM_SEED
            ? new AesGcmExtendedNonceTransformer(key)
            : new AesGcmTransformer(key);
        return Buffer.from((await t.fromStorage(format.object.encryptedData, ctx)).data);
      }
      default:
        return undefined;
    }
  } catch {
    return undefined;
  }
}
