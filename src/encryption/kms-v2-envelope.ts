// KMS v2 envelope (upstream kmsv2/envelope.go), the bytes after `k8s:enc:kms:v2:<name>:`: a protobuf EncryptedObject
// whose encryptedData is info[32] ‖ nonce[12] ‖ AES-256-GCM(HKDF-Expand(seed, info), AAD = storage key) (type 1,
// the only type written) or nonce[12] ‖ AES-GCM(DEK) (type 0, read only). Writes use the seed of KmsV2State without
// calling the plugin; reads find the seed's transformer in a cache keyed by the EDEK's identity, or ask Decrypt.
import { randomBytes, randomUUID } from 'node:crypto';
import type { KmsV2Service } from '../kms/kms-service.js';
import { SYSTEM_CLOCK, type Clock } from '../lib/clock.js';
import { DecryptError, EncryptError, InvalidError } from '../lib/errors.js';
import { AesGcmExtendedNonceTransformer, EXTENDED_NONCE_OVERHEAD, SEED_SIZE } from './aes-gcm-extended-nonce.js';
import { AesGcmTransformer } from './aes-gcm.js';
import {
  decodeEncryptedObject,
  decryptCacheKey,
  encodeEncryptedObject,
  HKDF_SHA256_XNONCE_AES_GCM_SEED,
  keyIdHash,
  encryptedDataHead,
  validateEncryptedObject,
  type EncryptedObject,
} from '../kms/kms-v2-encrypted-object.js';
import { formatRfc3339, KmsV2State, SharedDekSource, type KmsV2StateOptions } from './kms-v2-state.js';
import type { PrefixWritingTransformer } from './prefix-transformers.js';
import type { FromStorageResult, TransformContext, Transformer } from './transformer.js';

export const KMS_V2_PREFIX = 'k8s:enc:kms:v2:';
export const KMS_V2_DECRYPT_CACHE_TTL_MS = 24 * 60 * 60_000;

export function kmsV2Prefix(name: string): string {
  return `${KMS_V2_PREFIX}${name}:`;
}

export interface KmsV2EnvelopeOptions extends KmsV2StateOptions {
  /** Upstream cacheTTL: bounds the growth of the decrypt cache; expired entries are still served until collected. */
  decryptCacheTtlMs?: number;
}

function messageOf(thrown: unknown): string {
  return thrown instanceof Error ? thrown.message : String(thrown);
}

/**
 * Upstream's simpleCache (utilcache.Expiring with AllowExpiredGet): a transformer per EDEK identity, served even
 * after its TTL; expired entries are collected when a later entry is set. Each entry holds one retain on its source.
 */
class DecryptCache {
  private readonly entries = new Map<string, { source: SharedDekSource; expiresAt: number }>();
  private nextExpiry = Infinity;

