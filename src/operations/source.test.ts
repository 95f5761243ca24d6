// The Source contract on every source, with real etcd (plain and TLS with client certificates), a real snapshot read
// through etcdctl snapshot restore, and the SQLite store read while another connection holds its exclusive lock, as
// `coffer up` does (plain and SQLCipher).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, describe, it } from 'node:test';
import { openEtcdStore } from '../storage/etcd/etcd-store.js';
import { startEtcd } from '../storage/etcd/testing/etcd-process.js';
import { SqliteStore } from '../storage/sqlite/sqlite-store.js';
import { openEtcdSource } from './etcd-source.js';
import { chosenSource } from './open-source.js';
import { openSnapshotSource } from './snapshot-source.js';
import { normalizeEtcdPrefix } from './source.js';
import { runSourceContract } from './source.contract.js';
import { openSqliteSource } from './sqlite-source.js';
import { makeTestCertificates } from './testing/certificates.js';

const run = promisify(execFile);
const dirs: string[] = [];
const tempDir = async (name: string) => {
  const d = await mkdtemp(join(tmpdir(), `coffer-source-${name}-`));
  dirs.push(d);
  return d;
};
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** Writes straight to etcd with the etcd store (create: the fixture's keys are new). */
async function fillEtcd(endpoints: string[], entries: Map<string, Buffer>, tls?: { caFile: string; certFile: string; keyFile: string }) {
  const store = await openEtcdStore({ endpoints, prefix: '/', ...(tls ? { tls } : {}) });
  for (const [k, v] of entries) await store.create(k, v);
  return store;
}

runSourceContract('live etcd', async (entries) => {
  const etcd = await startEtcd();
  const store = await fillEtcd(etcd.endpoints, entries);
  const source = await openEtcdSource({ endpoints: etcd.endpoints });
  return {
    source,
    write: async (k, v) => void (await store.create(k, v)),
    close: async () => {
      await source.close();
      await store.close();
      await etcd.stop();
    },
  };
});

runSourceContract('live etcd over TLS with a client certificate (--cacert, --cert, --key)', async (entries) => {
  const certs = await makeTestCertificates(await tempDir('tls'));
  const etcd = await startEtcd({ tls: { caFile: certs.ca, certFile: certs.serverCert, keyFile: certs.serverKey, clientCertAuth: true } });
  const store = await fillEtcd(etcd.endpoints, entries, { caFile: certs.ca, certFile: certs.clientCert, keyFile: certs.clientKey });
  const source = await openEtcdSource({ endpoints: etcd.endpoints, cacert: certs.ca, cert: certs.clientCert, key: certs.clientKey });
  return {
    source,
    write: async (k, v) => void (await store.create(k, v)),
    close: async () => {
      await source.close();
      await store.close();
      await etcd.stop();
    },
  };
});

runSourceContract('etcd snapshot file (etcdctl snapshot restore + a temporary etcd)', async (entries) => {
  const etcd = await startEtcd();
  const store = await fillEtcd(etcd.endpoints, entries);
  const file = join(await tempDir('snap'), 'backup.db');
  await run('etcdctl', ['--endpoints', etcd.endpoints[0]!, 'snapshot', 'save', file], { env: { ...process.env, ETCDCTL_API: '3' } });
  const source = await openSnapshotSource(file);
  return {
    source,
    // Written to the live etcd the snapshot came from: the snapshot must not change.
    write: async (k, v) => void (await store.create(k, v)),
    close: async () => {
      await source.close();
      await store.close();
      await etcd.stop();
    },
  };
});

for (const encrypted of [false, true]) {
  runSourceContract(`SQLite store${encrypted ? ' encrypted with SQLCipher' : ''}, read while another connection holds its lock`, async (entries) => {
    const dataDir = await tempDir('sqlite');
    const keyFile = join(await tempDir('sqlite-key'), 'store.key');
    if (encrypted) await writeFile(keyFile, randomBytes(32), { mode: 0o600 });
    const opts = { dataDir: join(dataDir, 'store'), ...(encrypted ? { encryptionKeyFile: keyFile } : {}), prefix: '/' };
    // The "running coffer up": its connection holds the exclusive lock, and its last writes are only in the WAL.
    const live = await SqliteStore.open(opts);
    for (const [k, v] of entries) await live.create(k, v);
    const source = await openSqliteSource({ dataDir, ...(encrypted ? { storeEncryptionKeyFile: keyFile } : {}) });
    return {
      source,
      write: async (k, v) => void (await live.create(k, v)),
      close: async () => {
        await source.close();
        await live.close();
      },
    };
  });
}

void describe('source flags', () => {
  void it('takes exactly one source and refuses flags of another', () => {
    assert.equal(chosenSource({ etcdPrefix: '/registry' }), undefined);
    assert.equal(chosenSource({ etcdPrefix: '/registry', dataDir: 'd' }), 'sqlite');
    assert.throws(() => chosenSource({ etcdPrefix: '/registry', dataDir: 'd', snapshot: 's' }), /give one source, not 2/);
    assert.throws(() => chosenSource({ etcdPrefix: '/registry', snapshot: 's', cacert: 'ca' }), /--cacert, --cert and --key go with --etcd-endpoints/);
    assert.throws(() => chosenSource({ etcdPrefix: '/registry', etcdEndpoints: 'http://x:1', storeEncryptionKeyFile: 'k' }), /--store-encryption-key-file goes with --data-dir/);
  });
  void it('normalizes --etcd-prefix as kube-apiserver joins it', () => {
    assert.equal(normalizeEtcdPrefix('/registry'), '/registry/');
    assert.equal(normalizeEtcdPrefix('/registry/'), '/registry/');
    assert.equal(normalizeEtcdPrefix('custom/k8s'), '/custom/k8s/');
    assert.throws(() => normalizeEtcdPrefix('/'), /--etcd-prefix: must be a non-empty key path/);
  });
  void it('refuses a snapshot that is not a file, and a data dir without a store, naming the flag', async () => {
    const d = await tempDir('bad');
    await assert.rejects(openSnapshotSource(join(d, 'missing.db')), /--snapshot: .*is not a file/);
    await assert.rejects(openSqliteSource({ dataDir: d }), /--data-dir: no Coffer store/);
  });
  void it('refuses a corrupted snapshot (etcdctl checks its integrity hash)', async () => {
    const file = join(await tempDir('corrupt'), 'bad.db');
    await writeFile(file, randomBytes(4096));
    await assert.rejects(openSnapshotSource(file), /etcdctl snapshot restore .* failed/);
  });
});

void describe('SQLite source layout', () => {
  void it('reads a directory that holds coffer.db directly', async () => {
    const dir = await tempDir('direct');
    const store = await SqliteStore.open({ dataDir: dir });
    await store.create('/registry/secrets/a/b', Buffer.from('x'));
    await store.close();
    const source = await openSqliteSource({ dataDir: dir });
    try {
      const keys: string[] = [];
      for await (const e of source.entries('/registry/')) keys.push(e.key);
      assert.deepEqual(keys, ['/registry/secrets/a/b']);
    } finally {
      await source.close();
    }
  });
});
