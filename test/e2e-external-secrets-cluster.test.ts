// Issue 6, the External Secrets pieces beyond the vault provider, end to end with real processes: `coffer up` (the
// API server, aesgcm at rest, with a token file and an authorization policy so that store credentials are real
// least-privilege users), `coffer controller` and the installed kubectl. One server and one controller are shared;
// each scenario has its own namespaces:
// - the `kubernetes` provider reading Secrets of another namespace (`source`) over TLS, authenticated by a bearer
//   token Secret (re-read, so a rotation takes effect), a kubeconfig Secret (authRef) and a ServiceAccount token from
//   TokenRequest (renewed before it expires); data[] with property paths and metadataPolicy Fetch, dataFrom extract
//   and find (name regexp and tags) with rewrite; a user the policy does not allow makes the store Ready=False;
// - ClusterSecretStore `conditions` (namespaceSelector, namespaces, unanchored namespaceRegexes) and referent auth;
// - ClusterExternalSecret: one ExternalSecret per matching namespace, removal when a namespace stops matching or is
//   deleted, a conflicting ExternalSecret reported in failedNamespaces, force-sync mirrored, garbage collection;
// - the `fake` provider with versions, property, find + rewrite, and a template with type, labels and annotations;
// - refreshPolicy Periodic / CreatedOnce / OnChange and the force-sync annotation.
//
// Coffer's API server does not serve ServiceAccounts or TokenRequest (kubectl create token → NotFound), so the
// controller talks to it through a small TLS proxy in this file that answers TokenRequest for one ServiceAccount the
// way kube-apiserver does (a bound token with an expirationTimestamp) and forwards everything else. The provider's
// own requests for that store also pass through the proxy, which refuses a token after its expiry with a 401, as
// kube-apiserver refuses an expired bound token.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer as createHttpsServer, request as httpsRequest, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
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
    generation?: number;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: { kind: string; name: string; uid: string; controller?: boolean; blockOwnerDeletion?: boolean }[];
  };
  type?: string;
  data?: Record<string, string>;
  status?: {
    conditions?: Condition[];
    refreshTime?: string;
    provisionedNamespaces?: string[];
    failedNamespaces?: { namespace: string; reason?: string }[];
    externalSecretName?: string;
  };
}
interface KubeEvent {
  type: string;
  reason: string;
  message: string;
  involvedObject: { kind: string; name: string };
}

const b64 = (s: string) => Buffer.from(s).toString('base64');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Lifetime of the ServiceAccount tokens the proxy issues: short, so renewal happens within the test. */
const SA_TOKEN_LIFETIME_MS = 2500;


type Child = CofferChild;
const children: Child[] = [];

/** Starts `coffer <args>` and keeps it for the final cleanup. */
async function start(args: string[], ready: RegExp, what: string): Promise<Child> {
  const { child } = await startCoffer(args, ready, what);
  children.push(child);
  return child;
}

/** What the TokenRequest proxy saw: the TokenRequest specs asked for, tokens issued, expired tokens refused. */
interface ProxyLog {
  tokenRequests: { namespace: string; name: string; spec: { audiences?: string[]; expirationSeconds?: number } }[];
  issued: Map<string, number>;
  refused: number;
}

/**
 * A TLS proxy to the API server (same certificate, so the same CA) that answers TokenRequest for `sa/eso-reader`
 * with the next of `tokens` (each valid for SA_TOKEN_LIFETIME_MS, which it then enforces with a 401), and forwards
 * every other request, watches included.
 */
async function startTokenRequestProxy(opts: { upstreamPort: number; ca: Buffer; cert: Buffer; key: Buffer; adminToken: string; tokens: string[] }): Promise<{ server: Server; url: string; log: ProxyLog }> {
  const log: ProxyLog = { tokenRequests: [], issued: new Map(), refused: 0 };
  const status = (res: ServerResponse, code: number, reason: string, message: string) => {
    res.writeHead(code, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code }));
  };
  const forward = (req: IncomingMessage, res: ServerResponse, body?: Buffer) => {
    const up = httpsRequest({ host: '127.0.0.1', port: opts.upstreamPort, method: req.method, path: req.url, headers: req.headers, ca: opts.ca }, (ur) => {
      res.writeHead(ur.statusCode ?? 502, ur.headers);
      res.flushHeaders(); // a watch's headers arrive before its first event, as from the API server
      ur.pipe(res);
    });
    up.on('error', () => res.destroy());
    res.on('close', () => up.destroy());
    if (body) up.end(body);
    else req.pipe(up);
  };
  const server = createHttpsServer({ cert: opts.cert, key: opts.key }, (req, res) => {
    const bearer = (req.headers.authorization ?? '').replace(/^Bearer /, '');
    const expiry = log.issued.get(bearer);
    if (expiry !== undefined && expiry <= Date.now()) {
      log.refused++;
      return status(res, 401, 'Unauthorized', 'Unauthorized');
    }
    const m = /^\/api\/v1\/namespaces\/([^/]+)\/serviceaccounts\/([^/?]+)\/token(?:\?|$)/.exec(req.url ?? '');
    if (!m || req.method !== 'POST' || `${m[1]}/${m[2]}` !== 'sa/eso-reader' || bearer !== opts.adminToken) return forward(req, res);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString() || '{}') as { spec?: ProxyLog['tokenRequests'][number]['spec'] };
      log.tokenRequests.push({ namespace: m[1]!, name: m[2]!, spec: body.spec ?? {} });
      const token = opts.tokens[log.issued.size];
      if (!token) return status(res, 500, 'InternalError', 'the test ran out of ServiceAccount tokens');
      const expires = Date.now() + SA_TOKEN_LIFETIME_MS;
      log.issued.set(token, expires);
      res.writeHead(201, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenRequest',
        metadata: { name: m[2], namespace: m[1], creationTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z') },
        spec: body.spec ?? {},
        status: { token, expirationTimestamp: new Date(expires).toISOString() },
      }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `https://127.0.0.1:${(server.address() as { port: number }).port}`, log };
}

