// `coffer encryption status` and `coffer audit` on a real etcd holding values that a real `coffer up` wrote under each
// provider (identity, aescbc, aesgcm, secretbox, KMS v1 and KMS v2 through a real `coffer kms-plugin`), plus one value
// with a prefix no provider writes: exact counts; the same answer from a snapshot of that etcd; a custom --etcd-prefix.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { openEtcdStore } from '../src/storage/etcd/etcd-store.js';
import { startEtcd, type EtcdProcess } from '../src/storage/etcd/testing/etcd-process.js';
import type { SourceFlags } from '../src/operations/open-source.js';
import { runStatus } from '../src/operations/status.js';
import { failingFindings, parseFailOn } from '../src/operations/status-report.js';
import type { CofferChild } from './support/processes.js';
import { coffer, configYaml, createSecret, startLocalKmsPlugin, startUpWithConfig, writeConfigAndWait, type RunningUp } from './support/operations.js';

const run = promisify(execFile);
const CANARY = 'status-canary-5d1e';
const key = () => randomBytes(32).toString('base64');
const COUNTS = { identity: 2, aescbc: 3, aesgcm: 2, secretbox: 1, kmsv1: 1, kmsv2: 2 } as const;
type Provider = keyof typeof COUNTS;

interface StatusJson {
  total: number;
  resources: { resource: string; total: number; byWriter: Record<string, number>; plaintext: number; unknown: number; stale: number | null }[];
  health?: { rules: { writes: string; readsOnly: string[] }[]; kmsV2: { keyIdHash?: string; healthz: string }[]; agree?: boolean };
}

