// The KMS gRPC face of a KeyManager: v2 (Status, Encrypt, Decrypt) and v1beta1 (Version, Encrypt, Decrypt). This is
// the only place that knows gRPC codes; backends throw src/lib/errors.ts errors and this file maps them.
//
// It enforces the KMS v2 limits (k8s.io/apiserver pkg/storage/value/encrypt/envelope/kmsv2) on what goes out - a backend answer kube-apiserver would reject is
// refused here with a clear message instead - and checks requests before a backend sees them. Logs carry the API
// server's request uid and key ids as sha256 only; never plaintext, ciphertext or annotation values.
import * as grpc from '@grpc/grpc-js';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import {
  HKDF_SHA256_XNONCE_AES_GCM_SEED,
  keyIdHash,
  validateEncryptedObject,
} from '../kms/kms-v2-encrypted-object.js';
import { KmsStatusError, type KmsV1Handlers, type KmsV2Handlers } from '../kms/grpc-server.js';
import type { KmsV2EncryptResponse, KmsV2StatusResponse } from '../kms/kms-service.js';
import { DecryptError, EncryptError, InvalidError, NotFoundError, UnavailableError } from '../lib/errors.js';
import type { KeyManager } from './key-manager.js';
import type { KmsPluginMetrics } from './plugin-metrics.js';
import type { StatusCache } from './status-cache.js';
import { decodeWrappedKey, encodeWrappedKey } from './wrapped-key-codec.js';

/** A DEK (v1) or seed (v2) is 32 bytes; anything far larger is not a key and is refused before a backend sees it. */
export const MAX_PLAINTEXT_BYTES = 512;
/** kube-apiserver's v1 envelope stores the plugin ciphertext behind a uint16 length. */
export const MAX_V1_CIPHERTEXT_BYTES = 0xffff;
/** Marks a v1 ciphertext as this plugin's self-describing format (wrapped-key-codec.ts). */
export const KMS_V1_CIPHERTEXT_MAGIC = Buffer.from('coffer:kms-v1:');
export const KMS_V2_API_VERSION = 'v2';
export const KMS_V1_API_VERSION = 'v1beta1';
export const RUNTIME_NAME = 'coffer-kms-plugin';
export const RUNTIME_VERSION = '0.1.0';

export interface KmsAdapterOptions {
  keyManager: KeyManager;
  statusCache: StatusCache;
  metrics: KmsPluginMetrics;
  logger: Logger;
  /** Deadline of each backend call. */
  timeoutMs: number;
}

/** The gRPC code a backend error becomes. */
export function grpcCodeOf(e: unknown, timedOut = false): grpc.status {
  if (e instanceof KmsStatusError) return e.grpcCode;
  if (timedOut) return grpc.status.DEADLINE_EXCEEDED;
  if (e instanceof InvalidError || e instanceof DecryptError) return grpc.status.INVALID_ARGUMENT;
  if (e instanceof NotFoundError) return grpc.status.NOT_FOUND;
  if (e instanceof UnavailableError) return grpc.status.UNAVAILABLE;
  if (e instanceof EncryptError) return grpc.status.INTERNAL;
  return grpc.status.INTERNAL;
}

function codeName(code: grpc.status): string {
  return grpc.status[code] ?? String(code);
}

/** The uid is the API server's, echoed into logs: bounded and printable so a client cannot forge log lines. */
function safeUid(uid: string): string {
  return uid.replace(/[^\x20-\x7e]/g, '?').slice(0, 64);
}

function requirePlaintext(plaintext: Uint8Array): void {
  if (plaintext.length === 0) throw new InvalidError('plaintext is empty');
  if (plaintext.length > MAX_PLAINTEXT_BYTES) {
    throw new InvalidError(`plaintext is ${plaintext.length} bytes, more than the ${MAX_PLAINTEXT_BYTES} a DEK or seed may have`);
  }
}

/** kube-apiserver's own check of what a plugin answers (ValidateEncryptedObject), applied to both directions here. */
function kmsV2LimitsError(ciphertext: Uint8Array, keyId: string, annotations: Record<string, Uint8Array>): string | undefined {
  try {
    validateEncryptedObject({
      encryptedData: Buffer.from([0]),
      keyId,
      encryptedDekSource: ciphertext,
      annotations,
      encryptedDekSourceType: HKDF_SHA256_XNONCE_AES_GCM_SEED,
    });
    return undefined;
  } catch (e) {
    return (e as Error).message.replaceAll('encrypted DEK source', 'ciphertext');
  }
}

