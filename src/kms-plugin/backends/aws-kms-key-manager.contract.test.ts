// The KeyManager contract over the aws-kms backend: the real AWS SDK v3 against the AWS test server (SigV4 checked),
// the key addressed by an alias and an encryption context, as in production.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import pino from 'pino';
import { startAwsTestServer, type AwsTestServer } from '../../lab/aws-test-server/aws-test-server.js';
import { SYSTEM_CLOCK } from '../../lib/clock.js';
import { runKeyManagerContract } from '../key-manager.contract.js';
import { createKeyManager } from '../key-manager-factory.js';

let aws: AwsTestServer;
let dir: string;
before(async () => {
  aws = await startAwsTestServer();
  const user = aws.addUser('kms-plugin');
  dir = await mkdtemp(join(tmpdir(), 'coffer-aws-kms-contract-'));
  await writeFile(join(dir, 'akid'), `${user.accessKeyId}\n`);
  await writeFile(join(dir, 'secret'), user.secretAccessKey, { mode: 0o600 });
  aws.kms.aliases.set('alias/coffer', aws.kms.createKey().id);
});
after(async () => {
  await aws.close();
  await rm(dir, { recursive: true, force: true });
});

runKeyManagerContract('aws-kms on the AWS test server', async () => {
  const keyManager = await createKeyManager(
    {
      type: 'aws-kms',
      region: aws.region,
      keyId: 'alias/coffer',
      endpoint: aws.endpoint,
      encryptionContext: { cluster: 'contract' },
      credentials: { type: 'static', accessKeyIdFile: join(dir, 'akid'), secretAccessKeyFile: join(dir, 'secret') },
    },
    { logger: pino({ level: 'silent' }), clock: SYSTEM_CLOCK },
  );
  return { keyManager, cleanup: () => keyManager.close() };
});
