// The KMS v2 type-1 data layout (upstream aes_extended_nonce.go): info[32] ‖ nonce[12] ‖ AES-256-GCM(K, ...), where
// K = HKDF-Expand(SHA-256, PRK = seed, info, 32). HKDF-Expand for one 32-byte block is a single HMAC-SHA256 over
// info ‖ 0x01 — node's crypto.hkdf always runs Extract first, which would give a different key.
import { createHmac, randomBytes } from 'node:crypto';
import { DecryptError, InvalidError } from '../lib/errors.js';
import { GCM_NONCE_SIZE, gcmOpen, gcmSeal } from './aes-gcm.js';
import type { FromStorageResult, TransformContext, Transformer } from './transformer.js';

export const SEED_SIZE = 32;
const INFO_SIZE = 32;

export function hkdfExpandSha256Key(seed: Uint8Array, info: Uint8Array): Buffer {
  return createHmac('sha256', seed).update(info).update(Uint8Array.of(1)).digest();
}

export class AesGcmExtendedNonceTransformer implements Transformer {
  private readonly seed: Buffer;

  constructor(seed: Uint8Array) {
    if (seed.length < SEED_SIZE) throw new InvalidError(`invalid seed length ${seed.length} used for key generation`);
    this.seed = Buffer.from(seed);
  }

  async fromStorage(data: Uint8Array, ctx: TransformContext): Promise<FromStorageResult> {
    if (data.length < INFO_SIZE + GCM_NONCE_SIZE) {
      throw new DecryptError('the stored data was shorter than the required size');
    }
    const key = hkdfExpandSha256Key(this.seed, data.subarray(0, INFO_SIZE));
    try {
      const nonce = data.subarray(INFO_SIZE, INFO_SIZE + GCM_NONCE_SIZE);
      const plain = gcmOpen(key, nonce, data.subarray(INFO_SIZE + GCM_NONCE_SIZE), ctx.authenticatedData);
      return { data: plain, stale: false };
    } finally {
      key.fill(0);
    }
  }

  async toStorage(data: Uint8Array, ctx: TransformContext): Promise<Uint8Array> {
    const info = randomBytes(INFO_SIZE);
    const nonce = randomBytes(GCM_NONCE_SIZE);
    const key = hkdfExpandSha256Key(this.seed, info);
    try {
      return Buffer.concat([info, nonce, gcmSeal(key, nonce, data, ctx.authenticatedData)]);
    } finally {
      key.fill(0);
    }
  }

  /** Zero-fills the seed (Coffer's no-cache mode); the transformer is unusable afterwards. */
  destroy(): void {
    this.seed.fill(0);
  }
}
