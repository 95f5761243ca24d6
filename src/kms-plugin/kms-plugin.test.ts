// The plugin end to end: real gRPC over a unix socket with the API server's own clients (src/kms), the HTTP side
// port, status caching, rotation, limits, error codes, and logs that hold no canary.
import * as grpc from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { keyIdHash } from '../kms/kms-v2-encrypted-object.js';
import { KmsCallError } from '../kms/grpc-unary.js';
import { GrpcKmsV1Client } from '../kms/grpc-v1-client.js';
import { GrpcKmsV2Client } from '../kms/grpc-v2-client.js';
import { FakeClock } from '../lib/clock.js';
import { UnavailableError } from '../lib/errors.js';
import { LocalKeyManager } from './backends/local-key-manager.js';
import { startFakeVault, type FakeVault } from './backends/testing/fake-vault-server.js';
import type { KeyManager } from './key-manager.js';
import { startKmsPlugin, type RunningKmsPlugin } from './kms-plugin.js';
import type { BackendConfig, KmsPluginConfig } from './plugin-config.js';
import { ControlledKeyManager } from './testing/controlled-key-manager.js';

function captureLogs() {
  const lines: string[] = [];
  const logger = pino({ level: 'debug' }, { write: (s: string) => void lines.push(s) });
  return { logger, lines, text: () => lines.join('') };
}

const grpcCode = (code: grpc.status) => (e: Error) => {
  if (code === grpc.status.UNAVAILABLE) assert.ok(e instanceof UnavailableError, e.message);
  else {
    assert.ok(e instanceof KmsCallError, e.message);
    assert.equal(grpc.status[e.code], grpc.status[code], e.message);
  }
  return true;
};

