// The object storage contract over both Stores (SQLite in a temp dir, a real etcd process on 127.0.0.1) and three
// providers through the real encryption engine: identity, aesgcm, and KMS v2 over gRPC to a plugin on a unix socket.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import { loadEncryptionConfiguration } from '../encryption/encryption-config.js';
import { EncryptionEngine } from '../encryption/encryption-engine.js';
import { startBase64KmsPlugin } from '../kms/testing/base64-kms-plugin.js';
import { openEtcdStore } from './etcd/etcd-store.js';
import { startEtcd, type EtcdProcess } from './etcd/testing/etcd-process.js';
import { runObjectStorageContract, type OpenedObjectStore } from './object-storage.contract.js';
import { SqliteStore } from './sqlite/sqlite-store.js';
import type { Store } from './store.js';

const KEY = 'c2VjcmV0IGlzIHNlY3VyZSwgSSB0aGluayBzbyEhISE='; // 32 bytes

const PROVIDERS: { name: string; authenticated: boolean; yaml: (kmsEndpoint: string) => string }[] = [
  { name: 'identity', authenticated: false, yaml: () => '      - identity: {}\n' },
  { name: 'aesgcm', authenticated: true, yaml: () => `      - aesgcm:\n          keys:\n            - name: key1\n              secret: ${KEY}\n` },
  {
    name: 'KMS v2',
    authenticated: true,
    yaml: (endpoint) => `      - kms:\n          apiVersion: v2\n          name: contract\n          endpoint: ${endpoint}\n          timeout: 10s\n`,
  },
];

const configFor = (providers: string) => `apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
  - resources: [secrets]
    providers:
${providers}`;

void describe('object storage', () => {
  let plugin: Awaited<ReturnType<typeof startBase64KmsPlugin>>;
  let etcd: EtcdProcess;
  const engines = new Map<string, EncryptionEngine>();
  before(async () => {
    plugin = await startBase64KmsPlugin();
    etcd = await startEtcd();
    for (const p of PROVIDERS) engines.set(p.name, await EncryptionEngine.create(loadEncryptionConfiguration(configFor(p.yaml(plugin.endpoint)))));
  });
  after(async () => {
    for (const engine of engines.values()) engine.close();
    await etcd?.stop();
    await plugin?.close();
  });

  const backends: { name: string; open(): Promise<{ store: Store; cleanup(): Promise<void> }> }[] = [
    {
      name: 'SQLite',
      async open() {
        const dir = await mkdtemp(join(tmpdir(), 'coffer-object-storage-'));
        const store = await SqliteStore.open({ dataDir: dir, synchronous: 'normal' });
        return {
          store,
          async cleanup() {
            await store.close();
            await rm(dir, { recursive: true, force: true });
          },
        };
      },
    },
    {
      name: 'etcd',
      async open() {
        const store = await openEtcdStore({ endpoints: etcd.endpoints });
        return { store, cleanup: () => store.close() };
      },
    },
  ];

  for (const backend of backends) {
    for (const provider of PROVIDERS) {
      runObjectStorageContract(
        `${provider.name} on ${backend.name}`,
        async (): Promise<OpenedObjectStore> => ({ ...(await backend.open()), transformers: engines.get(provider.name)! }),
        { authenticated: provider.authenticated },
      );
    }
  }
});
