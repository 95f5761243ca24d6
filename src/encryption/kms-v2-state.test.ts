import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeClock } from '../lib/clock.js';
import { UnavailableError } from '../lib/errors.js';
import { AesGcmExtendedNonceTransformer } from './aes-gcm-extended-nonce.js';
import { decryptCacheKey, HKDF_SHA256_XNONCE_AES_GCM_SEED } from '../kms/kms-v2-encrypted-object.js';
import { formatRfc3339, KmsV2State, SharedDekSource, type KmsV2StateOptions } from './kms-v2-state.js';
import { FakeKmsV2Service } from './testing/fake-kms.js';
import { contextForKey } from './transformer.js';

const MIN = 60_000;
const isZero = (b: Uint8Array): boolean => b.every((x) => x === 0);

async function primed(opts: Partial<KmsV2StateOptions> = {}, fake = new FakeKmsV2Service()) {
  const clock = new FakeClock();
  const state = new KmsV2State(fake, { name: 'p', clock, ...opts });
  await state.prime();
  return { state, fake, clock };
}

function notHealthy(detail: RegExp | string): (e: unknown) => boolean {
  return (e) =>
    e instanceof UnavailableError &&
    e.message.startsWith('kmsv2 Provider p is not healthy, error: ') &&
    (typeof detail === 'string' ? e.message.endsWith(detail) : detail.test(e.message));
}

void describe('SharedDekSource', () => {
  void it('wipes the key when the last holder releases it, not before', async () => {
    const seed = Buffer.alloc(32, 7);
    const source = new SharedDekSource(new AesGcmExtendedNonceTransformer(seed));
    source.retain().retain();
    const ctx = contextForKey('/k');
    const stored = await source.transformer.toStorage(Buffer.from('x'), ctx);
    source.release();
    assert.equal(source.destroyed, false);
    await source.transformer.fromStorage(stored, ctx);
    source.release();
    assert.equal(source.destroyed, true);
    await assert.rejects(source.transformer.fromStorage(stored, ctx)); // the seed is zeros now
    assert.throws(() => source.retain());
  });
});

