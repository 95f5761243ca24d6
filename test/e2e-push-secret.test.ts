// PushSecret (external-secrets.io/v1alpha1) end to end: `coffer up` serves the CRD, `coffer controller` pushes the keys
// of a Secret to `coffer keyserver` (KV v2) with a write-capable store token, kubectl drives it all. Replace and
// IfNotExists, ESO's managed-by marker (a remote secret ESO did not create is never overwritten), status conditions
// and syncedPushSecrets, and deletionPolicy Delete (the finalizer removes what was pushed); spec.template; the kubernetes
// provider writing Secrets of another namespace of `coffer up` over TLS, with the labels and annotations of
// data[].metadata (PushSecretMetadata) and spec.template.templateFrom; both stores report ReadWrite capabilities.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { kubeReader, type KubeReader } from './support/kube-api.js';
import { freePort, run, runWithInput, startCoffer, type CofferChild } from './support/processes.js';

interface PushSecretStatus {
  conditions?: { type: string; status: string; reason?: string; message?: string }[];
  syncedPushSecrets?: Record<string, Record<string, unknown>>;
}

void describe('PushSecret end to end: kubectl, coffer up, coffer controller and coffer keyserver', () => {
  let dir: string;
  let vaultUrl: string;
  let rootToken: string;
  let apiUrl: string;
  const children: CofferChild[] = [];
  const start = async (args: string[], ready: RegExp, what: string) => {
    const started = await startCoffer(args, ready, what);
    children.push(started.child);
    return started;
  };

  const kubeArgs = () => ['--kubeconfig', join(dir, 'data', 'kubeconfig'), '--cache-dir', join(dir, 'kube-cache')];
  const kubectl = async (...args: string[]) => (await run('kubectl', [...kubeArgs(), ...args])).stdout;
  const apply = async (objects: object[]) => (await runWithInput('kubectl', [...kubeArgs(), 'apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }))).stdout;
  // Reads (most of them polls) go to the API server directly (test/support/kube-api.ts): a kubectl process per poll
  // cost more than the scenarios. Writes, tables and `describe` stay with kubectl.
  let kube: KubeReader;
  const status = async (name: string): Promise<PushSecretStatus | undefined> => (await kube.get<{ status?: PushSecretStatus }>('pushsecret', 'push', name))?.status;
  async function waitFor<T>(what: string, check: () => Promise<T | undefined | false>, ms = 20_000): Promise<T> {
    const t0 = Date.now();
    for (;;) {
      const v = await check();
      if (v !== undefined && v !== false) return v;
      if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}; controller log:\n${children[2]?.out().split('\n').slice(-10).join('\n')}`);
      await new Promise((r) => setTimeout(r, 150));
    }
  }
  const ready = (name: string, want: 'True' | 'False') =>
    waitFor(`${name} Ready=${want}`, async () => {
      const c = (await status(name))?.conditions?.find((x) => x.type === 'Ready');
      return c?.status === want ? c : undefined;
    });
  async function vault(method: string, path: string, body?: unknown): Promise<{ status: number; body?: Record<string, unknown> }> {
    const res = await fetch(`${vaultUrl}/v1/${path}`, { method, headers: { 'X-Vault-Token': rootToken }, ...(body ? { body: JSON.stringify(body) } : {}) });
    const text = await res.text();
    return { status: res.status, ...(text ? { body: JSON.parse(text) as Record<string, unknown> } : {}) };
  }
  const kvData = async (path: string) => {
    const r = await vault('GET', `secret/data/${path}`);
    return r.status === 200 ? ((r.body!.data as { data: Record<string, string> }).data) : undefined;
  };
  const pushSecret = (name: string, spec: Record<string, unknown>) => ({
    apiVersion: 'external-secrets.io/v1alpha1',
    kind: 'PushSecret',
    metadata: { name, namespace: 'push' },
    spec: { refreshInterval: '1s', secretStoreRefs: [{ name: 'vault', kind: 'SecretStore' }], selector: { secret: { name: 'source' } }, ...spec },
  });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'coffer-e2e-push-'));
    const port = await freePort();
    const [ks] = await Promise.all([
      start(['keyserver', '--data-dir', join(dir, 'ks'), '--root-key-file', join(dir, 'ks-root.key'), '--init', '--root-token-file', join(dir, 'ks-root.token'), '--listen', '127.0.0.1:0'], /keyserver listening on (http:\/\/\S+)/, 'coffer keyserver'),
      start(['up', '--data-dir', join(dir, 'data'), '--listen', `127.0.0.1:${port}`, '--encryption', 'aesgcm', '--no-controller'], /export KUBECONFIG=/, 'coffer up'),
    ]);
    vaultUrl = ks.match[1]!;
    apiUrl = `https://127.0.0.1:${port}`;
    kube = kubeReader(join(dir, 'data', 'kubeconfig'));
    rootToken = (await readFile(join(dir, 'ks-root.token'), 'utf8')).trim();
    await start(['controller', '--kubeconfig', join(dir, 'data', 'kubeconfig'), '--log-level', 'debug'], /external-secrets controller started/, 'coffer controller');
    // A token that may write what it pushes, as a PushSecret store needs.
    await vault('PUT', 'sys/policies/acl/pusher', { policy: 'path "secret/data/pushed/*" { capabilities = ["create", "update", "read", "delete"] }\npath "secret/metadata/pushed/*" { capabilities = ["create", "update", "read", "delete"] }' });
    const token = ((await vault('POST', 'auth/token/create', { policies: ['pusher'], ttl: '1h' })).body!.auth as { client_token: string }).client_token;
    await apply([
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'push' } },
      { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'vault-token', namespace: 'push' }, stringData: { token } },
      { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'source', namespace: 'push' }, stringData: { username: 'app', password: 'p@ss-1' } },
      {
        apiVersion: 'external-secrets.io/v1',
        kind: 'SecretStore',
        metadata: { name: 'vault', namespace: 'push' },
        spec: { provider: { vault: { server: vaultUrl, path: 'secret', version: 'v2', auth: { tokenSecretRef: { name: 'vault-token', key: 'token' } } } } },
      },
    ]);
  });
  const b64 = (s: string | Buffer) => Buffer.from(s).toString('base64');
  const secretData = async (ns: string, name: string) => {
    const s = await kube.get<{ type?: string; data?: Record<string, string> }>('secret', ns, name);
    if (!s) return undefined;
    return { type: s.type, data: Object.fromEntries(Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()])) };
  };
  const storeCapabilities = (name: string) =>
    waitFor(`SecretStore ${name} capabilities`, async () => {
      const store = await kube.get<{ status?: { capabilities?: string } }>('secretstore', 'push', name);
      assert.ok(store, `SecretStore ${name} exists`);
      return store.status?.capabilities;
    });

  after(async () => {
    kube?.close();
    await Promise.all(children.map((c) => c.stop()));
    await rm(dir, { recursive: true, force: true });
  });

  void it('pushes one key as a property and the whole Secret as an object, with ESO status and the managed-by marker', async () => {
    assert.match(await kubectl('api-resources', '--api-group=external-secrets.io'), /^pushsecrets\s+external-secrets\.io\/v1alpha1\s+true\s+PushSecret$/m);
    await apply([
      pushSecret('db', {
        deletionPolicy: 'Delete',
        data: [
          { match: { secretKey: 'password', remoteRef: { remoteKey: 'pushed/db', property: 'password' } } },
          { match: { remoteRef: { remoteKey: 'pushed/all' } } },
        ],
      }),
    ]);
    const cond = await ready('db', 'True');
    assert.equal(cond.reason, 'Synced');
    assert.equal(cond.message, 'PushSecret synced successfully');
    assert.deepEqual(await kvData('pushed/db'), { password: 'p@ss-1' });
    assert.deepEqual(await kvData('pushed/all'), { username: 'app', password: 'p@ss-1' });
    const meta = await vault('GET', 'secret/metadata/pushed/db');
    assert.deepEqual((meta.body!.data as { custom_metadata: unknown }).custom_metadata, { 'managed-by': 'external-secrets' });
    const synced = (await status('db'))!.syncedPushSecrets!;
    assert.deepEqual(Object.keys(synced), ['SecretStore/vault']);
    assert.deepEqual(Object.keys(synced['SecretStore/vault']!).sort(), ['pushed/all', 'pushed/db/password']);
    const ps = JSON.parse(await kubectl('-n', 'push', 'get', 'pushsecret', 'db', '-o', 'json')) as { metadata: { finalizers?: string[] } };
    assert.deepEqual(ps.metadata.finalizers, ['pushsecret.externalsecrets.io/finalizer']);

    // A new value in the Secret reaches the store on the next refresh (1s).
    await kubectl('-n', 'push', 'patch', 'secret', 'source', '--type=merge', '-p', JSON.stringify({ stringData: { password: 'p@ss-2' } }));
    await waitFor('the new password in the key server', async () => (await kvData('pushed/db'))?.password === 'p@ss-2');
  });

  void it('never overwrites a remote secret ESO did not create, and leaves existing ones alone with IfNotExists', async () => {
    await vault('POST', 'secret/data/pushed/foreign', { data: { owner: 'someone-else' } });
    await apply([pushSecret('foreign', { data: [{ match: { secretKey: 'password', remoteRef: { remoteKey: 'pushed/foreign', property: 'password' } } }] })]);
    const failed = await ready('foreign', 'False');
    assert.equal(failed.reason, 'Errored');
    assert.equal(failed.message, 'set secret failed: could not write remote ref password to target secretstore vault: secret not managed by external-secrets');
    assert.deepEqual(await kvData('pushed/foreign'), { owner: 'someone-else' });

    await apply([pushSecret('once', { updatePolicy: 'IfNotExists', data: [{ match: { secretKey: 'username', remoteRef: { remoteKey: 'pushed/db', property: 'password' } } }] })]);
    const cond = await ready('once', 'True');
    assert.equal(cond.message, 'PushSecret synced successfully. Existing secrets in providers unchanged.');
    assert.notEqual((await kvData('pushed/db'))?.password, 'app', 'the existing property was not replaced');
    await kubectl('-n', 'push', 'delete', 'pushsecret', 'once', 'foreign');
  });

  void it('deletes what it pushed when the PushSecret is deleted (deletionPolicy Delete)', async () => {
    await kubectl('-n', 'push', 'delete', 'pushsecret', 'db', '--wait=true', '--timeout=30s');
    assert.equal(await status('db'), undefined);
    assert.equal((await vault('GET', 'secret/metadata/pushed/db')).status, 404);
    assert.equal((await vault('GET', 'secret/metadata/pushed/all')).status, 404);
    assert.deepEqual(await kvData('pushed/foreign'), { owner: 'someone-else' }, 'not ours: kept');
  });

  void it('the vault store reports ReadWrite capabilities, as ESO\'s vault provider', async () => {
    assert.equal(await storeCapabilities('vault'), 'ReadWrite');
  });

  void it('pushes what spec.template renders from the Secret, and fails clearly on a bad template', async () => {
    await apply([pushSecret('templated', {
      template: { data: { dsn: 'postgres://{{ .username }}:{{ .password | urlquery }}@db/app' } },
      data: [{ match: { secretKey: 'dsn', remoteRef: { remoteKey: 'pushed/templated', property: 'dsn' } } }],
    })]);
    await ready('templated', 'True');
    assert.match((await kvData('pushed/templated'))?.dsn ?? '', /^postgres:\/\/app:p%40ss-\d@db\/app$/);

    await apply([pushSecret('bad-template', {
      template: { data: { dsn: '{{ .username | nope }}' } },
      data: [{ match: { secretKey: 'dsn', remoteRef: { remoteKey: 'pushed/bad', property: 'dsn' } } }],
    })]);
    const failed = await ready('bad-template', 'False');
    assert.match(failed.message!, /^could not apply template: unable to parse template at key dsn: .*function "nope" not defined/);
    assert.equal(await kvData('pushed/bad'), undefined);
    await kubectl('-n', 'push', 'delete', 'pushsecret', 'templated', 'bad-template');
  });

  void it('the kubernetes provider writes Secrets of another namespace as ESO: a property, the whole Secret, IfNotExists, deletion', async () => {
    const adminToken = (await readFile(join(dir, 'data', 'admin.token'), 'utf8')).trim();
    const ca = await readFile(join(dir, 'data', 'ca.crt'));
    await apply([
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'target' } },
      { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'k8s-token', namespace: 'push' }, data: { token: b64(adminToken) } },
      { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'kept', namespace: 'target' }, data: { pw: b64('old') } },
      {
        apiVersion: 'external-secrets.io/v1',
        kind: 'SecretStore',
        metadata: { name: 'k8s', namespace: 'push' },
        spec: { provider: { kubernetes: { remoteNamespace: 'target', server: { url: apiUrl, caBundle: b64(ca) }, auth: { token: { bearerToken: { name: 'k8s-token', key: 'token' } } } } } },
      },
    ]);
    assert.equal(await storeCapabilities('k8s'), 'ReadWrite');
    const toK8s = (name: string, spec: Record<string, unknown>) => pushSecret(name, { secretStoreRefs: [{ name: 'k8s', kind: 'SecretStore' }], ...spec });
    await apply([toK8s('to-k8s', {
      deletionPolicy: 'Delete',
      data: [
        { match: { secretKey: 'password', remoteRef: { remoteKey: 'copied', property: 'pw' } } },
        { match: { remoteRef: { remoteKey: 'whole' } } },
        { match: { remoteRef: { remoteKey: 'as-json', property: 'all' } } },
      ],
    })]);
    await ready('to-k8s', 'True');
    const source = (await secretData('push', 'source'))!.data;
    assert.deepEqual(await secretData('target', 'copied'), { type: 'Opaque', data: { pw: source['password'] } });
    assert.deepEqual(await secretData('target', 'whole'), { type: 'Opaque', data: source });
    assert.deepEqual(await secretData('target', 'as-json'), { type: 'Opaque', data: { all: JSON.stringify({ password: source['password'], username: 'app' }) } });

    await apply([toK8s('keep', { updatePolicy: 'IfNotExists', data: [{ match: { secretKey: 'password', remoteRef: { remoteKey: 'kept', property: 'pw' } } }] })]);
    assert.equal((await ready('keep', 'True')).message, 'PushSecret synced successfully. Existing secrets in providers unchanged.');
    assert.deepEqual((await secretData('target', 'kept'))?.data, { pw: 'old' });

    await apply([toK8s('no-property', { data: [{ match: { secretKey: 'password', remoteRef: { remoteKey: 'nowhere' } } }] })]);
    assert.equal((await ready('no-property', 'False')).message, 'set secret failed: could not write remote ref password to target secretstore k8s: requires property in RemoteRef to push secret value if secret key is defined');

    await kubectl('-n', 'push', 'delete', 'pushsecret', 'to-k8s', '--wait=true', '--timeout=30s');
    assert.equal(await secretData('target', 'copied'), undefined);
    assert.equal(await secretData('target', 'whole'), undefined);
    assert.equal(await secretData('target', 'as-json'), undefined);
    assert.deepEqual((await secretData('target', 'kept'))?.data, { pw: 'old' }, 'not pushed by to-k8s: kept');
  });

  // ESO providers/v1/kubernetes/client_test.go (TestPushSecret, the metadata cases) and
  // pkg/controllers/pushsecret/pushsecret_controller_template.go (templateFrom before template.data and metadata).
  void it('the kubernetes provider: labels and annotations from data[].metadata and the template; template.templateFrom', async () => {
    const meta = (spec: object) => ({ apiVersion: 'kubernetes.external-secrets.io/v1alpha1', kind: 'PushSecretMetadata', spec });
    await apply([
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'tpl', namespace: 'push' }, data: { dsn: 'user={{ .username }}', extra: "k1: '{{ .password }}'\nk2: fixed" } },
      { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'meta-replace', namespace: 'target', labels: { old: 'x' }, annotations: { old: 'y' } }, data: { pw: b64('old') } },
    ]);
    const toK8s = (name: string, spec: Record<string, unknown>) => pushSecret(name, { secretStoreRefs: [{ name: 'k8s', kind: 'SecretStore' }], ...spec });
    await apply([toK8s('meta', {
      template: {
        templateFrom: [
          { configMap: { name: 'tpl', items: [{ key: 'dsn' }, { key: 'extra', templateAs: 'KeysAndValues' }] } },
          { literal: 'team: "{{ .username }}"', target: 'Labels' },
        ],
        metadata: { annotations: { note: 'from-{{ .username }}' } },
      },
      data: [
        { match: { remoteRef: { remoteKey: 'meta-whole' } }, metadata: meta({ labels: { tier: 'backend' }, annotations: { owner: 'team-a' } }) },
        { match: { secretKey: 'dsn', remoteRef: { remoteKey: 'meta-replace', property: 'dsn' } }, metadata: meta({ sourceMergePolicy: 'Replace', targetMergePolicy: 'Replace', labels: { only: 'this' } }) },
      ],
    })]);
    await ready('meta', 'True');
    const password = (await secretData('push', 'source'))!.data['password']!;
    const get = async (name: string) => JSON.parse(await kubectl('-n', 'target', 'get', 'secret', name, '-o', 'json')) as { metadata: { labels?: Record<string, string>; annotations?: Record<string, string> } };
    // The rendered keys join the source's: ESO ignores mergePolicy for a PushSecret.
    assert.deepEqual(await secretData('target', 'meta-whole'), { type: 'Opaque', data: { username: 'app', password, dsn: 'user=app', k1: password, k2: 'fixed' } });
    const whole = (await get('meta-whole')).metadata;
    assert.deepEqual(whole.labels, { team: 'app', tier: 'backend' });
    assert.equal(whole.annotations?.['note'], 'from-app');
    assert.equal(whole.annotations?.['owner'], 'team-a');
    const replaced = await get('meta-replace');
    assert.deepEqual([replaced.metadata.labels, replaced.metadata.annotations ?? {}], [{ only: 'this' }, {}]);
    assert.deepEqual((await secretData('target', 'meta-replace'))?.data, { pw: 'old', dsn: 'user=app' });

    await apply([toK8s('bad-meta', { data: [{ match: { secretKey: 'password', remoteRef: { remoteKey: 'bad-meta', property: 'pw' } }, metadata: {} }] })]);
    assert.equal((await ready('bad-meta', 'False')).message, 'set secret failed: could not write remote ref password to target secretstore k8s: unable to parse metadata parameters: unexpected apiVersion "", expected "kubernetes.external-secrets.io/v1alpha1"');
    await apply([toK8s('bad-from', { template: { templateFrom: [{ configMap: { name: 'nope', items: [{ key: 'x' }] } }] }, data: [{ match: { remoteRef: { remoteKey: 'bad-from' } } }] })]);
    assert.equal((await ready('bad-from', 'False')).message, 'could not apply template: error fetching templateFrom data: error in configmap nope: not found');
    assert.equal(await secretData('target', 'bad-meta'), undefined);
    assert.equal(await secretData('target', 'bad-from'), undefined);
    await kubectl('-n', 'push', 'delete', 'pushsecret', 'meta', 'bad-meta', 'bad-from');
  });
});
