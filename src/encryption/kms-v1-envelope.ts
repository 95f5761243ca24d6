// KMS v1 envelope (upstream envelope/envelope.go), the bytes after `k8s:enc:kms:v1:<name>:`:
//   uint16_BE(len(EDEK)) ‖ EDEK ‖ nonce[12] ‖ AES-256-GCM(DEK, AAD = storage key)
// A fresh DEK per write, wrapped by the plugin. Reads also accept the v1.24 layout IV[16] ‖ AES-CBC(DEK) (no AAD) and
// report it stale so it gets rewritten as GCM.
import { randomBytes } from 'node:crypto';
import type { KmsV1Service } from '../kms/kms-service.js';
import { SYSTEM_CLOCK, type Clock } from '../lib/clock.js';
import { AggregateDecryptError, DecryptError, EncryptError } from '../lib/errors.js';
import { LruCache } from '../lib/lru-cache.js';
import { cbcDecrypt } from './aes-cbc.js';
import { assertAesKeySize, GCM_NONCE_SIZE, gcmOpen, gcmSeal } from './aes-gcm.js';
import type { FromStorageResult, TransformContext, Transformer } from './transformer.js';

export const KMS_V1_PREFIX = 'k8s:enc:kms:v1:';
export const KMS_V1_DEFAULT_CACHE_SIZE = 1000;
const DEK_SIZE = 32;
const CBC_IV_SIZE = 16;
const MAX_EDEK_SIZE = 0xffff;
const HEALTH_OK_TTL_MS = 20_000;
const HEALTH_FAIL_TTL_MS = 3_000;

export function kmsV1Prefix(name: string): string {
  return `${KMS_V1_PREFIX}${name}:`;
}

export interface KmsV1EnvelopeOptions {
  /** Upstream `cachesize`: DEKs kept, keyed by their EDEK; below 1 disables the cache (every read calls Decrypt). */
  cacheSize: number;
  /** Provider name, for health-check messages. */
  name?: string;
  clock?: Clock;
}

function messageOf(thrown: unknown): string {
  return thrown instanceof Error ? thrown.message : String(thrown);
}

/** Tries GCM, then the legacy CBC layout, like upstream's unionTransformers{gcm, cbc}. Synchronous on purpose. */
function openInner(dek: Uint8Array, inner: Uint8Array, ctx: TransformContext): FromStorageResult {
  const errors: Error[] = [];
  try {
    if (inner.length < GCM_NONCE_SIZE) throw new DecryptError('the stored data was shorter than the required size');
    const nonce = inner.subarray(0, GCM_NONCE_SIZE);
    return { data: gcmOpen(dek, nonce, inner.subarray(GCM_NONCE_SIZE), ctx.authenticatedData), stale: false };
  } catch (thrown) {
    errors.push(thrown instanceof Error ? thrown : new DecryptError(String(thrown)));
  }
  // CBC authenticates nothing: a damaged GCM value whose length happens to fit CBC is refused only by the padding
  // check (about 1 in 256 slips through as garbage). Upstream keeps this fallback for v1.24 data; so do we.
  try {
    if (inner.length < CBC_IV_SIZE) throw new DecryptError('the stored data was shorter than the required size');
    return { data: cbcDecrypt(dek, inner.subarray(0, CBC_IV_SIZE), inner.subarray(CBC_IV_SIZE)), stale: true };
  } catch (thrown) {
    errors.push(thrown instanceof Error ? thrown : new DecryptError(String(thrown)));
  }
  throw new AggregateDecryptError(errors);
}

export class KmsV1EnvelopeTransformer implements Transformer {
  private readonly cache: LruCache<string, Uint8Array> | undefined;
  private readonly name: string;
  private readonly clock: Clock;
  private readonly closing = new AbortController();
  private health: { at: number; ttl: number; error: Error | undefined } | undefined;
  private healthInFlight: Promise<void> | undefined;

  constructor(
    private readonly service: KmsV1Service,
    opts: KmsV1EnvelopeOptions,
  ) {
    this.name = opts.name ?? '';
    this.clock = opts.clock ?? SYSTEM_CLOCK;
    // Evicted DEKs are zero-filled: nothing else holds them (reads use a DEK synchronously right after lookup).
    this.cache = opts.cacheSize > 0 ? new LruCache(opts.cacheSize, { onEvict: (dek) => dek.fill(0) }) : undefined;
  }