export function createKmsHandlers(o: KmsAdapterOptions): { v1: KmsV1Handlers; v2: KmsV2Handlers } {
  const backend = o.keyManager.name;
  const log = o.logger.child({ backend });

  async function run<T>(method: string, uid: string, keyId: string | undefined, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const started = performance.now();
    const signal = AbortSignal.timeout(o.timeoutMs);
    const fields = { method, ...(uid ? { uid: safeUid(uid) } : {}), ...(keyId ? { keyId: keyIdHash(keyId) } : {}) };
    try {
      const result = await fn(signal);
      const seconds = (performance.now() - started) / 1000;
      o.metrics.operations.inc({ method, backend, grpc_code: 'OK' });
      o.metrics.duration.observe({ method, backend }, seconds);
      const level = method.endsWith('Status') || method.endsWith('Version') ? 'debug' : 'info';
      log[level]({ ...fields, durationMs: Math.round(seconds * 1000) }, `${method} ok`);
      return result;
    } catch (e) {
      const seconds = (performance.now() - started) / 1000;
      const code = grpcCodeOf(e, signal.aborted);
      o.metrics.operations.inc({ method, backend, grpc_code: codeName(code) });
      o.metrics.duration.observe({ method, backend }, seconds);
      o.metrics.errors.inc({ method, backend, error: e instanceof Error ? e.name : 'unknown' });
      const message = e instanceof Error ? e.message : String(e);
      // Client mistakes are warnings; a backend that is down or broken is an error an operator must see.
      const level = code === grpc.status.INVALID_ARGUMENT || code === grpc.status.NOT_FOUND ? 'warn' : 'error';
      log[level]({ ...fields, grpcCode: codeName(code), error: message, durationMs: Math.round(seconds * 1000) }, `${method} failed`);
      throw e instanceof KmsStatusError ? e : new KmsStatusError(code, message);
    }
  }

  /** Encrypt of either API: ask the backend, check its answer against KMS v2's limits, notice rotations. */
  async function wrap(plaintext: Uint8Array, uid: string, signal: AbortSignal): Promise<KmsV2EncryptResponse> {
    requirePlaintext(plaintext);
    const r = await o.keyManager.encrypt(plaintext, { uid, signal });
    const annotations = r.annotations ?? {};
    const limits = kmsV2LimitsError(r.ciphertext, r.keyId, annotations);
    if (limits) throw new KmsStatusError(grpc.status.INTERNAL, `backend ${backend} returned an Encrypt result kube-apiserver would refuse: ${limits}`);
    if (r.keyId !== o.statusCache.lastKeyId) {
      // The backend rotated since the last probe: Status must say so now, or kube-apiserver sees Encrypt's key id
      // differ from Status's and refuses the new seed until the cache expires.
      log.info({ uid: safeUid(uid), keyId: keyIdHash(r.keyId), previousKeyId: keyIdHash(o.statusCache.lastKeyId) }, 'Encrypt returned a new key id; refreshing status');
      o.statusCache.invalidate();
    }
    return { ciphertext: r.ciphertext, keyId: r.keyId, annotations };
  }

  const v2: KmsV2Handlers = {
    status: () =>
      run('v2/Status', '', undefined, async (): Promise<KmsV2StatusResponse> => {
        const r = await o.statusCache.get();
        if (!r.keyId) throw new KmsStatusError(grpc.status.UNAVAILABLE, `backend ${backend} has not reported a key id yet: ${r.reason ?? 'unhealthy'}`);
        // healthz must be exactly "ok" only when healthy; the reason text goes into kube-apiserver's healthz error.
        const healthz = r.healthy ? 'ok' : `unhealthy: ${r.reason ?? `backend ${backend} is unhealthy`}`;
        return { version: KMS_V2_API_VERSION, healthz, keyId: r.keyId };
      }),
    encrypt: ({ plaintext, uid }) => run('v2/Encrypt', uid, undefined, (signal) => wrap(plaintext, uid, signal)),
    decrypt: ({ ciphertext, uid, keyId, annotations }) =>
      run('v2/Decrypt', uid, keyId, async (signal) => {
        if (ciphertext.length === 0) throw new InvalidError('ciphertext is empty');
        const limits = kmsV2LimitsError(ciphertext, keyId, annotations);
        if (limits) throw new InvalidError(`request breaks KMS v2 limits: ${limits}`);
        return o.keyManager.decrypt(ciphertext, { uid, signal, keyId, annotations });
      }),
  };

  const v1: KmsV1Handlers = {
    version: () =>
      run('v1beta1/Version', '', undefined, async () => ({ version: KMS_V1_API_VERSION, runtimeName: RUNTIME_NAME, runtimeVersion: RUNTIME_VERSION })),
    // KMS v1 carries neither uid nor key id: a uid is made up for log correlation, and the key id and annotations
    // travel inside the ciphertext so that a rotated KEK still finds the key that wrapped an old DEK.
    encrypt: (plain) => {
      const uid = randomUUID();
      return run('v1beta1/Encrypt', uid, undefined, async (signal) => {
        const r = await wrap(plain, uid, signal);
        const cipher = encodeWrappedKey(r, KMS_V1_CIPHERTEXT_MAGIC);
        if (cipher.length > MAX_V1_CIPHERTEXT_BYTES) {
          throw new KmsStatusError(grpc.status.INTERNAL, `v1 ciphertext would be ${cipher.length} bytes, more than the ${MAX_V1_CIPHERTEXT_BYTES} kube-apiserver can store`);
        }
        return cipher;
      });
    },
    decrypt: (cipher) => {
      const uid = randomUUID();
      return run('v1beta1/Decrypt', uid, undefined, async (signal) => {
        if (cipher.length === 0) throw new InvalidError('ciphertext is empty');
        const w = decodeWrappedKey(cipher, KMS_V1_CIPHERTEXT_MAGIC, 'KMS v1 ciphertext');
        const limits = kmsV2LimitsError(w.ciphertext, w.keyId, w.annotations);
        if (limits) throw new InvalidError(`KMS v1 ciphertext holds a wrapped key outside the limits: ${limits}`);
        return o.keyManager.decrypt(w.ciphertext, { uid, signal, keyId: w.keyId, annotations: w.annotations });
      });
    },
  };

  return { v1, v2 };
}