  constructor(
    private readonly clock: Clock,
    private readonly ttlMs: number,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  get(key: string): SharedDekSource | undefined {
    return this.entries.get(key)?.source;
  }

  set(key: string, source: SharedDekSource): void {
    const now = this.clock.now();
    if (now >= this.nextExpiry) this.collect(now);
    const expiresAt = now + this.ttlMs;
    this.nextExpiry = Math.min(this.nextExpiry, expiresAt);
    const old = this.entries.get(key);
    if (old?.source === source) {
      old.expiresAt = expiresAt;
      return;
    }
    this.entries.set(key, { source: source.retain(), expiresAt });
    old?.source.release();
  }

  clear(): void {
    const all = [...this.entries.values()];
    this.entries.clear();
    for (const e of all) e.source.release();
  }

  private collect(now: number): void {
    let next = Infinity;
    for (const [key, e] of this.entries) {
      if (e.expiresAt <= now) {
        this.entries.delete(key);
        e.source.release(); // the current write state's source survives: the state still holds it
      } else {
        next = Math.min(next, e.expiresAt);
      }
    }
    this.nextExpiry = next;
  }
}

const EMPTY = new Uint8Array(0);

function sealWith(
  transformer: Transformer,
  data: Uint8Array,
  ctx: TransformContext,
  frame: { head: Uint8Array; tail: Uint8Array },
): Buffer {
  if (!(transformer instanceof AesGcmExtendedNonceTransformer)) {
    throw new EncryptError('KMS v2 writes need a seed (HKDF) state'); // rotate() only ever makes seed states
  }
  return transformer.seal(data, ctx, frame);
}

/**
 * The reader for a plaintext DEK source; the caller still owns (and wipes) `plain`, the reader keeps a copy. A reader
 * made for one read (no DEK cache) keeps no derived keys.
 */
function makeReader(type: number, plain: Uint8Array, oneRead: boolean): AesGcmExtendedNonceTransformer | AesGcmTransformer {
  try {
    return type === HKDF_SHA256_XNONCE_AES_GCM_SEED
      ? new AesGcmExtendedNonceTransformer(plain, oneRead ? { derivedKeyCacheSize: 0 } : {})
      : new AesGcmTransformer(plain);
  } catch (cause) {
    throw new DecryptError(messageOf(cause), { cause });
  }
}

export class KmsV2EnvelopeTransformer implements PrefixWritingTransformer {
  readonly state: KmsV2State;
  private readonly clock: Clock;
  private readonly cache: DecryptCache;
  private readonly decrypting = new Map<string, Promise<SharedDekSource>>();
  /**
   * The last header validated in full, its decrypt-cache key, and (when the value was laid out as Go writes it, the
   * data first) the encoded bytes after the data: a value ending in exactly those bytes has exactly that header.
   */
  private lastHeader: { header: EncryptedObjectHeader; key: string; tail: Buffer | undefined } | undefined;

  constructor(
    private readonly service: KmsV2Service,
    opts: KmsV2EnvelopeOptions,
  ) {
    this.clock = opts.clock ?? SYSTEM_CLOCK;
    this.state = new KmsV2State(service, { ...opts, clock: this.clock });
    this.cache = new DecryptCache(this.clock, opts.decryptCacheTtlMs ?? KMS_V2_DECRYPT_CACHE_TTL_MS);
  }

  /** See KmsV2State.prime: one inline probe, then the background Status loop. Never rejects. */
  prime(): Promise<void> {
    return this.state.prime();
  }

  healthCheck(): Promise<void> {
    return this.state.healthCheck();
  }

  /** Stops the Status loop and zero-fills every seed/DEK held; the plugin connection is the caller's to close. */
  close(): void {
    this.state.close();
    this.cache.clear();
  }

  /** Number of DEK sources in the decrypt cache (for tests and metrics). */
  get decryptCacheSize(): number {
    return this.cache.size;
  }

  async toStorage(data: Uint8Array, ctx: TransformContext): Promise<Uint8Array> {
    return this.toStorageAfter(EMPTY, data, ctx);
  }

  /** toStorage with the provider prefix written into the same buffer (PrefixWritingTransformer). */
  async toStorageAfter(prefix: Uint8Array, data: Uint8Array, ctx: TransformContext): Promise<Uint8Array> {
    let state;
    try {
      state = this.state.current();
    } catch (cause) {
      throw new EncryptError(messageOf(cause), { cause });
    }
    const now = this.clock.now();
    if (now > state.expiresAt) {
      throw new EncryptError(
        `encryptedDEKSource with keyID hash ${JSON.stringify(keyIdHash(state.keyId))} expired at ` +
          `${formatRfc3339(state.expiresAt)} (current time is ${formatRfc3339(now)})`,
      );
    }
    if (!state.source) return Buffer.concat([prefix, await this.toStorageWithFreshSeed(data, ctx)]);

    // So that this server never needs Decrypt for its own writes.
    this.cache.set(state.cacheKey, state.source);
    // Synchronous from here on, so no rotation can wipe the seed in the middle of this write. Fields 2..5 were
    // validated when the state was made; field 1 is never empty (it holds at least the GCM tag).
    const head = encryptedDataHead(prefix, data.length + EXTENDED_NONCE_OVERHEAD);
    return sealWith(state.source.transformer, data, ctx, { head, tail: state.encodedTail });
  }

