// `coffer rotate` end to end on real `coffer up` processes: local keys aescbc → aesgcm through every stage (SQLite
// store), with the wrong orders refused, Secrets readable after every step, 0 stale and the old key gone at the end;
// and KMS v2 on etcd with a Transit key rotation in coffer keyserver, ending with min_decryption_version raised.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { computeEncryptionConfigHash } from '../src/encryption/encryption-config.js';
import { rotatePrepare, rotatePromote, rotatePrune, rotateReencrypt, rotationStatus, type RotateContext } from '../src/operations/rotate.js';
import { runStatus } from '../src/operations/status.js';
import { startEtcd, type EtcdProcess } from '../src/storage/etcd/testing/etcd-process.js';
import { freePort, startCoffer, until } from './support/processes.js';
import { coffer, configYaml, createSecret, readSecrets, startUpWithConfig, writeConfigAndWait, type RunningUp } from './support/operations.js';
import { KubeClient } from '../src/operations/kube-client.js';

const CANARY = 'rotate-canary-0c4f';

void describe('coffer rotate: aescbc → aesgcm on coffer up (SQLite)', () => {
  let dir: string;
  let up: RunningUp;
  let configFile: string;
  let ctx: RotateContext;
  const expected = new Map<string, string>();
  const source = () => ({ etcdPrefix: '/registry', dataDir: join(dir, 'data') });
  const logs: string[] = [];
  /** The running server has loaded the file as it is now. */
  const serverLoaded = async () => {
    const hash = computeEncryptionConfigHash(await readFile(configFile));
    await until(() => up.child.out().includes(hash), `coffer up to load ${hash}`, 20_000);
  };
  const readable = async () => assert.deepEqual(await readSecrets(up.client), expected, 'every Secret reads');
  const writers = async () => (await runStatus({ source: source(), encryptionConfig: configFile, resources: ['secrets'] })).scan.resources[0]!;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'coffer-ops-rotate-'));
    configFile = join(dir, 'encryption-config.yaml');
    await writeConfigAndWait(undefined, configFile, configYaml([`aescbc: {keys: [{name: old, secret: ${randomBytes(32).toString('base64')}}]}`, 'identity: {}']));
    up = await startUpWithConfig(join(dir, 'data'), configFile);
    for (let i = 0; i < 12; i++) {
      await createSecret(up.client, 'default', `s${i}`, `${CANARY}-${i}`);
      expected.set(`default/s${i}`, `${CANARY}-${i}`);
    }
    ctx = { encryptionConfig: configFile, kubeconfigs: [up.kubeconfig], reloadIntervalMs: 2_000, log: (l) => logs.push(l) };
  });
  after(async () => {
    await up?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  void it('refuses every step but prepare before a rotation starts, saying why and what comes next', async () => {
    const cli = await coffer(['rotate', 'promote', '--encryption-config', configFile, '--kubeconfig', up.kubeconfig]);
    assert.equal(cli.code, 1);
    assert.match(cli.stderr, /cannot promote: the rotation is at stage "start"; no new key has been prepared\. Next step: coffer rotate prepare/);
    await assert.rejects(rotateReencrypt(ctx, { source: source(), qps: 100, concurrency: 2 }), /cannot reencrypt: the rotation is at stage "start"/);
    await assert.rejects(rotatePrune(ctx, { source: source() }), /cannot prune: the rotation is at stage "start"/);
    assert.equal((await rotationStatus(configFile)).stage, 'start');
  });

  void it('prepare: adds the aesgcm key second; repeating is safe; reencrypt and prune are refused', async () => {
    await rotatePrepare(ctx, { resource: 'secrets', type: 'aesgcm', keyName: 'new' });
    const text = await readFile(configFile, 'utf8');
    assert.ok(text.indexOf('aescbc') < text.indexOf('aesgcm'), 'aescbc still first');
    const again = await rotatePrepare(ctx, { resource: 'secrets', type: 'aesgcm', keyName: 'new' });
    assert.equal(again.stage, 'prepared');
    assert.equal(await readFile(configFile, 'utf8'), text, 'a repeat changes nothing');
    await serverLoaded();
    await readable();
    await assert.rejects(rotateReencrypt(ctx, { source: source(), qps: 100, concurrency: 2 }), /cannot reencrypt: the rotation is at stage "prepared"; aesgcm key "new" does not write yet/);
    await assert.rejects(rotatePrune(ctx, { source: source() }), /cannot prune: the rotation is at stage "prepared"/);
    assert.equal((await writers()).stale, 0, 'aescbc still writes, so nothing is stale yet');
  });

  void it('promote: the new key writes; prune still refused while objects are under the old key', async () => {
    await rotatePromote(ctx);
    assert.equal((await rotatePromote(ctx)).stage, 'promoted', 'a repeat is safe');
    await serverLoaded();
    await readable();
    assert.equal((await writers()).stale, 12);
    await assert.rejects(rotatePrune(ctx, { source: source() }), /cannot prune: the rotation is at stage "promoted"; objects may still be stored under aescbc key "old"/);
  });

  void it('reencrypt and prune: 0 stale, the old key gone from the file, Secrets readable', async () => {
    assert.equal((await rotateReencrypt(ctx, { source: source(), qps: 100, concurrency: 2 })).stage, 'reencrypted');
    assert.equal((await rotateReencrypt(ctx, { source: source(), qps: 100, concurrency: 2 })).stage, 'reencrypted', 'a repeat is safe');
    const row = await writers();
    assert.deepEqual(row.byWriter, { 'aesgcm/new': 12 });
    assert.equal(row.stale, 0);
    await readable();
    await rotatePrune(ctx, { source: source() });
    const text = await readFile(configFile, 'utf8');
    assert.ok(!text.includes('aescbc'), 'the old provider and key are removed');
    await serverLoaded();
    await readable();
    const status = await coffer(['rotate', 'status', '--encryption-config', configFile]);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /stage: pruned\nwrites: aesgcm\/new\nrotation: aescbc\/old -> aesgcm\/new\n/);
    assert.equal((await rotatePrune(ctx, { source: source() })).stage, 'pruned', 'a repeat is safe');
    assert.ok(logs.every((l) => !l.includes(CANARY)));
  });
});

