// The external-secrets.io resources as a user and ESO's controller drive them: `coffer up` as a real process (on the
// embedded SQLite store, then on a real etcd) and the installed kubectl with a fresh cache, never --validate=false:
// apply a SecretStore and an ExternalSecret in ESO's documented shapes, printer columns, the status subresource,
// a 422 with field names, Events in `describe`, and ownerReferences garbage collection (background, foreground,
// orphan).
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openEtcdStore } from '../src/storage/etcd/etcd-store.js';
import { startEtcd, type EtcdProcess } from '../src/storage/etcd/testing/etcd-process.js';

const BIN = new URL('../bin/coffer.js', import.meta.url).pathname;

const ENCRYPTION = `apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
  - resources: [secrets, externalsecrets.external-secrets.io, secretstores.external-secrets.io]
    providers:
      - aescbc:
          keys:
            - name: key1
              secret: c2VjcmV0IGlzIHNlY3VyZQ==
      - identity: {}
`;

const STORE_AND_SECRET = `apiVersion: v1
kind: Namespace
metadata:
  name: app
---
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata:
  name: fake-store
  namespace: app
spec:
  provider:
    fake:
      data:
        - key: /db/creds
          value: '{"username":"admin","password":"s3cr3t","port":5432}'
        - key: /api/token
          value: tok-v1
          version: v1
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata:
  name: db-creds
  namespace: app
spec:
  refreshInterval: 1h
  secretStoreRef:
    name: fake-store
    kind: SecretStore
  target:
    name: db-creds
    creationPolicy: Owner
    deletionPolicy: Retain
  data:
    - secretKey: token
      remoteRef: {key: /api/token, version: v1}
  dataFrom:
    - extract: {key: /db/creds}
`;

const INVALID = `apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata:
  name: broken
  namespace: app
spec:
  refreshInterval: 10
  secretStoreRef: {name: fake-store, kind: Foo}
  data:
    - remoteRef: {key: x}
`;

function externalSecret(name: string): string {
  return `apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: ${name}, namespace: app}
spec:
  secretStoreRef: {name: fake-store}
  dataFrom: [{extract: {key: /db/creds}}]
`;
}

