// The SecretsProvider contract over the kubernetes provider against a real in-process Coffer API server (HTTPS,
// client-node): the secrets are Secrets of the remote namespace, read with a bearer token held in a Secret of the
// controller's cluster, the server's CA given as caBundle.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { startTestApiServer, type TestApiServer } from '../../apiserver/testing/test-api-server.js';
import { FakeKubeApi } from '../testing/fake-kube-api.js';
import { KubernetesProvider } from './kubernetes-provider.js';
import { CONTRACT_SECRETS, runSecretsProviderContract } from './secrets-provider.contract.js';

let api: TestApiServer;
let caBundle: string;
const kube = new FakeKubeApi();
const b64 = (s: string | Buffer) => Buffer.from(s).toString('base64');
before(async () => {
  api = await startTestApiServer();
  caBundle = b64(await readFile(join(api.dir, 'ca.crt')));
  const token = (await readFile(join(api.dir, 'admin.token'), 'utf8')).trim();
  kube.put('secrets', { metadata: { name: 'remote-token', namespace: 'team-a' }, data: { token: b64(token) } });
  for (const s of CONTRACT_SECRETS) {
    const data = Object.fromEntries(Object.entries(s.data).map(([k, v]) => [k, b64(v)]));
    const r = await api.call('POST', '/api/v1/namespaces/default/secrets', { body: JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: s.key }, data }) });
    assert.equal(r.status, 201, r.text);
  }
});
after(() => api.close());

runSecretsProviderContract('kubernetes on an in-process API server', async () => {
  const provider = new KubernetesProvider(
    { server: { url: api.server.url, caBundle }, auth: { token: { bearerToken: { name: 'remote-token', key: 'token' } } }, remoteNamespace: 'default' },
    { kube, scope: { kind: 'SecretStore', storeNamespace: 'team-a' }, record: () => undefined },
  );
  return { provider, cleanup: async () => undefined };
}, {
  knownDisagreements: {
    aborted: "the client-node calls get no signal (client-node 1.x takes it only through a request middleware), so an aborted read still answers",
  },
});
