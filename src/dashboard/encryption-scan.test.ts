// The dashboard's scan over a real SQLite store, with values written by the real encryption engine under two keys,
// plaintext, and a foreign prefix: counts per writer, stale for the configuration (the same counts as the operations
// scan behind `coffer encryption status`), the storage keys behind a count, `coffer rotate status`'s stage, and change
// notices from the store's watch, the configuration file and the rotation state file.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadEncryptionConfiguration, readEncryptionConfigurationFile } from '../encryption/encryption-config.js';
import { EncryptionEngine } from '../encryption/encryption-engine.js';
import { SqliteStore } from '../storage/sqlite/sqlite-store.js';
import { rotatePrepare } from '../operations/rotate.js';
import { scanSource } from '../operations/scan.js';
import { KMS_ROTATION_NEXT, kmsStateFileOf } from '../operations/kms-rotation-state.js';
import { sourceScanProvider, storeSource, type EncryptionScanProvider } from './encryption-scan.js';

const KEY1 = Buffer.alloc(32, 1).toString('base64');
const KEY2 = Buffer.alloc(32, 2).toString('base64');
const config = (names: [string, string][]) => `apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
  - resources: [secrets]
    providers:
      - aesgcm:
          keys:
${names.map(([n, k]) => `            - {name: ${n}, secret: ${k}}`).join('\n')}
      - identity: {}
`;
const PLAINTEXT = Buffer.from('k8s\0plain-secret-value');