void describe('KMS v2 state: priming and the Status loop (k8s.io/apiserver pkg/server/options/encryptionconfig/config.go primeAndProbeKMSv2)', () => {
  void it('primes inline: one Status, one Encrypt of a fresh 32-byte seed, writable for 3 minutes', async () => {
    const { state, fake, clock } = await primed();
    assert.deepEqual(fake.calls, { status: 1, encrypt: 1, decrypt: 0 });
    const s = state.current();
    assert.equal(s.keyId, '1');
    assert.equal(s.encryptedDekSourceType, HKDF_SHA256_XNONCE_AES_GCM_SEED);
    assert.equal(s.expiresAt, clock.now() + 3 * MIN);
    assert.equal(fake.encryptPlaintexts[0]!.length, 32);
    // The buffer handed to the plugin is wiped; the transformer keeps its own copy.
    assert.ok(isZero(fake.encryptPlaintexts[0]!));
    assert.equal(Buffer.from(s.encryptedDekSource).length, 44);
    assert.equal(s.cacheKey, decryptCacheKey(s));
    assert.equal(s.source?.destroyed, false);
    await state.healthCheck();
    state.close();
  });

  void it('polls Status every 60 s while healthy, keeping the seed and extending the deadline', async () => {
    const { state, fake, clock } = await primed();
    const first = state.current();
    await clock.advance(MIN - 1);
    assert.equal(fake.calls.status, 1);
    await clock.advance(1);
    assert.equal(fake.calls.status, 2);
    assert.equal(fake.calls.encrypt, 1);
    const next = state.current();
    assert.equal(next.source, first.source);
    assert.equal(next.expiresAt, clock.now() + 3 * MIN);
    state.close();
  });

  void it('makes a new seed when the key ID changes, and wipes the old one that nothing else holds', async () => {
    const { state, fake, clock } = await primed();
    const old = state.current();
    fake.keyId = '2';
    await clock.advance(MIN);
    assert.equal(fake.calls.encrypt, 2);
    const now = state.current();
    assert.equal(now.keyId, '2');
    assert.notEqual(now.source, old.source);
    assert.equal(old.source?.destroyed, true);
    assert.notEqual(now.cacheKey, old.cacheKey);
    state.close();
    assert.equal(now.source?.destroyed, true);
  });

  void it('keeps the old state when Encrypt answers with another key ID, and reports it', async () => {
    const { state, fake, clock } = await primed();
    const before = state.current();
    fake.keyId = '2';
    fake.encryptKeyId = '3';
    await clock.advance(MIN);
    assert.equal(fake.calls.encrypt, 2);
    assert.equal(state.current(), before); // not replaced, deadline not extended
    assert.equal(fake.encryptPlaintexts[1]!.every((b) => b === 0), true);
    await assert.rejects(
      state.healthCheck(),
      notHealthy(/failed to rotate DEK uid="[0-9a-f-]{36}", errGen=the key ID of Encrypt differs from the key ID of Status, statusKeyIDHash="sha256:d4735e3a[0-9a-f]{56}", encryptKeyIDHash="sha256:4e07408562[0-9a-f]{54}", stateKeyIDHash="sha256:6b86b273[0-9a-f]{56}", expirationTimestamp=2026-01-01T00:03:00Z$/),
    );
    state.close();
  });

  void it('keeps the old state when the Encrypt response fails validation', async () => {
    const { state, fake, clock } = await primed();
    const before = state.current();
    fake.keyId = '2';
    fake.annotations = { com: Buffer.from('x') };
    await clock.advance(MIN);
    assert.equal(state.current(), before);
    await assert.rejects(state.healthCheck(), notHealthy(/errGen=failed to validate annotations: annotations: Invalid value: "com"/));
    state.close();
  });

  void it('reports healthz != "ok" as unhealthy but still rotates while the key ID is valid', async () => {
    const { state, fake, clock } = await primed();
    fake.healthz = 'degraded';
    fake.keyId = '2';
    await clock.advance(MIN);
    assert.equal(state.current().keyId, '2');
    await assert.rejects(state.healthCheck(), notHealthy('got unexpected healthz status: degraded'));
    // Failing probes are retried after 10 s rather than 60 s.
    await clock.advance(10_000);
    assert.equal(fake.calls.status, 3);
    state.close();
  });

  void it('refuses a bad or changed version, still rotating', async () => {
    const { state, fake, clock } = await primed();
    fake.version = 'v2beta1';
    await clock.advance(MIN);
    await assert.rejects(
      state.healthCheck(),
      notHealthy('KMSv2 API version should not change after the initial status response version v2, got v2beta1'),
    );
    fake.version = 'v1';
    fake.keyId = '2';
    await clock.advance(10_000);
    await assert.rejects(state.healthCheck(), notHealthy('expected KMSv2 API version v2, got v1'));
    assert.equal(state.current().keyId, '2');
    fake.version = 'v2';
    await clock.advance(10_000);
    await state.healthCheck();
    state.close();
  });

  void it('does not rotate on an invalid Status key ID, and aggregates the errors', async () => {
    const { state, fake, clock } = await primed();
    const before = state.current();
    fake.keyId = '';
    fake.healthz = 'bad';
    await clock.advance(MIN);
    assert.equal(fake.calls.encrypt, 1);
    assert.equal(state.current(), before);
    await assert.rejects(
      state.healthCheck(),
      notHealthy('[got unexpected healthz status: bad, got invalid KMSv2 KeyID hash "": keyID is empty]'),
    );
    fake.keyId = 'k'.repeat(1025);
    fake.healthz = 'ok';
    await clock.advance(10_000);
    await assert.rejects(state.healthCheck(), notHealthy(/got invalid KMSv2 KeyID hash "sha256:[0-9a-f]{64}": keyID is 1025 bytes, which exceeds the max size of 1024$/));
    state.close();
  });

  void it('reports a failing Status call with upstream message', async () => {
    const fake = new FakeKmsV2Service();
    fake.statusError = new Error('connection refused');
    const { state } = await primed({}, fake);
    await assert.rejects(
      state.healthCheck(),
      (e) =>
        e instanceof UnavailableError &&
        e.message === 'failed to perform status section of the healthz check for KMS Provider p, error: connection refused',
    );
    state.close();
  });
});

