// Issue 6's "Must show", end to end with four real processes: `coffer up` (the API server, aesgcm at rest),
// `coffer controller` (the External Secrets controller, through the kubeconfig like any client), `coffer keyserver`
// (the Vault-compatible KV v2 the `vault` provider reads, with a least-privilege token held in a Secret) and the
// installed kubectl. One server, controller and key server are shared; each scenario has its own namespace:
// the seed's SecretStore/ExternalSecret shapes sync; a new remote value follows within refreshInterval (2s); a hand
// edit or deletion is repaired at once; deleted remote keys under deletionPolicy Retain/Delete/Merge; garbage
// collection of owned Secrets (background, foreground) while an Orphan one stays; a missing key, an invalid template
// and a bad store token give Ready=False, a Warning event and an untouched Secret; invalid resources get a 422.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { kubeReader, type KubeReader } from './support/kube-api.js';
import { freePort, run, runWithInput, startCoffer, type CofferChild } from './support/processes.js';

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}
interface KubeObject {
  metadata: {
    name: string;
    uid: string;
    resourceVersion: string;
    labels?: Record<string, string>;
    ownerReferences?: { kind: string; name: string; controller?: boolean; blockOwnerDeletion?: boolean }[];
  };
  data?: Record<string, string>;
  status?: { conditions?: Condition[]; binding?: { name: string }; refreshTime?: string };
}
interface KubeEvent {
  type: string;
  reason: string;
  message: string;
  count?: number;
  involvedObject: { kind: string; name: string };
  source?: { component?: string };
}

const REFRESH_MS = 2000;
const b64 = (s: string) => Buffer.from(s).toString('base64');

/** A started child process, its output so far, and a way to stop it. */


type Child = CofferChild;
const children: Child[] = [];

/** Starts `coffer <args>` and keeps it for the final cleanup. */
async function start(args: string[], ready: RegExp, what: string): Promise<{ child: Child; match: RegExpExecArray }> {
  const started = await startCoffer(args, ready, what);
  children.push(started.child);
  return started;
}