void describe('dashboard encryption scan over a Store', () => {
  let dir: string;
  let store: SqliteStore;
  const provider = (configFile?: string) => sourceScanProvider(storeSource(store, 'test store', '/registry/'), configFile ? { configFile } : {});
  const put = async (key: string, text: string, names: [string, string][]) => {
    const engine = await EncryptionEngine.create(loadEncryptionConfiguration(config(names)));
    const t = engine.transformerFor({ group: '', resource: 'secrets' });
    await store.create(key, await t.toStorage(Buffer.from(text), { authenticatedData: Buffer.from(key) }));
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'coffer-dashboard-scan-'));
    store = await SqliteStore.open({ dataDir: join(dir, 'store') });
    await put('/registry/secrets/a/one', 'k8s\0v1', [['key1', KEY1]]);
    await put('/registry/secrets/a/two', 'k8s\0v2', [['key1', KEY1]]);
    await put('/registry/secrets/b/three', 'k8s\0v3', [['key2', KEY2], ['key1', KEY1]]);
    await store.create('/registry/secrets/b/plain', PLAINTEXT);
    await store.create('/registry/secrets/b/foreign', Buffer.from('k8s:enc:vault:v1:x:opaque'));
    await store.create('/registry/configmaps/a/cm', Buffer.from('k8s\0cm'));
    await store.create('/registry/external-secrets.io/externalsecrets/a/es', Buffer.from('{}'));
    await writeFile(join(dir, 'config.yaml'), config([['key2', KEY2], ['key1', KEY1]]));
  });
  after(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  void it('counts per resource and writer, plaintext, unknown and stale for the configuration', async () => {
    const scan = await provider(join(dir, 'config.yaml')).scan({});
    const secrets = scan.resources.find((r) => r.resource === 'secrets');
    assert.deepEqual(secrets, {
      resource: 'secrets',
      total: 5,
      byWriter: { 'aesgcm/key1': 2, 'aesgcm/key2': 1, identity: 1, 'unknown "k8s:enc:vault:v1:"': 1 },
      plaintext: 1,
      unknown: 1,
      stale: 4,
    });
    // configmaps have no rule: identity writes them, so plaintext is not stale.
    assert.deepEqual(scan.resources.find((r) => r.resource === 'configmaps')?.stale, 0);
    // A custom resource is named <resource>.<group>, as kubectl names it.
    assert.deepEqual(scan.resources.map((r) => r.resource), ['configmaps', 'externalsecrets.external-secrets.io', 'secrets']);
    assert.deepEqual(scan.config?.rules[0]?.providers, [
      { type: 'aesgcm', keys: ['key2', 'key1'], writes: 'aesgcm/key2' },
      { type: 'identity', keys: [] },
    ]);
    assert.ok(!JSON.stringify(scan).includes(KEY1) && !JSON.stringify(scan).includes('plain-secret-value'), 'no key or value in the scan');
    // One classifier: the counts are those of the operations scan behind `coffer encryption status`.
    const ops = await scanSource((await storeSource(store, 'test store', '/registry/').acquire()).source, {
      prefix: '/registry/',
      config: await readEncryptionConfigurationFile(join(dir, 'config.yaml')),
    });
    assert.deepEqual(scan.resources, ops.resources);
    assert.equal(scan.rotation?.stage, 'start');
  });

  void it('without a configuration counts everything and says why stale is unknown', async () => {
    const scan = await provider().scan({});
    assert.equal(scan.resources.find((r) => r.resource === 'secrets')?.stale, null);
    assert.match(scan.configError ?? '', /no EncryptionConfiguration given/);
  });

  void it('lists the storage keys behind a count, names only', async () => {
    const p = provider(join(dir, 'config.yaml'));
    assert.deepEqual(await p.keys('secrets', { kind: 'writer', writer: 'aesgcm/key1' }, { limit: 10 }), { keys: ['/registry/secrets/a/one', '/registry/secrets/a/two'], more: false });
    assert.deepEqual(await p.keys('secrets', { kind: 'stale' }, { limit: 2 }), { keys: ['/registry/secrets/a/one', '/registry/secrets/a/two'], more: true });
    assert.deepEqual(await p.keys('secrets', { kind: 'plaintext' }, { limit: 10 }), { keys: ['/registry/secrets/b/plain'], more: false });
    assert.deepEqual(await p.keys('externalsecrets.external-secrets.io', { kind: 'plaintext' }, { limit: 10 }), { keys: ['/registry/external-secrets.io/externalsecrets/a/es'], more: false });
  });

  void it('announces once when its watch opens, then notices a stored change and a configuration change', async () => {
    const ac = new AbortController();
    const w = noticesOf(provider(join(dir, 'config.yaml')), ac.signal);
    try {
      // What changed before the watch opened (while a page loaded) is announced once, without polling.
      await w.after(0, 'the watch opening');
      // What changes after it, the store's watch replays.
      const opened = w.count;
      await store.create('/registry/secrets/c/new-0', PLAINTEXT);
      await w.after(opened, 'a stored write');
      const written = w.count;
      await writeFile(join(dir, 'config.yaml'), config([['key1', KEY1]]));
      await w.after(written, 'a configuration change');
    } finally {
      ac.abort();
    }
  });

  void it("shows `coffer rotate status`'s stage, and hears each stage's state file", async () => {
    await writeFile(join(dir, 'config.yaml'), config([['key2', KEY2], ['key1', KEY1]]));
    const p = provider(join(dir, 'config.yaml'));
    const ac = new AbortController();
    const w = noticesOf(p, ac.signal);
    try {
      await w.after(0, 'the watch opening');
      const opened = w.count;
      await rotatePrepare({ encryptionConfig: join(dir, 'config.yaml'), kubeconfigs: [], reloadIntervalMs: 0, log: () => undefined }, { resource: 'secrets', keyName: 'key3' });
      await w.after(opened, 'coffer rotate prepare');
      const scan = await p.scan({});
      assert.deepEqual(scan.rotation, { stage: 'prepared', next: 'coffer rotate promote', resource: 'secrets', from: 'aesgcm/key2', to: 'aesgcm/key3' });
      // Prepared: key3 is second and writes nothing yet; key2 still writes, so only what key2 did not write is stale.
      const secrets = scan.resources.find((r) => r.resource === 'secrets')!;
      assert.equal(secrets.stale, secrets.total - (secrets.byWriter['aesgcm/key2'] ?? 0));
      assert.ok(!JSON.stringify(scan).includes(KEY2), 'no key in the scan');

      // `coffer rotate kms-v2` keeps its own state file: its stage shows beside the local-key rotation.
      const prepared = w.count;
      await writeFile(kmsStateFileOf(join(dir, 'config.yaml')), JSON.stringify({ coffer: 'kms-rotation', version: 1, stage: 'rotated', before: 'h', latestVersion: 2 }));
      await w.after(prepared, "coffer rotate kms-v2's state file");
      assert.deepEqual((await p.scan({})).rotation?.kms, { stage: 'rotated', next: KMS_ROTATION_NEXT.rotated, latestVersion: 2 });
    } finally {
      ac.abort();
    }
  });
});

/** Counts the change notices of a scan provider's watch; `after(n)` waits (up to 10 s) until more than n arrived. */
function noticesOf(p: EncryptionScanProvider, signal: AbortSignal): { readonly count: number; after(n: number, what: string): Promise<void> } {
  let count = 0;
  p.watch(() => count++, signal);
  return {
    get count() {
      return count;
    },
    async after(n, what) {
      for (let i = 0; count <= n; i++) {
        assert.ok(i < 200, `no change notice for ${what}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
  };
}
