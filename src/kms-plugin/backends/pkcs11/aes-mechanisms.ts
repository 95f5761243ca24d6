// The two ways the KEK protects a plaintext inside the token.
//
// gcm: CKM_AES_GCM via C_Encrypt, 96-bit random IV, 128-bit tag, AAD = the key_id (so a ciphertext presented under
//      another key_id fails authentication). Output iv || ciphertext || tag, identical to node:crypto's AES-256-GCM.
// kwp: AES key wrap with padding (RFC 5649). Tokens offer it for C_WrapKey/C_UnwrapKey only, not C_Encrypt, so the
//      plaintext becomes a short-lived session object (CKA_TOKEN=false) that is wrapped, and unwrapping yields one
//      that is read and destroyed at once. PKCS#11 3.0 names RFC 5649 CKM_AES_KEY_WRAP_KWP (0x210B); SoftHSM 2.6
//      implements RFC 5649 under CKM_AES_KEY_WRAP_PAD (0x210A) instead (softhsm/SoftHSMv2#726), which is used only
//      when the token lacks 0x210B and is recorded as algorithm `kwp-pad` in the key_id.
import { randomBytes } from 'node:crypto';
import type { AesGCM, Mechanism } from 'pkcs11js';
import { DecryptError, EncryptError } from '../../../lib/errors.js';
import type { Pkcs11Mechanism } from './pkcs11-config.js';
import { ck, describePkcs11Error, isConnectionLost, pkcs11ReturnValue, type Handle } from './pkcs11-module.js';
import type { KeyAlgorithm } from './key-versions.js';
import type { OpenSession } from './token-session.js';

/** PKCS#11 3.0 value; pkcs11js (2.40 headers) has no constant for it. */
const CKM_AES_KEY_WRAP_KWP = 0x210b;
const IV_BYTES = 12;
const TAG_BYTES = 16;

function kwpMechanism(algorithm: KeyAlgorithm): number {
  return algorithm === 'kwp' ? CKM_AES_KEY_WRAP_KWP : ck.CKM_AES_KEY_WRAP_PAD;
}

/** The algorithm new ciphertexts use for `mechanism` on this token, or why the token cannot do it. */
export function chooseAlgorithm(
  mechanism: Pkcs11Mechanism,
  s: OpenSession,
): { algorithm: KeyAlgorithm } | { unavailable: string } {
  if (mechanism === 'aes-gcm') {
    return s.mechanisms.has(ck.CKM_AES_GCM) ? { algorithm: 'gcm' } : { unavailable: 'the token does not offer CKM_AES_GCM' };
  }
  if (s.mechanisms.has(CKM_AES_KEY_WRAP_KWP)) return { algorithm: 'kwp' };
  if (s.mechanisms.has(ck.CKM_AES_KEY_WRAP_PAD)) return { algorithm: 'kwp-pad' };
  return { unavailable: 'the token offers neither CKM_AES_KEY_WRAP_KWP nor CKM_AES_KEY_WRAP_PAD' };
}

function gcmParameters(iv: Buffer, aad: Buffer): Mechanism {
  const parameter: AesGCM = { type: ck.CK_PARAMS_AES_GCM, iv, aad, ivBits: IV_BYTES * 8, tagBits: TAG_BYTES * 8 };
  return { mechanism: ck.CKM_AES_GCM, parameter };
}

const asBuffer = (b: Uint8Array): Buffer => Buffer.from(b.buffer, b.byteOffset, b.byteLength);

