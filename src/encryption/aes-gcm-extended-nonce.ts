// The KMS v2 type-1 data layout (upstream aes_extended_nonce.go): info[32] ‖ nonce[12] ‖ AES-256-GCM(K, ...), where
// K = HKDF-Expand(SHA-256, PRK = seed, info, 32). HKDF-Expand for one 32-byte block is a single HMAC-SHA256 over
// info ‖ 0x01 — node's crypto.hkdf always runs Extract first, which would give a different key.
import { createHmac, hash } from 'node:crypto';
import { DecryptError, InvalidError } from '../lib/errors.js';
import { publicRandomBytes } from '../lib/public-random.js';
import { GCM_NONCE_SIZE, gcmOpenAt, gcmSeal } from './aes-gcm.js';
import { DERIVED_KEY_CACHE_SIZE, DerivedKeyCache } from './derived-key-cache.js';
import type { FromStorageResult, TransformContext, Transformer } from './transformer.js';

export const SEED_SIZE = 32;
const INFO_SIZE = 32;

export function hkdfExpandSha256Key(seed: Uint8Array, info: Uint8Array): Buffer {
  return createHmac('sha256', seed).update(info).update(Uint8Array.of(1)).digest();
}

const SHA256_BLOCK = 64;

/**
 * hkdfExpandSha256Key for one seed, with HMAC's padded key blocks computed once: every KMS v2 write derives a key,
 * and createHmac would redo the key schedule each time. The result is the same HMAC-SHA256(seed, info ‖ 0x01).
 */
class SeedKeyDeriver {
  private readonly inner = Buffer.alloc(SHA256_BLOCK + INFO_SIZE + 1); // (seed ⊕ ipad) ‖ info ‖ 0x01
  private readonly outer = Buffer.alloc(SHA256_BLOCK + 32); // (seed ⊕ opad) ‖ inner digest

  constructor(seed: Uint8Array) {
    const key = seed.length > SHA256_BLOCK ? hash('sha256', seed, 'buffer') : seed; // HMAC's rule for long keys
    for (let i = 0; i < SHA256_BLOCK; i++) {
      this.inner[i] = (key[i] ?? 0) ^ 0x36;
      this.outer[i] = (key[i] ?? 0) ^ 0x5c;
    }
    this.inner[SHA256_BLOCK + INFO_SIZE] = 1;
    if (key !== seed) key.fill(0);
  }

  /** Synchronous, so the shared scratch buffers cannot be used by two derivations at once. */
  derive(info: Uint8Array): Buffer {
    this.inner.set(info, SHA256_BLOCK);
    const innerDigest = hash('sha256', this.inner, 'buffer');
    this.outer.set(innerDigest, SHA256_BLOCK);
    innerDigest.fill(0);
    return hash('sha256', this.outer, 'buffer');
  }

  wipe(): void {
    this.inner.fill(0);
    this.outer.fill(0);
  }
}

/** Bytes a sealed value adds to its plaintext: info, nonce and the GCM tag. */
export const EXTENDED_NONCE_OVERHEAD = INFO_SIZE + GCM_NONCE_SIZE + 16;

/**
 * The derived-key cache's index for a context. Only an index: an entry answers only for the info it was derived from,
 * and the key depends on nothing but the seed and the info, so no index can hand out a wrong key.
 */
function pathOf(ctx: TransformContext): string {
  return ctx.storageKey ?? Buffer.from(ctx.authenticatedData.buffer, ctx.authenticatedData.byteOffset, ctx.authenticatedData.byteLength).toString('latin1');
}

export interface ExtendedNonceOptions {
  /** Derived keys kept per storage path (upstream keeps one per path too); 0 keeps none (KMS v2 without a DEK cache). */
  derivedKeyCacheSize?: number;
  /** The cache's clock (epoch ms), for tests of its TTL. */
  now?: () => number;
}

export class AesGcmExtendedNonceTransformer implements Transformer {
  private readonly deriver: SeedKeyDeriver;
  private readonly keys: DerivedKeyCache;

  constructor(seed: Uint8Array, opts: ExtendedNonceOptions = {}) {
    if (seed.length < SEED_SIZE) throw new InvalidError(`invalid seed length ${seed.length} used for key generation`);
    this.deriver = new SeedKeyDeriver(seed);
    this.keys = new DerivedKeyCache(opts.derivedKeyCacheSize ?? DERIVED_KEY_CACHE_SIZE, opts.now);
  }

  /** Entries in the derived-key cache (for tests). */
  get derivedKeys(): number {
    return this.keys.size;
  }

  async fromStorage(data: Uint8Array, ctx: TransformContext): Promise<FromStorageResult> {
    return { data: this.open(data, ctx), stale: false };
  }

  /** fromStorage without the promise, for the KMS v2 read path (one await fewer per object of a LIST). */
  open(data: Uint8Array, ctx: TransformContext): Buffer {
    if (data.length < INFO_SIZE + GCM_NONCE_SIZE) {
      throw new DecryptError('the stored data was shorter than the required size');
    }
    const path = this.keys.capacity > 0 ? pathOf(ctx) : '';
    // The cache compares data's leading info in place, and the cipher takes its views from data itself: no views of
    // info, nonce and sealed bytes made per object on a hit (a LIST's every object after the informers' read).
    const cached = this.keys.capacity > 0 ? this.keys.get(path, data) : undefined;
    // A view into the cache's slab: used synchronously, never wiped here (the cache wipes it).
    if (cached) return gcmOpenAt(cached, data, INFO_SIZE, ctx.authenticatedData);
    const info = data.subarray(0, INFO_SIZE);
    const key = this.deriver.derive(info);
    try {
      const out = gcmOpenAt(key, data, INFO_SIZE, ctx.authenticatedData);
      this.keys.set(path, info, key); // only once the value proved authentic under it
      return out;
    } finally {
      key.fill(0);
    }
  }

  async toStorage(data: Uint8Array, ctx: TransformContext): Promise<Uint8Array> {
    return this.seal(data, ctx);
  }

  /**
   * toStorage without the promise, for the KMS v2 write path (where the seed must not be wiped mid-write), with
   * optional bytes before and after the sealed data so the envelope needs no second copy.
   */
  seal(data: Uint8Array, ctx: TransformContext, frame: { head?: Uint8Array; tail?: Uint8Array } = {}): Buffer {
    const infoAndNonce = publicRandomBytes(INFO_SIZE + GCM_NONCE_SIZE);
    const key = this.deriver.derive(infoAndNonce.subarray(0, INFO_SIZE));
    try {
      const head = frame.head ? [frame.head, infoAndNonce] : [infoAndNonce];
      const nonce = infoAndNonce.subarray(INFO_SIZE);
      // Not kept in the derived-key cache, unlike upstream's write: here the object written is handed to this server's
      // watcher without a read (src/storage/recent-writes.ts), so the entry would seldom be used and cost every write.
      return gcmSeal(key, nonce, data, ctx.authenticatedData, frame.tail ? { head, tail: frame.tail } : { head });
    } finally {
      key.fill(0);
    }
  }

  /** Zero-fills the seed and every derived key kept; the transformer is unusable afterwards. */
  destroy(): void {
    this.deriver.wipe();
    this.keys.wipe();
  }
}
