// The KeyManager contract over the multi backend with two real members: a local KEK file and a Transit key on a real
// `coffer keyserver` (token auth), built from the config the plugin reads.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before } from 'node:test';
import pino from 'pino';
import { startTestKeyserver, type TestKeyserver } from '../../keyserver/testing/test-keyserver.js';
import { SYSTEM_CLOCK } from '../../lib/clock.js';
import { runKeyManagerContract } from '../key-manager.contract.js';
import { createKeyManager } from '../key-manager-factory.js';

let ks: TestKeyserver;
before(async () => {
  ks = await startTestKeyserver();
  const created = await ks.call('POST', 'transit/keys/kms', { body: {} });
  assert.ok(created.status === 200 || created.status === 204, created.text);
  await writeFile(join(ks.dir, 'token'), ks.rootToken, { mode: 0o600 });
  await writeFile(join(ks.dir, 'kek'), randomBytes(32).toString('base64'), { mode: 0o600 });
});
after(() => ks.dispose());

runKeyManagerContract('multi (local + vault-transit on coffer keyserver)', async () => {
  const keyManager = await createKeyManager(
    {
      type: 'multi',
      decryptOrder: 'priority',
      writeQuorum: 2,
      writePolicy: 'all',
      members: [
        { name: 'disk', backend: { type: 'local', keyFiles: [join(ks.dir, 'kek')] } },
        { name: 'vault', backend: { type: 'vault-transit', address: ks.url, transitMount: 'transit', key: 'kms', auth: { type: 'token', tokenFile: join(ks.dir, 'token') } } },
      ],
    },
    { logger: pino({ level: 'silent' }), clock: SYSTEM_CLOCK, timeoutMs: 10_000 },
  );
  return { keyManager, cleanup: () => keyManager.close() };
}, {
  knownDisagreements: {
    // By design (multi-key-manager.ts): a copy a member cannot unwrap is skipped and the next member's copy is used,
    // so a flipped bit in one member's annotation still decrypts - to the right plaintext, authenticated by the other.
    bitFlip: "a flipped bit in one member's annotation is skipped: the next member's intact copy decrypts",
  },
});