void describe('External Secrets end to end: kubernetes and fake providers, ClusterSecretStore conditions, ClusterExternalSecret, refresh policies', () => {
  let dir: string;
  let controller: Child;
  let apiUrl: string;
  let ca: string;
  let proxy: Awaited<ReturnType<typeof startTokenRequestProxy>>;
  // Bearer tokens of the token file: `reader` may get/list Secrets in `source` only, `outsider` only in `elsewhere`.
  const readerToken = randomBytes(16).toString('hex');
  const outsiderToken = randomBytes(16).toString('hex');
  // One per renewal: a token lives 2.5 s and the suite runs for minutes on a loaded machine, so keep plenty.
  const saTokens = Array.from({ length: 500 }, () => randomBytes(16).toString('hex'));

  const kubeArgs = () => ['--kubeconfig', join(dir, 'data', 'kubeconfig'), '--cache-dir', join(dir, 'kube-cache')];
  const kubectl = async (...args: string[]) => (await run('kubectl', [...kubeArgs(), ...args])).stdout;
  const apply = async (...objects: object[]) =>
    (await runWithInput('kubectl', [...kubeArgs(), 'apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }))).stdout;
  // Reads (most of them polls) go to the API server directly: a kubectl process per poll cost more than the scenario.
  let kube: KubeReader;
  const get = (ns: string | undefined, kind: string, name: string) => kube.get<KubeObject>(kind, ns, name);
  const secretData = async (ns: string, name: string) => {
    const s = await get(ns, 'secret', name);
    return s && Object.fromEntries(Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]));
  };
  const ready = async (ns: string | undefined, name: string, kind = 'externalsecret') => (await get(ns, kind, name))?.status?.conditions?.find((c) => c.type === 'Ready');
  const events = async (ns: string, name: string) => (await kube.list<KubeEvent>('events', ns)).filter((e) => e.involvedObject.name === name);

  async function waitFor<T>(what: string, check: () => Promise<T | undefined | false>, ms = 15_000): Promise<T> {
    const t0 = Date.now();
    for (;;) {
      const v = await check();
      if (v !== undefined && v !== false) return v;
      if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}; controller log:\n${controller.out().split('\n').slice(-15).join('\n')}`);
      await sleep(100);
    }
  }
  const waitReady = (ns: string | undefined, name: string, status: 'True' | 'False', reason?: string, kind = 'externalsecret') =>
    waitFor(`${kind} ${ns ?? ''}/${name} Ready=${status}${reason ? ` ${reason}` : ''}`, async () => {
      const c = await ready(ns, name, kind);
      return c?.status === status && (!reason || c.reason === reason) ? c : undefined;
    });
  const waitEvent = (ns: string, name: string, reason: string, message?: RegExp) =>
    waitFor(`event ${reason} on ${ns}/${name}`, async () => (await events(ns, name)).find((e) => e.reason === reason && (!message || message.test(e.message))));
  const waitData = (ns: string, name: string, expected: Record<string, string>) =>
    waitFor(`Secret ${ns}/${name} = ${JSON.stringify(expected)}`, async () => {
      const d = await secretData(ns, name);
      try {
        assert.deepEqual(d, expected);
        return true;
      } catch {
        return undefined;
      }
    }).catch(async (e: Error) => {
      assert.deepEqual(await secretData(ns, name), expected, e.message.split('\n')[0]);
    });

  const namespace = (name: string, labels: Record<string, string> = {}) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } });
  const secret = (ns: string, name: string, data: Record<string, string>, labels?: Record<string, string>) => ({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace: ns, ...(labels ? { labels } : {}) },
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])),
  });
  /** The kubernetes provider over TLS to the API server, reading `source`, with the given auth. */
  const kubernetesProvider = (auth: object) => ({ kubernetes: { remoteNamespace: 'source', server: { url: apiUrl, caBundle: b64(ca) }, auth } });
  const store = (ns: string, name: string, provider: object) => ({ apiVersion: 'external-secrets.io/v1', kind: 'SecretStore', metadata: { name, namespace: ns }, spec: { provider } });
  const clusterStore = (name: string, spec: object) => ({ apiVersion: 'external-secrets.io/v1', kind: 'ClusterSecretStore', metadata: { name }, spec });
  const externalSecret = (ns: string, name: string, spec: object, metadata: object = {}) => ({
    apiVersion: 'external-secrets.io/v1',
    kind: 'ExternalSecret',
    metadata: { name, namespace: ns, ...metadata },
    spec,
  });
  /** A namespace with a bearer-token Secret and a kubernetes SecretStore `remote` using it. */
  async function namespaceWithTokenStore(ns: string, token = readerToken): Promise<void> {
    await apply(namespace(ns), secret(ns, 'remote-token', { token }), store(ns, 'remote', kubernetesProvider({ token: { bearerToken: { name: 'remote-token', key: 'token' } } })));
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'coffer-e2e-eso-cluster-'));
    const saUser = 'system:serviceaccount:sa:eso-reader,uid-sa,"system:serviceaccounts,system:serviceaccounts:sa"';
    await writeFile(join(dir, 'tokens.csv'), [`${readerToken},reader,uid-reader`, `${outsiderToken},outsider,uid-outsider`, ...saTokens.map((t) => `${t},${saUser}`)].join('\n') + '\n');
    await writeFile(join(dir, 'policy.yaml'), toYaml({
      rules: [
        { users: ['reader', 'system:serviceaccount:sa:eso-reader'], verbs: ['get', 'list'], resources: ['secrets'], namespaces: ['source'] },
        { users: ['outsider'], verbs: ['get', 'list'], resources: ['secrets'], namespaces: ['elsewhere'] },
      ],
    }));
    const port = await freePort();
    await start(['up', '--data-dir', join(dir, 'data'), '--listen', `127.0.0.1:${port}`, '--encryption', 'aesgcm', '--no-controller',
      '--token-auth-file', join(dir, 'tokens.csv'), '--authorization-policy-file', join(dir, 'policy.yaml')], /export KUBECONFIG=/, 'coffer up');
    apiUrl = `https://127.0.0.1:${port}`;
    kube = kubeReader(join(dir, 'data', 'kubeconfig'));
    const data = join(dir, 'data');
    const [caPem, cert, key, adminToken, kubeconfig] = await Promise.all(['ca.crt', 'apiserver.crt', 'apiserver.key', 'admin.token', 'kubeconfig'].map((f) => readFile(join(data, f))));
    ca = caPem!.toString();
    proxy = await startTokenRequestProxy({ upstreamPort: port, ca: caPem!, cert: cert!, key: key!, adminToken: adminToken!.toString().trim(), tokens: saTokens });
    // The controller's kubeconfig: the admin's, through the proxy.
    const kc = parseYaml(kubeconfig!.toString()) as { clusters: { cluster: { server: string } }[] };
    for (const c of kc.clusters) c.cluster.server = proxy.url;
    await writeFile(join(dir, 'controller.kubeconfig'), toYaml(kc), { mode: 0o600 });
    controller = await start(['controller', '--kubeconfig', join(dir, 'controller.kubeconfig'), '--log-level', 'debug'], /external-secrets controller started/, 'coffer controller');
    // The remote Secrets every kubernetes-provider store reads.
    await apply(
      namespace('source'),
      namespace('elsewhere'),
      secret('source', 'db-main', { username: 'admin', password: 's3cret', config: '{"host":"db.internal","port":5432}' }),
      secret('source', 'db-replica', { username: 'ro', password: 'r3plica' }),
      secret('source', 'api-key', { key: 'abc123' }, { tier: 'backend' }),
      secret('source', 'rotating', { value: 'v1' }),
    );
  });
  after(async () => {
    kube?.close();
    await Promise.all(children.map((c) => c.stop()));
    if (proxy) {
      proxy.server.closeAllConnections();
      await new Promise((r) => proxy.server.close(r));
    }
    const log = controller?.out() ?? '';
    for (const token of [readerToken, outsiderToken, ...(proxy?.log.issued.keys() ?? [])]) assert.ok(!log.includes(token), 'the controller logs no token');
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  void it('kubernetes provider, bearer token: data with property paths, extract and find (name regexp, tags) with rewrite, from another namespace', async () => {
    await namespaceWithTokenStore('k8s-token');
    await apply(externalSecret('k8s-token', 'all', {
      refreshInterval: '1h',
      secretStoreRef: { kind: 'SecretStore', name: 'remote' },
      data: [
        { secretKey: 'user', remoteRef: { key: 'db-main', property: 'username' } },
        { secretKey: 'db-host', remoteRef: { key: 'db-main', property: 'config.host' } },
      ],
      dataFrom: [
        { extract: { key: 'db-replica' }, rewrite: [{ regexp: { source: '^(.*)$', target: 'replica_${1}' } }] },
        { find: { name: { regexp: '^db-' } }, rewrite: [{ regexp: { source: '^db-(?P<role>.*)$', target: 'json_$role' } }] },
        { find: { tags: { tier: 'backend' } } },
      ],
    }));
    await waitReady('k8s-token', 'remote', 'True', 'Valid', 'secretstore');
    await waitReady('k8s-token', 'all', 'True', 'SecretSynced');
    await waitData('k8s-token', 'all', {
      user: 'admin',
      'db-host': 'db.internal',
      replica_username: 'ro',
      replica_password: 'r3plica',
      // find: one key per remote Secret, its value the Secret's data as JSON (keys sorted).
      json_main: JSON.stringify({ config: '{"host":"db.internal","port":5432}', password: 's3cret', username: 'admin' }),
      json_replica: JSON.stringify({ password: 'r3plica', username: 'ro' }),
      'api-key': JSON.stringify({ key: 'abc123' }),
    });
    assert.equal((await get('k8s-token', 'secret', 'all'))!.metadata.ownerReferences?.[0]?.kind, 'ExternalSecret');
  });

  void it('kubernetes provider: a user the policy does not let read `source` makes the store Ready=False, and ExternalSecrets using it wait', async () => {
    await namespaceWithTokenStore('k8s-denied', outsiderToken);
    await apply(externalSecret('k8s-denied', 'db', { refreshInterval: '1h', secretStoreRef: { name: 'remote' }, dataFrom: [{ extract: { key: 'db-main' } }] }));
    const c = await waitReady('k8s-denied', 'remote', 'False', 'InvalidProviderConfig', 'secretstore');
    assert.equal(c.message, 'unable to validate store');
    await waitEvent('k8s-denied', 'remote', 'InvalidProviderConfig', /^client is not allowed to get secrets$/);
    const es = await waitReady('k8s-denied', 'db', 'False', 'SecretSyncedError');
    assert.match(es.message ?? '', /SecretStore "remote" is not ready/);
    assert.equal(await get('k8s-denied', 'secret', 'db'), undefined);
  });

  void it('kubernetes provider: the token Secret is read again, so a rotated token takes effect at the next refresh', async () => {
    await namespaceWithTokenStore('k8s-rotate');
    await apply(externalSecret('k8s-rotate', 'db', { refreshInterval: '1s', secretStoreRef: { name: 'remote' }, data: [{ secretKey: 'user', remoteRef: { key: 'db-main', property: 'username' } }] }));
    await waitReady('k8s-rotate', 'db', 'True', 'SecretSynced');
    const synced = (await get('k8s-rotate', 'secret', 'db'))!;

    await apply(secret('k8s-rotate', 'remote-token', { token: outsiderToken }));
    const c = await waitReady('k8s-rotate', 'db', 'False', 'SecretSyncedError');
    assert.equal(c.message, 'could not get secret data from provider: error processing spec.data[0] (key: db-main), err: secrets "db-main" is forbidden: User "outsider" cannot get resource "secrets" in API group "" in the namespace "source"');
    assert.equal((await get('k8s-rotate', 'secret', 'db'))!.metadata.resourceVersion, synced.metadata.resourceVersion, 'the Secret is left as it was');

    await apply(secret('k8s-rotate', 'remote-token', { token: readerToken }));
    await waitReady('k8s-rotate', 'db', 'True', 'SecretSynced');
  });

  void it('kubernetes provider, authRef: a kubeconfig held in a Secret; metadataPolicy Fetch reads labels', async () => {
    const kubeconfig = toYaml({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'coffer', cluster: { server: apiUrl, 'certificate-authority-data': b64(ca) } }],
      users: [{ name: 'reader', user: { token: readerToken } }],
      contexts: [{ name: 'reader', context: { cluster: 'coffer', user: 'reader' } }],
      'current-context': 'reader',
    });
    await apply(
      namespace('k8s-kubeconfig'),
      secret('k8s-kubeconfig', 'remote-kubeconfig', { config: kubeconfig }),
      store('k8s-kubeconfig', 'remote', { kubernetes: { remoteNamespace: 'source', authRef: { name: 'remote-kubeconfig', key: 'config' } } }),
      externalSecret('k8s-kubeconfig', 'api', {
        refreshInterval: '1h',
        secretStoreRef: { name: 'remote' },
        data: [{ secretKey: 'tier', remoteRef: { key: 'api-key', property: 'labels.tier', metadataPolicy: 'Fetch' } }],
        dataFrom: [{ extract: { key: 'api-key' } }],
      }),
    );
    await waitReady('k8s-kubeconfig', 'remote', 'True', 'Valid', 'secretstore');
    await waitReady('k8s-kubeconfig', 'api', 'True', 'SecretSynced');
    await waitData('k8s-kubeconfig', 'api', { key: 'abc123', tier: 'backend' });
  });

  void it('kubernetes provider, serviceAccount: a TokenRequest token (audiences, 3600 s), CA from a ConfigMap; a missing ServiceAccount fails clearly', async () => {
    await apply(
      // No ConfigMap applied: the API server publishes kube-root-ca.crt in every namespace, as kube-controller-manager does.
      namespace('sa'),
      store('sa', 'remote', {
        kubernetes: {
          remoteNamespace: 'source',
          server: { url: proxy.url, caProvider: { type: 'ConfigMap', name: 'kube-root-ca.crt', key: 'ca.crt' } },
          auth: { serviceAccount: { name: 'eso-reader', audiences: ['coffer-e2e'] } },
        },
      }),
      store('sa', 'nobody', { kubernetes: { remoteNamespace: 'source', server: { url: apiUrl, caBundle: b64(ca) }, auth: { serviceAccount: { name: 'nobody' } } } }),
      // Read every second for the rest of the file: the renewal of the short-lived token is checked at the end.
      externalSecret('sa', 'rotating', { refreshInterval: '1s', secretStoreRef: { name: 'remote' }, dataFrom: [{ extract: { key: 'db-replica' } }] }),
    );
    await waitReady('sa', 'remote', 'True', 'Valid', 'secretstore');
    await waitReady('sa', 'rotating', 'True', 'SecretSynced');
    await waitData('sa', 'rotating', { username: 'ro', password: 'r3plica' });
    const first = proxy.log.tokenRequests[0]!;
    assert.deepEqual(first, { namespace: 'sa', name: 'eso-reader', spec: { audiences: ['coffer-e2e'], expirationSeconds: 3600 } });

    // Coffer's API server itself has no ServiceAccounts: the store says so instead of falling back to other credentials.
    await waitReady('sa', 'nobody', 'False', 'InvalidProviderConfig', 'secretstore');
    await waitEvent('sa', 'nobody', 'InvalidProviderConfig', /serviceaccount sa\/nobody.*404/);
  });

  void it('ClusterSecretStore conditions: namespaceSelector, namespaces and unanchored namespaceRegexes allow; others are denied until they match', async () => {
    await apply(
      namespace('eso-creds'),
      secret('eso-creds', 'remote-token', { token: readerToken }),
      clusterStore('conditional', {
        conditions: [{ namespaceSelector: { matchLabels: { team: 'a' } } }, { namespaces: ['shared-ns'] }, { namespaceRegexes: ['dev'] }],
        provider: kubernetesProvider({ token: { bearerToken: { name: 'remote-token', namespace: 'eso-creds', key: 'token' } } }),
      }),
    );
    await waitReady(undefined, 'conditional', 'True', 'Valid', 'clustersecretstore');
    const spaces = { 'team-a': { team: 'a' }, 'shared-ns': {}, 'my-dev-ns': {}, 'team-c': {} };
    await apply(
      ...Object.entries(spaces).map(([ns, labels]) => namespace(ns, labels)),
      ...Object.keys(spaces).map((ns) =>
        externalSecret(ns, 'db', { refreshInterval: '1h', secretStoreRef: { kind: 'ClusterSecretStore', name: 'conditional' }, data: [{ secretKey: 'user', remoteRef: { key: 'db-main', property: 'username' } }] }),
      ),
    );
    for (const ns of ['team-a', 'shared-ns', 'my-dev-ns']) {
      await waitReady(ns, 'db', 'True', 'SecretSynced');
      assert.deepEqual(await secretData(ns, 'db'), { user: 'admin' });
    }
    const denied = 'error processing spec.data[0] (key: db-main), err: using cluster store "conditional" is not allowed from namespace "team-c": denied by spec.condition';
    const c = await waitReady('team-c', 'db', 'False', 'SecretSyncedError');
    assert.equal(c.message, `could not get secret data from provider: ${denied}`);
    const e = await waitEvent('team-c', 'db', 'UpdateFailed');
    assert.equal(e.type, 'Warning');
    assert.equal(e.message, denied);
    assert.equal(await get('team-c', 'secret', 'db'), undefined);

    // team-c gets the label: the next attempt (here forced at once) is allowed.
    await kubectl('label', 'ns', 'team-c', 'team=a');
    await kubectl('-n', 'team-c', 'annotate', 'es', 'db', 'force-sync=1');
    await waitReady('team-c', 'db', 'True', 'SecretSynced');
    assert.deepEqual(await secretData('team-c', 'db'), { user: 'admin' });

    // team-a loses its label: refused from now on, and the Secret already there is left as it was.
    const before = (await get('team-a', 'secret', 'db'))!;
    await kubectl('label', 'ns', 'team-a', 'team-');
    await kubectl('-n', 'team-a', 'annotate', 'es', 'db', 'force-sync=1');
    await waitReady('team-a', 'db', 'False', 'SecretSyncedError');
    assert.equal((await get('team-a', 'secret', 'db'))!.metadata.resourceVersion, before.metadata.resourceVersion);
  });

  void it('ClusterSecretStore with referent auth: ValidationUnknown, credentials read from each ExternalSecret\'s namespace', async () => {
    await apply(
      clusterStore('referent', { provider: kubernetesProvider({ token: { bearerToken: { name: 'remote-token', key: 'token' } } }) }),
      namespace('ref-good'),
      secret('ref-good', 'remote-token', { token: readerToken }),
      namespace('ref-bad'),
      secret('ref-bad', 'remote-token', { token: outsiderToken }),
      namespace('ref-none'),
      ...['ref-good', 'ref-bad', 'ref-none'].map((ns) =>
        externalSecret(ns, 'db', { refreshInterval: '1h', secretStoreRef: { kind: 'ClusterSecretStore', name: 'referent' }, dataFrom: [{ extract: { key: 'db-replica' } }] }),
      ),
    );
    const c = await waitReady(undefined, 'referent', 'True', 'ValidationUnknown', 'clustersecretstore');
    assert.equal(c.message, 'could not determine validation status');
    await waitReady('ref-good', 'db', 'True', 'SecretSynced');
    assert.deepEqual(await secretData('ref-good', 'db'), { username: 'ro', password: 'r3plica' });

    const bad = await waitReady('ref-bad', 'db', 'False', 'SecretSyncedError');
    // The remote API server's own words, as client-go shows them (no HTTP dump, no headers).
    assert.equal(bad.message, 'could not get secret data from provider: error processing spec.dataFrom[0].extract, err: secrets "db-replica" is forbidden: User "outsider" cannot get resource "secrets" in API group "" in the namespace "source"');
    const none = await waitReady('ref-none', 'db', 'False', 'SecretSyncedError');
    assert.match(none.message ?? '', /cannot get Kubernetes secret "remote-token" in namespace "ref-none": not found/);
    for (const ns of ['ref-bad', 'ref-none']) assert.equal(await get(ns, 'secret', 'db'), undefined);
  });

  void it('ClusterExternalSecret: one ExternalSecret per matching namespace, removed when a namespace stops matching, conflicts reported, force-sync mirrored, GC with the CES', async () => {
    const fakeStore = (pass: string) => clusterStore('fake-cluster', { provider: { fake: { data: [{ key: 'shared/db', value: JSON.stringify({ user: 'app', pass }) }] } } });
    await apply(
      fakeStore('p1'),
      namespace('ces-1', { ces: 'on' }),
      namespace('ces-2', { tier: 'gold' }),
      namespace('ces-3'),
      namespace('ces-4', { ces: 'on' }),
      // Someone else's ExternalSecret of the same name: the CES must not take it over.
      externalSecret('ces-4', 'db-creds', { refreshInterval: '1h', secretStoreRef: { kind: 'ClusterSecretStore', name: 'fake-cluster' }, dataFrom: [{ extract: { key: 'shared/db' } }] }),
    );
    await waitReady(undefined, 'fake-cluster', 'True', 'Valid', 'clustersecretstore');
    await apply({
      apiVersion: 'external-secrets.io/v1',
      kind: 'ClusterExternalSecret',
      metadata: { name: 'shared-db' },
      spec: {
        externalSecretName: 'db-creds',
        externalSecretMetadata: { labels: { team: 'platform' }, annotations: { owner: 'platform-team' } },
        namespaceSelectors: [{ matchLabels: { ces: 'on' } }, { matchExpressions: [{ key: 'tier', operator: 'In', values: ['gold', 'silver'] }] }],
        refreshTime: '1m',
        externalSecretSpec: { refreshInterval: '1h', secretStoreRef: { kind: 'ClusterSecretStore', name: 'fake-cluster' }, dataFrom: [{ extract: { key: 'shared/db' } }] },
      },
    });
    const ces = await waitFor('CES status', async () => {
      const o = await get(undefined, 'ces', 'shared-db');
      return o?.status?.provisionedNamespaces?.length === 2 && o.status.failedNamespaces?.length ? o : undefined;
    });
    assert.deepEqual(ces.status!.provisionedNamespaces, ['ces-1', 'ces-2']);
    assert.deepEqual(ces.status!.failedNamespaces, [{ namespace: 'ces-4', reason: 'external secret already exists in namespace' }]);
    assert.equal(ces.status!.externalSecretName, 'db-creds');
    assert.deepEqual(ces.status!.conditions?.map((c) => [c.type, c.status, c.message]), [['Ready', 'False', 'one or more namespaces failed']]);
    for (const ns of ['ces-1', 'ces-2']) {
      const es = (await get(ns, 'es', 'db-creds'))!;
      assert.deepEqual(es.metadata.ownerReferences, [{ apiVersion: 'external-secrets.io/v1', kind: 'ClusterExternalSecret', name: 'shared-db', uid: ces.metadata.uid, controller: true, blockOwnerDeletion: true }]);
      assert.equal(es.metadata.labels?.team, 'platform');
      assert.equal(es.metadata.annotations?.owner, 'platform-team');
      await waitReady(ns, 'db-creds', 'True', 'SecretSynced');
      assert.deepEqual(await secretData(ns, 'db-creds'), { user: 'app', pass: 'p1' });
    }
    assert.equal(await get('ces-3', 'es', 'db-creds'), undefined, 'ces-3 matches no selector');
    assert.equal((await get('ces-4', 'es', 'db-creds'))!.metadata.ownerReferences, undefined, 'the conflicting ExternalSecret is left alone');
    assert.match(await kubectl('get', 'ces', 'shared-db'), /shared-db\s+fake-cluster\s+1m\s+False/);

    // A namespace starts matching, another stops: the ExternalSecret follows (its owned Secret goes with it).
    await kubectl('label', 'ns', 'ces-3', 'ces=on');
    await kubectl('label', 'ns', 'ces-1', 'ces-');
    await waitReady('ces-3', 'db-creds', 'True', 'SecretSynced');
    await waitFor('the ExternalSecret to leave ces-1', async () => (await get('ces-1', 'es', 'db-creds')) === undefined);
    await waitFor('its Secret to be garbage collected', async () => (await get('ces-1', 'secret', 'db-creds')) === undefined);
    await waitFor('provisionedNamespaces to follow', async () => JSON.stringify((await get(undefined, 'ces', 'shared-db'))?.status?.provisionedNamespaces) === '["ces-2","ces-3"]');

    // A generated ExternalSecret deleted by hand comes back; steady state rewrites nothing.
    await kubectl('-n', 'ces-2', 'delete', 'es', 'db-creds');
    await waitReady('ces-2', 'db-creds', 'True', 'SecretSynced');
    const steady = (await get('ces-2', 'es', 'db-creds'))!;
    await kubectl('label', 'ns', 'ces-3', 'unrelated=1'); // a namespace event makes the CES reconcile again
    await sleep(500);
    assert.equal((await get('ces-2', 'es', 'db-creds'))!.metadata.resourceVersion, steady.metadata.resourceVersion, 'an unchanged ExternalSecret is not rewritten');

    // The remote value changes (store edited); with refreshInterval 1h only a force-sync on the CES brings it now.
    await apply(fakeStore('p2'));
    await sleep(300);
    assert.deepEqual(await secretData('ces-2', 'db-creds'), { user: 'app', pass: 'p1' });
    await kubectl('annotate', 'ces', 'shared-db', 'external-secrets.io/force-sync=2');
    for (const ns of ['ces-2', 'ces-3']) {
      await waitData(ns, 'db-creds', { user: 'app', pass: 'p2' });
      assert.equal((await get(ns, 'es', 'db-creds'))!.metadata.annotations?.['external-secrets.io/force-sync'], '2');
    }

    // A provisioned namespace is deleted: it leaves the status.
    await kubectl('delete', 'ns', 'ces-3', '--wait=false');
    await waitFor('provisionedNamespaces to drop the deleted namespace', async () => JSON.stringify((await get(undefined, 'ces', 'shared-db'))?.status?.provisionedNamespaces) === '["ces-2"]');

    // Deleting the CES removes the ExternalSecrets it generated (and their Secrets), not the one it does not own.
    await kubectl('delete', 'ces', 'shared-db');
    await waitFor('ces-2/db-creds to be garbage collected', async () => (await get('ces-2', 'es', 'db-creds')) === undefined && (await get('ces-2', 'secret', 'db-creds')) === undefined);
    assert.ok(await get('ces-4', 'es', 'db-creds'));
  });

  void it('fake provider: versions, property, extract, find with rewrite; template with type, labels and annotations; a failing store', async () => {
    await apply(
      namespace('fake'),
      store('fake', 'fake', {
        fake: {
          data: [
            { key: '/db/creds', value: JSON.stringify({ username: 'admin', password: 's3cr3t', port: 5432, nested: { a: 1 } }) },
            { key: '/api/token', value: 'tok-v1', version: 'v1' },
            { key: '/api/token', value: 'tok-v2', version: 'v2' },
            { key: '/certs/a', value: 'AAA' },
            { key: '/certs/b', value: 'BBB' },
          ],
        },
      }),
      store('fake', 'broken', { fake: { data: [{ key: 'k', value: 'v' }], validationResult: 2 } }),
    );
    const app = (labels: Record<string, string>) =>
      externalSecret('fake', 'app', {
        refreshInterval: '1h',
        secretStoreRef: { name: 'fake' },
        target: {
          template: {
            type: 'example.com/app',
            mergePolicy: 'Merge',
            metadata: { labels, annotations: { 'rotated-by': 'coffer', 'token-version': '{{ .token | upper }}' } },
            data: { dsn: 'postgres://{{ .username }}:{{ .password | urlquery }}@db:{{ .port }}/app' },
          },
        },
        data: [
          { secretKey: 'token', remoteRef: { key: '/api/token', version: 'v1' } },
          { secretKey: 'a', remoteRef: { key: '/db/creds', property: 'nested.a' } },
        ],
        dataFrom: [
          { extract: { key: '/db/creds' } },
          // The fake provider converts keys itself (/certs/a → _certs_a) before the rewrite, as ESO's does.
          { find: { name: { regexp: '^/certs/' } }, rewrite: [{ regexp: { source: '^_certs_(.*)$', target: 'cert-${1}.pem' } }] },
        ],
      });
    await apply(app({ app: 'web', 'db-user': '{{ .username }}' }));
    await waitReady('fake', 'fake', 'True', 'Valid', 'secretstore');
    await waitReady('fake', 'app', 'True', 'SecretSynced');
    await waitData('fake', 'app', {
      username: 'admin',
      password: 's3cr3t',
      port: '5432',
      nested: '{"a":1}',
      token: 'tok-v1',
      a: '1',
      'cert-a.pem': 'AAA',
      'cert-b.pem': 'BBB',
      dsn: 'postgres://admin:s3cr3t@db:5432/app',
    });
    let s = (await get('fake', 'secret', 'app'))!;
    assert.equal(s.type, 'example.com/app');
    assert.equal(s.metadata.labels?.app, 'web');
    assert.equal(s.metadata.labels?.['db-user'], 'admin');
    assert.equal(s.metadata.labels?.['reconcile.external-secrets.io/managed'], 'true');
    assert.equal(s.metadata.annotations?.['rotated-by'], 'coffer');
    assert.equal(s.metadata.annotations?.['token-version'], 'TOK-V1');

    // A label dropped from the template is removed from the Secret; the others stay.
    await apply(app({ app: 'api' }));
    s = await waitFor('the template labels to follow', async () => {
      const o = await get('fake', 'secret', 'app');
      return o?.metadata.labels?.app === 'api' ? o : undefined;
    });
    assert.equal(s.metadata.labels?.['db-user'], undefined);
    assert.equal(s.metadata.annotations?.['rotated-by'], 'coffer');

    const c = await waitReady('fake', 'broken', 'False', 'InvalidProviderConfig', 'secretstore');
    assert.equal(c.message, 'unable to validate store');
    await waitEvent('fake', 'broken', 'InvalidProviderConfig', /^unable to validate$/);
  });

  void it('refreshPolicy: Periodic follows the remote value, CreatedOnce and OnChange do not; a label change refreshes OnChange, a deleted Secret CreatedOnce', async () => {
    await namespaceWithTokenStore('policies');
    const reading = (name: string, extra: object) =>
      externalSecret('policies', name, { secretStoreRef: { name: 'remote' }, data: [{ secretKey: 'value', remoteRef: { key: 'rotating', property: 'value' } }], ...extra });
    await apply(
      reading('periodic', { refreshInterval: '1s' }),
      reading('created-once', { refreshInterval: '1s', refreshPolicy: 'CreatedOnce' }),
      reading('on-change', { refreshInterval: '1s', refreshPolicy: 'OnChange' }),
    );
    for (const name of ['periodic', 'created-once', 'on-change']) {
      await waitReady('policies', name, 'True', 'SecretSynced');
      assert.deepEqual(await secretData('policies', name), { value: 'v1' });
    }
    const was = {
      'created-once': (await get('policies', 'es', 'created-once'))!,
      'on-change': (await get('policies', 'es', 'on-change'))!,
    };
    await apply(secret('source', 'rotating', { value: 'v2' }));
    await waitData('policies', 'periodic', { value: 'v2' });
    await sleep(1500); // more than a refreshInterval after the change
    for (const name of ['created-once', 'on-change'] as const) {
      assert.deepEqual(await secretData('policies', name), { value: 'v1' }, `${name} does not refresh periodically`);
      assert.equal((await get('policies', 'es', name))!.status?.refreshTime, was[name].status?.refreshTime);
    }

    await kubectl('-n', 'policies', 'label', 'es', 'on-change', 'bump=1');
    await waitData('policies', 'on-change', { value: 'v2' });

    await kubectl('-n', 'policies', 'annotate', 'es', 'created-once', 'force-sync=1');
    await sleep(800);
    assert.deepEqual(await secretData('policies', 'created-once'), { value: 'v1' }, 'CreatedOnce ignores force-sync');
    await kubectl('-n', 'policies', 'delete', 'secret', 'created-once');
    await waitData('policies', 'created-once', { value: 'v2' });
  });

  void it('force-sync: with refreshInterval 1h a changed remote value is fetched at once, bypassing results shared between ExternalSecrets', async () => {
    await namespaceWithTokenStore('force');
    await apply(secret('source', 'force-key', { value: 'before' }));
    // Two readers of the same remote Secret: the second is served the first one's result (one provider call).
    await apply(externalSecret('force', 'hourly', { refreshInterval: '1h', secretStoreRef: { name: 'remote' }, dataFrom: [{ extract: { key: 'force-key' } }] }));
    await waitData('force', 'hourly', { value: 'before' });
    await apply(secret('source', 'force-key', { value: 'after' }));
    await apply(externalSecret('force', 'hourly-2', { refreshInterval: '1h', secretStoreRef: { name: 'remote' }, dataFrom: [{ extract: { key: 'force-key' } }] }));
    await waitData('force', 'hourly-2', { value: 'before' });

    await kubectl('-n', 'force', 'annotate', 'es', 'hourly', `force-sync=${Date.now()}`);
    await waitData('force', 'hourly', { value: 'after' });
    await waitEvent('force', 'hourly', 'Updated', /^secret updated$/);
  });

  void it('serviceAccount tokens are renewed before they expire: reads keep working, no expired token is ever presented', async () => {
    const issuedBefore = proxy.log.issued.size;
    await waitFor('two more TokenRequests', async () => proxy.log.issued.size >= Math.max(3, issuedBefore + 2), 10_000);
    await sleep(300);
    assert.equal(proxy.log.refused, 0, 'no request carried an expired token');
    assert.equal((await ready('sa', 'rotating'))?.status, 'True');
    assert.equal((await ready('sa', 'remote', 'secretstore'))?.status, 'True');
    // (The one warning allowed is from its creation, applied together with a store not yet validated.)
    assert.deepEqual((await events('sa', 'rotating')).filter((e) => e.type === 'Warning' && !/SecretStore "remote" is not ready$/.test(e.message)).map((e) => e.message), []);
    await apply(secret('source', 'db-replica', { username: 'ro', password: 'rotated' }));
    await waitData('sa', 'rotating', { username: 'ro', password: 'rotated' });
  });
});
