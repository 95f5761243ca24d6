// The vault-transit backend against Coffer's own key server (in process, real HTTP): AppRole login with the minimal
// KMS policy (docs/kms-plugin.md), then KMS v2 over gRPC through a Transit key rotation.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { startTestKeyserver, type TestKeyserver } from '../../keyserver/testing/test-keyserver.js';
import { GrpcKmsV2Client } from '../../kms/grpc-v2-client.js';
import { startKmsPlugin } from '../kms-plugin.js';
import { parseVaultTransitKeyId } from './vault-transit-key-manager.js';

void describe('vault-transit backend against coffer keyserver', () => {
  let ks: TestKeyserver;
  before(async () => {
    ks = await startTestKeyserver();
    const ok = (r: { status: number; text: string }) => assert.ok(r.status === 200 || r.status === 204, r.text);
    ok(await ks.call('POST', 'transit/keys/kms', { body: {} }));
    ok(await ks.call('PUT', 'sys/policies/acl/kms', {
      body: { policy: 'path "transit/encrypt/kms" { capabilities = ["update"] }\npath "transit/decrypt/kms" { capabilities = ["update"] }\npath "transit/keys/kms" { capabilities = ["read"] }\n' },
    }));
    ok(await ks.call('POST', 'auth/approle/role/kms-plugin', { body: { token_policies: ['kms'], token_ttl: '1h' } }));
    const roleId = (await ks.call('GET', 'auth/approle/role/kms-plugin/role-id')).body.data.role_id as string;
    const secretId = (await ks.call('POST', 'auth/approle/role/kms-plugin/secret-id', { body: {} })).body.data.secret_id as string;
    await writeFile(join(ks.dir, 'role-id'), roleId);
    await writeFile(join(ks.dir, 'secret-id'), secretId);
  });
  after(() => ks.dispose());

  void it('AppRole login, Status/Encrypt/Decrypt over gRPC, rotation keeps old seeds decrypting', async () => {
    const plugin = await startKmsPlugin({
      logger: pino({ level: 'silent' }),
      config: {
        endpoint: `unix://${join(ks.dir, 'kms.sock')}`,
        healthListen: '127.0.0.1:0',
        statusCacheTtlMs: 20_000,
        statusErrorCacheTtlMs: 3000,
        timeoutMs: 3000,
        backend: {
          type: 'vault-transit',
          address: ks.url,
          transitMount: 'transit',
          key: 'kms',
          auth: { type: 'approle', mount: 'approle', roleIdFile: join(ks.dir, 'role-id'), secretIdFile: join(ks.dir, 'secret-id') },
        },
      },
    });
    const client = new GrpcKmsV2Client(plugin.endpoint, { timeoutMs: 3000 });
    try {
      const s1 = await client.status();
      assert.equal(s1.healthz, 'ok', s1.healthz);
      assert.equal(parseVaultTransitKeyId(s1.keyId)?.version, 1);
      const seed = randomBytes(32);
      const old = await client.encrypt(seed, { uid: 'u1' });
      assert.equal(old.keyId, s1.keyId);
      assert.match(Buffer.from(old.ciphertext).toString(), /^vault:v1:/);
      const rotated = await ks.call('POST', 'transit/keys/kms/rotate', { body: {} });
      assert.ok(rotated.status === 200 || rotated.status === 204, rotated.text);
      const fresh = await client.encrypt(seed, { uid: 'u2' });
      assert.equal(parseVaultTransitKeyId(fresh.keyId)?.version, 2);
      assert.equal((await client.status()).keyId, fresh.keyId);
      assert.deepEqual(Buffer.from(await client.decrypt(old.ciphertext, { uid: 'u3', keyId: old.keyId, annotations: {} })), seed);
      assert.deepEqual(Buffer.from(await client.decrypt(fresh.ciphertext, { uid: 'u4', keyId: fresh.keyId, annotations: {} })), seed);
    } finally {
      client.close();
      await plugin.close();
    }
  });
});

