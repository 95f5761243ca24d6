// The KeyManager contract over the local backend: AES-256-GCM with a KEK read from a key file, as `coffer kms-plugin`
// builds it from its config.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { SYSTEM_CLOCK } from '../../lib/clock.js';
import { runKeyManagerContract } from '../key-manager.contract.js';
import { createKeyManager } from '../key-manager-factory.js';

runKeyManagerContract('local', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'coffer-local-contract-'));
  const keyFile = join(dir, 'kek');
  await writeFile(keyFile, randomBytes(32).toString('base64'), { mode: 0o600 });
  const keyManager = await createKeyManager({ type: 'local', keyFiles: [keyFile] }, { logger: pino({ level: 'silent' }), clock: SYSTEM_CLOCK });
  return {
    keyManager,
    async cleanup() {
      await keyManager.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});
