// `coffer recover` of a real etcd snapshot written by a real `coffer up`: every Secret comes back with equal data, the
// YAML applies with kubectl to a fresh `coffer up`, files are 0600 in 0700 directories, a non-empty output directory
// is refused, and what cannot be decrypted is reported with its reason (missing key, KMS unreachable, tampered).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { encodeEncryptedObject, HKDF_SHA256_XNONCE_AES_GCM_SEED } from '../src/kms/kms-v2-encrypted-object.js';
import { recover } from '../src/operations/recover.js';
import { openEtcdStore } from '../src/storage/etcd/etcd-store.js';
import { startEtcd, type EtcdProcess } from '../src/storage/etcd/testing/etcd-process.js';
import { run } from './support/processes.js';
import { coffer, configYaml, createNamespace, createSecret, startUpWithConfig, writeConfigAndWait, type RunningUp } from './support/operations.js';

const exec = promisify(execFile);
const CANARY = 'recover-canary-61aa';
type SecretJson = { metadata: { name: string; namespace: string; labels?: Record<string, string> }; data: Record<string, string>; type: string };

async function walk(dir: string): Promise<{ path: string; dir: boolean }[]> {
  const out: { path: string; dir: boolean }[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, e.name);
    out.push({ path, dir: e.isDirectory() });
    if (e.isDirectory()) out.push(...(await walk(path)));
  }
  return out;
}

