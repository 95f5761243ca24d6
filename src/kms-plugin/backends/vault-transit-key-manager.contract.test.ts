// The KeyManager contract over the vault-transit backend against a real `coffer keyserver` (in process, real HTTP):
// AppRole login with the minimal KMS policy of docs/kms-plugin.md, then Transit encrypt/decrypt.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before } from 'node:test';
import pino from 'pino';
import { startTestKeyserver, type TestKeyserver } from '../../keyserver/testing/test-keyserver.js';
import { SYSTEM_CLOCK } from '../../lib/clock.js';
import { runKeyManagerContract } from '../key-manager.contract.js';
import { createKeyManager } from '../key-manager-factory.js';

const POLICY = 'path "transit/encrypt/kms" { capabilities = ["update"] }\npath "transit/decrypt/kms" { capabilities = ["update"] }\npath "transit/keys/kms" { capabilities = ["read"] }\n';

let ks: TestKeyserver;
before(async () => {
  ks = await startTestKeyserver();
  const ok = (r: { status: number; text: string }) => assert.ok(r.status === 200 || r.status === 204, r.text);
  ok(await ks.call('POST', 'transit/keys/kms', { body: {} }));
  ok(await ks.call('PUT', 'sys/policies/acl/kms', { body: { policy: POLICY } }));
  ok(await ks.call('POST', 'auth/approle/role/kms-plugin', { body: { token_policies: ['kms'], token_ttl: '1h' } }));
  const roleId = (await ks.call('GET', 'auth/approle/role/kms-plugin/role-id')).body.data.role_id as string;
  const secretId = (await ks.call('POST', 'auth/approle/role/kms-plugin/secret-id', { body: {} })).body.data.secret_id as string;
  await writeFile(join(ks.dir, 'role-id'), roleId);
  await writeFile(join(ks.dir, 'secret-id'), secretId, { mode: 0o600 });
});
after(() => ks.dispose());

runKeyManagerContract('vault-transit on coffer keyserver', async () => {
  const keyManager = await createKeyManager(
    {
      type: 'vault-transit',
      address: ks.url,
      transitMount: 'transit',
      key: 'kms',
      auth: { type: 'approle', mount: 'approle', roleIdFile: join(ks.dir, 'role-id'), secretIdFile: join(ks.dir, 'secret-id') },
    },
    { logger: pino({ level: 'silent' }), clock: SYSTEM_CLOCK, timeoutMs: 10_000 },
  );
  return { keyManager, cleanup: () => keyManager.close() };
});
