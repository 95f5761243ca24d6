// The KMS v2 DEK-seed state of one provider (upstream config.go kmsv2PluginProbe: check, rotateDEKOnKeyIDChange,
// primeAndProbeKMSv2). One seed serves every write of this process until the plugin's key ID changes; the plugin is
// asked to wrap it once (Encrypt), not per write. Status is polled every 60 s (10 s after a failure); each good Status
// lets writes continue for 3 more minutes, so a plugin that goes away stops writes within 3 minutes, loudly.
import { randomBytes, randomUUID } from 'node:crypto';
import type { KmsV2Service } from '../kms/kms-service.js';
import { SYSTEM_CLOCK, type Clock } from '../lib/clock.js';
import { UnavailableError } from '../lib/errors.js';
import { AesGcmExtendedNonceTransformer, SEED_SIZE } from './aes-gcm-extended-nonce.js';
import {
  decryptCacheKey,
  HKDF_SHA256_XNONCE_AES_GCM_SEED,
  keyIdError,
  keyIdHash,
  encodeEncryptedObjectTail,
  validateEncryptedObject,
} from '../kms/kms-v2-encrypted-object.js';
import type { Transformer, TransformContext } from './transformer.js';

export const KMS_V2_HEALTHY_INTERVAL_MS = 60_000;
export const KMS_V2_RETRY_INTERVAL_MS = 10_000;
export const KMS_V2_WRITE_TTL_MS = 3 * 60_000;
const HEALTH_OK_TTL_MS = 20_000;
const HEALTH_FAIL_TTL_MS = 3_000;
const ACCEPTED_VERSIONS = ['v2', 'v2beta1'];

/** A DEK source's transformer; `open` is fromStorage without the promise. */
type WipeableTransformer = Transformer & { destroy(): void; open(data: Uint8Array, ctx: TransformContext): Uint8Array };

/**
 * A transformer built from one plaintext seed (or DEK), shared by the write state and the decrypt cache. Whoever
 * keeps it retains it; the key material is zero-filled when the last holder releases it.
 */
export class SharedDekSource {
  private holders = 0;
  private wiped = false;

  constructor(readonly transformer: WipeableTransformer) {}

  get destroyed(): boolean {
    return this.wiped;
  }

  retain(): this {
    if (this.wiped) throw new Error('a destroyed DEK source cannot be retained');
    this.holders++;
    return this;
  }

  release(): void {
    if (this.holders <= 0) return;
    this.holders--;
    if (this.holders === 0) {
      this.transformer.destroy();
      this.wiped = true;
    }
  }
}

/** What a write needs: everything of the EncryptedObject except the data, plus its write deadline. */
export interface KmsV2WriteState {
  readonly keyId: string;
  readonly encryptedDekSourceType: number;
  readonly encryptedDekSource: Uint8Array;
  readonly annotations: Record<string, Uint8Array>;
  /** Writes are refused once the clock passes this (epoch ms). */
  readonly expiresAt: number;
  /** Hex SHA-256 of the decrypt-cache key (encryptedObjectCacheKey), under which the decrypt cache holds `source`. */
  readonly cacheKey: string;
  /** EncryptedObject fields 2..5 for this state, validated and encoded once (see encodeEncryptedObjectTail). */
  readonly encodedTail: Buffer;
  /** The seed's transformer; undefined in no-DEK-cache mode, where no seed outlives a single write. */
  readonly source: SharedDekSource | undefined;
  /** The Encrypt call's uid, for correlating plugin logs. */
  readonly uid: string;
}

export interface KmsV2StateOptions {
  /** Provider name, for messages. */
  name: string;
  clock?: Clock;
  /**
   * Coffer's option: keep no seed in memory. The state then tracks only the plugin's key ID and health; each write
   * makes and wraps its own seed (see KmsV2EnvelopeTransformer).
   */
  noDekCache?: boolean;
  healthyIntervalMs?: number;
  retryIntervalMs?: number;
  writeTtlMs?: number;
}

function messageOf(thrown: unknown): string {
  return thrown instanceof Error ? thrown.message : String(thrown);
}

function aggregate(messages: string[]): string {
  const unique = [...new Set(messages)];
  return unique.length === 1 ? unique[0]! : `[${unique.join(', ')}]`;
}

/** Go's time.Format(time.RFC3339) for a UTC time. */
export function formatRfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

const GO_ZERO_TIME = '0001-01-01T00:00:00Z';

