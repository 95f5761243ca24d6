// AES-CBC with PKCS#7 padding, as upstream's aes.NewCBCTransformer: IV[16] ‖ ciphertext. It authenticates nothing
// and ignores the storage key — values can be moved and bit-flipped undetected; upstream keeps it for compatibility.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { DecryptError } from '../lib/errors.js';
import { assertAesKeySize } from './aes-gcm.js';
import type { FromStorageResult, TransformContext, Transformer } from './transformer.js';

const BLOCK = 16;

export function cbcEncrypt(key: Uint8Array, iv: Uint8Array, plaintext: Uint8Array): Buffer {
  const cipher = createCipheriv(`aes-${key.length * 8}-cbc`, key, iv); // node pads with PKCS#7 like upstream
  return Buffer.concat([cipher.update(plaintext), cipher.final()]);
}

/** Decrypts and checks the padding with upstream's checks and messages, in upstream's order. */
export function cbcDecrypt(key: Uint8Array, iv: Uint8Array, ciphertext: Uint8Array): Buffer {
  if (ciphertext.length % BLOCK !== 0) throw new DecryptError('the stored data is not a multiple of the block size');
  if (ciphertext.length === 0) throw new DecryptError('invalid PKCS7 data (empty or not padded)');
  const decipher = createDecipheriv(`aes-${key.length * 8}-cbc`, key, iv);
  decipher.setAutoPadding(false);
  const padded = Buffer.concat([decipher.update(ciphertext), decipher.final()]);
  const pad = padded[padded.length - 1]!;
  if (pad === 0 || pad > padded.length) throw new DecryptError('invalid PKCS7 data (empty or not padded)');
  for (let i = padded.length - pad; i < padded.length; i++) {
    if (padded[i] !== pad) throw new DecryptError('invalid padding on input');
  }
  return padded.subarray(0, padded.length - pad);
}

export class AesCbcTransformer implements Transformer {
  private readonly key: Buffer;

  constructor(key: Uint8Array) {
    assertAesKeySize(key);
    this.key = Buffer.from(key);
  }

  async fromStorage(data: Uint8Array, _ctx: TransformContext): Promise<FromStorageResult> {
    if (data.length < BLOCK) {
      throw new DecryptError('the stored data was shorter than the required size');
    }
    return { data: cbcDecrypt(this.key, data.subarray(0, BLOCK), data.subarray(BLOCK)), stale: false };
  }

  async toStorage(data: Uint8Array, _ctx: TransformContext): Promise<Uint8Array> {
    const iv = randomBytes(BLOCK);
    return Buffer.concat([iv, cbcEncrypt(this.key, iv, data)]);
  }

  destroy(): void {
    this.key.fill(0);
  }
}
