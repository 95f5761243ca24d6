// Transit's ciphertext format and AEAD, byte-compatible with Vault's: `vault:v<N>:` + standard base64 of
// nonce (12 bytes) ‖ ciphertext ‖ tag (16 bytes), AES-GCM (aes256-gcm96, aes128-gcm96) or ChaCha20-Poly1305, with the
// request's associated_data as AAD. Derived keys are HKDF-SHA256(version key, salt none, info = context), as Vault's
// hkdf_sha256 KDF. The parse errors are Vault's exact strings, checked in Vault's order (OB keysutil/policy.go).
import { createCipheriv, createDecipheriv, hkdfSync, type CipherGCMTypes } from 'node:crypto';
import { decodeStrictBase64 } from '../encryption/strict-base64.js';
import { publicRandomBytes } from '../lib/public-random.js';
import { badRequest } from './vault-error.js';

export const KEY_TYPES = ['aes256-gcm96', 'aes128-gcm96', 'chacha20-poly1305'] as const;
export type KeyType = (typeof KEY_TYPES)[number];

const KEY_BYTES: Record<KeyType, number> = { 'aes256-gcm96': 32, 'aes128-gcm96': 16, 'chacha20-poly1305': 32 };
const CIPHER: Record<KeyType, CipherGCMTypes | 'chacha20-poly1305'> = {
  'aes256-gcm96': 'aes-256-gcm',
  'aes128-gcm96': 'aes-128-gcm',
  'chacha20-poly1305': 'chacha20-poly1305',
};
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const PREFIX = 'vault:v';

export function keyBytes(type: KeyType): number {
  return KEY_BYTES[type];
}

export function isKeyType(t: string): t is KeyType {
  return (KEY_TYPES as readonly string[]).includes(t);
}

/** The key a request uses: the version key itself, or for a derived key the HKDF of it with the context. */
export function effectiveKey(type: KeyType, versionKey: Buffer, context: Buffer | undefined): Buffer {
  if (!context) return versionKey;
  return Buffer.from(hkdfSync('sha256', versionKey, Buffer.alloc(0), context, KEY_BYTES[type]));
}

export function sealTransit(type: KeyType, key: Buffer, version: number, plaintext: Uint8Array, aad: Buffer | undefined): string {
  const nonce = publicRandomBytes(NONCE_BYTES);
  const cipher = createCipheriv(CIPHER[type] as CipherGCMTypes, key, nonce, { authTagLength: TAG_BYTES });
  if (aad) cipher.setAAD(aad, { plaintextLength: plaintext.length });
  const body = Buffer.concat([nonce, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  return `${PREFIX}${version}:${body.toString('base64')}`;
}

/** The version a ciphertext names, after Vault's prefix checks (no key needed yet). */
export function ciphertextVersion(ciphertext: string): { version: number; payload: string } {
  if (!ciphertext.startsWith(PREFIX)) throw badRequest('invalid ciphertext: no prefix');
  const rest = ciphertext.slice(PREFIX.length);
  const colon = rest.indexOf(':');
  if (colon < 0) throw badRequest('invalid ciphertext: wrong number of fields');
  const v = rest.slice(0, colon);
  // Go's strconv.Atoi: optional sign, decimal digits, fits in int64.
  if (!/^[+-]?\d+$/.test(v) || !Number.isSafeInteger(Number(v))) throw badRequest('invalid ciphertext: version number could not be decoded');
  const version = Number(v);
  return { version: version === 0 ? 1 : version, payload: rest.slice(colon + 1) }; // vault:v0: is legacy version 1
}

/** Opens a payload already checked by ciphertextVersion. The caller zero-fills the result. */
export function openTransit(type: KeyType, key: Buffer, payload: string, aad: Buffer | undefined): Buffer {
  const raw = decodeStrictBase64(payload);
  if (!raw) throw badRequest('invalid ciphertext: could not decode base64');
  if (raw.length < NONCE_BYTES) throw badRequest('invalid ciphertext length');
  if (raw.length < NONCE_BYTES + TAG_BYTES) throw badRequest('cipher: message authentication failed');
  const decipher = createDecipheriv(CIPHER[type] as CipherGCMTypes, key, raw.subarray(0, NONCE_BYTES), { authTagLength: TAG_BYTES });
  decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
  const body = raw.subarray(NONCE_BYTES, raw.length - TAG_BYTES);
  if (aad) decipher.setAAD(aad, { plaintextLength: body.length });
  const out = decipher.update(body);
  try {
    return Buffer.concat([out, decipher.final()]);
  } catch {
    throw badRequest('cipher: message authentication failed');
  } finally {
    out.fill(0);
  }
}