export class KmsV2State {
  readonly name: string;
  readonly noDekCache: boolean;
  private readonly clock: Clock;
  private readonly healthyIntervalMs: number;
  private readonly retryIntervalMs: number;
  private readonly writeTtlMs: number;
  private readonly closing = new AbortController();
  private state: KmsV2WriteState | undefined;
  private version = '';
  private last: { at: number; ttl: number; error: Error | undefined } | undefined;
  private inFlight: Promise<void> | undefined;
  private timer: { cancel(): void } | undefined;
  private started = false;
  private closed = false;

  constructor(
    private readonly service: KmsV2Service,
    opts: KmsV2StateOptions,
  ) {
    this.name = opts.name;
    this.noDekCache = opts.noDekCache ?? false;
    this.clock = opts.clock ?? SYSTEM_CLOCK;
    this.healthyIntervalMs = opts.healthyIntervalMs ?? KMS_V2_HEALTHY_INTERVAL_MS;
    this.retryIntervalMs = opts.retryIntervalMs ?? KMS_V2_RETRY_INTERVAL_MS;
    this.writeTtlMs = opts.writeTtlMs ?? KMS_V2_WRITE_TTL_MS;
  }

  /** Cancels the in-flight plugin calls when the state is closed. */
  get signal(): AbortSignal {
    return this.closing.signal;
  }

  /**
   * Runs one probe inline (so the state is ready before serving when the plugin is up), then starts the background
   * loop. Never rejects: a plugin that is down at start is retried every 10 s, and healthCheck() reports why.
   */
  async prime(): Promise<void> {
    if (this.started || this.closed) return;
    this.started = true;
    const ok = await this.check().then(
      () => true,
      () => false,
    );
    this.schedule(ok);
  }

  /** The /healthz probe: throws `kmsv2 Provider <name> is not healthy, error: ...` (or the Status failure). */
  healthCheck(): Promise<void> {
    return this.check();
  }

  /** The state for a write or a read; throws when the plugin has never completed a probe with a usable key. */
  current(): KmsV2WriteState {
    if (this.closed) throw new UnavailableError(`kmsv2 provider ${this.name} is closed`);
    if (this.state) return this.state;
    const why = this.last?.error ? `last probe failed: ${this.last.error.message}` : 'no probe has completed yet';
    const needs = this.noDekCache ? 'a valid Status' : 'a valid Status and Encrypt';
    throw new UnavailableError(`kmsv2 provider ${this.name} is not ready: the plugin has not yet answered ${needs} (${why})`);
  }

  /**
   * When writes stop unless a good Status comes first (epoch ms): the last good Status plus the write TTL. Undefined
   * before the first good Status. Exported as a metric so an operator sees the time left while the KMS is down.
   */
  get writeDeadline(): number | undefined {
    return this.state?.expiresAt;
  }

  /** Stops the loop, cancels calls in flight and releases the current seed (wiped unless the read cache holds it). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.timer?.cancel();
    this.timer = undefined;
    this.closing.abort();
    this.state?.source?.release();
    this.state = undefined;
  }

  private schedule(lastOk: boolean): void {
    if (this.closed) return;
    this.timer = this.clock.setTimeout(
      () => {
        this.timer = undefined;
        void this.tick();
      },
      lastOk ? this.healthyIntervalMs : this.retryIntervalMs,
    );
  }

  private async tick(): Promise<void> {
    const ok = await this.check().then(
      () => true,
      () => false,
    );
    this.schedule(ok);
  }

  /** One probe at a time; a result is reused for 20 s when OK and 3 s when failing, as upstream's probe cache. */
  private check(): Promise<void> {
    if (this.inFlight) return this.inFlight;
    const last = this.last;
    if (last && this.clock.now() - last.at < last.ttl) {
      return last.error ? Promise.reject(last.error) : Promise.resolve();
    }
    this.inFlight = this.probe().finally(() => (this.inFlight = undefined));
    return this.inFlight;
  }

  private async probe(): Promise<void> {
    let error: Error | undefined;
    try {
      await this.probeOnce();
    } catch (thrown) {
      error = thrown instanceof Error ? thrown : new UnavailableError(String(thrown));
    }
    // The cache never outlives the poll period, or a shortened period (tests) would only ever see cached answers.
    const ttl = error ? Math.min(HEALTH_FAIL_TTL_MS, this.retryIntervalMs) : Math.min(HEALTH_OK_TTL_MS, this.healthyIntervalMs);
    this.last = { at: this.clock.now(), ttl, error };
    if (error) throw error;
  }