void describe('wrapped-token auth against coffer keyserver', () => {
  let ks: TestKeyserver;
  before(async () => {
    ks = await startTestKeyserver();
    assert.ok([200, 204].includes((await ks.call('POST', 'transit/keys/kms', { body: {} })).status));
    const policy = 'path "transit/encrypt/kms" { capabilities = ["update"] }\npath "transit/decrypt/kms" { capabilities = ["update"] }\npath "transit/keys/kms" { capabilities = ["read"] }\n';
    assert.equal((await ks.call('PUT', 'sys/policies/acl/kms', { body: { policy } })).status, 204);
  });
  after(() => ks.dispose());

  /** What `coffer up`'s supervisor does at each plugin start: a bound periodic token, returned only wrapped. */
  const mint = async () => {
    const r = await ks.call('POST', 'auth/token/create', {
      body: { policies: ['kms'], period: '20m', bound_cidrs: ['127.0.0.1/32'], display_name: 'kms-plugin' },
      headers: { 'X-Vault-Wrap-TTL': '60s' },
    });
    assert.equal(r.status, 200, r.text);
    return r.body.wrap_info as { token: string; wrapped_accessor: string };
  };

  void it('unwraps the token from stdin once, serves with it from memory, and reports a lost token', async () => {
    const { createKeyManager } = await import('../key-manager-factory.js');
    const { PassThrough } = await import('node:stream');
    const { SYSTEM_CLOCK } = await import('../../lib/clock.js');
    const info = await mint();
    const stdin = new PassThrough();
    let lost = 0;
    const km = await createKeyManager(
      { type: 'vault-transit', address: ks.url, transitMount: 'transit', key: 'kms', auth: { type: 'wrapped-token' } },
      { logger: pino({ level: 'silent' }), clock: SYSTEM_CLOCK, timeoutMs: 3000, stdin, onCredentialLost: () => lost++ },
    );
    try {
      stdin.write(`${info.token}\n`);
      const signal = AbortSignal.timeout(5000);
      assert.equal((await km.status({ signal })).healthy, true);
      const wrapped = await km.encrypt(randomBytes(32), { uid: 'u', signal });
      assert.match(Buffer.from(wrapped.ciphertext).toString(), /^vault:v1:/);
      // The wrapping token was spent by the plugin: an interceptor replaying it learns nothing.
      const replay = await ks.call('PUT', 'sys/wrapping/unwrap', { token: info.token });
      assert.deepEqual(replay.body.errors, ['wrapping token is not valid or does not exist']);
      // Revoked behind its back: the plugin cannot log in again by itself and says so.
      assert.equal((await ks.call('POST', 'auth/token/revoke-accessor', { body: { accessor: info.wrapped_accessor } })).status, 204);
      await assert.rejects(km.status({ signal: AbortSignal.timeout(5000) }), /wrapping token on stdin is gone/);
      assert.equal(lost, 1);
    } finally {
      await km.close();
    }
  });

  void it('fails clearly when stdin closes without a token or carries a used one', async () => {
    const { readFirstLine } = await import('../../lib/vault/vault-auth.js');
    const { PassThrough } = await import('node:stream');
    const closed = new PassThrough();
    closed.end();
    await assert.rejects(readFirstLine(closed, { maxBytes: 100, timeoutMs: 5000 }), /stdin closed before a wrapping token arrived/);
    const long = new PassThrough();
    long.write('x'.repeat(200));
    await assert.rejects(readFirstLine(long, { maxBytes: 100, timeoutMs: 5000 }), /no line within 100 bytes/);
  });

  void it('leaves what follows the first line for the next reader (a caller secret and a wrapping token in one write)', async () => {
    const { readFirstLine } = await import('../../lib/vault/vault-auth.js');
    const { PassThrough } = await import('node:stream');
    const both = new PassThrough();
    both.write('first-line\r\nsecond-line\nthird');
    const o = { maxBytes: 100, timeoutMs: 5000 };
    assert.equal((await readFirstLine(both, o)).toString(), 'first-line');
    assert.equal((await readFirstLine(both, o)).toString(), 'second-line');
    both.end('-line\n');
    assert.equal((await readFirstLine(both, o)).toString(), 'third-line');
  });
});
