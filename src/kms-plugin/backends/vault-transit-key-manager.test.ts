// The vault-transit backend against an in-test fake Vault that answers with Vault's documented transit JSON shapes.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { FakeClock } from '../../lib/clock.js';
import { DecryptError, InvalidError, NotFoundError, UnavailableError } from '../../lib/errors.js';
import type { VaultTransitBackendConfig } from '../plugin-config.js';
import { startFakeVault, type FakeVault } from './testing/fake-vault-server.js';
import { createVaultTransitKeyManager, parseVaultTransitKeyId, type VaultTransitKeyManager } from './vault-transit-key-manager.js';

const silent = pino({ level: 'silent' });
const signal = () => AbortSignal.timeout(5000);
const call = () => ({ uid: 'test-uid', signal: signal() });

/** Timer callbacks fired by FakeClock start real HTTP requests; wait (in real time) for their effect. */
async function eventually(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

void describe('vault-transit backend', () => {
  let vault: FakeVault;
  let dir: string;
  before(async () => {
    vault = await startFakeVault({ rootToken: 'root-token', keys: ['kms'] });
    dir = await mkdtemp(join(tmpdir(), 'coffer-vault-transit-'));
    await writeFile(join(dir, 'token'), 'root-token\n');
    await writeFile(join(dir, 'role-id'), 'role-1');
    await writeFile(join(dir, 'secret-id'), 'secret-1\n');
  });
  after(async () => {
    await vault.close();
    await rm(dir, { recursive: true, force: true });
  });

  const tokenConfig = (over: Partial<VaultTransitBackendConfig> = {}): VaultTransitBackendConfig => ({
    type: 'vault-transit',
    address: vault.address,
    transitMount: 'transit',
    key: 'kms',
    auth: { type: 'token', tokenFile: join(dir, 'token') },
    ...over,
  });
  const open = (cfg: VaultTransitBackendConfig, clock = new FakeClock()) =>
    createVaultTransitKeyManager(cfg, { logger: silent, clock, timeoutMs: 2000 });

  void it('wraps and unwraps a DEK; key id names mount, key, version and its creation time', async () => {
    const km = await open(tokenConfig());
    try {
      const status = await km.status({ signal: signal() });
      assert.equal(status.healthy, true);
      const id = parseVaultTransitKeyId(status.keyId);
      assert.equal(id?.keyPath, 'transit/kms');
      const dek = Buffer.alloc(32, 5);
      const r = await km.encrypt(dek, call());
      assert.equal(r.keyId, status.keyId);
      assert.match(Buffer.from(r.ciphertext).toString(), /^vault:v\d+:/);
      assert.equal(r.annotations, undefined);
      assert.deepEqual(Buffer.from(await km.decrypt(r.ciphertext, { ...call(), keyId: r.keyId, annotations: {} })), dek);
    } finally {
      await km.close();
    }
  });

  void it('after rotate: a new key id, and DEKs wrapped by the old version still unwrap', async () => {
    const km = await open(tokenConfig());
    try {
      const dek = Buffer.alloc(32, 1);
      const old = await km.encrypt(dek, call());
      vault.rotate('kms');
      const fresh = await km.encrypt(dek, call());
      assert.notEqual(fresh.keyId, old.keyId);
      assert.equal((await km.status({ signal: signal() })).keyId, fresh.keyId);
      assert.equal(parseVaultTransitKeyId(fresh.keyId)!.version, parseVaultTransitKeyId(old.keyId)!.version + 1);
      assert.deepEqual(Buffer.from(await km.decrypt(old.ciphertext, { ...call(), keyId: old.keyId, annotations: {} })), dek);
      assert.deepEqual(Buffer.from(await km.decrypt(fresh.ciphertext, { ...call(), keyId: fresh.keyId, annotations: {} })), dek);
    } finally {
      await km.close();
    }
  });

  void it('refuses key ids of other keys, a version mismatch, corrupted ciphertext and annotations', async () => {
    const km = await open(tokenConfig());
    try {
      const r = await km.encrypt(Buffer.alloc(32, 2), call());
      const ct = Buffer.from(r.ciphertext).toString();
      await assert.rejects(km.decrypt(r.ciphertext, { ...call(), keyId: 'vault-transit:transit/other:v1', annotations: {} }), NotFoundError);
      await assert.rejects(km.decrypt(r.ciphertext, { ...call(), keyId: 'local:sha256:00', annotations: {} }), NotFoundError);
      const wrongVersion = r.keyId.replace(/:v(\d+)/, (_m, v: string) => `:v${Number(v) + 7}`);
      await assert.rejects(km.decrypt(r.ciphertext, { ...call(), keyId: wrongVersion, annotations: {} }), InvalidError);
      const flipped = ct.slice(0, -6) + (ct.at(-6) === 'A' ? 'B' : 'A') + ct.slice(-5);
      await assert.rejects(km.decrypt(Buffer.from(flipped), { ...call(), keyId: r.keyId, annotations: {} }), (e: Error) => {
        assert.ok(e instanceof DecryptError);
        assert.match(e.message, /message authentication failed/);
        return true;
      });
      await assert.rejects(km.decrypt(Buffer.from('garbage'), { ...call(), keyId: r.keyId, annotations: {} }), DecryptError);
      await assert.rejects(km.decrypt(r.ciphertext, { ...call(), keyId: r.keyId, annotations: { 'a.example.com': Buffer.from('x') } }), InvalidError);
    } finally {
      await km.close();
    }
  });

  void it('notices a key deleted and re-created under the same name (its ids are never reused)', async () => {
    vault.createKey('recreated');
    const km = await open(tokenConfig({ key: 'recreated' }));
    try {
      const r = await km.encrypt(Buffer.alloc(32, 3), call());
      vault.deleteKey('recreated');
      vault.createKey('recreated');
      const s = await km.status({ signal: signal() });
      assert.notEqual(s.keyId, r.keyId);
      await assert.rejects(km.decrypt(r.ciphertext, { ...call(), keyId: r.keyId, annotations: {} }), /deleted and re-created/);
    } finally {
      await km.close();
    }
  });

  void it('reports Vault down as UnavailableError, and a too-old version as a decrypt refusal', async () => {
    vault.createKey('old');
    const km = await open(tokenConfig({ key: 'old' }));
    try {
      const r = await km.encrypt(Buffer.alloc(32, 4), call());
      vault.rotate('old');
      vault.setMinDecryptionVersion('old', 2);
      await assert.rejects(km.decrypt(r.ciphertext, { ...call(), keyId: r.keyId, annotations: {} }), /too old/);
      vault.failWith = 503;
      await assert.rejects(km.status({ signal: signal() }), UnavailableError);
      await assert.rejects(km.encrypt(Buffer.alloc(32), call()), UnavailableError);
    } finally {
      vault.failWith = undefined;
      await km.close();
    }
  });

  void it('says the key is missing, and is unhealthy when the token is refused', async () => {
    const missing = await open(tokenConfig({ key: 'nope' }));
    await assert.rejects(missing.status({ signal: signal() }), /does not exist/);
    await missing.close();
    await writeFile(join(dir, 'bad-token'), 'not-a-token');
    const km = await open(tokenConfig({ auth: { type: 'token', tokenFile: join(dir, 'bad-token') } }));
    try {
      await assert.rejects(km.status({ signal: signal() }), /HTTP 403/);
      // The token file is re-read when it changes: fixing it fixes the plugin without a restart.
      await writeFile(join(dir, 'bad-token'), 'root-token');
      assert.equal((await km.status({ signal: signal() })).healthy, true);
    } finally {
      await km.close();
    }
  });

  void it('renews a renewable token from the token file once half its TTL is gone; leaves root tokens alone', async () => {
    vault.tokens.set('periodic-token', { leaseSeconds: 3600, renewable: true, ttlLeft: 3000 });
    await writeFile(join(dir, 'periodic'), 'periodic-token');
    const clock = new FakeClock();
    const km = await open(tokenConfig({ auth: { type: 'token', tokenFile: join(dir, 'periodic') } }), clock);
    const renewals = () => vault.calls.filter((c) => c === 'PUT auth/token/renew-self').length;
    const lookups = () => vault.calls.filter((c) => c === 'GET auth/token/lookup-self').length;
    try {
      const [r0, l0] = [renewals(), lookups()];
      await clock.advance(60_000);
      await eventually(() => lookups() === l0 + 1, 'a lookup-self');
      assert.equal(renewals(), r0, 'more than half the TTL left: no renewal');
      vault.tokens.get('periodic-token')!.ttlLeft = 1000;
      await clock.advance(60_000);
      await eventually(() => renewals() === r0 + 1, 'a renew-self');
    } finally {
      await km.close();
    }
  });

  void it('sends the namespace header', async () => {
    const km = await open(tokenConfig({ namespace: 'team-a' }));
    try {
      const s = await km.status({ signal: signal() });
      assert.equal(vault.lastHeaders['x-vault-namespace'], 'team-a');
      assert.equal(parseVaultTransitKeyId(s.keyId)?.keyPath, 'team-a/transit/kms');
    } finally {
      await km.close();
    }
  });

  void describe('AppRole', () => {
    const approleConfig = () =>
      tokenConfig({ auth: { type: 'approle', mount: 'approle', roleIdFile: join(dir, 'role-id'), secretIdFile: join(dir, 'secret-id') } });

    void it('logs in, renews before the lease ends, logs in again when renewal fails or the token is refused, revokes on close', async () => {
      const clock = new FakeClock();
      vault.approle.leaseSeconds = 60;
      vault.calls.length = 0;
      const km: VaultTransitKeyManager = await open(approleConfig(), clock);
      try {
        assert.equal((await km.status({ signal: signal() })).healthy, true);
        assert.equal(vault.calls.filter((c) => c === 'PUT auth/approle/login').length, 1);
        await clock.advance(41_000); // 2/3 of 60 s
        await eventually(() => vault.calls.filter((c) => c === 'PUT auth/token/renew-self').length === 1, 'one renew-self');
        // The token is revoked behind the plugin's back: the next call gets 403, logs in again, and succeeds.
        for (const [t, info] of vault.tokens) if (info.leaseSeconds === 60) vault.tokens.delete(t);
        assert.equal((await km.status({ signal: signal() })).healthy, true);
        assert.equal(vault.calls.filter((c) => c === 'PUT auth/approle/login').length, 2);
        // Renewal refused (not renewable any more): a fresh login replaces the token.
        for (const info of vault.tokens.values()) info.renewable = false;
        await clock.advance(41_000);
        await eventually(() => vault.calls.filter((c) => c === 'PUT auth/approle/login').length === 3, 'a third login');
      } finally {
        await km.close();
      }
      assert.ok(vault.calls.includes('PUT auth/token/revoke-self'));
    });

    void it('fails with Vault\'s message when the secret id is wrong', async () => {
      await writeFile(join(dir, 'secret-id-bad'), 'wrong');
      const km = await open(tokenConfig({ auth: { type: 'approle', mount: 'approle', roleIdFile: join(dir, 'role-id'), secretIdFile: join(dir, 'secret-id-bad') } }));
      try {
        await assert.rejects(km.status({ signal: signal() }), (e: Error) => {
          assert.match(e.message, /invalid role or secret ID/);
          assert.ok(!e.message.includes('wrong'));
          return true;
        });
      } finally {
        await km.close();
      }
    });
  });
});
