// @kubernetes/client-node 1.4.0 against the API server over HTTPS with the kubeconfig `coffer up` writes:
// list, watch and an informer, as controllers use them.
import { CoreV1Api, KubeConfig, makeInformer, Watch, type V1Secret } from '@kubernetes/client-node';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startApiServer, type RunningApiServer } from '../src/apiserver/api-server.js';
import { loadEncryptionConfiguration } from '../src/encryption/encryption-config.js';
import { EncryptionEngine } from '../src/encryption/encryption-engine.js';
import { SqliteStore } from '../src/storage/sqlite/sqlite-store.js';

const CONFIG = `apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
  - resources: [secrets]
    providers:
      - secretbox:
          keys:
            - name: k1
              secret: YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXoxMjM0NTY=
`;

function until<T>(check: () => T | undefined, ms = 5000): Promise<T> {
  const start = Date.now();
  return new Promise((resolve, reject) => {
    const tick = () => {
      const v = check();
      if (v !== undefined) resolve(v);
      else if (Date.now() - start > ms) reject(new Error('timed out waiting'));
      else setTimeout(tick, 50);
    };
    tick();
  });
}

void describe('client-node against the API server', () => {
  let dir: string;
  let store: SqliteStore;
  let engine: EncryptionEngine;
  let server: RunningApiServer;
  let kc: KubeConfig;
  let api: CoreV1Api;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'coffer-client-node-'));
    store = await SqliteStore.open({ dataDir: join(dir, 'store') });
    engine = await EncryptionEngine.create(loadEncryptionConfiguration(CONFIG));
    server = await startApiServer({ dataDir: dir, host: '127.0.0.1', port: 0, store, engine });
    kc = new KubeConfig();
    kc.loadFromFile(server.kubeconfigPath);
    api = kc.makeApiClient(CoreV1Api);
  });
  after(async () => {
    await server.close();
    await store.close();
    engine.close();
    await rm(dir, { recursive: true, force: true });
  });

  const secret = (name: string, value: string): V1Secret => ({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, labels: { app: 'demo' } },
    stringData: { value },
  });

  void it('creates and lists with a label selector', async () => {
    await api.createNamespacedSecret({ namespace: 'default', body: secret('one', 'v1') });
    const list = await api.listNamespacedSecret({ namespace: 'default', labelSelector: 'app=demo' });
    assert.deepEqual(list.items.map((s) => s.metadata?.name), ['one']);
    assert.equal(Buffer.from(list.items[0]!.data!.value!, 'base64').toString(), 'v1');
    await assert.rejects(api.readNamespacedSecret({ namespace: 'default', name: 'nope' }), (e: { code?: number }) => e.code === 404);
  });

  void it('watches from a resourceVersion', async () => {
    const { metadata } = await api.listNamespacedSecret({ namespace: 'default' });
    const events: string[] = [];
    const req = await new Watch(kc).watch(
      '/api/v1/namespaces/default/secrets',
      { resourceVersion: metadata?.resourceVersion },
      (type: string, obj: V1Secret) => events.push(`${type} ${obj.metadata?.name}`),
      () => undefined,
    );
    await api.createNamespacedSecret({ namespace: 'default', body: secret('two', 'v2') });
    await api.deleteNamespacedSecret({ namespace: 'default', name: 'two' });
    await until(() => (events.length >= 2 ? true : undefined));
    req.abort();
    assert.deepEqual(events, ['ADDED two', 'DELETED two']);
  });

  // Issue 14: WatchList, as a 1.32 server serves it (k8s.io/apiserver pkg/storage/cacher).
  void it('streams the initial state, a marked bookmark and then changes for a WatchList request', async () => {
    const events: { type: string; name?: string; rv?: string; annotations?: Record<string, string> }[] = [];
    const req = await new Watch(kc).watch(
      '/api/v1/namespaces/default/secrets',
      { sendInitialEvents: true, resourceVersionMatch: 'NotOlderThan', allowWatchBookmarks: true },
      (type: string, obj: V1Secret) => events.push({ type, name: obj.metadata?.name, rv: obj.metadata?.resourceVersion, annotations: obj.metadata?.annotations }),
      () => undefined,
    );
    try {
      const end = await until(() => {
        const i = events.findIndex((e) => e.type === 'BOOKMARK');
        return i >= 0 ? i : undefined;
      });
      const { items, metadata } = await api.listNamespacedSecret({ namespace: 'default' });
      assert.deepEqual(events.slice(0, end).map((e) => `${e.type} ${e.name}`), items.map((s) => `ADDED ${s.metadata?.name}`));
      assert.ok(end > 0, 'the namespace has secrets to announce');
      assert.deepEqual(events[end]!.annotations, { 'k8s.io/initial-events-end': 'true' });
      assert.equal(events[end]!.rv, metadata?.resourceVersion, 'the bookmark carries the revision of the state sent');
      await api.createNamespacedSecret({ namespace: 'default', body: secret('watchlist', 'v') });
      await until(() => (events.some((e) => e.type === 'ADDED' && e.name === 'watchlist') ? true : undefined));
      assert.equal(events.filter((e) => e.name === 'watchlist').length, 1);
    } finally {
      req.abort();
    }
    await api.deleteNamespacedSecret({ namespace: 'default', name: 'watchlist' });
  });

  void it('keeps an informer cache in sync', async () => {
    const informer = makeInformer(kc, '/api/v1/namespaces/default/secrets', () =>
      api.listNamespacedSecret({ namespace: 'default' }),
    );
    await informer.start();
    try {
      await until(() => (informer.list().some((s) => s.metadata?.name === 'one') ? true : undefined));
      await api.createNamespacedSecret({ namespace: 'default', body: secret('three', 'v3') });
      await until(() => (informer.list().some((s) => s.metadata?.name === 'three') ? true : undefined));
    } finally {
      await informer.stop();
    }
  });
});