void describe('coffer recover of an etcd snapshot, applied with kubectl to a fresh coffer up', () => {
  let dir: string;
  let etcd: EtcdProcess;
  let up: RunningUp;
  let fresh: RunningUp | undefined;
  let configFile: string;
  let recoverConfig: string;
  const original = new Map<string, SecretJson>();
  const out = () => join(dir, 'recovered');

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'coffer-ops-recover-'));
    etcd = await startEtcd();
    configFile = join(dir, 'encryption-config.yaml');
    const gcm = `aesgcm: {keys: [{name: k1, secret: ${randomBytes(32).toString('base64')}}]}`;
    await writeConfigAndWait(undefined, configFile, configYaml([gcm, 'identity: {}']));
    // The backup's configuration as the operator kept it, with a KMS v2 provider whose plugin is gone.
    recoverConfig = join(dir, 'recover-config.yaml');
    await writeFile(recoverConfig, configYaml([gcm, 'identity: {}', `kms: {apiVersion: v2, name: lost, endpoint: "unix://${join(dir, 'gone.sock')}"}`]));
    up = await startUpWithConfig(join(dir, 'data'), configFile, ['--store', 'etcd', '--etcd-endpoints', etcd.endpoints.join(',')]);
    for (const ns of ['team-a', 'team-b']) await createNamespace(up.client, ns);
    for (let i = 0; i < 9; i++) await createSecret(up.client, ['default', 'team-a', 'team-b'][i % 3]!, `s${i}`, `${CANARY}-${i}`);
    await up.client.json('POST', '/api/v1/namespaces/team-a/secrets', {
      apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/basic-auth',
      metadata: { name: 'binary', namespace: 'team-a', labels: { app: 'db' }, annotations: { note: 'kept' } },
      data: { username: Buffer.from('admin').toString('base64'), password: randomBytes(40).toString('base64') },
    });
    await up.client.json('POST', '/api/v1/namespaces/team-b/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings', namespace: 'team-b' }, data: { mode: 'on' } });
    const list = await up.client.json<{ items: SecretJson[] }>('GET', '/api/v1/secrets');
    for (const s of list.items) original.set(`${s.metadata.namespace}/${s.metadata.name}`, s);
    assert.equal(original.size, 10);

    // Three values no key of the backup's configuration can read, for the report.
    const store = await openEtcdStore({ endpoints: etcd.endpoints });
    try {
      const good = (await store.get('/registry/secrets/default/s0')).kv!.value;
      const tampered = Buffer.from(good);
      tampered[tampered.length - 5]! ^= 1;
      await store.create('/registry/secrets/default/tampered', tampered);
      await store.create('/registry/secrets/default/old-key', Buffer.concat([Buffer.from('k8s:enc:aescbc:v1:retired:'), randomBytes(48)]));
      const eo = encodeEncryptedObject({ encryptedData: randomBytes(40), keyId: 'key-1', encryptedDekSource: randomBytes(32), annotations: {}, encryptedDekSourceType: HKDF_SHA256_XNONCE_AES_GCM_SEED });
      await store.create('/registry/secrets/default/kms-gone', Buffer.concat([Buffer.from('k8s:enc:kms:v2:lost:'), eo]));
    } finally {
      await store.close();
    }
    await run('etcdctl', ['--endpoints', etcd.endpoints[0]!, 'snapshot', 'save', join(dir, 'backup.db')], { env: { ...process.env, ETCDCTL_API: '3' } });
    // The cluster is gone.
    await up.stop();
    await etcd.stop();
  });
  after(async () => {
    await fresh?.stop();
    await up?.stop();
    await etcd?.stop();
    await rm(dir, { recursive: true, force: true });
    await rm(`${join(dir, 'fresh')}.keys`, { recursive: true, force: true });
  });

  void it('writes one private YAML file per object and reports what it could not decrypt, and why', async () => {
    const r = await coffer(['recover', '--snapshot', join(dir, 'backup.db'), '--encryption-config', recoverConfig, '--output', out()]);
    assert.equal(r.code, 1, 'some objects could not be recovered');
    assert.match(r.stdout, /^failed \/registry\/secrets\/default\/tampered: tampered: aesgcm\/k1: /m);
    assert.match(r.stdout, /^failed \/registry\/secrets\/default\/old-key: missing-key: the configuration has no provider or key for aescbc\/retired$/m);
    assert.match(r.stdout, /^failed \/registry\/secrets\/default\/kms-gone: kms-unreachable: /m);
    assert.match(r.stdout, /could not be recovered\n {2}(\w|-)+: 1\n/);
    assert.ok(!r.stdout.includes(CANARY) && !r.stderr.includes(CANARY));
    assert.equal(await readFile(join(out(), 'recover-report.txt'), 'utf8'), r.stdout);
    for (const e of await walk(out())) assert.equal((await stat(e.path)).mode & 0o777, e.dir ? 0o700 : 0o600, e.path);
    assert.equal((await stat(out())).mode & 0o777, 0o700);
    const yaml = await readFile(join(out(), 'team-a', 'secret', 'binary.yaml'), 'utf8');
    assert.doesNotMatch(yaml, /resourceVersion|uid:|creationTimestamp|managedFields/);
  });

  void it('refuses to write into a non-empty output directory', async () => {
    await assert.rejects(recover({ source: { etcdPrefix: '/registry', snapshot: join(dir, 'backup.db') }, encryptionConfig: recoverConfig, output: out() }), /--output: output directory .* is not empty/);
  });

  void it('applies with kubectl to a fresh coffer up, every Secret with equal data', async () => {
    fresh = await startUpWithConfig(join(dir, 'fresh'), configFile);
    const kubectl = (...args: string[]) => exec('kubectl', ['--kubeconfig', fresh!.kubeconfig, '--cache-dir', join(dir, 'kube-cache'), ...args]);
    await kubectl('apply', '-R', '-f', join(out(), '_cluster'));
    await kubectl('apply', '-R', '-f', out());
    const list = JSON.parse((await kubectl('get', 'secrets', '-A', '-o', 'json')).stdout) as { items: SecretJson[] };
    const restored = new Map(list.items.map((s) => [`${s.metadata.namespace}/${s.metadata.name}`, s]));
    assert.deepEqual([...restored.keys()].sort(), [...original.keys()].sort());
    for (const [id, s] of original) {
      assert.deepEqual(restored.get(id)!.data, s.data, id);
      assert.equal(restored.get(id)!.type, s.type);
      assert.deepEqual(restored.get(id)!.metadata.labels, s.metadata.labels);
    }
    const cm = JSON.parse((await kubectl('get', 'configmap', 'settings', '-n', 'team-b', '-o', 'json')).stdout) as { data: Record<string, string> };
    assert.deepEqual(cm.data, { mode: 'on' });
  });
});