void describe('coffer rotate kms-v2: a Transit key rotation behind coffer up on etcd', () => {
  let dir: string;
  let etcd: EtcdProcess;
  let up: Awaited<ReturnType<typeof startCoffer>>['child'];
  let client: KubeClient;
  const dataDir = () => join(dir, 'data');
  const keyDir = () => `${dataDir()}.keys`;
  const expected = new Map<string, string>();

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'coffer-ops-rotate-kms-'));
    etcd = await startEtcd();
    ({ child: up } = await startCoffer(
      ['up', '--data-dir', dataDir(), '--listen', `127.0.0.1:${await freePort()}`, '--store', 'etcd', '--etcd-endpoints', etcd.endpoints.join(','),
        '--kms-v2-status-interval', '1', '--no-controller'],
      /export KUBECONFIG=/,
      'coffer up',
    ));
    client = await KubeClient.fromFile(join(dataDir(), 'kubeconfig'));
    for (let i = 0; i < 8; i++) {
      await createSecret(client, 'default', `k${i}`, `${CANARY}-kms-${i}`);
      expected.set(`default/k${i}`, `${CANARY}-kms-${i}`);
    }
  });
  after(async () => {
    client?.close();
    await up?.stop();
    await etcd?.stop();
    await rm(dir, { recursive: true, force: true });
    await rm(keyDir(), { recursive: true, force: true });
  });

  void it('rotates the KEK, re-encrypts only the stale, raises min_decryption_version; Secrets read throughout', async () => {
    const keyserver = /"keyserver":"([^"]+)"/.exec(up.out())![1]!;
    const config = join(keyDir(), 'encryption-config-kms.yaml');
    const tokenFile = join(keyDir(), 'keyserver-root.token');
    const src = { etcdPrefix: '/registry', etcdEndpoints: etcd.endpoints.join(',') };
    const before = (await runStatus({ source: src, encryptionConfig: config, resources: ['secrets'] })).scan.resources[0]!;
    assert.equal(before.stale, 0);
    // Reads keep working while the rotation runs.
    let reading = true;
    let reads = 0;
    const reader = (async () => {
      while (reading) {
        assert.deepEqual(await readSecrets(client), expected);
        reads++;
      }
    })();
    const r = await coffer(['rotate', 'kms-v2', '--encryption-config', config, '--kubeconfig', join(dataDir(), 'kubeconfig'), '--etcd-endpoints', etcd.endpoints.join(','),
      '--vault-addr', keyserver, '--vault-token-file', tokenFile, '--wait', '120']);
    reading = false;
    await reader;
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /kms-v2 rotation: finished/);
    assert.match(r.stderr, /rotated transit key coffer-kek to version 2/);
    assert.match(r.stderr, /raised min_decryption_version of coffer-kek to 2/);
    assert.ok(reads > 0);
    const after = (await runStatus({ source: src, encryptionConfig: config, resources: ['secrets'] })).scan.resources[0]!;
    assert.equal(after.stale, 0);
    assert.equal(Object.keys(after.byWriter).length, 1, 'one key_id for every Secret');
    assert.notDeepEqual(Object.keys(after.byWriter), Object.keys(before.byWriter), 'a new key_id');
    const token = (await readFile(tokenFile, 'utf8')).trim();
    const key = (await (await fetch(`${keyserver}/v1/transit/keys/coffer-kek`, { headers: { 'X-Vault-Token': token } })).json()) as { data: { min_decryption_version: number; latest_version: number } };
    assert.deepEqual([key.data.min_decryption_version, key.data.latest_version], [2, 2], 'the old KEK version can no longer decrypt');
    assert.deepEqual(await readSecrets(client), expected);
    // A repeat of a finished rotation does nothing.
    const again = await coffer(['rotate', 'kms-v2', '--encryption-config', config, '--kubeconfig', join(dataDir(), 'kubeconfig'), '--etcd-endpoints', etcd.endpoints.join(','),
      '--vault-addr', keyserver, '--vault-token-file', tokenFile]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /the last rotation finished \(transit key version 2\); give --again to rotate once more/);
    // `coffer rotate status` reports the KEK rotation beside the local-key one.
    const status = await coffer(['rotate', 'status', '--encryption-config', config]);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /^kms-v2 rotation: finished \(transit key version 2\)\nkms-v2 next: nothing \(KEK rotation finished; coffer rotate kms-v2 --again starts the next one\)$/m);
  });
});
