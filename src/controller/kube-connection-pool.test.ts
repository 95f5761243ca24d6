import assert from 'node:assert/strict';
import { Agent as HttpsAgent } from 'node:https';
import { after, before, describe, it } from 'node:test';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { startTestApiServer, type TestApiServer } from '../apiserver/testing/test-api-server.js';
import { KubeConnectionPool } from './kube-connection-pool.js';

/** Counts the TLS connections https agents open while `fn` runs. */
async function connectionsOpened(fn: () => Promise<void>): Promise<number> {
  const proto = HttpsAgent.prototype as unknown as { createConnection: (...args: unknown[]) => unknown };
  const original = proto.createConnection;
  let n = 0;
  proto.createConnection = function (this: unknown, ...args: unknown[]) {
    n++;
    return original.apply(this, args);
  };
  try {
    await fn();
  } finally {
    proto.createConnection = original;
  }
  return n;
}

void describe('KubeConnectionPool', () => {
  let api: TestApiServer;
  const kc = new KubeConfig();
  before(async () => {
    api = await startTestApiServer();
    kc.loadFromFile(api.server.kubeconfigPath);
  });
  after(async () => api.close());

  const tenReads = (core: CoreV1Api) => async () => {
    for (let i = 0; i < 10; i++) assert.equal((await core.readNamespace({ name: 'default' })).metadata?.name, 'default');
  };

  void it('sends sequential requests over one kept-alive TLS connection, where client-node alone opens one per request', async () => {
    const pool = new KubeConnectionPool(kc);
    try {
      assert.equal(await connectionsOpened(tenReads(pool.makeApiClient(CoreV1Api))), 1);
    } finally {
      pool.close();
    }
    assert.equal(await connectionsOpened(tenReads(kc.makeApiClient(CoreV1Api))), 10);
  });

  void it('authenticates every request as client-node does (a wrong token is refused)', async () => {
    const bad = new KubeConfig();
    bad.loadFromString(kc.exportConfig());
    bad.users = bad.users.map((u) => ({ ...u, token: 'not-the-token' }));
    const pool = new KubeConnectionPool(bad);
    try {
      await assert.rejects(pool.makeApiClient(CoreV1Api).readNamespace({ name: 'default' }), (e: unknown) => (e as { code?: number }).code === 401);
    } finally {
      pool.close();
    }
  });
});
