import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import { Registry } from 'prom-client';
import { FakeClock } from '../../lib/clock.js';
import { KubeEventRecorder } from '../event-recorder.js';
import { ProviderPool } from '../providers/provider-pool.js';
import { TerminalError } from '../reconciler.js';
import { FakeKubeApi } from '../testing/fake-kube-api.js';
import { ExternalSecretReconciler } from './external-secret-reconciler.js';
import type { ExternalSecret, SecretStore } from './external-secret-types.js';
import { ExternalSecretsMetrics } from './external-secrets-metrics.js';
import { hashString } from './object-hash.js';
import { kubeApiReader } from './object-reader.js';

const logger = pino({ level: 'silent' });

function setup(storeData: { key: string; value: string; version?: string }[] = [{ key: '/db', value: '{"username":"admin","password":"s3cr3t","port":5432}' }, { key: '/token', value: 'tok-v1' }]) {
  const clock = new FakeClock();
  const kube = new FakeKubeApi();
  const registry = new Registry();
  const metrics = new ExternalSecretsMetrics(registry);
  const calls: string[] = [];
  const pool = new ProviderPool({ kube, clock, record: () => undefined });
  const events = new KubeEventRecorder(kube, { component: 'external-secrets', clock, logger });
  const reconciler = new ExternalSecretReconciler({ kube, reader: kubeApiReader(kube), pool, events, clock, logger, metrics, random: () => 0.5 });
  const store: SecretStore = {
    apiVersion: 'external-secrets.io/v1',
    kind: 'SecretStore',
    metadata: { name: 'fake', namespace: 'app' },
    spec: { provider: { fake: { data: storeData } } },
    status: { conditions: [{ type: 'Ready', status: 'True', reason: 'Valid' }] },
  };
  kube.put('secretstores', store);
  const signal = new AbortController().signal;
  const run = async (name = 'db') => {
    const r = await reconciler.reconcile({ namespace: 'app', name }, { signal });
    await events.flush();
    return r;
  };
  const es = (name: string, spec: ExternalSecret['spec']): ExternalSecret =>
    kube.put('externalsecrets', { apiVersion: 'external-secrets.io/v1', kind: 'ExternalSecret', metadata: { name, namespace: 'app' }, spec: { secretStoreRef: { name: 'fake', kind: 'SecretStore' }, ...spec } });
  const readSecret = async (name = 'db') => {
    const s = await kube.getSecret('app', name);
    return s && Object.fromEntries(Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]));
  };
  const ready = async (name = 'db') => (await kube.getCustom<ExternalSecret>('externalsecrets', 'app', name))?.status?.conditions?.find((c) => c.type === 'Ready');
  return { clock, kube, registry, reconciler, run, es, readSecret, ready, calls, store };
}

