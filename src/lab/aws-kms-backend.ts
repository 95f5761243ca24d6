// The kms row with the `aws-kms` backend: `coffer kms-plugin` (its own process, configuration on the node's disk) whose
// KEK is a KMS key of the AWS test double (aws-process.ts, its own process, "AWS" being the KMS server's machine).
//
// Two ways the node holds its AWS credentials, both on the node's disk as the disk column defines it:
//   - static: an access key pair in files (aws-access-key-id, aws-secret-access-key);
//   - web identity: a ServiceAccount token file exchanged with STS AssumeRoleWithWebIdentity (IRSA's shape).
// The kms-server take-over is full control of the KMS service: Decrypt with any key, the encryption context being in
// the service's own logs (CloudTrail records it).
import type { ChildProcess } from 'node:child_process';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DecryptCommand, KMSClient } from '@aws-sdk/client-kms';
import { LAB_AWS_REGION, spawnReady, startLabAws } from './aws-process.js';
import { stopChild } from './cleanup.js';
import type { LabKms, LabKmsDirs } from './kms-backend.js';
import { emptyLoot } from './loot.js';

const COFFER_BIN = fileURLToPath(new URL('../../bin/coffer.js', import.meta.url));
export const LAB_AWS_CONTEXT = { cluster: 'coffer-lab' };
const REGION = LAB_AWS_REGION;

export type AwsKmsCredentials = 'static' | 'web-identity';

export async function startAwsLabKms(dirs: LabKmsDirs, credentials: AwsKmsCredentials, opts: { onChild?: (c: ChildProcess) => void } = {}): Promise<LabKms> {
  const awsDir = join(dirs.serverDir, 'aws');
  const aws = await startLabAws(awsDir, opts.onChild);
  const pluginDir = join(dirs.nodeEtc, 'kms-plugin');
  await mkdir(pluginDir, { recursive: true, mode: 0o700 });
  let creds: string;
  if (credentials === 'static') {
    await copyFile(join(awsDir, 'aws-access-key-id'), join(pluginDir, 'aws-access-key-id'));
    await copyFile(join(awsDir, 'aws-secret-access-key'), join(pluginDir, 'aws-secret-access-key'));
    creds = '{type: static, accessKeyIdFile: aws-access-key-id, secretAccessKeyFile: aws-secret-access-key}';
  } else {
    // A projected ServiceAccount token as kubelet writes it for IRSA (subject and audience are what STS checks).
    const claims = { iss: 'https://coffer-lab.invalid', sub: 'system:serviceaccount:kube-system:coffer-kms-plugin', aud: ['sts.amazonaws.com'], exp: Math.floor(Date.now() / 1000) + 86_400 };
    await writeFile(join(pluginDir, 'token'), `eyJhbGciOiJSUzI1NiJ9.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.c2lnbmF0dXJl`, { mode: 0o600 });
    creds = '{type: webIdentity, roleArn: "arn:aws:iam::123456789012:role/coffer-kms", webIdentityTokenFile: token}';
  }
  const endpoint = `unix://${join(dirs.runDir, 'kms.sock')}`;
  const config = join(pluginDir, 'config.yaml');
  await writeFile(
    config,
    `endpoint: ${endpoint}\nhealthListen: 127.0.0.1:0\nbackend:\n  type: aws-kms\n  region: ${REGION}\n  keyId: alias/coffer-kek\n  endpoint: ${aws.endpoint}\n  stsEndpoint: ${aws.endpoint}\n  encryptionContext: {cluster: ${LAB_AWS_CONTEXT.cluster}}\n  credentials: ${creds}\n`,
    { mode: 0o600 },
  );
  const plugin = await spawnReady([COFFER_BIN, 'kms-plugin', '--config', config, '--log-level', 'warn'], /coffer kms-plugin ready endpoint=(\S+)/, 'coffer kms-plugin', opts.onChild);
  return {
    endpoint: plugin.match[1]!,
    describe: `coffer kms-plugin (aws-kms backend, ${credentials === 'static' ? 'static key pair' : 'web identity token'} on the node disk) -> the AWS test double's KMS (not AWS)`,
    placeholder: false,
    async takeOver() {
      const loot = emptyLoot();
      const kms = new KMSClient({ region: REGION, endpoint: aws.endpoint, credentials: await aws.adminCredentials(), maxAttempts: 1 });
      loot.notes.push('full control of the KMS service: Decrypt with its administrator, the encryption context read from its request log');
      loot.oracles.push({
        name: `Decrypt on the KMS service (${aws.endpoint}) as its administrator`,
        async unwrap(o, _provider, signal) {
          const out = await kms.send(new DecryptCommand({ CiphertextBlob: o.encryptedDekSource, EncryptionContext: LAB_AWS_CONTEXT }), { abortSignal: signal }).catch(() => undefined);
          return out?.Plaintext ? Buffer.from(out.Plaintext) : undefined;
        },
      });
      return loot;
    },
    async stop() {
      await stopChild(plugin.child);
      await stopChild(aws.child);
    },
  };
}