  private async probeOnce(): Promise<void> {
    if (this.closed) throw new UnavailableError(`kmsv2 provider ${this.name} is closed`);
    let status;
    try {
      status = await this.service.status({ signal: this.closing.signal });
    } catch (cause) {
      throw new UnavailableError(
        `failed to perform status section of the healthz check for KMS Provider ${this.name}, error: ${messageOf(cause)}`,
        { cause },
      );
    }
    const errs: string[] = [];
    if (status.healthz !== 'ok') errs.push(`got unexpected healthz status: ${status.healthz}`);
    if (!ACCEPTED_VERSIONS.includes(status.version)) {
      errs.push(`expected KMSv2 API version v2, got ${status.version}`);
    } else {
      if (this.version === '') this.version = status.version;
      if (this.version !== status.version) {
        errs.push(
          `KMSv2 API version should not change after the initial status response version ${this.version}, got ${status.version}`,
        );
      }
    }
    // An unhealthy healthz or version does not stop rotation: as long as the key ID is usable, writes may continue.
    const keyErr = keyIdError(status.keyId);
    if (keyErr) {
      errs.push(`got invalid KMSv2 KeyID hash ${JSON.stringify(keyIdHash(status.keyId))}: ${keyErr}`);
    } else {
      try {
        await this.rotate(status.keyId);
      } catch (thrown) {
        errs.push(messageOf(thrown));
      }
    }
    if (errs.length > 0) throw new UnavailableError(`kmsv2 Provider ${this.name} is not healthy, error: ${aggregate(errs)}`);
  }

  /** Keeps the seed while the key ID is unchanged, else makes and wraps a new one; on failure the old state stays. */
  private async rotate(statusKeyId: string): Promise<void> {
    // Taken before any network call: the 3 minutes are an upper bound from the last moment the plugin was known good.
    const expiresAt = this.clock.now() + this.writeTtlMs;
    const current = this.state;
    if (current && current.keyId === statusKeyId && current.encryptedDekSourceType === HKDF_SHA256_XNONCE_AES_GCM_SEED) {
      this.state = { ...current, expiresAt };
      return;
    }
    const uid = randomUUID();
    if (this.noDekCache) {
      this.state = {
        keyId: statusKeyId,
        encryptedDekSourceType: HKDF_SHA256_XNONCE_AES_GCM_SEED,
        encryptedDekSource: new Uint8Array(0),
        annotations: {},
        expiresAt,
        cacheKey: '',
        encodedTail: Buffer.alloc(0),
        source: undefined,
        uid,
      };
      return;
    }
    const seed = randomBytes(SEED_SIZE);
    let fresh: SharedDekSource | undefined = new SharedDekSource(new AesGcmExtendedNonceTransformer(seed)).retain();
    let encryptKeyId = '';
    try {
      let resp;
      try {
        resp = await this.service.encrypt(seed, { uid, signal: this.closing.signal });
      } catch (cause) {
        throw new Error(`failed to encrypt DEK, error: ${messageOf(cause)}`, { cause });
      }
      encryptKeyId = resp.keyId;
      const next = {
        keyId: resp.keyId,
        encryptedDekSourceType: HKDF_SHA256_XNONCE_AES_GCM_SEED,
        encryptedDekSource: Buffer.from(resp.ciphertext),
        annotations: { ...resp.annotations },
      };
      validateEncryptedObject({ ...next, encryptedData: Uint8Array.of(0) });
      if (resp.keyId !== statusKeyId) throw new Error('the key ID of Encrypt differs from the key ID of Status');
      if (this.closed) throw new Error('the provider was closed during rotation');
      const replaced = this.state;
      this.state = {
        ...next,
        expiresAt,
        cacheKey: decryptCacheKey(next),
        encodedTail: encodeEncryptedObjectTail(next),
        source: fresh,
        uid,
      };
      fresh = undefined; // now owned by the state
      // Wiped now unless the decrypt cache still holds it for data written under it; then it is wiped on eviction.
      replaced?.source?.release();
    } catch (thrown) {
      throw new Error(
        `failed to rotate DEK uid=${JSON.stringify(uid)}, errGen=${messageOf(thrown)}, ` +
          `statusKeyIDHash=${JSON.stringify(keyIdHash(statusKeyId))}, ` +
          `encryptKeyIDHash=${JSON.stringify(keyIdHash(encryptKeyId))}, ` +
          `stateKeyIDHash=${JSON.stringify(keyIdHash(current?.keyId ?? ''))}, ` +
          `expirationTimestamp=${current ? formatRfc3339(current.expiresAt) : GO_ZERO_TIME}`,
        { cause: thrown },
      );
    } finally {
      // The transformer keeps its own copy; the buffer handed to the plugin must not linger in the heap.
      seed.fill(0);
      fresh?.release();
    }
  }
}

