// Two Coffer API servers sharing one real etcd (started by the test on 127.0.0.1): a Secret written through one is
// read and watched through the other, and etcd holds only ciphertext at kube-apiserver's key.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startApiServer, type RunningApiServer } from '../src/apiserver/api-server.js';
import { loadEncryptionConfiguration } from '../src/encryption/encryption-config.js';
import { EncryptionEngine } from '../src/encryption/encryption-engine.js';
import { openEtcdStore, type EtcdStore } from '../src/storage/etcd/etcd-store.js';
import { startEtcd, type EtcdProcess } from '../src/storage/etcd/testing/etcd-process.js';

const CONFIG = `apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
  - resources: [secrets]
    providers:
      - aesgcm:
          keys:
            - name: k1
              secret: c2VjcmV0IGlzIHNlY3VyZQ==
`;

interface Node {
  dir: string;
  server: RunningApiServer;
  store: EtcdStore;
  engine: EncryptionEngine;
  ca: string;
  token: string;
}

void describe('two API servers on one etcd', () => {
  let etcd: EtcdProcess;
  const nodes: Node[] = [];

  before(async () => {
    etcd = await startEtcd();
    for (let i = 0; i < 2; i++) {
      const dir = await mkdtemp(join(tmpdir(), `coffer-etcd-api-${i}-`));
      const store = await openEtcdStore({ endpoints: etcd.endpoints });
      const engine = await EncryptionEngine.create(loadEncryptionConfiguration(CONFIG));
      const server = await startApiServer({ dataDir: dir, host: '127.0.0.1', port: 0, store, engine });
      const ca = await readFile(join(dir, 'ca.crt'), 'utf8');
      const token = (await readFile(join(dir, 'admin.token'), 'utf8')).trim();
      nodes.push({ dir, server, store, engine, ca, token });
    }
  });
  after(async () => {
    for (const n of nodes) {
      await n.server.close();
      await n.store.close();
      n.engine.close();
      await rm(n.dir, { recursive: true, force: true });
    }
    await etcd.stop();
  });

  function call(n: Node, method: string, path: string, body?: unknown, onLine?: (line: string) => void): Promise<string> {
    return new Promise((resolve, reject) => {
      const req = request(
        `${n.server.url}${path}`,
        { method, ca: n.ca, headers: { Authorization: `Bearer ${n.token}`, 'Content-Type': 'application/json' } },
        (res) => {
          let text = '';
          res.on('data', (c: Buffer) => {
            text += c.toString();
            if (!onLine) return;
            const lines = text.split('\n');
            text = lines.pop()!;
            lines.forEach(onLine);
          });
          res.on('end', () => resolve(text));
        },
      );
      req.on('error', reject);
      req.end(body ? JSON.stringify(body) : undefined);
    });
  }

  void it('writes through one server, reads and watches through the other', async () => {
    const [a, b] = [nodes[0]!, nodes[1]!];
    const seen: string[] = [];
    const watch = call(b, 'GET', '/api/v1/namespaces/default/secrets?watch=true&timeoutSeconds=3', undefined, (l) => seen.push(l));
    await new Promise((r) => setTimeout(r, 300));
    const secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'shared' }, stringData: { token: 'canary-7f3a' } };
    const created = JSON.parse(await call(a, 'POST', '/api/v1/namespaces/default/secrets', secret)) as { metadata: { uid: string } };
    const read = JSON.parse(await call(b, 'GET', '/api/v1/namespaces/default/secrets/shared')) as {
      metadata: { uid: string };
      data: { token: string };
    };
    assert.equal(read.metadata.uid, created.metadata.uid);
    assert.equal(Buffer.from(read.data.token, 'base64').toString(), 'canary-7f3a');
    await watch;
    const events = seen.map((l) => JSON.parse(l) as { type: string; object: { metadata: { name: string } } });
    assert.ok(events.some((e) => e.type === 'ADDED' && e.object.metadata.name === 'shared'), JSON.stringify(events.map((e) => e.type)));
    const { kv } = await a.store.get('/registry/secrets/default/shared');
    assert.ok(Buffer.from(kv!.value).toString('latin1').startsWith('k8s:enc:aesgcm:v1:k1:'));
    assert.ok(!Buffer.from(kv!.value).includes('canary-7f3a'));
  });
});
