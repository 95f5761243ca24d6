// The aws-kms backend end to end: `coffer up` (KMS v2, on a real etcd) -> `coffer kms-plugin` (aws-kms, the real AWS
// SDK, static credentials from files) -> the AWS test double (SigV4 checked). An alias re-pointed to a new key is a
// KEK rotation: new writes carry the new key ARN, old Secrets stay readable, and `kubectl replace` moves them; with
// the AWS endpoint not answering, reads from the DEK cache go on, writes fail after the write deadline and then recover.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decodeEncryptedObject } from '../src/kms/kms-v2-encrypted-object.js';
import { openEtcdStore } from '../src/storage/etcd/etcd-store.js';
import { startEtcd, type EtcdProcess } from '../src/storage/etcd/testing/etcd-process.js';
import { startAwsTestServer, type AwsTestServer, type Identity } from '../src/lab/aws-test-server/aws-test-server.js';
import { freePort, run, runWithInput, startCoffer, until, type CofferChild } from './support/processes.js';

const PREFIX = 'k8s:enc:kms:v2:aws:';
const CANARY = 'aws-kms-e2e-canary-c41b';
const b64 = (s: string) => Buffer.from(s).toString('base64');

void describe('KMS plugin end to end: aws-kms backend against the AWS test server', () => {
  let dir: string;
  let etcd: EtcdProcess;
  let aws: AwsTestServer;
  let user: Identity;
  let plugin: CofferChild;
  let server: CofferChild | undefined;
  let port: number;
  let firstKey: string;
  const kubectlArgs = () => ['--kubeconfig', join(dir, 'data', 'kubeconfig'), '--cache-dir', join(dir, 'kube-cache')];
  const kubectl = async (...args: string[]) => (await run('kubectl', [...kubectlArgs(), ...args])).stdout;
  const valueOf = async (name: string) => (JSON.parse(await kubectl('get', 'secret', name, '-o', 'json')) as { data: { value: string } }).data.value;
  const create = (name: string) => kubectl('create', 'secret', 'generic', name, `--from-literal=value=${CANARY}`);

  async function keyIds(): Promise<Map<string, string>> {
    const store = await openEtcdStore({ endpoints: etcd.endpoints });
    try {
      const { kvs } = await store.list('/registry/secrets/');
      return new Map(
        kvs.map((kv) => {
          const value = Buffer.from(kv.value);
          assert.equal(value.subarray(0, PREFIX.length).toString('latin1'), PREFIX);
          assert.ok(!value.includes(CANARY) && !value.includes(b64(CANARY)));
          return [kv.key.replace('/registry/secrets/default/', ''), decodeEncryptedObject(value.subarray(PREFIX.length)).keyId];
        }),
      );
    } finally {
      await store.close();
    }
  }

  async function startServer(): Promise<void> {
    ({ child: server } = await startCoffer(
      ['up', '--data-dir', join(dir, 'data'), '--listen', `127.0.0.1:${port}`, '--store', 'etcd', '--etcd-endpoints', etcd.endpoints.join(','),
        '--encryption-config', join(dir, 'enc.yaml'), '--kms-v2-status-interval', '1', '--kms-v2-write-ttl', '4'],
      /export KUBECONFIG=/,
      'coffer up',
    ));
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'coffer-e2e-aws-kms-'));
    etcd = await startEtcd();
    aws = await startAwsTestServer();
    user = aws.addUser('coffer-kms-plugin');
    const key = aws.kms.createKey('coffer KEK');
    firstKey = key.arn;
    aws.kms.aliases.set('alias/coffer-kek', key.id);
    await writeFile(join(dir, 'aws-access-key-id'), user.accessKeyId, { mode: 0o600 });
    await writeFile(join(dir, 'aws-secret-access-key'), user.secretAccessKey, { mode: 0o600 });
    port = await freePort();
    const endpoint = `unix://${join(dir, 'kms.sock')}`;
    await writeFile(
      join(dir, 'plugin.yaml'),
      [
        `endpoint: ${endpoint}`, 'healthListen: 127.0.0.1:0', 'statusCacheTtl: 500ms', 'statusErrorCacheTtl: 500ms', 'timeout: 5s',
        'backend:', '  type: aws-kms', `  region: ${aws.region}`, '  keyId: alias/coffer-kek', `  endpoint: ${aws.endpoint}`,
        '  encryptionContext: {cluster: e2e}',
        '  credentials: {type: static, accessKeyIdFile: aws-access-key-id, secretAccessKeyFile: aws-secret-access-key}', '',
      ].join('\n'),
    );
    ({ child: plugin } = await startCoffer(['kms-plugin', '--config', join(dir, 'plugin.yaml')], /coffer kms-plugin ready/, 'coffer kms-plugin'));
    await writeFile(
      join(dir, 'enc.yaml'),
      `apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n  - resources: [secrets]\n    providers:\n      - kms: {apiVersion: v2, name: aws, endpoint: "${endpoint}", timeout: 3s}\n`,
    );
    await startServer();
  });
  after(async () => {
    await server?.stop();
    await plugin?.stop();
    await aws?.close();
    await etcd?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  void it('stores Secrets as KMS v2 envelopes whose key_id is the key ARN behind the alias', async () => {
    await create('first');
    assert.equal((await keyIds()).get('first'), firstKey);
    assert.equal(await valueOf('first'), b64(CANARY));
    assert.ok(aws.calls.some((c) => c.action === 'kms:Encrypt' && c.ok && c.principal === user.arn));
  });

  void it('re-pointing the alias rotates: old Secrets read, kubectl replace moves them to the new key_id', async () => {
    const next = aws.kms.createKey('coffer KEK 2');
    aws.kms.aliases.set('alias/coffer-kek', next.id);
    let n = 0;
    await until(async () => {
      await create(`after-rotation-${++n}`);
      return (await keyIds()).get(`after-rotation-${n}`) === next.arn;
    }, 'a write with the new key ARN as key_id', 30_000);
    assert.equal(await valueOf('first'), b64(CANARY));
    await runWithInput('kubectl', [...kubectlArgs(), 'replace', '-f', '-'], await kubectl('get', 'secrets', '-o', 'json'));
    for (const [name, id] of await keyIds()) assert.equal(id, next.arn, `${name} was re-encrypted under the new key`);
    // Nothing needs the old key now: disable it and read everything with a fresh API server (no DEK cache).
    aws.kms.resolve(firstKey).state = 'Disabled';
    await server!.stop();
    await startServer();
    for (const name of (await keyIds()).keys()) assert.equal(await valueOf(name), b64(CANARY), `${name} reads without the old key`);
  });

  void it('with AWS not answering: cached reads go on, writes fail after the write deadline, and recover', async () => {
    // Like a SIGSTOPped server or a dead network path (test/e2e-kms.test.ts stops the key server the same way): calls
    // hang until the plugin's deadline, so kube-apiserver's Status calls time out and the write deadline runs out.
    aws.freeze();
    try {
      await until(async () => {
        try {
          await create(`outage-${Date.now()}`);
          return false;
        } catch (e) {
          const stderr = (e as { stderr: string }).stderr;
          assert.match(stderr, /unable to transform key .*expired at/);
          assert.ok(!stderr.includes(CANARY), 'the error names no secret');
          return true;
        }
      }, 'writes to be refused', 30_000);
      assert.equal(await valueOf('first'), b64(CANARY), 'cached reads go on');
    } finally {
      aws.thaw();
    }
    await until(async () => {
      try {
        await create('after-outage');
        return true;
      } catch {
        return false;
      }
    }, 'writes to work again', 30_000);
    assert.equal(await valueOf('after-outage'), b64(CANARY));
  });

  void it('logs no canary and no AWS secret', () => {
    const logs = plugin.out() + (server?.out() ?? '');
    for (const s of [CANARY, b64(CANARY), user.secretAccessKey]) assert.ok(!logs.includes(s));
  });
});
