// AES-GCM with a random 96-bit nonce, as upstream's aes.NewGCMTransformer: nonce[12] ‖ ciphertext ‖ tag[16], with the
// storage key as authenticated data, so a value moved to another key fails to decrypt.
import { type CipherGCMTypes, createCipheriv, createDecipheriv } from 'node:crypto';
import { DecryptError, InvalidError } from '../lib/errors.js';
import { publicRandomBytes } from '../lib/public-random.js';
import type { FromStorageResult, TransformContext, Transformer } from './transformer.js';

export const GCM_NONCE_SIZE = 12;
export const GCM_TAG_SIZE = 16;
const AES_KEY_SIZES = [16, 24, 32];

export function assertAesKeySize(key: Uint8Array): void {
  if (!AES_KEY_SIZES.includes(key.length)) {
    throw new InvalidError(`AES key must be 16, 24 or 32 bytes, got ${key.length}`);
  }
}

// Constant names, not a template per call: every KMS v2 read and write makes a cipher.
const GCM_ALGORITHMS: Record<number, CipherGCMTypes> = { 16: 'aes-128-gcm', 24: 'aes-192-gcm', 32: 'aes-256-gcm' };

function gcmAlgorithm(key: Uint8Array): CipherGCMTypes {
  return GCM_ALGORITHMS[key.length] ?? (`aes-${key.length * 8}-gcm` as CipherGCMTypes); // the last for Node's own error
}

/**
 * head… ‖ ciphertext ‖ tag ‖ tail, assembled in one copy: writers put their nonce (and the KMS v2 envelope its prefix
 * and protobuf framing) around the sealed bytes without copying the ciphertext again.
 */
export function gcmSeal(
  key: Uint8Array,
  nonce: Uint8Array,
  plaintext: Uint8Array,
  aad: Uint8Array,
  frame: { head?: readonly Uint8Array[]; tail?: Uint8Array } = {},
): Buffer {
  const cipher = createCipheriv(gcmAlgorithm(key), key, nonce);
  cipher.setAAD(aad);
  const body = cipher.update(plaintext);
  const final = cipher.final();
  const parts = [...(frame.head ?? []), body, final, cipher.getAuthTag()];
  if (frame.tail) parts.push(frame.tail);
  return Buffer.concat(parts);
}

/** Opens ciphertext‖tag; throws DecryptError with Go's message when authentication fails. */
export function gcmOpen(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Buffer {
  if (sealed.length < GCM_TAG_SIZE) throw new DecryptError('cipher: message authentication failed');
  return openParts(key, nonce, sealed.subarray(0, sealed.length - GCM_TAG_SIZE), sealed.subarray(sealed.length - GCM_TAG_SIZE), aad);
}

/**
 * gcmOpen of data[at..] = nonce[12] ‖ ciphertext ‖ tag, with views cut straight from data: a KMS v2 LIST opens every
 * object, and each view is one more object for V8 to make and collect.
 */
export function gcmOpenAt(key: Uint8Array, data: Uint8Array, at: number, aad: Uint8Array): Buffer {
  const body = at + GCM_NONCE_SIZE;
  if (data.length - body < GCM_TAG_SIZE) throw new DecryptError('cipher: message authentication failed');
  const tagAt = data.length - GCM_TAG_SIZE;
  return openParts(key, data.subarray(at, body), data.subarray(body, tagAt), data.subarray(tagAt), aad);
}

function openParts(key: Uint8Array, nonce: Uint8Array, ciphertext: Uint8Array, tag: Uint8Array, aad: Uint8Array): Buffer {
  const decipher = createDecipheriv(gcmAlgorithm(key), key, nonce);
  decipher.setAAD(aad);
  decipher.setAuthTag(tag);
  const plain = decipher.update(ciphertext);
  try {
    // GCM is a stream mode: final() only checks the tag and returns nothing, so no copy joins the two.
    const rest = decipher.final();
    if (rest.length === 0) return plain;
    const joined = Buffer.concat([plain, rest]);
    plain.fill(0);
    return joined;
  } catch (cause) {
    plain.fill(0); // not authentic: nothing of it may be used, or stay in memory
    throw new DecryptError('cipher: message authentication failed', { cause });
  }
}

export class AesGcmTransformer implements Transformer {
  private readonly key: Buffer;

  constructor(key: Uint8Array) {
    assertAesKeySize(key);
    this.key = Buffer.from(key);
  }

  async fromStorage(data: Uint8Array, ctx: TransformContext): Promise<FromStorageResult> {
    return { data: this.open(data, ctx), stale: false };
  }

  /** fromStorage without the promise (the KMS v2 read path of a type-0 DEK). */
  open(data: Uint8Array, ctx: TransformContext): Buffer {
    if (data.length < GCM_NONCE_SIZE) {
      throw new DecryptError('the stored data was shorter than the required size');
    }
    return gcmOpenAt(this.key, data, 0, ctx.authenticatedData);
  }

  async toStorage(data: Uint8Array, ctx: TransformContext): Promise<Uint8Array> {
    const nonce = publicRandomBytes(GCM_NONCE_SIZE);
    return gcmSeal(this.key, nonce, data, ctx.authenticatedData, { head: [nonce] });
  }

  /** Zero-fills the key; the transformer is unusable afterwards. */
  destroy(): void {
    this.key.fill(0);
  }
}
