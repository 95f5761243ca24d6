// `npm run bench -- kms` (AWS part): the KMS plugin with the `aws-kms` backend, in this process, against the AWS test
// double: v2 Encrypt and Decrypt RPCs per second over the plugin's unix socket (32-byte seed, 16 in flight, encryption
// context on), each as a ratio to a bare SDK call (KMSClient Encrypt / Decrypt with the same context and credentials)
// against the same test server. The ratio is what the plugin adds: gRPC, validation, metrics, logging, error mapping.
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DecryptCommand, EncryptCommand, KMSClient } from '@aws-sdk/client-kms';
import pino from 'pino';
import { GrpcKmsV2Client } from '../src/kms/grpc-v2-client.js';
import { startKmsPlugin } from '../src/kms-plugin/kms-plugin.js';
import { startAwsTestServer } from '../src/lab/aws-test-server/aws-test-server.js';

const CONCURRENCY = 16;
const MS = 1000;
const ROUNDS = 3;
const CONTEXT = { cluster: 'bench' };

async function rate(op: () => Promise<unknown>, ms: number): Promise<number> {
  let done = 0;
  const start = performance.now();
  const end = start + ms;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (performance.now() < end) {
      await op();
      done++;
    }
  }));
  return (done * 1000) / (performance.now() - start);
}

/** Interleaved rounds (drift hits every op alike); the median rate of each op. */
async function interleaved(ops: (() => Promise<unknown>)[]): Promise<number[]> {
  for (const op of ops) await rate(op, 100);
  const samples: number[][] = ops.map(() => []);
  for (let r = 0; r < ROUNDS; r++) for (const [i, op] of ops.entries()) samples[i]!.push(await rate(op, MS));
  return samples.map((s) => [...s].sort((a, b) => a - b)[Math.floor(s.length / 2)]!);
}

export async function run(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'coffer-bench-kms-aws-'));
  const aws = await startAwsTestServer();
  try {
    const user = aws.addUser('kms-plugin');
    const key = aws.kms.createKey();
    aws.kms.aliases.set('alias/coffer', key.id);
    await writeFile(join(dir, 'id'), user.accessKeyId, { mode: 0o600 });
    await writeFile(join(dir, 'secret'), user.secretAccessKey, { mode: 0o600 });
    const plugin = await startKmsPlugin({
      logger: pino({ level: 'silent' }),
      config: {
        endpoint: `unix://${join(dir, 'kms.sock')}`, healthListen: '127.0.0.1:0', statusCacheTtlMs: 20_000, statusErrorCacheTtlMs: 3000, timeoutMs: 3000,
        backend: { type: 'aws-kms', region: aws.region, keyId: 'alias/coffer', endpoint: aws.endpoint, encryptionContext: CONTEXT, credentials: { type: 'static', accessKeyIdFile: join(dir, 'id'), secretAccessKeyFile: join(dir, 'secret') } },
      },
    });
    const client = new GrpcKmsV2Client(plugin.endpoint, { timeoutMs: 3000 });
    const sdk = new KMSClient({ region: aws.region, endpoint: aws.endpoint, credentials: { accessKeyId: user.accessKeyId, secretAccessKey: user.secretAccessKey }, maxAttempts: 1 });
    try {
      const seed = randomBytes(32);
      const wrapped = await client.encrypt(seed, { uid: randomUUID() });
      const blob = (await sdk.send(new EncryptCommand({ KeyId: 'alias/coffer', Plaintext: seed, EncryptionContext: CONTEXT }))).CiphertextBlob!;
      const [sdkEnc, pluginEnc, sdkDec, pluginDec] = await interleaved([
        () => sdk.send(new EncryptCommand({ KeyId: 'alias/coffer', Plaintext: seed, EncryptionContext: CONTEXT })),
        () => client.encrypt(seed, { uid: randomUUID() }),
        () => sdk.send(new DecryptCommand({ CiphertextBlob: blob, KeyId: key.arn, EncryptionContext: CONTEXT })),
        () => client.decrypt(wrapped.ciphertext, { uid: randomUUID(), keyId: wrapped.keyId, annotations: wrapped.annotations }),
      ]);
      console.log(`\n## KMS plugin, aws-kms backend → AWS test server (in process), 32-byte seed, ${CONCURRENCY} in flight\n`);
      console.log('| case | ops/s | baseline | baseline ops/s | ratio |');
      console.log('|---|---:|---|---:|---:|');
      console.log(`| aws-kms: v2 Encrypt | ${pluginEnc!.toFixed(0)} | bare SDK KMS Encrypt | ${sdkEnc!.toFixed(0)} | ${(pluginEnc! / sdkEnc!).toFixed(3)} |`);
      console.log(`| aws-kms: v2 Decrypt | ${pluginDec!.toFixed(0)} | bare SDK KMS Decrypt | ${sdkDec!.toFixed(0)} | ${(pluginDec! / sdkDec!).toFixed(3)} |`);
    } finally {
      client.close();
      sdk.destroy();
      await plugin.close();
    }
  } finally {
    await aws.close();
    await rm(dir, { recursive: true, force: true });
  }
}
