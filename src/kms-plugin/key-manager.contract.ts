// The behaviour every KeyManager backend owes `coffer kms-plugin` (and, through it, kube-apiserver's KMS v2 client,
// k8s.io/apiserver pkg/storage/value/encrypt/envelope/kmsv2), run by each backend's tests against its real parts:
// local, pkcs11 on SoftHSM, vault-transit on `coffer keyserver`, aws-kms on the AWS test server, and multi.
// Each case opens its own key manager and always cleans up.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { HKDF_SHA256_XNONCE_AES_GCM_SEED, validateEncryptedObject } from '../kms/kms-v2-encrypted-object.js';
import { MAX_PLAINTEXT_BYTES } from './grpc-adapter.js';
import type { KeyManager, KeyManagerEncryptResult } from './key-manager.js';

export interface OpenedKeyManager {
  keyManager: KeyManager;
  /** Closes the key manager (again, if the case closed it already) and removes whatever open() created. */
  cleanup(): Promise<void>;
}

/** The cases, by a short name a backend can cite in `knownDisagreements`. */
export const KEY_MANAGER_CASES = {
  status: 'status is healthy with a non-empty key id, the same on every call',
  encryptKeyId: "encrypt answers with the key id status reports",
  roundTrip1: 'round-trips a 1-byte plaintext with the key id and annotations encrypt returned',
  roundTrip32: 'round-trips a 32-byte seed with the key id and annotations encrypt returned',
  roundTripMax: `round-trips the largest plaintext the plugin passes on (${MAX_PLAINTEXT_BYTES} bytes), or refuses it at encrypt`,
  limits: "encrypt results stay within kube-apiserver's EncryptedObject limits",
  fresh: 'two encryptions of the same plaintext differ',
  bitFlip: 'a ciphertext or annotation with any one bit flipped is refused, never decrypted',
  unknownKeyId: 'decrypt under a key id encrypt never returned is refused',
  aborted: 'an already-aborted signal: encrypt and decrypt reject, status does not claim healthy',
  closeTwice: 'close() twice is safe',
} as const;
export type KeyManagerCase = keyof typeof KEY_MANAGER_CASES;

export interface KeyManagerContractOptions {
  /**
   * Cases this backend is known to fail, with the reason. They still run and report, as `todo`, so a disagreement
   * stays visible without failing the suite; the contract itself is never relaxed.
   */
  knownDisagreements?: Partial<Record<KeyManagerCase, string>>;
  /** Per-case timeout. Default 30 s (SoftHSM and HTTP backends on a loaded machine). */
  timeoutMs?: number;
}

const call = () => ({ uid: 'key-manager-contract', signal: AbortSignal.timeout(20_000) });