export function encryptWithKey(s: OpenSession, key: Handle, algorithm: KeyAlgorithm, plaintext: Uint8Array, aad: Buffer): Buffer {
  if (plaintext.length === 0) throw new EncryptError('plaintext is empty');
  if (algorithm === 'gcm') {
    // node:crypto's CSPRNG rather than C_GenerateRandom: one call less on the token per Encrypt; random 96-bit IVs
    // are safe for far more messages than KMS v2 ever wraps with one KEK (one DEK seed per rotation).
    const iv = randomBytes(IV_BYTES);
    s.lib.C_EncryptInit(s.handle, gcmParameters(iv, aad), key);
    const sealed = s.lib.C_Encrypt(s.handle, asBuffer(plaintext), Buffer.alloc(plaintext.length + TAG_BYTES));
    return Buffer.concat([iv, sealed]);
  }
  // SoftHSM 2.6 unwraps RFC 5649 data without removing the padding, so lengths that need padding would come back
  // longer. Refusing them everywhere keeps ciphertexts portable between tokens; KMS plaintexts are 32 bytes.
  if (plaintext.length % 8 !== 0) {
    throw new EncryptError(`aes-kwp needs a plaintext length that is a multiple of 8 bytes, got ${plaintext.length}`);
  }
  const data = s.lib.C_CreateObject(s.handle, [
    { type: ck.CKA_CLASS, value: ck.CKO_SECRET_KEY },
    { type: ck.CKA_KEY_TYPE, value: ck.CKK_GENERIC_SECRET },
    { type: ck.CKA_TOKEN, value: false },
    { type: ck.CKA_PRIVATE, value: true },
    { type: ck.CKA_EXTRACTABLE, value: true },
    { type: ck.CKA_VALUE, value: asBuffer(plaintext) },
  ]);
  try {
    return s.lib.C_WrapKey(s.handle, { mechanism: kwpMechanism(algorithm) }, key, data, Buffer.alloc(plaintext.length + 16));
  } finally {
    s.lib.C_DestroyObject(s.handle, data);
  }
}

// What tokens return when authentication of the ciphertext fails. SoftHSM reports a bad GCM tag and a bad RFC 5649
// integrity check as CKR_GENERAL_ERROR; the standard asks for CKR_ENCRYPTED_DATA_INVALID / CKR_WRAPPED_KEY_INVALID
// (3.0: CKR_AEAD_DECRYPT_FAILED = 0x35).
const AUTHENTICATION_FAILED = new Set([
  ck.CKR_GENERAL_ERROR,
  ck.CKR_ENCRYPTED_DATA_INVALID,
  ck.CKR_ENCRYPTED_DATA_LEN_RANGE,
  ck.CKR_WRAPPED_KEY_INVALID,
  ck.CKR_WRAPPED_KEY_LEN_RANGE,
  0x35,
]);

export function decryptWithKey(s: OpenSession, key: Handle, algorithm: KeyAlgorithm, ciphertext: Uint8Array, aad: Buffer): Buffer {
  const ct = asBuffer(ciphertext);
  try {
    if (algorithm === 'gcm') {
      if (ct.length < IV_BYTES + TAG_BYTES) {
        throw new DecryptError(`ciphertext is ${ct.length} bytes, shorter than an AES-GCM IV and tag`);
      }
      s.lib.C_DecryptInit(s.handle, gcmParameters(ct.subarray(0, IV_BYTES), aad), key);
      return s.lib.C_Decrypt(s.handle, ct.subarray(IV_BYTES), Buffer.alloc(ct.length - IV_BYTES));
    }
    if (ct.length < 16 || ct.length % 8 !== 0) {
      throw new DecryptError(`ciphertext is ${ct.length} bytes, not a valid AES-KWP length (16 or more, a multiple of 8)`);
    }
    const data = s.lib.C_UnwrapKey(s.handle, { mechanism: kwpMechanism(algorithm) }, key, ct, [
      { type: ck.CKA_CLASS, value: ck.CKO_SECRET_KEY },
      { type: ck.CKA_KEY_TYPE, value: ck.CKK_GENERIC_SECRET },
      { type: ck.CKA_TOKEN, value: false },
      { type: ck.CKA_PRIVATE, value: true },
      { type: ck.CKA_SENSITIVE, value: false },
      { type: ck.CKA_EXTRACTABLE, value: true },
    ]);
    try {
      const [value] = s.lib.C_GetAttributeValue(s.handle, data, [{ type: ck.CKA_VALUE }]);
      if (!Buffer.isBuffer(value?.value)) throw new DecryptError('the token returned no value for the unwrapped data');
      return value.value;
    } finally {
      s.lib.C_DestroyObject(s.handle, data);
    }
  } catch (e) {
    if (e instanceof DecryptError || isConnectionLost(e)) throw e;
    const rv = pkcs11ReturnValue(e);
    if (rv !== undefined && AUTHENTICATION_FAILED.has(rv)) {
      throw new DecryptError(
        `ciphertext failed authentication (tampered, truncated, or not made by this key) [${describePkcs11Error(e)}]`,
        { cause: e },
      );
    }
    throw new DecryptError(`the token could not decrypt: ${describePkcs11Error(e)}`, { cause: e });
  }
}