  async toStorage(data: Uint8Array, ctx: TransformContext): Promise<Uint8Array> {
    const dek = randomBytes(DEK_SIZE);
    let cached = false;
    try {
      // The plugin's error is returned as-is, as upstream does (it carries the gRPC code).
      const edek = await this.service.encrypt(dek, { signal: this.closing.signal });
      if (edek.length > MAX_EDEK_SIZE) {
        throw new EncryptError(`cryptobyte: pending child length ${edek.length} exceeds 2-byte length prefix`);
      }
      const nonce = randomBytes(GCM_NONCE_SIZE);
      const sealed = gcmSeal(dek, nonce, data, ctx.authenticatedData);
      const out = Buffer.allocUnsafe(2 + edek.length + GCM_NONCE_SIZE + sealed.length);
      out.writeUInt16BE(edek.length, 0);
      out.set(edek, 2);
      nonce.copy(out, 2 + edek.length);
      sealed.copy(out, 2 + edek.length + GCM_NONCE_SIZE);
      if (this.cache) {
        this.cache.set(Buffer.from(edek).toString('base64'), dek);
        cached = true;
      }
      return out;
    } finally {
      if (!cached) dek.fill(0);
    }
  }

  async fromStorage(data: Uint8Array, ctx: TransformContext): Promise<FromStorageResult> {
    const edekLength = data.length >= 2 ? (data[0]! << 8) | data[1]! : -1;
    if (edekLength < 0 || data.length < 2 + edekLength) {
      throw new DecryptError(
        'invalid data encountered by envelope transformer: failed to read uint16 length prefixed data',
      );
    }
    const edek = data.subarray(2, 2 + edekLength);
    const inner = data.subarray(2 + edekLength);
    const cacheKey = Buffer.from(edek).toString('base64');
    const hit = this.cache?.get(cacheKey);
    if (hit) return openInner(hit, inner, ctx);

    const dek = await this.service.decrypt(edek, { signal: this.closing.signal });
    try {
      assertAesKeySize(dek);
    } catch (cause) {
      dek.fill(0);
      throw new DecryptError(`the KMS plugin returned an unusable DEK: ${messageOf(cause)}`, { cause });
    }
    if (!this.cache) {
      try {
        return openInner(dek, inner, ctx);
      } finally {
        dek.fill(0);
      }
    }
    // Inserted and used in one synchronous step, so a concurrent insert cannot evict (and wipe) it mid-use.
    this.cache.set(cacheKey, dek);
    return openInner(dek, inner, ctx);
  }

  /** Upstream's v1 probe: Encrypt("ping") then Decrypt; the result is reused for 20 s (OK) or 3 s (failing). */
  async healthCheck(): Promise<void> {
    if (this.healthInFlight) return this.healthInFlight;
    const last = this.health;
    if (last && this.clock.now() - last.at < last.ttl) {
      if (last.error) throw last.error;
      return;
    }
    this.healthInFlight = this.probe().finally(() => (this.healthInFlight = undefined));
    return this.healthInFlight;
  }

  private async probe(): Promise<void> {
    let error: Error | undefined;
    try {
      let cipher: Uint8Array;
      try {
        cipher = await this.service.encrypt(Buffer.from('ping'), { signal: this.closing.signal });
      } catch (cause) {
        throw new EncryptError(
          `failed to perform encrypt section of the healthz check for KMS Provider ${this.name}, error: ${messageOf(cause)}`,
          { cause },
        );
      }
      try {
        await this.service.decrypt(cipher, { signal: this.closing.signal });
      } catch (cause) {
        throw new DecryptError(
          `failed to perform decrypt section of the healthz check for KMS Provider ${this.name}, error: ${messageOf(cause)}`,
          { cause },
        );
      }
    } catch (thrown) {
      error = thrown as Error;
    }
    this.health = { at: this.clock.now(), ttl: error ? HEALTH_FAIL_TTL_MS : HEALTH_OK_TTL_MS, error };
    if (error) throw error;
  }

  /** Aborts calls in flight and zero-fills every cached DEK; the plugin connection is the caller's to close. */
  close(): void {
    this.closing.abort();
    this.cache?.clear();
  }
}
