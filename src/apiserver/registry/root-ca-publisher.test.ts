// kube-root-ca.crt as kube-controller-manager's root-ca-cert-publisher keeps it, driven with kubectl against the API
// server over real HTTPS: published in every namespace, restored after a delete or an edit; two API servers with
// different CAs on one store settle on a bundle of both.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { loadEncryptionConfiguration } from '../../encryption/encryption-config.js';
import { EncryptionEngine } from '../../encryption/encryption-engine.js';
import { SqliteStore } from '../../storage/sqlite/sqlite-store.js';
import { startApiServer, type RunningApiServer } from '../api-server.js';
import { DESCRIPTION } from './root-ca-publisher.js';

const run = promisify(execFile);
const CONFIG = `apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
  - resources: [secrets]
    providers:
      - identity: {}
`;

async function until<T>(what: string, check: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const start = Date.now();
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() - start > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const normalized = (pem: string) => new X509Certificate(pem).toString().trim();

void describe('kube-root-ca.crt publisher', () => {
  let dir: string;
  let store: SqliteStore;
  let engine: EncryptionEngine;
  let servers: RunningApiServer[] = [];
  let ca: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'coffer-root-ca-'));
    store = await SqliteStore.open({ dataDir: join(dir, 'store') });
    engine = await EncryptionEngine.create(loadEncryptionConfiguration(CONFIG));
    await mkdir(join(dir, 'a'), { mode: 0o700 });
    await mkdir(join(dir, 'b'), { mode: 0o700 });
    servers = [await startApiServer({ dataDir: join(dir, 'a'), host: '127.0.0.1', port: 0, store, engine })];
    ca = await readFile(join(dir, 'a', 'ca.crt'), 'utf8');
  });
  after(async () => {
    for (const s of servers) await s.close();
    await store.close();
    engine.close();
    await rm(dir, { recursive: true, force: true });
  });

  const kubectl = async (...args: string[]) =>
    (await run('kubectl', ['--kubeconfig', servers[0]!.kubeconfigPath, '--cache-dir', join(dir, 'cache'), ...args])).stdout;
  /** The ConfigMap as kubectl shows it, or undefined while it does not exist. */
  const rootCa = async (ns: string) => {
    try {
      return JSON.parse(await kubectl('get', 'configmap', 'kube-root-ca.crt', '-n', ns, '-o', 'json')) as {
        metadata: { annotations?: Record<string, string>; uid: string; labels?: Record<string, string> };
        data: Record<string, string>;
      };
    } catch (e) {
      if (/NotFound/.test((e as { stderr?: string }).stderr ?? '')) return undefined;
      throw e;
    }
  };

  void it('publishes the serving CA in the default namespaces and in a new one', async () => {
    for (const ns of ['default', 'kube-system']) {
      const cm = await until(`kube-root-ca.crt in ${ns}`, () => rootCa(ns));
      assert.equal(normalized(cm.data['ca.crt']!), normalized(ca));
      assert.deepEqual(Object.keys(cm.data), ['ca.crt']);
      assert.equal(cm.metadata.annotations?.['kubernetes.io/description'], DESCRIPTION);
    }
    await kubectl('create', 'namespace', 'team-x');
    const cm = await until('kube-root-ca.crt in team-x', () => rootCa('team-x'));
    assert.equal(normalized(cm.data['ca.crt']!), normalized(ca));
  });

  void it('restores it after a delete and after an edit, keeping the user\'s labels', async () => {
    const before = await until('kube-root-ca.crt in team-x', () => rootCa('team-x'));
    await kubectl('delete', 'configmap', 'kube-root-ca.crt', '-n', 'team-x');
    const recreated = await until('a new kube-root-ca.crt', async () => {
      const cm = await rootCa('team-x');
      return cm && cm.metadata.uid !== before.metadata.uid ? cm : undefined;
    });
    assert.equal(normalized(recreated.data['ca.crt']!), normalized(ca));

    await kubectl('patch', 'configmap', 'kube-root-ca.crt', '-n', 'team-x', '--type=merge', '-p', JSON.stringify({ metadata: { labels: { mine: 'yes' }, annotations: { 'kubernetes.io/description': null } }, data: { 'ca.crt': 'not a CA', extra: 'x' } }));
    const restored = await until('the restored data', async () => {
      const cm = await rootCa('team-x');
      return cm && Object.keys(cm.data).length === 1 && cm.metadata.annotations?.['kubernetes.io/description'] ? cm : undefined;
    });
    assert.equal(normalized(restored.data['ca.crt']!), normalized(ca));
    assert.deepEqual(restored.metadata.labels, { mine: 'yes' });
  });

  void it('settles on a bundle of both CAs when a second API server with its own CA shares the store', async () => {
    servers.push(await startApiServer({ dataDir: join(dir, 'b'), host: '127.0.0.1', port: 0, store, engine }));
    const caB = await readFile(join(dir, 'b', 'ca.crt'), 'utf8');
    assert.notEqual(normalized(caB), normalized(ca));
    const bundle = await until('both CAs in default', async () => {
      const cm = await rootCa('default');
      const text = cm?.data['ca.crt'] ?? '';
      return text.includes(normalized(ca)) && text.includes(normalized(caB)) ? text : undefined;
    });
    // Settled: neither server rewrites it again (its resourceVersion stays put across another namespace's sync).
    const rv = JSON.parse(await kubectl('get', 'configmap', 'kube-root-ca.crt', '-n', 'default', '-o', 'json')) as { metadata: { resourceVersion: string } };
    await kubectl('create', 'namespace', 'team-y');
    await until('kube-root-ca.crt in team-y with both CAs', async () => {
      const cm = await rootCa('team-y');

      return cm?.data['ca.crt']?.includes(normalized(caB)) && cm.data['ca.crt'].includes(normalized(ca)) ? true : undefined;
    });
    const after = JSON.parse(await kubectl('get', 'configmap', 'kube-root-ca.crt', '-n', 'default', '-o', 'json')) as { metadata: { resourceVersion: string }; data: Record<string, string> };
    assert.equal(after.metadata.resourceVersion, rv.metadata.resourceVersion);
    assert.equal(after.data['ca.crt'], bundle);
  });
});