void describe('External Secrets end to end: kubectl, coffer up, coffer controller and coffer keyserver', () => {
  let dir: string;
  let controller: Child;
  let vaultUrl: string;
  let rootToken: string;
  let storeToken: string;

  const kubeArgs = () => ['--kubeconfig', join(dir, 'data', 'kubeconfig'), '--cache-dir', join(dir, 'kube-cache')];
  const kubectl = async (...args: string[]) => (await run('kubectl', [...kubeArgs(), ...args])).stdout;
  const apply = async (manifest: string | object) =>
    (await runWithInput('kubectl', [...kubeArgs(), 'apply', '-f', '-'], typeof manifest === 'string' ? manifest : JSON.stringify(manifest))).stdout;
  /** kubectl's stderr when it fails (and a test failure when it does not). */
  const kubectlFails = async (args: string[], input = '') =>
    runWithInput('kubectl', [...kubeArgs(), ...args], input).then(
      () => assert.fail(`kubectl ${args.join(' ')} succeeded`),
      (e: Error) => e.message,
    );
  // Reads (most of them polls) go to the API server directly (test/support/kube-api.ts): a kubectl process per poll
  // cost more than the scenarios. Writes, tables and `describe` stay with kubectl.
  let kube: KubeReader;
  const get = <T = KubeObject>(ns: string, kind: string, name: string) => kube.get<T>(kind, ns, name);
  const secretData = async (ns: string, name: string) => {
    const s = await get(ns, 'secret', name);
    return s && Object.fromEntries(Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]));
  };
  const ready = async (ns: string, name: string, kind = 'externalsecret') => (await get(ns, kind, name))?.status?.conditions?.find((c) => c.type === 'Ready');
  const events = async (ns: string, name: string) => (await kube.list<KubeEvent>('events', ns)).filter((e) => e.involvedObject.name === name);

  /** Polls `check` until it returns a value; on timeout fails with `what` and the controller's latest log lines. */
  async function waitFor<T>(what: string, check: () => Promise<T | undefined | false>, ms = 15_000): Promise<T> {
    const start = Date.now();
    for (;;) {
      const v = await check();
      if (v !== undefined && v !== false) return v;
      if (Date.now() - start > ms) throw new Error(`timed out waiting for ${what}; controller log:\n${controller.out().split('\n').slice(-15).join('\n')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const waitReady = (ns: string, name: string, status: 'True' | 'False', reason?: string) =>
    waitFor(`${ns}/${name} Ready=${status}${reason ? ` ${reason}` : ''}`, async () => {
      const c = await ready(ns, name);
      return c?.status === status && (!reason || c.reason === reason) ? c : undefined;
    });
  const waitEvent = (ns: string, name: string, reason: string, message?: RegExp) =>
    waitFor(`event ${reason} on ${ns}/${name}`, async () => (await events(ns, name)).find((e) => e.reason === reason && (!message || message.test(e.message))));

  /** The key server's HTTP API with the root token (what an operator does with `vault kv put`). */
  async function vault(method: string, path: string, body?: unknown): Promise<Record<string, unknown> | undefined> {
    const res = await fetch(`${vaultUrl}/v1/${path}`, { method, headers: { 'X-Vault-Token': rootToken }, ...(body ? { body: JSON.stringify(body) } : {}) });
    const text = await res.text();
    assert.ok(res.ok, `${method} ${path}: ${res.status} ${text}`);
    return text ? (JSON.parse(text) as Record<string, unknown>) : undefined;
  }
  const kvPut = (path: string, data: Record<string, string>) => vault('POST', `secret/data/${path}`, { data });

  /** A namespace with the token Secret and the seed's SecretStore (vault instead of aws), as a user writes them. */
  const storeManifest = (ns: string, token: string) => `apiVersion: v1
kind: Namespace
metadata:
  name: ${ns}
---
apiVersion: v1
kind: Secret
metadata:
  name: vault-token
  namespace: ${ns}
stringData:
  token: ${token}
---
apiVersion: external-secrets.io/v1beta1
kind: SecretStore
metadata:
  name: secretstore-sample
  namespace: ${ns}
spec:
  provider:
    vault:
      server: ${vaultUrl}
      path: secret
      version: v2
      auth:
        tokenSecretRef:
          name: vault-token
          key: token
`;
  async function namespaceWithStore(ns: string): Promise<void> {
    await apply(storeManifest(ns, storeToken));
    await waitFor(`SecretStore ${ns}/secretstore-sample Ready`, async () => (await ready(ns, 'secretstore-sample', 'secretstore'))?.status === 'True');
  }
  /** An ExternalSecret of the store above extracting one remote key, with `target`/`spec` additions. */
  const externalSecret = (ns: string, name: string, key: string, spec: Record<string, unknown> = {}) => ({
    apiVersion: 'external-secrets.io/v1',
    kind: 'ExternalSecret',
    metadata: { name, namespace: ns },
    spec: { refreshInterval: '2s', secretStoreRef: { name: 'secretstore-sample', kind: 'SecretStore' }, dataFrom: [{ extract: { key } }], ...spec },
  });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'coffer-e2e-eso-'));
    const port = await freePort();
    const [ks, server] = await Promise.all([
      start(['keyserver', '--data-dir', join(dir, 'ks'), '--root-key-file', join(dir, 'ks-root.key'), '--init', '--root-token-file', join(dir, 'ks-root.token'), '--listen', '127.0.0.1:0'],
        /keyserver listening on (http:\/\/\S+)/, 'coffer keyserver'),
      start(['up', '--data-dir', join(dir, 'data'), '--listen', `127.0.0.1:${port}`, '--encryption', 'aesgcm', '--no-controller'], /export KUBECONFIG=/, 'coffer up'),
    ]);
    assert.ok(server.child.out().includes('export KUBECONFIG='));
    kube = kubeReader(join(dir, 'data', 'kubeconfig'));
    vaultUrl = ks.match[1]!;
    rootToken = (await readFile(join(dir, 'ks-root.token'), 'utf8')).trim();
    ({ child: controller } = await start(['controller', '--kubeconfig', join(dir, 'data', 'kubeconfig'), '--log-level', 'debug'], /external-secrets controller started/, 'coffer controller'));
    // The stores' token: read-only on the KV mount, as one would give ESO.
    await vault('PUT', 'sys/policies/acl/external-secrets', { policy: 'path "secret/data/*" { capabilities = ["read"] }\npath "secret/metadata/*" { capabilities = ["read", "list"] }' });
    const created = await vault('POST', 'auth/token/create', { policies: ['external-secrets'], ttl: '1h' });
    storeToken = (created!.auth as { client_token: string }).client_token;
  });
  after(async () => {
    kube?.close();
    await Promise.all(children.map((c) => c.stop()));
    await rm(dir, { recursive: true, force: true });
  });

  void it("applies the seed's SecretStore and ExternalSecret (vault on the key server): the Secret appears with the remote values", async () => {
    await kvPut('provider-key', { 'provider-key-property': 'pinned-v1' });
    await kvPut('provider-key', { 'provider-key-property': 'latest-v2' });
    await kvPut('remote-key-in-the-provider', { username: 'admin', password: 's3cr3t' });
    const out = await apply(`${storeManifest('seed', storeToken)}---
apiVersion: external-secrets.io/v1beta1
kind: ExternalSecret
metadata:
  name: example
  namespace: seed
spec:
  refreshInterval: 2s
  secretStoreRef:
    name: secretstore-sample
    kind: SecretStore
  target:
    name: secret-to-be-created
    creationPolicy: Owner
  data:
  - secretKey: secret-key-to-be-managed
    remoteRef:
      key: provider-key
      version: "1"
      property: provider-key-property
  dataFrom:
  - extract:
      key: remote-key-in-the-provider
`);
    assert.match(out, /secretstore.external-secrets.io\/secretstore-sample created/);
    assert.match(out, /externalsecret.external-secrets.io\/example created/);
    await waitReady('seed', 'example', 'True', 'SecretSynced');
    assert.deepEqual(await secretData('seed', 'secret-to-be-created'), { 'secret-key-to-be-managed': 'pinned-v1', username: 'admin', password: 's3cr3t' });
    const secret = (await get('seed', 'secret', 'secret-to-be-created'))!;
    const es = (await get('seed', 'es', 'example'))!;
    assert.deepEqual(secret.metadata.ownerReferences, [{ apiVersion: 'external-secrets.io/v1', kind: 'ExternalSecret', name: 'example', uid: es.metadata.uid, controller: true, blockOwnerDeletion: true }]);
    assert.equal(secret.metadata.labels?.['reconcile.external-secrets.io/managed'], 'true');
    assert.equal(es.status?.binding?.name, 'secret-to-be-created');
    assert.match(await kubectl('-n', 'seed', 'get', 'es'), /example\s+SecretStore\s+secretstore-sample\s+2s\s+SecretSynced\s+True\s/);
    // ESO's vault provider reports ReadWrite (it can push).
    assert.match(await kubectl('-n', 'seed', 'get', 'ss'), /secretstore-sample\s+\S+\s+Valid\s+ReadWrite\s+True/);
    await waitEvent('seed', 'example', 'Created', /^secret created$/);
    assert.match(await kubectl('-n', 'seed', 'describe', 'es', 'example'), /Normal\s+Created\s+\S+\s+external-secrets\s+secret created/);
  });

  void it('refreshes every refreshInterval, writing the Secret only when the remote value changed; follows a new value within it', async (t) => {
    const steady = (await get('seed', 'secret', 'secret-to-be-created'))!.metadata.resourceVersion;
    const firstRefresh = (await get('seed', 'es', 'example'))!.status!.refreshTime;
    await waitFor('a periodic refresh', async () => (await get('seed', 'es', 'example'))!.status!.refreshTime !== firstRefresh);
    assert.equal((await get('seed', 'secret', 'secret-to-be-created'))!.metadata.resourceVersion, steady, 'a refresh with nothing new writes nothing');

    const t0 = Date.now();
    await kvPut('remote-key-in-the-provider', { username: 'admin', password: 'rotated' });
    await waitFor('the new value in the Secret', async () => (await secretData('seed', 'secret-to-be-created'))?.password === 'rotated');
    const elapsed = Date.now() - t0;
    t.diagnostic(`new value in the Secret after ${elapsed} ms (refreshInterval 2s)`);
    // One refresh period plus the controller's wake-up margin and jitter (≤ 130 ms at 2s) and the 100 ms polling.
    assert.ok(elapsed < REFRESH_MS + 1000, `took ${elapsed} ms with refreshInterval 2s`);
    assert.equal((await secretData('seed', 'secret-to-be-created'))?.['secret-key-to-be-managed'], 'pinned-v1');
    await waitEvent('seed', 'example', 'Updated', /^secret updated$/);
  });

  void it('repairs a hand edit or deletion of the Secret at once, not at the next refresh (1h)', async (t) => {
    // "At once" against a 1 h refresh: a 30 s liveness bound tells the two apart even on a loaded machine.
    await apply(externalSecret('seed', 'drift', 'remote-key-in-the-provider', { refreshInterval: '1h' }));
    await waitReady('seed', 'drift', 'True', 'SecretSynced');
    assert.deepEqual(await secretData('seed', 'drift'), { username: 'admin', password: 'rotated' });

    let t0 = Date.now();
    await kubectl('-n', 'seed', 'patch', 'secret', 'drift', '--type=merge', '-p', JSON.stringify({ data: { password: b64('hand-edited'), extra: b64('x') } }));
    await waitFor('the hand edit to be undone', async () => {
      const d = await secretData('seed', 'drift');
      return d?.password === 'rotated' && !('extra' in d);
    });
    t.diagnostic(`hand edit repaired after ${Date.now() - t0} ms`);
    assert.ok(Date.now() - t0 < 30_000, `repair took ${Date.now() - t0} ms`);

    t0 = Date.now();
    await kubectl('-n', 'seed', 'delete', 'secret', 'drift');
    await waitFor('the deleted Secret to come back', async () => (await secretData('seed', 'drift'))?.password === 'rotated');
    t.diagnostic(`deleted Secret re-created after ${Date.now() - t0} ms`);
    assert.ok(Date.now() - t0 < 30_000, `re-creation took ${Date.now() - t0} ms`);
  });

  void it('deletes the remote keys: deletionPolicy Retain keeps the Secret, Delete deletes it, Merge removes only its keys', async () => {
    await namespaceWithStore('deletion');
    await kvPut('deletion/retain', { a: 'retained' });
    await kvPut('deletion/delete', { a: 'deleted' });
    await kvPut('deletion/merge', { remote: 'merged' });
    await kubectl('-n', 'deletion', 'create', 'secret', 'generic', 'shared', '--from-literal=local=keep-me');
    await apply({
      apiVersion: 'v1',
      kind: 'List',
      items: [
        externalSecret('deletion', 'retain', 'deletion/retain', { target: { deletionPolicy: 'Retain' } }),
        externalSecret('deletion', 'delete', 'deletion/delete', { target: { deletionPolicy: 'Delete' } }),
        externalSecret('deletion', 'merge', 'deletion/merge', { target: { name: 'shared', creationPolicy: 'Merge', deletionPolicy: 'Merge' } }),
      ],
    });
    for (const name of ['retain', 'delete', 'merge']) await waitReady('deletion', name, 'True', 'SecretSynced');
    assert.deepEqual(await secretData('deletion', 'shared'), { local: 'keep-me', remote: 'merged' });
    const retained = (await get('deletion', 'secret', 'retain'))!;

    await vault('DELETE', 'secret/data/deletion/retain'); // `vault kv delete`: the latest version is soft-deleted
    await vault('DELETE', 'secret/metadata/deletion/delete'); // `vault kv metadata delete`: every version is gone
    await vault('DELETE', 'secret/data/deletion/merge');

    const retain = await waitReady('deletion', 'retain', 'False', 'SecretSyncedError');
    assert.match(retain.message ?? '', /^could not get secret data from provider: /);
    await waitEvent('deletion', 'retain', 'UpdateFailed', /^error processing spec\.dataFrom\[0\]\.extract, err: Secret does not exist$/);
    const still = (await get('deletion', 'secret', 'retain'))!;
    assert.equal(still.metadata.resourceVersion, retained.metadata.resourceVersion, 'Retain: the Secret is not touched');
    assert.deepEqual(await secretData('deletion', 'retain'), { a: 'retained' });

    const del = await waitReady('deletion', 'delete', 'True', 'SecretDeleted');
    assert.equal(del.message, 'secret deleted due to DeletionPolicy=Delete');
    assert.equal(await get('deletion', 'secret', 'delete'), undefined, 'Delete: the Secret is deleted');
    await waitEvent('deletion', 'delete', 'Deleted', /^secret deleted due to DeletionPolicy=Delete$/);
    // Every refresh finds the key missing again: one Event whose count grows, shown as "(xN over …)" by describe.
    await waitFor('MissingProviderSecret to be counted', async () => {
      const missing = (await events('deletion', 'delete')).filter((e) => e.reason === 'MissingProviderSecret');
      assert.equal(missing.length, 1, 'repeats are aggregated into one Event');
      assert.match(missing[0]!.message, /^secret does not exist at provider using spec\.dataFrom\[0\]$/);
      return missing[0]!.count! >= 2;
    });
    assert.match(await kubectl('-n', 'deletion', 'describe', 'es', 'delete'), /Normal\s+MissingProviderSecret\s+\S+ \(x\d+ over \S+\)\s+external-secrets\s+secret does not exist at provider/);

    await waitFor('Merge to drop only its own keys', async () => {
      const d = await secretData('deletion', 'shared');
      return d && !('remote' in d) ? d : undefined;
    }).then((d) => assert.deepEqual(d, { local: 'keep-me' }, 'Merge: keys written by others stay'));
    assert.equal((await ready('deletion', 'merge'))?.status, 'True');
  });

  void it('garbage-collects the owned Secret with its ExternalSecret (background and foreground); an Orphan Secret stays', async () => {
    await namespaceWithStore('gc');
    await kvPut('gc/db', { password: 'gc' });
    await apply({
      apiVersion: 'v1',
      kind: 'List',
      items: [
        externalSecret('gc', 'owned', 'gc/db'),
        externalSecret('gc', 'owned-fg', 'gc/db'),
        externalSecret('gc', 'orphan', 'gc/db', { target: { creationPolicy: 'Orphan' } }),
      ],
    });
    for (const name of ['owned', 'owned-fg', 'orphan']) {
      await waitReady('gc', name, 'True', 'SecretSynced');
      assert.deepEqual(await secretData('gc', name), { password: 'gc' });
    }
    assert.equal((await get('gc', 'secret', 'orphan'))!.metadata.ownerReferences, undefined, 'Orphan: no ownerReference');

    await kubectl('-n', 'gc', 'delete', 'es', 'orphan');
    await kubectl('-n', 'gc', 'delete', 'es', 'owned');
    await waitFor('the owned Secret to be garbage collected', async () => (await get('gc', 'secret', 'owned')) === undefined);
    // Foreground: kubectl waits for the ExternalSecret to go, which happens only after its dependents are gone.
    await kubectl('-n', 'gc', 'delete', 'es', 'owned-fg', '--cascade=foreground', '--timeout=20s');
    assert.equal(await get('gc', 'secret', 'owned-fg'), undefined, 'foreground: the Secret went before its owner');
    assert.deepEqual(await secretData('gc', 'orphan'), { password: 'gc' }, 'the Orphan Secret stays');
  });

  void it('a missing remote key: Ready=False with the reason, a Warning event naming the entry, the Secret left as it was', async () => {
    await namespaceWithStore('errors');
    await kvPut('errors/db', { username: 'admin', password: 'before' });
    await apply(externalSecret('errors', 'missing', 'errors/db'));
    await waitReady('errors', 'missing', 'True', 'SecretSynced');
    const before = (await get('errors', 'secret', 'missing'))!;

    await kubectl('-n', 'errors', 'patch', 'es', 'missing', '--type=merge', '-p', JSON.stringify({ spec: { data: [{ secretKey: 'api', remoteRef: { key: 'errors/nope', property: 'token' } }] } }));
    const c = await waitReady('errors', 'missing', 'False', 'SecretSyncedError');
    assert.match(c.message ?? '', /^could not get secret data from provider: /);
    const e = await waitEvent('errors', 'missing', 'UpdateFailed');
    assert.equal(e.type, 'Warning');
    assert.equal(e.message, 'error processing spec.data[0] (key: errors/nope), err: Secret does not exist');
    assert.match(await kubectl('-n', 'errors', 'describe', 'es', 'missing'), /Warning\s+UpdateFailed\s+\S+(?: \(x\d+ over \S+\))?\s+external-secrets\s+error processing spec\.data\[0\] \(key: errors\/nope\), err: Secret does not exist/);
    assert.match(await kubectl('-n', 'errors', 'get', 'events'), /Warning\s+UpdateFailed\s+externalsecret\/missing\s+error processing spec\.data\[0\]/);
    assert.match(await kubectl('-n', 'errors', 'get', 'es', 'missing'), /missing\s+SecretStore\s+secretstore-sample\s+2s\s+SecretSyncedError\s+False/);
    assert.equal((await get('errors', 'secret', 'missing'))!.metadata.resourceVersion, before.metadata.resourceVersion, 'the Secret is not touched');
    assert.deepEqual(await secretData('errors', 'missing'), { username: 'admin', password: 'before' });
  });

  void it('an invalid template: Ready=False, a Warning event with the template error, the Secret left as it was', async () => {
    await kvPut('errors/tpl', { username: 'admin', password: 'p4ss' });
    const templated = (dsn: string) => externalSecret('errors', 'tpl', 'errors/tpl', { target: { template: { type: 'Opaque', data: { dsn } } } });
    await apply(templated('postgres://{{ .username }}:{{ .password | urlquery }}@db:5432/app'));
    await waitReady('errors', 'tpl', 'True', 'SecretSynced');
    assert.deepEqual(await secretData('errors', 'tpl'), { dsn: 'postgres://admin:p4ss@db:5432/app' });
    const before = (await get('errors', 'secret', 'tpl'))!;

    await apply(templated('{{ .password | sha3 }}'));
    const c = await waitReady('errors', 'tpl', 'False', 'SecretSyncedError');
    assert.match(c.message ?? '', /^could not update secret: /);
    const e = await waitEvent('errors', 'tpl', 'UpdateFailed');
    assert.match(e.message, /^could not apply template: unable to parse template at key dsn: .*function "sha3" not defined/);
    assert.match(await kubectl('-n', 'errors', 'describe', 'es', 'tpl'), /Warning\s+UpdateFailed\s+\S+(?: \(x\d+ over \S+\))?\s+external-secrets\s+could not apply template: unable to parse template at key dsn/);
    assert.equal((await get('errors', 'secret', 'tpl'))!.metadata.resourceVersion, before.metadata.resourceVersion, 'the Secret is not touched');
    assert.deepEqual(await secretData('errors', 'tpl'), { dsn: 'postgres://admin:p4ss@db:5432/app' });
  });

  void it('a bad token in the store Secret: Ready=False with the key server\'s 403 in the event, the Secret left as it was; fixing it recovers', async () => {
    await namespaceWithStore('tokens');
    await kvPut('tokens/db', { password: 'tok' });
    await apply(externalSecret('tokens', 'db', 'tokens/db'));
    await waitReady('tokens', 'db', 'True', 'SecretSynced');
    const before = (await get('tokens', 'secret', 'db'))!;

    await apply({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'vault-token', namespace: 'tokens' }, stringData: { token: 'hvs.not-a-valid-token' } });
    const c = await waitReady('tokens', 'db', 'False', 'SecretSyncedError');
    assert.match(c.message ?? '', /^could not get secret data from provider: /);
    const e = await waitEvent('tokens', 'db', 'UpdateFailed');
    assert.match(e.message, /^error processing spec\.dataFrom\[0\]\.extract, err: cannot read secret data from Vault: Error making API request\. URL: GET http:\/\/127\.0\.0\.1:\d+\/v1\/secret\/data\/tokens\/db Code: 403\. Errors: .*permission denied/);
    assert.ok(!e.message.includes('hvs.not-a-valid-token') && !e.message.includes(storeToken), 'the event names no token');
    assert.equal((await get('tokens', 'secret', 'db'))!.metadata.resourceVersion, before.metadata.resourceVersion, 'the Secret is not touched');

    await apply({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'vault-token', namespace: 'tokens' }, stringData: { token: storeToken } });
    await waitReady('tokens', 'db', 'True', 'SecretSynced');
    assert.deepEqual(await secretData('tokens', 'db'), { password: 'tok' });
    for (const token of [storeToken, rootToken, 'hvs.not-a-valid-token']) assert.ok(!controller.out().includes(token), 'the controller logs no token');
  });

  void it('the API server refuses invalid external-secrets.io resources with 422 and the fields at fault', async () => {
    await kubectl('create', 'namespace', 'invalid');
    const invalid = `apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata:
  name: broken
  namespace: invalid
spec:
  refreshInterval: 10
  secretStoreRef:
    name: secretstore-sample
    kind: Foo
  target:
    creationPolicy: Sometimes
  data:
  - remoteRef:
      key: errors/db
      decodingStrategy: Rot13
`;
    const err = await kubectlFails(['apply', '-f', '-', '-v=6'], invalid);
    assert.match(err, /POST https:\/\/\S+\/apis\/external-secrets\.io\/v1\/namespaces\/invalid\/externalsecrets\S* 422 Unprocessable Entity/);
    assert.match(err, /The ExternalSecret "broken" is invalid:/);
    for (const cause of [
      /spec\.refreshInterval: Invalid value: "integer": spec\.refreshInterval in body must be of type string: "integer"/,
      /spec\.secretStoreRef\.kind: Unsupported value: "Foo": supported values: "SecretStore", "ClusterSecretStore"/,
      /spec\.target\.creationPolicy: Unsupported value: "Sometimes"/,
      /spec\.data\[0\]\.secretKey: Required value/,
      /spec\.data\[0\]\.remoteRef\.decodingStrategy: Unsupported value: "Rot13"/,
    ]) assert.match(err, cause);

    // The Status body itself: code 422, reason Invalid, one cause per field.
    const body = await kubectlFails(['create', '--raw', '/apis/external-secrets.io/v1/namespaces/invalid/secretstores', '-f', '-', '-v=8'],
      JSON.stringify({ apiVersion: 'external-secrets.io/v1', kind: 'SecretStore', metadata: { name: 'broken', namespace: 'invalid' }, spec: { provider: { vault: { path: 'secret' } } } }));
    assert.match(body, /Response Status: 422 Unprocessable Entity/);
    const quoted = /"Response Body" body=("(?:[^"\\]|\\.)*")/.exec(body)?.[1];
    assert.ok(quoted, 'kubectl -v=8 shows the response body');
    const status = JSON.parse(JSON.parse(quoted) as string) as { code: number; reason: string; details: { kind: string; causes: { reason: string; field: string }[] } };
    assert.equal(status.code, 422);
    assert.equal(status.reason, 'Invalid');
    assert.equal(status.details.kind, 'SecretStore');
    assert.deepEqual(status.details.causes.map((c) => [c.reason, c.field]), [['FieldValueRequired', 'spec.provider.vault.server']]);
    assert.equal(await get('invalid', 'es', 'broken'), undefined);
    assert.equal(await get('invalid', 'ss', 'broken'), undefined);
  });
});
