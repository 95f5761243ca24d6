// The KubeApi contract (kube-api.contract.ts) over both implementations: the test fake, and ClientNodeKubeApi against
// an in-process Coffer API server (real HTTPS, client-node, the kubeconfig `coffer up` writes).
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { startTestApiServer, type TestApiServer } from '../apiserver/testing/test-api-server.js';
import { ClientNodeKubeApi } from './client-node-kube-api.js';
import { KubeConnectionPool } from './kube-connection-pool.js';
import { runKubeApiContract } from './kube-api.contract.js';
import { FakeKubeApi } from './testing/fake-kube-api.js';

runKubeApiContract('the test fake', async () => {
  const kube = new FakeKubeApi();
  return {
    kube,
    createNamespace: async (name, labels) => void kube.put('namespaces', { metadata: { name, ...(labels ? { labels } : {}) } }),
    createConfigMap: async (namespace, name, data) => void kube.put('configmaps', { metadata: { name, namespace }, data }),
    cleanup: async () => undefined,
  };
});

let api: TestApiServer;
const kc = new KubeConfig();
let pool: KubeConnectionPool;
before(async () => {
  api = await startTestApiServer();
  kc.loadFromFile(api.server.kubeconfigPath);
  pool = new KubeConnectionPool(kc);
});
after(async () => {
  pool.close();
  await api.close();
});

const created = async (method: string, path: string, body: unknown) => {
  const r = await api.call(method, path, { body: JSON.stringify(body) });
  assert.equal(r.status, 201, r.text);
};

runKubeApiContract('ClientNodeKubeApi on an in-process API server', async () => ({
  kube: new ClientNodeKubeApi(kc, { connections: pool }),
  createNamespace: (name, labels) => created('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name, ...(labels ? { labels } : {}) } }),
  createConfigMap: (namespace, name, data) => created('POST', `/api/v1/namespaces/${namespace}/configmaps`, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data }),
  cleanup: async () => undefined,
}));