export function runKeyManagerContract(name: string, open: () => Promise<OpenedKeyManager>, opts: KeyManagerContractOptions = {}): void {
  const timeout = opts.timeoutMs ?? 30_000;

  /** One case: its own key manager, always cleaned up; a known disagreement runs as todo. */
  const test = (c: KeyManagerCase, fn: (km: KeyManager) => Promise<void>) => {
    const todo = opts.knownDisagreements?.[c];
    void it(KEY_MANAGER_CASES[c], { timeout, ...(todo ? { todo } : {}) }, async () => {
      const opened = await open();
      try {
        await fn(opened.keyManager);
      } finally {
        await opened.cleanup();
      }
    });
  };

  const decrypt = (km: KeyManager, r: KeyManagerEncryptResult, signal?: AbortSignal) =>
    km.decrypt(r.ciphertext, { ...call(), ...(signal ? { signal } : {}), keyId: r.keyId, annotations: r.annotations ?? {} });

  /** A backend may refuse sizes other than a seed's (cases roundTrip1, roundTripMax); a 32-byte seed it must take. */
  const encryptUnlessRefused = (km: KeyManager, size: number) =>
    km.encrypt(randomBytes(size), call()).catch((e: unknown) => {
      if (size === 32) throw e;
      return undefined;
    });

  const roundTrip = async (km: KeyManager, size: number) => {
    const plain = randomBytes(size);
    const r = await km.encrypt(plain, call());
    assert.ok(r.ciphertext.length > 0, 'ciphertext is not empty');
    assert.ok(plain.equals(await decrypt(km, r)), 'decrypt returns the plaintext encrypt was given');
  };

  void describe(`KeyManager contract: ${name}`, () => {
    test('status', async (km) => {
      const first = await km.status(call());
      assert.equal(first.healthy, true, first.reason);
      assert.ok(first.keyId.length > 0, 'key id is not empty');
      for (let i = 0; i < 2; i++) assert.equal((await km.status(call())).keyId, first.keyId);
    });

    test('encryptKeyId', async (km) => {
      const { keyId } = await km.status(call());
      assert.equal((await km.encrypt(randomBytes(32), call())).keyId, keyId);
      assert.equal((await km.status(call())).keyId, keyId, 'encrypting does not move the key id');
    });

    test('roundTrip1', (km) => roundTrip(km, 1));
    test('roundTrip32', (km) => roundTrip(km, 32));

    test('roundTripMax', async (km) => {
      const plain = randomBytes(MAX_PLAINTEXT_BYTES);
      let r: KeyManagerEncryptResult;
      try {
        r = await km.encrypt(plain, call());
      } catch (e) {
        // Refusing is allowed (kube-apiserver only ever sends 32 bytes); answering with something unusable is not.
        assert.ok(e instanceof Error && e.message.length > 0, `a refusal is an Error with a message: ${String(e)}`);
        return;
      }
      assert.ok(plain.equals(await decrypt(km, r)), 'decrypt returns the plaintext encrypt was given');
    });

    test('limits', async (km) => {
      for (const size of [32, MAX_PLAINTEXT_BYTES]) {
        const r = await encryptUnlessRefused(km, size);
        if (!r) continue;
        validateEncryptedObject({
          encryptedData: Buffer.of(0),
          keyId: r.keyId,
          encryptedDekSource: r.ciphertext,
          annotations: r.annotations ?? {},
          encryptedDekSourceType: HKDF_SHA256_XNONCE_AES_GCM_SEED,
        });
      }
    });

    test('fresh', async (km) => {
      const plain = randomBytes(32);
      const [a, b] = [await km.encrypt(plain, call()), await km.encrypt(plain, call())];
      // What kube-apiserver stores of a wrap is the ciphertext and the annotations (multi keeps its copies in the latter).
      const stored = (r: KeyManagerEncryptResult) =>
        Buffer.concat([r.ciphertext, ...Object.keys(r.annotations ?? {}).sort().flatMap((k) => [Buffer.from(k), r.annotations![k]!])]);
      assert.ok(!stored(a).equals(stored(b)), 'the two wrapped results are equal');
    });

    test('bitFlip', async (km) => {
      // 32 bytes is what kube-apiserver sends; 1 byte leaves unused bits in encodings such as base64.
      for (const size of [32, 1]) await refusesEveryBitFlip(km, size);
    });

    const refusesEveryBitFlip = async (km: KeyManager, size: number) => {
      const r = await encryptUnlessRefused(km, size);
      if (!r) return;
      const annotations = r.annotations ?? {};
      for (let i = 0; i < r.ciphertext.length; i++) {
        const bad = Buffer.from(r.ciphertext);
        bad[i] = bad[i]! ^ 0x01;
        await assert.rejects(km.decrypt(bad, { ...call(), keyId: r.keyId, annotations }), Error, `${size}-byte plaintext: ciphertext byte ${i} flipped`);
      }
      for (const [key, value] of Object.entries(annotations)) {
        for (let i = 0; i < value.length; i++) {
          const bad = Buffer.from(value);
          bad[i] = bad[i]! ^ 0x01;
          await assert.rejects(
            km.decrypt(r.ciphertext, { ...call(), keyId: r.keyId, annotations: { ...annotations, [key]: bad } }),
            Error,
            `${size}-byte plaintext: annotation ${key} byte ${i} flipped`,
          );
        }
      }
    };

    test('unknownKeyId', async (km) => {
      const r = await km.encrypt(randomBytes(32), call());
      for (const keyId of [`${r.keyId}0`, r.keyId.slice(0, -1), 'no-such-key']) {
        await assert.rejects(km.decrypt(r.ciphertext, { ...call(), keyId, annotations: r.annotations ?? {} }), Error, `key id ${keyId}`);
      }
    });

    test('aborted', async (km) => {
      const r = await km.encrypt(randomBytes(32), call());
      const ac = new AbortController();
      ac.abort(new Error('contract: aborted before the call'));
      await assert.rejects(km.encrypt(randomBytes(32), { uid: 'aborted', signal: ac.signal }), Error, 'encrypt');
      await assert.rejects(decrypt(km, r, ac.signal), Error, 'decrypt');
      const status = await km.status({ signal: ac.signal }).catch(() => undefined);
      assert.notEqual(status?.healthy, true, 'status with an aborted signal claims healthy');
      // Aborted calls leave the key manager working.
      assert.equal(Buffer.from(await decrypt(km, r)).length, 32);
    });

    test('closeTwice', async (km) => {
      await km.close();
      await km.close();
    });
  });
}