function ownedSecret(name: string, owner: string, uid: string): string {
  return `apiVersion: v1
kind: Secret
metadata:
  name: ${name}
  namespace: app
  ownerReferences:
    - {apiVersion: external-secrets.io/v1, kind: ExternalSecret, name: ${owner}, uid: ${uid}, controller: true, blockOwnerDeletion: true}
stringData: {username: admin}
`;
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

function externalSecretsSuite(storeName: 'sqlite' | 'etcd'): void {
  let dir: string;
  let etcd: EtcdProcess | undefined;
  let server: ChildProcess | undefined;
  let logs = '';

  const baseArgs = () => ['--kubeconfig', join(dir, 'data', 'kubeconfig'), '--cache-dir', join(dir, 'kube-cache')];

  /** kubectl's stdout; on failure an Error carrying stderr. */
  async function kubectl(args: string[], input?: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const child = spawn('kubectl', [...baseArgs(), ...args]);
      let out = '';
      let err = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
      child.stderr.on('data', (c: Buffer) => (err += c.toString()));
      child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(err))));
      child.stdin.end(input ?? '');
    });
  }

  const apply = (yaml: string) => kubectl(['apply', '-f', '-'], yaml);

  async function gone(kind: string, name: string, ms = 10_000): Promise<void> {
    const start = Date.now();
    for (;;) {
      const out = await kubectl(['-n', 'app', 'get', kind, name, '--ignore-not-found', '-o', 'name']);
      if (out.trim() === '') return;
      if (Date.now() - start > ms) throw new Error(`${kind}/${name} still exists`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), `coffer-e2e-eso-${storeName}-`));
    const port = await freePort();
    if (storeName === 'etcd') etcd = await startEtcd();
    await writeFile(join(dir, 'enc.yaml'), ENCRYPTION);
    const storeArgs = storeName === 'etcd' ? ['--store', 'etcd', '--etcd-endpoints', etcd!.endpoints.join(',')] : [];
    // The API server alone: the controller would change the statuses these tests set and read.
    const args = [BIN, 'up', '--data-dir', join(dir, 'data'), '--listen', `127.0.0.1:${port}`, '--encryption-config', join(dir, 'enc.yaml'), '--no-controller', ...storeArgs];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    server = child;
    child.stderr.on('data', (c: Buffer) => (logs += c.toString()));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (c: Buffer) => c.toString().includes('export KUBECONFIG=') && resolve());
      child.once('exit', (code) => reject(new Error(`coffer up exited with ${code}: ${logs}`)));
    });
  });
  after(async () => {
    if (server && server.exitCode === null) {
      const exited = new Promise((r) => server!.once('exit', r));
      server.kill('SIGTERM');
      await exited;
    }
    await etcd?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  void it('discovery: api-resources lists the four kinds with their short names and category', async () => {
    const out = await kubectl(['api-resources', '--api-group', 'external-secrets.io']);
    for (const row of [/clusterexternalsecrets\s+ces\s+external-secrets.io\/v1\s+false\s+ClusterExternalSecret/, /clustersecretstores\s+css\s+.*false\s+ClusterSecretStore/, /externalsecrets\s+es\s+.*true\s+ExternalSecret/, /secretstores\s+ss\s+.*true\s+SecretStore/]) {
      assert.match(out, row);
    }
  });

  void it('applies a SecretStore and an ExternalSecret and prints ESO columns', async () => {
    const out = await apply(STORE_AND_SECRET);
    assert.match(out, /secretstore.external-secrets.io\/fake-store created/);
    assert.match(out, /externalsecret.external-secrets.io\/db-creds created/);
    assert.match(await apply(STORE_AND_SECRET), /externalsecret.external-secrets.io\/db-creds unchanged/);
    const table = await kubectl(['-n', 'app', 'get', 'es']);
    assert.match(table, /^NAME\s+STORETYPE\s+STORE\s+REFRESH INTERVAL\s+STATUS\s+READY\s+LAST SYNC\n/);
    assert.match(table, /db-creds\s+SecretStore\s+fake-store\s+1h\s*\n/);
    assert.match(await kubectl(['-n', 'app', 'get', 'ss']), /^NAME\s+AGE\s+STATUS\s+CAPABILITIES\s+READY\n/);
    assert.match(await kubectl(['get', 'external-secrets', '-n', 'app', '-o', 'name']), /externalsecret.external-secrets.io\/db-creds/);
    assert.match(await kubectl(['explain', 'es.spec.target.creationPolicy']), /FIELD: creationPolicy <string>\nENUM:\n\s+Owner\n\s+Orphan/);
  });

  void it('writes status through the status subresource only; generation counts spec changes', async () => {
    const status = {
      status: {
        refreshTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
        conditions: [{ type: 'Ready', status: 'True', reason: 'SecretSynced', message: 'secret synced', lastTransitionTime: '2025-01-01T10:00:00Z' }],
      },
    };
    assert.match(await kubectl(['-n', 'app', 'patch', 'es', 'db-creds', '--subresource=status', '--type=merge', '-p', JSON.stringify(status)]), /patched/);
    assert.match(await kubectl(['-n', 'app', 'get', 'es', 'db-creds']), /db-creds\s+SecretStore\s+fake-store\s+1h\s+SecretSynced\s+True\s+\d+s/);
    await kubectl(['-n', 'app', 'patch', 'es', 'db-creds', '--type=merge', '-p', '{"status":null,"spec":{"refreshInterval":"2h"}}']);
    const out = await kubectl(['-n', 'app', 'get', 'es', 'db-creds', '-o', 'jsonpath={.metadata.generation} {.status.conditions[0].reason} {.spec.refreshInterval}']);
    assert.equal(out, '2 SecretSynced 2h');
  });

  void it('refuses an invalid ExternalSecret with 422 and the fields at fault', async () => {
    const err = await apply(INVALID).then(
      () => assert.fail('accepted'),
      (e: Error) => e.message,
    );
    assert.match(err, /The ExternalSecret "broken" is invalid:/);
    assert.match(err, /spec\.data\[0\]\.secretKey: Required value/);
    assert.match(err, /spec\.refreshInterval: Invalid value: "integer": spec\.refreshInterval in body must be of type string: "integer"/);
    assert.match(err, /spec\.secretStoreRef\.kind: Unsupported value: "Foo": supported values: "SecretStore", "ClusterSecretStore"/);
    const unknown = await apply(externalSecret('typo').replace('secretStoreRef', 'secretStoreReff')).then(
      () => assert.fail('accepted'),
      (e: Error) => e.message,
    );
    assert.match(unknown, /strict decoding error: unknown field "spec.secretStoreReff"/);
  });

  void it('records Events the controller creates and shows them in describe and get events', async () => {
    const uid = await kubectl(['-n', 'app', 'get', 'es', 'db-creds', '-o', 'jsonpath={.metadata.uid}']);
    const event = `apiVersion: v1
kind: Event
metadata: {name: db-creds.1, namespace: app}
involvedObject: {apiVersion: external-secrets.io/v1, kind: ExternalSecret, name: db-creds, namespace: app, uid: ${uid}}
reason: Created
message: secret created
type: Normal
source: {component: external-secrets}
firstTimestamp: "${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}"
lastTimestamp: "${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}"
count: 1
`;
    await kubectl(['create', '-f', '-'], event);
    assert.match(await kubectl(['-n', 'app', 'describe', 'es', 'db-creds']), /Events:\s+Type\s+Reason\s+Age\s+From\s+Message\n.*\n\s+Normal\s+Created\s+\S+\s+external-secrets\s+secret created/);
    assert.match(await kubectl(['-n', 'app', 'get', 'events']), /\s+Normal\s+Created\s+externalsecret\/db-creds\s+secret created/);
  });

  void it('deletes the owned Secret when its ExternalSecret goes (background)', async () => {
    const uid = await kubectl(['-n', 'app', 'get', 'es', 'db-creds', '-o', 'jsonpath={.metadata.uid}']);
    await apply(ownedSecret('db-creds', 'db-creds', uid));
    assert.match(await kubectl(['-n', 'app', 'delete', 'es', 'db-creds']), /externalsecret.external-secrets.io "db-creds" deleted/);
    await gone('secret', 'db-creds');
  });

  void it('foreground: the Secret goes first, then the ExternalSecret', async () => {
    await apply(externalSecret('fg'));
    const uid = await kubectl(['-n', 'app', 'get', 'es', 'fg', '-o', 'jsonpath={.metadata.uid}']);
    await apply(ownedSecret('fg-secret', 'fg', uid));
    assert.match(await kubectl(['-n', 'app', 'delete', 'es', 'fg', '--cascade=foreground']), /deleted/);
    await gone('secret', 'fg-secret');
    await gone('es', 'fg');
  });

  void it('orphan: the Secret stays and loses its ownerReference', async () => {
    await apply(externalSecret('orph'));
    const uid = await kubectl(['-n', 'app', 'get', 'es', 'orph', '-o', 'jsonpath={.metadata.uid}']);
    await apply(ownedSecret('orph-secret', 'orph', uid));
    await kubectl(['-n', 'app', 'delete', 'es', 'orph', '--cascade=orphan']);
    await gone('es', 'orph');
    const refs = await kubectl(['-n', 'app', 'get', 'secret', 'orph-secret', '-o', 'jsonpath={.metadata.ownerReferences}']);
    assert.equal(refs, '');
  });

  if (storeName === 'etcd') {
    void it('stores ExternalSecrets in etcd as kube does: /registry/external-secrets.io/..., encrypted JSON', async () => {
      await apply(externalSecret('stored'));
      const store = await openEtcdStore({ endpoints: etcd!.endpoints });
      try {
        const { kv } = await store.get('/registry/external-secrets.io/externalsecrets/app/stored');
        assert.ok(kv);
        assert.ok(Buffer.from(kv.value).toString('latin1').startsWith('k8s:enc:aescbc:v1:key1:'));
      } finally {
        await store.close();
      }
    });
  }
}

void describe('kubectl and external-secrets.io on SQLite', () => externalSecretsSuite('sqlite'));
void describe('kubectl and external-secrets.io on etcd', () => externalSecretsSuite('etcd'));