void describe('ExternalSecret reconcile pipeline', () => {
  void it('creates the Secret with data, ownership, hash and a Ready status, then skips until the interval', async () => {
    const t = setup();
    t.es('db', { data: [{ secretKey: 'token', remoteRef: { key: '/token' } }], dataFrom: [{ extract: { key: '/db' } }] });
    const r = await t.run();
    assert.deepEqual(await t.readSecret(), { username: 'admin', password: 's3cr3t', port: '5432', token: 'tok-v1' });
    const secret = (await t.kube.getSecret('app', 'db'))!;
    assert.equal(secret.metadata?.labels?.['reconcile.external-secrets.io/managed'], 'true');
    assert.equal(secret.metadata?.labels?.['reconcile.external-secrets.io/created-by'], hashString('app/db'));
    assert.match(secret.metadata?.annotations?.['reconcile.external-secrets.io/data-hash'] ?? '', /^[0-9a-f]{56}$/);
    const owner = secret.metadata?.ownerReferences?.[0];
    assert.equal(owner?.kind, 'ExternalSecret');
    assert.equal(owner?.controller, true);
    assert.equal(owner?.blockOwnerDeletion, true);
    const cond = await t.ready();
    assert.equal(cond?.status, 'True');
    assert.equal(cond?.reason, 'SecretSynced');
    const status = (await t.kube.getCustom<ExternalSecret>('externalsecrets', 'app', 'db'))!.status!;
    assert.equal(status.binding?.name, 'db');
    assert.match(status.syncedResourceVersion ?? '', /^1-[0-9a-f]{56}$/);
    assert.ok(r.requeueAfterMs! >= 3_600_000 && r.requeueAfterMs! < 3_700_000);
    assert.deepEqual(t.kube.events.map((e) => e.reason), ['Created']);

    const before = t.kube.requests.length;
    const again = await t.run();
    assert.deepEqual(t.kube.requests.slice(before), ['get secret app/db'], 'a second reconcile only reads the Secret');
    assert.ok(again.requeueAfterMs! > 3_500_000);
    const metrics = await t.registry.getSingleMetricAsString('externalsecret_sync_calls_total');
    assert.match(metrics, /externalsecret_sync_calls_total\{name="db",namespace="app"\} 2/);
  });

  void it('repairs a hand-edited or deleted Secret at once', async () => {
    const t = setup();
    t.es('db', { dataFrom: [{ extract: { key: '/db' } }] });
    await t.run();
    const s = (await t.kube.getSecret('app', 'db'))!;
    s.data!.password = Buffer.from('hacked').toString('base64');
    await t.kube.replaceSecret(s, { signal: new AbortController().signal });
    await t.run();
    assert.equal((await t.readSecret())?.password, 's3cr3t');
    await t.kube.deleteSecret('app', 'db');
    await t.run();
    assert.equal((await t.readSecret())?.password, 's3cr3t');
  });

  void it('reports a missing key as Ready=False with an event and leaves the previous Secret intact', async () => {
    const t = setup();
    t.es('db', { data: [{ secretKey: 'token', remoteRef: { key: '/token' } }] });
    await t.run();
    t.es('db', { data: [{ secretKey: 'token', remoteRef: { key: '/nope' } }] });
    await assert.rejects(t.run(), /error processing spec\.data\[0\] \(key: \/nope\), err: Secret does not exist/);
    assert.deepEqual(await t.readSecret(), { token: 'tok-v1' });
    const cond = await t.ready();
    assert.equal(cond?.status, 'False');
    assert.equal(cond?.reason, 'SecretSyncedError');
    assert.match(cond?.message ?? '', /^could not get secret data from provider: /);
    assert.equal(t.kube.events.at(-1)?.reason, 'UpdateFailed');
    assert.equal(t.kube.events.at(-1)?.type, 'Warning');
  });

  void it('renders templates and refuses an unsupported construct with a clear, non-retried error', async () => {
    const t = setup();
    t.es('db', {
      dataFrom: [{ extract: { key: '/db' } }],
      target: { template: { type: 'kubernetes.io/basic-auth', metadata: { labels: { app: '{{ .username }}' } }, data: { username: '{{ .username | upper }}', dsn: 'postgres://{{ .username }}:{{ .password }}@db:{{ .port }}' } } },
    });
    await t.run();
    const s = (await t.kube.getSecret('app', 'db'))!;
    assert.equal(s.type, 'kubernetes.io/basic-auth');
    assert.equal(s.metadata?.labels?.app, 'admin');
    assert.deepEqual(await t.readSecret(), { username: 'ADMIN', dsn: 'postgres://admin:s3cr3t@db:5432' });
    t.es('db', { dataFrom: [{ extract: { key: '/db' } }], target: { template: { data: { x: '{{ .username | sha3 }}' } } } });
    await assert.rejects(t.run(), /function "sha3" not defined/);
    assert.match((await t.ready())?.message ?? '', /^could not update secret: /);
    assert.equal((await t.readSecret())?.username, 'ADMIN', 'previous Secret intact');
    const failed = t.kube.events.find((e) => e.reason === 'UpdateFailed');
    assert.equal(failed?.type, 'Warning', 'a render error is reported as an UpdateFailed event too');
    assert.match(failed?.message ?? '', /^could not apply template: unable to parse template at key x: .*function "sha3" not defined/);
  });

  void it('does not rewrite an unchanged Secret at a refresh, whatever order the API lists its fields in', async () => {
    const t = setup();
    t.es('db', { refreshInterval: '1m', dataFrom: [{ extract: { key: '/db' } }] });
    await t.run();
    // What client-node hands back: ownerReference keys in its own (alphabetical) order, and the server's default type.
    const stored = (await t.kube.getSecret('app', 'db'))!;
    const ref = stored.metadata!.ownerReferences![0]!;
    stored.metadata!.ownerReferences = [{ apiVersion: ref.apiVersion, blockOwnerDeletion: ref.blockOwnerDeletion, controller: ref.controller, kind: ref.kind, name: ref.name, uid: ref.uid }];
    stored.type = 'Opaque';
    t.kube.put('secrets', stored);
    await t.clock.advance(61_000);
    const before = t.kube.requests.length;
    await t.run();
    assert.ok(!t.kube.requests.slice(before).some((r) => r.startsWith('update secret')), t.kube.requests.slice(before).join(', '));
    assert.deepEqual(t.kube.events.map((e) => e.reason), ['Created']);
  });

  void it('adopts an unlabelled Secret of the target name: the managed-Secret cache misses it, the create is refused, the Secret is read and updated', async () => {
    const t = setup();
    t.kube.put('secrets', { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db', namespace: 'app', labels: { team: 'a' } }, data: { old: Buffer.from('x').toString('base64') } });
    t.es('db', { data: [{ secretKey: 'token', remoteRef: { key: '/token' } }] });
    const before = t.kube.requests.length;
    await t.run();
    assert.deepEqual(t.kube.requests.slice(before).filter((r) => r.includes('secret app/db')), ['get secret app/db', 'create secret app/db', 'get secret app/db', 'update secret app/db']);
    assert.deepEqual(await t.readSecret(), { token: 'tok-v1' });
    const secret = (await t.kube.getSecret('app', 'db'))!;
    assert.equal(secret.metadata?.labels?.team, 'a');
    assert.equal(secret.metadata?.labels?.['reconcile.external-secrets.io/managed'], 'true');
    assert.equal(secret.metadata?.ownerReferences?.[0]?.name, 'db');
    assert.equal((await t.ready())?.reason, 'SecretSynced');
    assert.deepEqual(t.kube.events.map((e) => e.reason), ['Updated']);
  });

  void it('aggregates a repeated event into one Event with a count, as client-go does', async () => {
    const t = setup();
    t.es('db', { data: [{ secretKey: 'token', remoteRef: { key: '/nope' } }] });
    for (let i = 0; i < 3; i++) await assert.rejects(t.run());
    const failed = t.kube.events.filter((e) => e.reason === 'UpdateFailed');
    assert.equal(failed.length, 1);
    assert.equal(failed[0]!.count, 3);
  });

  void it('applies deletionPolicy Delete when every remote key is gone', async () => {
    const t = setup();
    t.es('db', { data: [{ secretKey: 'token', remoteRef: { key: '/token' } }], target: { deletionPolicy: 'Delete' } });
    await t.run();
    assert.ok(await t.readSecret());
    t.store.spec!.provider = { fake: { data: [] } };
    t.kube.put('secretstores', t.store);
    t.es('db', { data: [{ secretKey: 'token', remoteRef: { key: '/token' } }], target: { deletionPolicy: 'Delete' }, refreshInterval: '1m' });
    await t.run();
    assert.equal(await t.readSecret(), undefined);
    assert.equal((await t.ready())?.reason, 'SecretDeleted');
    assert.ok(t.kube.events.some((e) => e.reason === 'MissingProviderSecret'));
  });

  void it('keeps other writers\' keys under creationPolicy Merge and reports SecretMissing without a target', async () => {
    const t = setup();
    t.es('db', { data: [{ secretKey: 'token', remoteRef: { key: '/token' } }], target: { creationPolicy: 'Merge' } });
    await t.run();
    assert.equal((await t.ready())?.reason, 'SecretMissing');
    await t.kube.createSecret({ metadata: { name: 'db', namespace: 'app' }, data: { mine: Buffer.from('x').toString('base64') } }, { signal: new AbortController().signal, fieldManager: 'kubectl' });
    await t.run();
    assert.deepEqual(await t.readSecret(), { mine: 'x', token: 'tok-v1' });
    assert.equal((await t.kube.getSecret('app', 'db'))?.metadata?.ownerReferences, undefined);
  });

  void it('refuses a store that is not ready and a ClusterSecretStore whose conditions exclude the namespace', async () => {
    const t = setup();
    t.kube.put('clustersecretstores', { metadata: { name: 'css' }, spec: { provider: { fake: { data: [{ key: 'k', value: 'v' }] } }, conditions: [{ namespaces: ['other'] }] }, status: { conditions: [{ type: 'Ready', status: 'True' }] } });
    t.es('db', { secretStoreRef: { name: 'css', kind: 'ClusterSecretStore' }, data: [{ secretKey: 'k', remoteRef: { key: 'k' } }] });
    await assert.rejects(t.run(), /using cluster store "css" is not allowed from namespace "app": denied by spec.condition/);
    t.kube.put('secretstores', { ...t.store, status: {} });
    t.es('db', { data: [{ secretKey: 'k', remoteRef: { key: '/token' } }] });
    await assert.rejects(t.run(), /SecretStore "fake" is not ready/);
  });

  void it('refuses an invalid refreshInterval without retrying', async () => {
    const t = setup();
    t.es('db', { refreshInterval: '10', data: [{ secretKey: 'token', remoteRef: { key: '/token' } }] });
    await assert.rejects(t.run(), (e: unknown) => e instanceof TerminalError && /spec\.refreshInterval: time: missing unit in duration "10"/.test(e.message));
  });

  void it('deduplicates provider reads across ExternalSecrets within the window and honours force-sync', async () => {
    const t = setup();
    let reads = 0;
    const { FakeProvider } = await import('../providers/fake-provider.js');
    const proto = FakeProvider.prototype as { getSecret: (this: InstanceType<typeof FakeProvider>, ...a: Parameters<InstanceType<typeof FakeProvider>['getSecret']>) => Promise<Buffer> };
    const original = proto.getSecret;
    proto.getSecret = async function (...args) {
      reads++;
      return original.apply(this, args);
    };
    try {
      for (let i = 0; i < 20; i++) t.es(`es${i}`, { data: [{ secretKey: 'token', remoteRef: { key: '/token' } }] });
      for (let i = 0; i < 20; i++) await t.run(`es${i}`);
      assert.equal(reads, 1);
      const es = (await t.kube.getCustom<ExternalSecret>('externalsecrets', 'app', 'es0'))!;
      es.metadata.annotations = { 'force-sync': '1' };
      t.kube.put('externalsecrets', es);
      await t.run('es0');
      assert.equal(reads, 2, 'force-sync bypasses shared results');
    } finally {
      proto.getSecret = original;
    }
  });
});
