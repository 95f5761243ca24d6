// The aws-kms backend with the real AWS SDK against the AWS test double (SigV4 checked): key ids are key ARNs, alias
// re-pointing is a rotation that old data survives, the encryption context is enforced, credentials come from files or
// a web identity token file, errors become precise gRPC codes, throttling is retried, and it works inside `multi`.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import pino from 'pino';
import { startAwsTestServer, type AwsTestServer, type Identity } from '../../lab/aws-test-server/aws-test-server.js';
import { KmsStatusError } from '../../kms/grpc-server.js';
import { FakeClock } from '../../lib/clock.js';
import { DecryptError, NotFoundError } from '../../lib/errors.js';
import { grpcCodeOf } from '../grpc-adapter.js';
import { createKeyManager } from '../key-manager-factory.js';
import { parseKmsPluginConfig, type BackendConfig } from '../plugin-config.js';
import type { AwsKmsBackendConfig } from './aws-kms-config.js';
import { createAwsKmsKeyManager, mapAwsError } from './aws-kms-key-manager.js';
import { MultiKeyManager } from './multi-key-manager.js';

const silent = pino({ level: 'silent' });
const call = () => ({ uid: 'u', signal: AbortSignal.timeout(10_000) });
const noWait = { attempts: 4, baseMs: 1, capMs: 1, random: () => 0 };
const codeOf = async (p: Promise<unknown>) => {
  try {
    await p;
  } catch (e) {
    return grpc.status[grpcCodeOf(e)];
  }
  return 'OK';
};