void describe('coffer kms-plugin', () => {
  let dir: string;
  let n = 0;
  const k1 = randomBytes(32);
  const k2 = randomBytes(32);
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'coffer-kms-plugin-'));
    await writeFile(join(dir, 'k1'), k1.toString('base64'));
    await writeFile(join(dir, 'k2'), k2);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const config = (backend: BackendConfig, over: Partial<KmsPluginConfig> = {}): KmsPluginConfig => ({
    endpoint: `unix://${join(dir, `kms-${n++}.sock`)}`,
    healthListen: '127.0.0.1:0',
    statusCacheTtlMs: 20_000,
    statusErrorCacheTtlMs: 3000,
    timeoutMs: 2000,
    backend,
    ...over,
  });
  const local = (...files: string[]): BackendConfig => ({ type: 'local', keyFiles: files.map((f) => join(dir, f)) });

  async function withPlugin<T>(
    o: { backend?: BackendConfig; keyManager?: KeyManager; clock?: FakeClock; over?: Partial<KmsPluginConfig>; logger?: pino.Logger },
    fn: (p: RunningKmsPlugin, v2: GrpcKmsV2Client, v1: GrpcKmsV1Client) => Promise<T>,
  ): Promise<T> {
    const p = await startKmsPlugin({
      config: config(o.backend ?? local('k1'), o.over),
      logger: o.logger ?? pino({ level: 'silent' }),
      ...(o.keyManager ? { keyManager: o.keyManager } : {}),
      ...(o.clock ? { clock: o.clock } : {}),
    });
    const v2 = new GrpcKmsV2Client(p.endpoint, { timeoutMs: 3000 });
    const v1 = new GrpcKmsV1Client(p.endpoint, { timeoutMs: 3000 });
    try {
      return await fn(p, v2, v1);
    } finally {
      v2.close();
      v1.close();
      await p.close();
    }
  }

  void it('serves KMS v2 on a 0600 unix socket: Status v2/ok/key id, Encrypt and Decrypt', async () => {
    await withPlugin({}, async (p, v2) => {
      const path = new URL(p.endpoint).pathname;
      assert.equal((await stat(path)).mode & 0o777, 0o600);
      const status = await v2.status();
      assert.equal(status.version, 'v2');
      assert.equal(status.healthz, 'ok');
      assert.match(status.keyId, /^local:sha256:[0-9a-f]{16}$/);
      const seed = randomBytes(32);
      const r = await v2.encrypt(seed, { uid: randomUUID() });
      assert.equal(r.keyId, status.keyId);
      assert.deepEqual(Buffer.from(await v2.decrypt(r.ciphertext, { uid: randomUUID(), keyId: r.keyId, annotations: r.annotations })), seed);
    });
    // Closing removes the socket.
  });

  void it('with callerSecret: stdin, Encrypt and Decrypt answer only callers that send the secret; Status stays open', async () => {
    const secret = randomBytes(32).toString('base64url');
    const stdin = new PassThrough();
    stdin.end(`${secret}\n`);
    const logs = captureLogs();
    const p = await startKmsPlugin({ config: config(local('k1'), { callerSecret: 'stdin' }), logger: logs.logger, stdin });
    const anyone = new GrpcKmsV2Client(p.endpoint, { timeoutMs: 3000 });
    const wrong = new GrpcKmsV2Client(p.endpoint, { timeoutMs: 3000, callerSecret: randomBytes(32).toString('base64url') });
    const anyoneV1 = new GrpcKmsV1Client(p.endpoint, { timeoutMs: 3000 });
    const caller = new GrpcKmsV2Client(p.endpoint, { timeoutMs: 3000, callerSecret: secret });
    try {
      const seed = randomBytes(32);
      const r = await caller.encrypt(seed, { uid: randomUUID() });
      const decryptOpts = { uid: randomUUID(), keyId: r.keyId, annotations: r.annotations };
      assert.deepEqual(Buffer.from(await caller.decrypt(r.ciphertext, decryptOpts)), seed);
      for (const client of [anyone, wrong]) {
        await assert.rejects(client.decrypt(r.ciphertext, decryptOpts), grpcCode(grpc.status.UNAUTHENTICATED));
        await assert.rejects(client.encrypt(seed, { uid: randomUUID() }), grpcCode(grpc.status.UNAUTHENTICATED));
        assert.equal((await client.status()).healthz, 'ok', 'Status needs no secret (coffer rotate and health checks read it)');
      }
      await assert.rejects(anyoneV1.decrypt(Buffer.from('coffer:kms-v1:x')), grpcCode(grpc.status.UNAUTHENTICATED));
      assert.match(await (await fetch(`${p.healthUrl}/metrics`)).text(), /method="v2\/Decrypt".*grpc_code="UNAUTHENTICATED"[^\n]* 2/);
    } finally {
      for (const c of [anyone, wrong, anyoneV1, caller]) c.close();
      await p.close();
    }
    assert.match(logs.text(), /v2\/Decrypt refused: the caller did not send the caller secret/);
    assert.ok(!logs.text().includes(secret), 'the secret is not logged');
  });

  void it('with callerSecret: stdin, refuses to start on a short secret or none, naming the field', async () => {
    const short = new PassThrough();
    short.end('too-short\n');
    await assert.rejects(startKmsPlugin({ config: config(local('k1'), { callerSecret: 'stdin' }), logger: pino({ level: 'silent' }), stdin: short }), /callerSecret.*shorter than 32 characters/);
    const none = new PassThrough();
    none.end();
    await assert.rejects(startKmsPlugin({ config: config(local('k1'), { callerSecret: 'stdin' }), logger: pino({ level: 'silent' }), stdin: none }), /stdin closed before a caller secret arrived/);
  });

  void it('rotation (local, two key files): Status shows the new key id, seeds wrapped by the old key still decrypt', async () => {
    const seed = randomBytes(32);
    const old = await withPlugin({ backend: local('k1') }, async (_p, v2, v1) => ({
      v2: await v2.encrypt(seed, { uid: 'before' }),
      v1: await v1.encrypt(seed),
      keyId: (await v2.status()).keyId,
    }));
    await withPlugin({ backend: local('k2', 'k1') }, async (_p, v2, v1) => {
      const s = await v2.status();
      assert.notEqual(s.keyId, old.keyId);
      assert.equal((await v2.encrypt(seed, { uid: 'after' })).keyId, s.keyId);
      assert.deepEqual(Buffer.from(await v2.decrypt(old.v2.ciphertext, { uid: 'x', keyId: old.v2.keyId, annotations: old.v2.annotations })), seed);
      // KMS v1 has no key id field: the plugin's self-describing ciphertext carries it.
      assert.deepEqual(Buffer.from(await v1.decrypt(old.v1)), seed);
      const fresh = await v1.encrypt(seed);
      assert.deepEqual(Buffer.from(await v1.decrypt(fresh)), seed);
    });
    await withPlugin({ backend: local('k2') }, async (_p, v2, v1) => {
      await assert.rejects(v2.decrypt(old.v2.ciphertext, { uid: 'x', keyId: old.v2.keyId, annotations: {} }), grpcCode(grpc.status.NOT_FOUND));
      await assert.rejects(v1.decrypt(old.v1), grpcCode(grpc.status.NOT_FOUND));
    });
  });

  void it('answers bad requests with INVALID_ARGUMENT / NOT_FOUND and a backend outage with UNAVAILABLE', async () => {
    const controlled = new ControlledKeyManager(new LocalKeyManager([k1]));
    await withPlugin({ keyManager: controlled }, async (_p, v2, v1) => {
      const r = await v2.encrypt(randomBytes(32), { uid: 'u' });
      const dec = (ciphertext: Uint8Array, keyId = r.keyId, annotations: Record<string, Uint8Array> = {}) => v2.decrypt(ciphertext, { uid: 'u', keyId, annotations });
      await assert.rejects(v2.encrypt(new Uint8Array(), { uid: 'u' }), grpcCode(grpc.status.INVALID_ARGUMENT));
      await assert.rejects(v2.encrypt(randomBytes(513), { uid: 'u' }), (e: Error) => grpcCode(grpc.status.INVALID_ARGUMENT)(e) && /513 bytes/.test(e.message));
      await assert.rejects(dec(new Uint8Array()), grpcCode(grpc.status.INVALID_ARGUMENT));
      await assert.rejects(dec(randomBytes(1025)), (e: Error) => grpcCode(grpc.status.INVALID_ARGUMENT)(e) && /1025 bytes, which exceeds the max size of 1024/.test(e.message));
      await assert.rejects(dec(r.ciphertext, ''), grpcCode(grpc.status.INVALID_ARGUMENT));
      await assert.rejects(dec(r.ciphertext, 'k'.repeat(1025)), grpcCode(grpc.status.INVALID_ARGUMENT));
      await assert.rejects(dec(r.ciphertext, 'local:sha256:0000000000000000'), grpcCode(grpc.status.NOT_FOUND));
      const corrupted = Buffer.from(r.ciphertext);
      corrupted[corrupted.length - 1]! ^= 0x80;
      await assert.rejects(dec(corrupted), grpcCode(grpc.status.INVALID_ARGUMENT));
      await assert.rejects(dec(r.ciphertext, r.keyId, { 'Not_FQDN': Buffer.from('1') }), grpcCode(grpc.status.INVALID_ARGUMENT));
      await assert.rejects(dec(r.ciphertext, r.keyId, { 'big.example.com': Buffer.alloc(33 * 1024) }), grpcCode(grpc.status.INVALID_ARGUMENT));
      await assert.rejects(dec(r.ciphertext, r.keyId, { 'extra.example.com': Buffer.from('1') }), grpcCode(grpc.status.INVALID_ARGUMENT));
      await assert.rejects(v1.decrypt(Buffer.from('not ours')), grpcCode(grpc.status.INVALID_ARGUMENT));
      controlled.down = true;
      await assert.rejects(v2.encrypt(randomBytes(32), { uid: 'u' }), grpcCode(grpc.status.UNAVAILABLE));
      await assert.rejects(dec(r.ciphertext), grpcCode(grpc.status.UNAVAILABLE));
    });
  });

  void it('refuses to pass on a backend answer kube-apiserver would reject (limits on output)', async () => {
    const oversized: KeyManager = {
      name: 'oversized',
      status: async () => ({ healthy: true, keyId: 'k1' }),
      encrypt: async (p) =>
        p[0] === 1
          ? { ciphertext: Buffer.alloc(1025), keyId: 'k1' }
          : p[0] === 2
            ? { ciphertext: Buffer.alloc(10), keyId: 'x'.repeat(1025) }
            : { ciphertext: Buffer.alloc(10), keyId: 'k1', annotations: { NOTFQDN: Buffer.from('x') } },
      decrypt: async () => Buffer.alloc(32),
      close: async () => {},
    };
    await withPlugin({ keyManager: oversized }, async (_p, v2) => {
      for (const [first, message] of [[1, /ciphertext is 1025 bytes/], [2, /keyID is 1025 bytes/], [3, /annotations/]] as const) {
        await assert.rejects(v2.encrypt(Buffer.alloc(32, first), { uid: 'u' }), (e: Error) => grpcCode(grpc.status.INTERNAL)(e) && message.test(e.message));
      }
    });
  });

  void it('Status is cached (TTL when healthy, shorter when not), reports a failing backend in healthz with the last key id', async () => {
    const clock = new FakeClock();
    const controlled = new ControlledKeyManager(new LocalKeyManager([k1]));
    await withPlugin({ keyManager: controlled, clock }, async (p, v2) => {
      const first = await v2.status();
      for (let i = 0; i < 5; i++) await v2.status();
      assert.equal(controlled.calls.status, 1, 'one probe at start answers every Status within the TTL');
      await clock.advance(20_001);
      controlled.down = true;
      const s = await v2.status();
      assert.equal(controlled.calls.status, 2);
      assert.match(s.healthz, /^unhealthy: .*backend is down/);
      assert.equal(s.keyId, first.keyId);
      await v2.status();
      assert.equal(controlled.calls.status, 2);
      await clock.advance(3001);
      controlled.down = false;
      assert.equal((await v2.status()).healthz, 'ok');
      assert.equal(controlled.calls.status, 3);
      const metrics = await (await fetch(`${p.healthUrl}/metrics`)).text();
      assert.match(metrics, /coffer_kms_plugin_backend_probes_total\{backend="local",result="healthy"\} 2/);
      assert.match(metrics, /coffer_kms_plugin_operations_total\{method="v2\/Status",backend="local",grpc_code="OK"\} 9/);
    });
  });

  void it('Status with a backend that never answered: UNAVAILABLE (no key id to report)', async () => {
    const controlled = new ControlledKeyManager(new LocalKeyManager([k1]));
    controlled.down = true;
    await withPlugin({ keyManager: controlled }, async (_p, v2) => {
      await assert.rejects(v2.status(), grpcCode(grpc.status.UNAVAILABLE));
    });
  });

  void it('HTTP side port: /livez always ok, /healthz follows the backend, /metrics by method/backend/code with a hashed key id', async () => {
    const clock = new FakeClock();
    const controlled = new ControlledKeyManager(new LocalKeyManager([k1]));
    await withPlugin({ keyManager: controlled, clock }, async (p, v2) => {
      assert.match(p.healthUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.equal((await fetch(`${p.healthUrl}/healthz`)).status, 200);
      const { keyId } = await v2.encrypt(randomBytes(32), { uid: 'u' });
      await assert.rejects(v2.encrypt(new Uint8Array(), { uid: 'u' }));
      controlled.down = true;
      await clock.advance(20_001);
      const h = await fetch(`${p.healthUrl}/healthz`);
      assert.equal(h.status, 503);
      assert.match(await h.text(), /backend is down/);
      const live = await fetch(`${p.healthUrl}/livez`);
      assert.equal(live.status, 200);
      const m = await (await fetch(`${p.healthUrl}/metrics`)).text();
      assert.match(m, /coffer_kms_plugin_operations_total\{method="v2\/Encrypt",backend="local",grpc_code="OK"\} 1/);
      assert.match(m, /coffer_kms_plugin_operations_total\{method="v2\/Encrypt",backend="local",grpc_code="INVALID_ARGUMENT"\} 1/);
      assert.match(m, /coffer_kms_plugin_errors_total\{method="v2\/Encrypt",backend="local",error="InvalidError"\} 1/);
      assert.match(m, /coffer_kms_plugin_operation_duration_seconds_bucket\{le="[^"]+",method="v2\/Encrypt",backend="local"\}/);
      assert.match(m, /coffer_kms_plugin_backend_healthy\{backend="local"\} 0/);
      assert.ok(m.includes(`coffer_kms_plugin_current_key_id{key_id_hash="${keyIdHash(keyId)}",backend="local"} 1`), m);
      assert.ok(!m.includes(keyId));
      assert.equal((await fetch(`${p.healthUrl}/nope`)).status, 404);
    });
  });

  void describe('with vault-transit', () => {
    let vault: FakeVault;
    const canaryToken = `hvs.CANARY${randomBytes(8).toString('hex')}`;
    before(async () => {
      vault = await startFakeVault({ rootToken: canaryToken, keys: ['kms'] });
      await writeFile(join(dir, 'vault-token'), canaryToken);
    });
    after(() => vault.close());
    const vaultBackend = (): BackendConfig => ({
      type: 'vault-transit',
      address: vault.address,
      transitMount: 'transit',
      key: 'kms',
      auth: { type: 'token', tokenFile: join(dir, 'vault-token') },
    });

    void it('rotate in Vault: Encrypt returns the new key id and Status follows at once; old seeds decrypt', async () => {
      await withPlugin({ backend: vaultBackend() }, async (_p, v2) => {
        const before = await v2.status();
        const seed = randomBytes(32);
        const old = await v2.encrypt(seed, { uid: 'u1' });
        vault.rotate('kms');
        const fresh = await v2.encrypt(seed, { uid: 'u2' });
        assert.notEqual(fresh.keyId, before.keyId);
        assert.equal((await v2.status()).keyId, fresh.keyId, 'Encrypt saw the rotation, so the cached Status was refreshed');
        assert.deepEqual(Buffer.from(await v2.decrypt(old.ciphertext, { uid: 'u3', keyId: old.keyId, annotations: {} })), seed);
      });
    });

    void it('logs carry uids and hashed key ids, never plaintext, ciphertext, key ids or the token', async () => {
      const logs = captureLogs();
      const canary = Buffer.from(`CANARY-PLAINTEXT-${randomBytes(6).toString('hex')}`);
      const uid = randomUUID();
      let ciphertext = '';
      let keyId = '';
      await withPlugin({ backend: vaultBackend(), logger: logs.logger }, async (_p, v2, v1) => {
        const r = await v2.encrypt(canary, { uid });
        ciphertext = Buffer.from(r.ciphertext).toString();
        keyId = r.keyId;
        await v2.decrypt(r.ciphertext, { uid, keyId: r.keyId, annotations: {} });
        await v1.decrypt(await v1.encrypt(canary));
        await assert.rejects(v2.decrypt(Buffer.from(`${ciphertext}x`), { uid, keyId: r.keyId, annotations: {} }));
        vault.failWith = 403;
        await assert.rejects(v2.encrypt(canary, { uid }));
        vault.failWith = undefined;
      });
      const text = logs.text();
      assert.ok(text.includes(uid));
      assert.ok(text.includes(keyIdHash(keyId)));
      for (const secret of [canary.toString(), canary.toString('base64'), canary.toString('hex'), canaryToken, ciphertext, ciphertext.split(':')[2]!, keyId]) {
        assert.ok(!text.includes(secret), `logs contain ${secret.slice(0, 12)}...`);
      }
    });
  });

  void it('a multi backend with one member down keeps serving (quorum 1)', async () => {
    const a = new ControlledKeyManager(new LocalKeyManager([k1]), 'local');
    const b = new ControlledKeyManager(new LocalKeyManager([k2]), 'local');
    const { MultiKeyManager } = await import('./backends/multi-key-manager.js');
    const multi = new MultiKeyManager([{ name: 'a', keyManager: a }, { name: 'b', keyManager: b }], { decryptOrder: 'priority', writeQuorum: 1, clock: new FakeClock(), logger: pino({ level: 'silent' }) });
    await withPlugin({ keyManager: multi }, async (p, v2) => {
      const seed = randomBytes(32);
      const r = await v2.encrypt(seed, { uid: 'u' });
      a.down = true;
      p.statusCache.invalidate();
      assert.equal((await v2.status()).healthz, 'ok');
      assert.deepEqual(Buffer.from(await v2.decrypt(r.ciphertext, { uid: 'u', keyId: r.keyId, annotations: r.annotations })), seed);
      const r2 = await v2.encrypt(seed, { uid: 'u' });
      assert.equal(r2.keyId, (await v2.status()).keyId);
    });
  });
});