void describe('KMS v2 state: plugin down at start', () => {
  void it('is not ready, says why, and recovers at the 10 s retry', async () => {
    const fake = new FakeKmsV2Service();
    fake.statusError = new Error('connection refused');
    const { state, clock } = await primed({}, fake);
    assert.throws(
      () => state.current(),
      (e) =>
        e instanceof UnavailableError &&
        e.message ===
          'kmsv2 provider p is not ready: the plugin has not yet answered a valid Status and Encrypt ' +
            '(last probe failed: failed to perform status section of the healthz check for KMS Provider p, error: connection refused)',
    );
    fake.statusError = undefined;
    await clock.advance(9_999);
    assert.throws(() => state.current());
    await clock.advance(1);
    assert.equal(state.current().keyId, '1');
    await state.healthCheck();
    // Healthy again: back to 60 s.
    await clock.advance(59_999);
    assert.equal(fake.calls.status, 2);
    await clock.advance(1);
    assert.equal(fake.calls.status, 3);
    state.close();
  });

  void it('is not ready when Encrypt fails at start', async () => {
    const fake = new FakeKmsV2Service();
    fake.encryptError = new Error('kek missing');
    const { state } = await primed({}, fake);
    assert.throws(() => state.current(), /last probe failed: kmsv2 Provider p is not healthy, error: failed to rotate DEK .*errGen=failed to encrypt DEK, error: kek missing/);
    state.close();
  });
});

void describe('KMS v2 state: health-check caching (k8s.io/apiserver pkg/server/options/encryptionconfig/config.go)', () => {
  void it('reuses an OK result for 20 s and a failure for 3 s', async () => {
    const { state, fake, clock } = await primed();
    await state.healthCheck();
    await clock.advance(19_999);
    await state.healthCheck();
    assert.equal(fake.calls.status, 1);
    await clock.advance(1);
    fake.statusError = new Error('x');
    await assert.rejects(state.healthCheck());
    assert.equal(fake.calls.status, 2);
    fake.statusError = undefined;
    await clock.advance(2_999);
    await assert.rejects(state.healthCheck());
    assert.equal(fake.calls.status, 2);
    await clock.advance(1);
    await state.healthCheck();
    assert.equal(fake.calls.status, 3);
    state.close();
  });

  void it('shares one probe between concurrent callers', async () => {
    const fake = new FakeKmsV2Service();
    const state = new KmsV2State(fake, { name: 'p', clock: new FakeClock() });
    await Promise.all([state.healthCheck(), state.healthCheck(), state.prime()]);
    assert.equal(fake.calls.status, 1);
    assert.equal(fake.calls.encrypt, 1);
    state.close();
  });
});

void describe('KMS v2 state: expiry, close, no-DEK-cache mode', () => {
  void it('keeps the last deadline (3 min after the last good Status) while the plugin is down', async () => {
    const { state, fake, clock } = await primed();
    const start = clock.now();
    await clock.advance(MIN); // good Status at 1:00
    fake.statusError = new Error('down');
    await clock.advance(5 * MIN);
    assert.equal(state.current().expiresAt, start + 4 * MIN);
    assert.equal(formatRfc3339(state.current().expiresAt), '2026-01-01T00:04:00Z');
    // What /metrics exports (coffer_kmsv2_write_deadline_timestamp_seconds) for the dashboard's time left.
    assert.equal(state.writeDeadline, start + 4 * MIN);
    state.close();
    const never = new KmsV2State(Object.assign(new FakeKmsV2Service(), { statusError: new Error('down') }), { name: 'p', clock: new FakeClock() });
    await never.prime();
    assert.equal(never.writeDeadline, undefined, 'no deadline before a good Status');
    never.close();
  });

  void it('close() stops the loop and leaves no timer running', async () => {
    const { state, fake, clock } = await primed();
    state.close();
    await clock.advance(60 * MIN);
    assert.equal(fake.calls.status, 1);
    assert.throws(() => state.current(), /kmsv2 provider p is closed/);
    await state.prime(); // no restart after close
    assert.equal(fake.calls.status, 1);
  });

  void it('in no-DEK-cache mode tracks key ID and deadline without any seed', async () => {
    const { state, fake, clock } = await primed({ noDekCache: true });
    assert.equal(fake.calls.encrypt, 0);
    const s = state.current();
    assert.equal(s.source, undefined);
    assert.equal(s.keyId, '1');
    fake.keyId = '2';
    await clock.advance(MIN);
    assert.equal(state.current().keyId, '2');
    assert.equal(fake.calls.encrypt, 0);
    state.close();
  });
});