void describe('aws-kms backend', () => {
  let aws: AwsTestServer;
  let admin: Identity;
  let dir: string;
  let keyArn: string;

  before(async () => {
    aws = await startAwsTestServer();
    admin = aws.addUser('kms-plugin');
    dir = await mkdtemp(join(tmpdir(), 'coffer-aws-kms-'));
    await writeFile(join(dir, 'akid'), `${admin.accessKeyId}\n`);
    await writeFile(join(dir, 'secret'), admin.secretAccessKey, { mode: 0o600 });
    const key = aws.kms.createKey();
    keyArn = key.arn;
    aws.kms.aliases.set('alias/coffer', key.id);
  });
  after(async () => {
    await aws.close();
    await rm(dir, { recursive: true, force: true });
  });

  const config = (over: Partial<AwsKmsBackendConfig> = {}): AwsKmsBackendConfig => ({
    type: 'aws-kms',
    region: aws.region,
    keyId: 'alias/coffer',
    endpoint: aws.endpoint,
    encryptionContext: { cluster: 'test' },
    credentials: { type: 'static', accessKeyIdFile: join(dir, 'akid'), secretAccessKeyFile: join(dir, 'secret') },
    ...over,
  });
  const open = (over: Partial<AwsKmsBackendConfig> = {}) => createAwsKmsKeyManager(config(over), { logger: silent, clock: new FakeClock(), retry: noWait });

  void it('reads its config with every field checked', () => {
    const parse = (backend: object) => parseKmsPluginConfig(JSON.stringify({ endpoint: 'unix:///tmp/k.sock', backend }), { file: '/etc/coffer/plugin.yaml' }).backend;
    assert.deepEqual(parse({ type: 'aws-kms', region: 'eu-west-1', keyId: 'alias/k', credentials: { type: 'static', accessKeyIdFile: 'id', secretAccessKeyFile: '/s' } }), {
      type: 'aws-kms', region: 'eu-west-1', keyId: 'alias/k', encryptionContext: {},
      credentials: { type: 'static', accessKeyIdFile: '/etc/coffer/id', secretAccessKeyFile: '/s' },
    });
    assert.deepEqual((parse({ type: 'aws-kms', region: 'us-east-1', keyId: 'k', credentials: { type: 'webIdentity', roleArn: 'arn:aws:iam::123456789012:role/r', webIdentityTokenFile: '/t' } }) as AwsKmsBackendConfig).credentials,
      { type: 'webIdentity', roleArn: 'arn:aws:iam::123456789012:role/r', roleSessionName: 'coffer-kms-plugin', webIdentityTokenFile: '/t' });
    assert.throws(() => parse({ type: 'aws-kms', region: 'mars', keyId: 'k' }), /backend\.region: must be an AWS region such as "us-east-1", got "mars"/);
    assert.throws(() => parse({ type: 'aws-kms', region: 'us-east-1', keyId: 'has space' }), /backend\.keyId: must be a KMS key ID/);
    assert.throws(() => parse({ type: 'aws-kms', region: 'us-east-1', keyId: 'k', encryptionContext: { a: 1 } }), /backend\.encryptionContext\.a: must map strings to strings/);
    assert.throws(() => parse({ type: 'aws-kms', region: 'us-east-1', keyId: 'k', credentials: { type: 'static', accessKeyId: 'AKIA...' } }), /backend\.credentials\.accessKeyIdFile: required/);
    assert.throws(() => parse({ type: 'aws-kms', region: 'us-east-1', keyId: 'k', endpoint: 'ftp://x' }), /backend\.endpoint: must be an http\(s\) URL/);
    assert.throws(() => parse({ type: 'aws-kms', region: 'us-east-1', keyId: 'k', secretAccessKey: 'x' }), /backend\.secretAccessKey: unknown field/);
  });

  void it('wraps with the encryption context; key_id is the resolved key ARN, not the alias', async () => {
    const km = open();
    const status = await km.status({ signal: AbortSignal.timeout(5000) });
    assert.deepEqual(status, { healthy: true, keyId: keyArn });
    const seed = Buffer.alloc(32, 9);
    const w = await km.encrypt(seed, call());
    assert.equal(w.keyId, keyArn);
    assert.ok(!Buffer.from(w.ciphertext).includes(seed));
    assert.deepEqual(Buffer.from(await km.decrypt(w.ciphertext, { ...call(), keyId: w.keyId, annotations: {} })), seed);
    // Another context (another cluster's plugin) cannot unwrap it.
    const other = open({ encryptionContext: { cluster: 'other' } });
    await assert.rejects(other.decrypt(w.ciphertext, { ...call(), keyId: w.keyId, annotations: {} }), DecryptError);
    await assert.rejects(km.decrypt(w.ciphertext, { ...call(), keyId: 'alias/coffer', annotations: {} }), NotFoundError);
  });

  void it('treats re-pointing the alias as a rotation and still decrypts what the old key wrapped', async () => {
    const km = open();
    const old = await km.encrypt(Buffer.alloc(32, 1), call());
    const next = aws.kms.createKey();
    aws.kms.aliases.set('alias/coffer', next.id);
    try {
      assert.equal((await km.status({ signal: AbortSignal.timeout(5000) })).keyId, next.arn);
      const fresh = await km.encrypt(Buffer.alloc(32, 2), call());
      assert.equal(fresh.keyId, next.arn);
      assert.deepEqual(Buffer.from(await km.decrypt(old.ciphertext, { ...call(), keyId: old.keyId, annotations: {} })), Buffer.alloc(32, 1));
      // A key id that does not match the blob is refused by KMS (IncorrectKeyException), not silently accepted.
      await assert.rejects(km.decrypt(old.ciphertext, { ...call(), keyId: next.arn, annotations: {} }), DecryptError);
    } finally {
      aws.kms.aliases.set('alias/coffer', aws.kms.resolve(keyArn).id);
    }
  });

  void it('maps a disabled key to FAILED_PRECONDITION naming the key, and reports it unhealthy with the last key id', async () => {
    const km = open();
    const w = await km.encrypt(Buffer.alloc(32, 3), call());
    aws.kms.resolve(keyArn).state = 'Disabled';
    try {
      const e = await km.decrypt(w.ciphertext, { ...call(), keyId: w.keyId, annotations: {} }).catch((x: unknown) => x);
      assert.ok(e instanceof KmsStatusError && e.grpcCode === grpc.status.FAILED_PRECONDITION);
      assert.match(e.message, new RegExp(`KMS key ${keyArn} cannot be used \\(DisabledException`));
      const s = await km.status({ signal: AbortSignal.timeout(5000) });
      assert.equal(s.healthy, false);
      assert.equal(s.keyId, keyArn);
      aws.kms.resolve(keyArn).state = 'PendingDeletion';
      assert.equal(await codeOf(km.encrypt(Buffer.alloc(32), call())), 'FAILED_PRECONDITION');
    } finally {
      aws.kms.resolve(keyArn).state = 'Enabled';
    }
  });

  void it('maps AccessDenied to PERMISSION_DENIED, bad credentials to UNAUTHENTICATED, a refused connection to UNAVAILABLE', async () => {
    const user = aws.addUser('no-encrypt');
    aws.deny(user.arn, 'kms:Encrypt');
    await writeFile(join(dir, 'akid2'), user.accessKeyId);
    await writeFile(join(dir, 'secret2'), user.secretAccessKey);
    const denied = open({ credentials: { type: 'static', accessKeyIdFile: join(dir, 'akid2'), secretAccessKeyFile: join(dir, 'secret2') } });
    assert.equal(await codeOf(denied.encrypt(Buffer.alloc(32), call())), 'PERMISSION_DENIED');
    await writeFile(join(dir, 'secret3'), 'wrong-secret');
    const wrong = open({ credentials: { type: 'static', accessKeyIdFile: join(dir, 'akid'), secretAccessKeyFile: join(dir, 'secret3') } });
    assert.equal(await codeOf(wrong.encrypt(Buffer.alloc(32), call())), 'UNAUTHENTICATED');
    const nowhere = open({ endpoint: 'http://127.0.0.1:1' });
    assert.equal(await codeOf(nowhere.encrypt(Buffer.alloc(32), call())), 'UNAVAILABLE');
    assert.equal(await codeOf(open({ keyId: 'alias/missing' }).encrypt(Buffer.alloc(32), call())), 'NOT_FOUND');
    assert.equal(grpc.status[grpcCodeOf(mapAwsError({ name: 'KMSInternalException' }, 'x', 'k'))], 'UNAVAILABLE');
  });

  void it('retries throttling with backoff, and answers RESOURCE_EXHAUSTED when it persists', async () => {
    const km = open();
    const before = aws.calls.filter((c) => c.action === 'kms:Encrypt').length;
    aws.injectFault('kms:Encrypt', 'ThrottlingException', 3);
    const w = await km.encrypt(Buffer.alloc(32, 4), call());
    assert.equal(w.keyId, keyArn);
    assert.equal(aws.calls.filter((c) => c.action === 'kms:Encrypt').length - before, 4, 'three throttled attempts, then success');
    aws.injectFault('kms:Encrypt', 'ThrottlingException', 4);
    assert.equal(await codeOf(km.encrypt(Buffer.alloc(32), call())), 'RESOURCE_EXHAUSTED');
  });

  void it('gets credentials from a web identity token file through STS AssumeRoleWithWebIdentity', async () => {
    const role = 'arn:aws:iam::123456789012:role/coffer-kms';
    aws.roles.set(role, { webIdentity: { subjects: ['system:serviceaccount:kube-system:coffer-kms'], audience: 'sts.amazonaws.com' } });
    const token = `e30.${Buffer.from(JSON.stringify({ sub: 'system:serviceaccount:kube-system:coffer-kms', aud: 'sts.amazonaws.com' })).toString('base64url')}.sig`;
    await writeFile(join(dir, 'token'), token);
    const km = open({ stsEndpoint: aws.endpoint, credentials: { type: 'webIdentity', roleArn: role, roleSessionName: 'coffer', webIdentityTokenFile: join(dir, 'token') } });
    assert.equal((await km.status({ signal: AbortSignal.timeout(5000) })).healthy, true);
    assert.ok(aws.calls.some((c) => c.action === 'kms:Encrypt' && c.principal === 'arn:aws:sts::123456789012:assumed-role/coffer-kms/coffer'));
  });

  void it('works inside multi next to another backend: reads go on while AWS is down', async () => {
    await writeFile(join(dir, 'local.key'), Buffer.alloc(32, 7), { mode: 0o600 });
    const backend: BackendConfig = {
      type: 'multi', decryptOrder: 'priority', writePolicy: 'all', writeQuorum: 2,
      members: [{ name: 'aws', backend: config() }, { name: 'local', backend: { type: 'local', keyFiles: [join(dir, 'local.key')] } }],
    };
    const km = await createKeyManager(backend, { logger: silent, clock: new FakeClock() });
    assert.ok(km instanceof MultiKeyManager);
    const w = await km.encrypt(Buffer.alloc(32, 5), call());
    assert.ok(Object.keys(w.annotations ?? {}).length >= 2);
    await aws.stop();
    try {
      assert.deepEqual(Buffer.from(await km.decrypt(w.ciphertext, { ...call(), keyId: w.keyId, annotations: w.annotations ?? {} })), Buffer.alloc(32, 5));
    } finally {
      await aws.start();
      await km.close();
    }
  });
});