void describe('encryption status and audit on a real etcd written by coffer up under every provider', () => {
  let dir: string;
  let etcd: EtcdProcess;
  let plugin: CofferChild;
  let up: RunningUp;
  let configFile: string;
  let endpoint: string;
  let health: string;
  const providers: Record<Provider, string> = {} as Record<Provider, string>;
  const order = (first: Provider) => [first, ...(Object.keys(COUNTS) as Provider[]).filter((p) => p !== first)].map((p) => providers[p]);

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'coffer-ops-status-'));
    etcd = await startEtcd();
    const kek = join(dir, 'kek');
    await writeFile(kek, randomBytes(32), { mode: 0o600 });
    ({ child: plugin, endpoint, health } = await startLocalKmsPlugin(dir, kek));
    Object.assign(providers, {
      identity: 'identity: {}',
      aescbc: `aescbc: {keys: [{name: cbc1, secret: ${key()}}]}`,
      aesgcm: `aesgcm: {keys: [{name: gcm1, secret: ${key()}}]}`,
      secretbox: `secretbox: {keys: [{name: box1, secret: ${key()}}]}`,
      kmsv1: `kms: {name: v1p, endpoint: "${endpoint}", cachesize: 100}`,
      kmsv2: `kms: {apiVersion: v2, name: v2p, endpoint: "${endpoint}"}`,
    });
    configFile = join(dir, 'encryption-config.yaml');
    await writeConfigAndWait(undefined, configFile, configYaml(order('identity')));
    up = await startUpWithConfig(join(dir, 'data'), configFile, ['--store', 'etcd', '--etcd-endpoints', etcd.endpoints.join(','), '--kms-v2-status-interval', '1']);
    // Each provider in turn writes; the others stay in the list so everything written earlier still reads.
    for (const p of Object.keys(COUNTS) as Provider[]) {
      await writeConfigAndWait(up, configFile, configYaml(order(p)));
      for (let i = 0; i < COUNTS[p]; i++) await createSecret(up.client, 'default', `${p}-${i}`, `${CANARY}-${p}-${i}`);
    }
    const store = await openEtcdStore({ endpoints: etcd.endpoints });
    try {
      await store.create('/registry/secrets/default/foreign', Buffer.from('k8s:enc:vendorx:v1:opaque-bytes'));
    } finally {
      await store.close();
    }
  });
  after(async () => {
    await up?.stop();
    await plugin?.stop();
    await etcd?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  /** The command itself once (CLI start-up is slow on a loaded machine); the same code in-process otherwise. */
  async function status(args: Partial<SourceFlags> & { kubeconfig?: string; kmsHealthUrl?: string }): Promise<StatusJson> {
    const { kubeconfig, kmsHealthUrl, ...source } = args;
    const r = await runStatus({
      source: { etcdPrefix: '/registry', ...source },
      encryptionConfig: configFile,
      ...(kubeconfig ? { kubeconfig } : {}),
      ...(kmsHealthUrl ? { kmsHealthUrl } : {}),
    });
    return JSON.parse(JSON.stringify({ ...r.scan, health: r.health })) as StatusJson;
  }
  const secretsRow = (s: StatusJson) => s.resources.find((r) => r.resource === 'secrets')!;

  void it('counts exactly, per provider and key, plaintext, unknown and stale (KMS v2 last: it writes)', async () => {
    const cli = await coffer(['encryption', 'status', '--etcd-endpoints', etcd.endpoints.join(','), '--encryption-config', configFile,
      '--kubeconfig', up.kubeconfig, '--kms-health-url', `${health}/healthz`, '-o', 'json']);
    assert.equal(cli.code, 0, cli.stderr);
    assert.ok(!cli.stdout.includes(CANARY) && !cli.stdout.includes(Buffer.from(CANARY).toString('base64').slice(0, 12)));
    const s = JSON.parse(cli.stdout) as StatusJson;
    const row = secretsRow(s);
    const v2 = Object.keys(row.byWriter).find((w) => w.startsWith('kms-v2/v2p/'))!;
    assert.deepEqual(row.byWriter, {
      identity: 2, 'aescbc/cbc1': 3, 'aesgcm/gcm1': 2, 'secretbox/box1': 1, 'kms-v1/v1p': 1, [v2]: 2, 'unknown "k8s:enc:vendorx:v1:"': 1,
    });
    assert.equal(row.total, 12);
    assert.equal(row.plaintext, 2);
    assert.equal(row.unknown, 1);
    assert.equal(row.stale, 10, 'everything not written by kms v2 v2p with the current key_id');
    // The key_id read from the EncryptedObjects is the one the plugin reports now.
    assert.equal(v2, `kms-v2/v2p/${s.health!.kmsV2[0]!.keyIdHash}`);
    assert.equal(s.health!.rules[0]!.writes, 'kms-v2/v2p');
    assert.deepEqual(s.health!.rules[0]!.readsOnly, ['identity', 'aescbc/cbc1', 'aesgcm/gcm1', 'secretbox/box1', 'kms-v1/v1p']);
    assert.equal(s.health!.agree, true, 'API server /readyz and plugin /healthz agree');
  });

  void it('gives the same answer from a snapshot of that etcd', async () => {
    const live = await status({ etcdEndpoints: etcd.endpoints.join(',') });
    const snapshot = join(dir, 'backup.db');
    await run('etcdctl', ['--endpoints', etcd.endpoints[0]!, 'snapshot', 'save', snapshot], { env: { ...process.env, ETCDCTL_API: '3' } });
    const fromSnapshot = await status({ snapshot });
    assert.deepEqual(fromSnapshot.resources, live.resources);
    assert.equal(fromSnapshot.total, live.total);
  });

  void it('reads a cluster with a custom --etcd-prefix', async () => {
    // The same stored bytes under another prefix, as a kube-apiserver started with --etcd-prefix=/custom/k8s keeps them.
    const store = await openEtcdStore({ endpoints: etcd.endpoints, prefix: '/' });
    try {
      const { kvs } = await store.list('/registry/');
      for (const kv of kvs) await store.create(`/custom/k8s/${kv.key.slice('/registry/'.length)}`, kv.value);
    } finally {
      await store.close();
    }
    const normal = await status({ etcdEndpoints: etcd.endpoints.join(',') });
    const custom = await status({ etcdEndpoints: etcd.endpoints.join(','), etcdPrefix: '/custom/k8s' });
    assert.deepEqual(custom.resources, normal.resources);
    assert.ok(custom.resources.length >= 2, 'secrets and the namespaces coffer up made');
  });

  void it('audit: a finding per storage key, exit 1 on what --fail-on names, 0 otherwise', async () => {
    const failing = await coffer(['audit', '--etcd-endpoints', etcd.endpoints.join(','), '--encryption-config', configFile, '--fail-on', 'plaintext,unknown']);
    assert.equal(failing.code, 1, failing.stderr);
    assert.match(failing.stdout, /^plaintext,stale \/registry\/secrets\/default\/identity-0 \(identity\)$/m);
    assert.match(failing.stdout, /^unknown-prefix,stale \/registry\/secrets\/default\/foreign \(unknown "k8s:enc:vendorx:v1:"\)$/m);
    assert.match(failing.stdout, /audited 12 objects .* 10 findings, 3 failing/);
    assert.ok(!failing.stdout.includes(CANARY));
    const configmaps = await runStatus({ source: { etcdPrefix: '/registry', etcdEndpoints: etcd.endpoints.join(',') }, resources: ['configmaps'] });
    assert.equal(failingFindings(configmaps.scan, ['unknown']).length, 0);
    assert.throws(() => parseFailOn('plaintext,bogus'), /--fail-on: each value must be one of plaintext, unknown, stale, got "bogus"/);
    // Every Secret still reads through the API server (the scans never wrote).
    for (const p of Object.keys(COUNTS) as Provider[]) {
      for (let i = 0; i < COUNTS[p]; i++) {
        const got = await up.client.json<{ data: { value: string } }>('GET', `/api/v1/namespaces/default/secrets/${p}-${i}`);
        assert.equal(Buffer.from(got.data.value, 'base64').toString(), `${CANARY}-${p}-${i}`);
      }
    }
  });
});