  /**
   * No-DEK-cache mode: a seed per write, wrapped by the plugin right away and wiped when the write is done, so no seed
   * sits in this process's memory between requests (the RAM row of the threat table). The price is one Encrypt round
   * trip per write (and one Decrypt per read) instead of none; bench/ measures it. The key ID written is the one
   * Encrypt returns: it is the plugin's freshest answer, and validation still applies.
   */
  private async toStorageWithFreshSeed(data: Uint8Array, ctx: TransformContext): Promise<Uint8Array> {
    const seed = randomBytes(SEED_SIZE);
    const writer = new AesGcmExtendedNonceTransformer(seed, { derivedKeyCacheSize: 0 });
    try {
      let resp;
      try {
        resp = await this.service.encrypt(seed, { uid: randomUUID(), signal: this.state.signal });
      } catch (cause) {
        throw new EncryptError(`failed to encrypt DEK, error: ${messageOf(cause)}`, { cause });
      }
      return this.encode({
        encryptedData: await writer.toStorage(data, ctx),
        keyId: resp.keyId,
        encryptedDekSource: resp.ciphertext,
        annotations: resp.annotations,
        encryptedDekSourceType: HKDF_SHA256_XNONCE_AES_GCM_SEED,
      });
    } finally {
      seed.fill(0);
      writer.destroy();
    }
  }

  /**
   * Validates o and returns its decrypt-cache key. Every object written under one seed carries the same header (type,
   * EDEK, key id, annotations), so the last valid one is remembered: a LIST of thousands validates and hashes it once.
   */
  private checkedHeader(o: EncryptedObject, data: Uint8Array): string {
    const last = this.lastHeader;
    if (last && sameHeader(last.header, o)) {
      if (o.encryptedData.length === 0) throw new InvalidError('encrypted data is empty');
      return last.key;
    }
    validateEncryptedObject(o);
    const key = decryptCacheKey(o);
    const annotations = Object.fromEntries(Object.entries(o.annotations).map(([k, v]) => [k, Buffer.from(v)]));
    // Kept only when the decode took its data from the leading field 1: then the rest holds no other field 1.
    const start = o.encryptedData.buffer === data.buffer ? o.encryptedData.byteOffset - data.byteOffset : -1;
    const end = start + o.encryptedData.length;
    const tail = start > 0 && leadingEncryptedDataStart(data, end) === start ? Buffer.from(data.subarray(end)) : undefined;
    this.lastHeader = { header: { encryptedDekSourceType: o.encryptedDekSourceType, encryptedDekSource: Buffer.from(o.encryptedDekSource), keyId: o.keyId, annotations }, key, tail };
    return key;
  }

  /**
   * The object's header, its data and its decrypt-cache key. Values written under one seed differ only in their data
   * (field 1, first): when the bytes after it equal the last validated header's, that header is the value's, with no
   * decode, and nothing is made per value but the data's view (a LIST after a restart reads thousands of them).
   */
  private decodeChecked(data: Uint8Array): { header: EncryptedObjectHeader; encryptedData: Uint8Array; key: string } {
    const last = this.lastHeader;
    const tail = last?.tail;
    if (tail) {
      const end = data.length - tail.length;
      const start = end > 0 ? leadingEncryptedDataStart(data, end) : -1;
      if (start > 0 && start < end && endsWith(data, end, tail)) {
        return { header: last.header, encryptedData: data.subarray(start, end), key: last.key };
      }
    }
    const o = decodeEncryptedObject(data);
    return { header: o, encryptedData: o.encryptedData, key: this.checkedHeader(o, data) };
  }

  private encode(o: EncryptedObject): Buffer {
    try {
      validateEncryptedObject(o);
    } catch (cause) {
      throw new EncryptError(messageOf(cause), { cause });
    }
    return encodeEncryptedObject(o);
  }

