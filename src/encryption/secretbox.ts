// NaCl secretbox (XSalsa20-Poly1305), as upstream's secretbox.NewSecretboxTransformer: nonce[24] ‖ tag[16] ‖ ciphertext.
// It authenticates the value but not the storage key (no AAD), so a value can be moved to another key undetected.
import { randomBytes } from 'node:crypto';
import { xsalsa20poly1305 } from '@noble/ciphers/salsa.js';
import { DecryptError, InvalidError } from '../lib/errors.js';
import type { FromStorageResult, TransformContext, Transformer } from './transformer.js';

export const SECRETBOX_KEY_SIZE = 32;
export const SECRETBOX_NONCE_SIZE = 24;
export const SECRETBOX_OVERHEAD = 16;

/** Returns tag ‖ ciphertext. */
export function secretboxSeal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array): Uint8Array {
  return xsalsa20poly1305(key, nonce).encrypt(plaintext);
}

/** Opens tag ‖ ciphertext; throws DecryptError with upstream's (misleading) message when authentication fails. */
export function secretboxOpen(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array): Uint8Array {
  try {
    return xsalsa20poly1305(key, nonce).decrypt(sealed);
  } catch (cause) {
    throw new DecryptError('output array was not large enough for encryption', { cause });
  }
}

export class SecretboxTransformer implements Transformer {
  private readonly key: Buffer;

  constructor(key: Uint8Array) {
    if (key.length !== SECRETBOX_KEY_SIZE) {
      throw new InvalidError(`expected key size 32 for secretbox provider, got ${key.length}`);
    }
    this.key = Buffer.from(key);
  }

  async fromStorage(data: Uint8Array, _ctx: TransformContext): Promise<FromStorageResult> {
    if (data.length < SECRETBOX_NONCE_SIZE + SECRETBOX_OVERHEAD) {
      throw new DecryptError('the stored data was shorter than the required size');
    }
    const plain = secretboxOpen(this.key, data.subarray(0, SECRETBOX_NONCE_SIZE), data.subarray(SECRETBOX_NONCE_SIZE));
    return { data: plain, stale: false };
  }

  async toStorage(data: Uint8Array, _ctx: TransformContext): Promise<Uint8Array> {
    const nonce = randomBytes(SECRETBOX_NONCE_SIZE);
    return Buffer.concat([nonce, secretboxSeal(this.key, nonce, data)]);
  }

  /** Zero-fills the key; the transformer is unusable afterwards. */
  destroy(): void {
    this.key.fill(0);
  }
}