  async fromStorage(data: Uint8Array, ctx: TransformContext): Promise<FromStorageResult> {
    let o: EncryptedObjectHeader;
    let encryptedData: Uint8Array;
    let key: string;
    try {
      ({ header: o, encryptedData, key } = this.decodeChecked(data));
    } catch (cause) {
      if (!(cause instanceof InvalidError)) throw cause;
      throw new DecryptError(cause.message, { cause });
    }
    let state;
    try {
      state = this.state.current(); // reads, too, need a primed plugin (upstream stateFunc)
    } catch (cause) {
      throw new DecryptError(messageOf(cause), { cause });
    }
    const stale = o.keyId !== state.keyId || o.encryptedDekSourceType !== state.encryptedDekSourceType;

    if (this.state.noDekCache) {
      const reader = await this.decryptDekSource(o);
      try {
        const out = await reader.fromStorage(encryptedData, ctx);
        return { data: out.data, stale: out.stale || stale };
      } finally {
        reader.destroy();
      }
    }

    let source = this.cache.get(key);
    if (!source) {
      // One Decrypt per seed even when many reads miss together (a list after a restart): they share the call.
      let pending = this.decrypting.get(key);
      if (!pending) {
        pending = this.decryptDekSource(o)
          .then((t) => {
            const shared = new SharedDekSource(t);
            this.cache.set(key, shared);
            return shared;
          })
          .finally(() => this.decrypting.delete(key));
        this.decrypting.set(key, pending);
      }
      source = await pending;
    }
    // Synchronous: no eviction can wipe the key in the middle of this read.
    return { data: source.transformer.open(encryptedData, ctx), stale };
  }

  private async decryptDekSource(o: EncryptedObjectHeader): Promise<AesGcmExtendedNonceTransformer | AesGcmTransformer> {
    let plain: Uint8Array;
    try {
      plain = await this.service.decrypt(o.encryptedDekSource, {
        uid: randomUUID(),
        keyId: o.keyId,
        annotations: o.annotations,
        signal: this.state.signal,
      });
    } catch (cause) {
      throw new DecryptError(`failed to decrypt DEK, error: ${messageOf(cause)}`, { cause });
    }
    try {
      return makeReader(o.encryptedDekSourceType, plain, this.state.noDekCache);
    } finally {
      plain.fill(0);
    }
  }
}

type EncryptedObjectHeader = Pick<EncryptedObject, 'encryptedDekSourceType' | 'encryptedDekSource' | 'keyId' | 'annotations'>;

/**
 * Where the value of a leading field 1 (encrypted_data, wire type 2) starts in data when it ends exactly at `end`; -1
 * otherwise (no leading field 1, or one of another length).
 */
function leadingEncryptedDataStart(data: Uint8Array, end: number): number {
  if (data[0] !== 0x0a) return -1;
  let length = 0;
  for (let i = 1, shift = 0; i < data.length && i <= 5; i++, shift += 7) {
    const b = data[i]!;
    length += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) return i + 1 + length === end ? i + 1 : -1;
  }
  return -1;
}

/** data[end..] equals tail (data.length - end === tail.length is the caller's). The tail is stored in the clear. */
function endsWith(data: Uint8Array, end: number, tail: Uint8Array): boolean {
  for (let i = 0; i < tail.length; i++) if (data[end + i] !== tail[i]) return false;
  return true;
}

function sameHeader(a: EncryptedObjectHeader, b: EncryptedObjectHeader): boolean {
  if (a.encryptedDekSourceType !== b.encryptedDekSourceType || a.keyId !== b.keyId) return false;
  if (Buffer.compare(a.encryptedDekSource, b.encryptedDekSource) !== 0) return false;
  const keys = Object.keys(a.annotations);
  if (keys.length !== Object.keys(b.annotations).length) return false;
  return keys.every((k) => b.annotations[k] !== undefined && Buffer.compare(a.annotations[k]!, b.annotations[k]) === 0);
}
