// `coffer up` (= `npm start`): the API server on its embedded defaults — SQLite store in ./.coffer, encryption at rest
// on with a generated aesgcm key — or on etcd and a given EncryptionConfiguration.
import type { Command } from 'commander';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ReloadingEncryptionEngine } from '../encryption/reloading-engine.js';
import { startApiServer } from '../apiserver/rest/api-server.js';
import { readTokenFile } from '../apiserver/rest/token-file.js';
import { readPolicyFile } from '../apiserver/rest/authorization-policy.js';
import { openEtcdStore } from '../storage/etcd/etcd-store.js';
import { SqliteStore } from '../storage/sqlite/sqlite-store.js';
import type { Store } from '../storage/store.js';

interface UpOptions {
  dataDir: string;
  listen: string;
  encryptionConfig?: string;
  kmsNoDekCache?: boolean;
  store: string;
  etcdEndpoints?: string;
  storeEncryptionKeyFile?: string;
  tokenAuthFile?: string;
  authorizationPolicyFile?: string;
}

/**
 * The default EncryptionConfiguration lives beside the data directory, never in it: whoever copies the data
 * directory (a disk image, a backup) must not get the key that decrypts it.
 */
async function defaultEncryptionConfig(dataDir: string): Promise<string> {
  const dir = `${resolve(dataDir)}.keys`;
  const file = join(dir, 'encryption-config.yaml');
  const existing = await readFile(file).catch(() => undefined);
  if (existing) return file;
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const key = randomBytes(32);
  const yaml = `apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
  - resources: [secrets]
    providers:
      - aesgcm:
          keys:
            - name: key1
              secret: ${key.toString('base64')}
      - identity: {}
`;
  key.fill(0);
  await writeFile(file, yaml, { mode: 0o600 });
  return file;
}

async function openStore(o: UpOptions): Promise<Store> {
  if (o.store === 'etcd') {
    if (!o.etcdEndpoints) throw new Error('--etcd-endpoints is required with --store etcd');
    return openEtcdStore({ endpoints: o.etcdEndpoints.split(',') });
  }
  if (o.store !== 'sqlite') throw new Error(`--store: must be sqlite or etcd, got ${JSON.stringify(o.store)}`);
  return SqliteStore.open({
    dataDir: join(o.dataDir, 'store'),
    ...(o.storeEncryptionKeyFile ? { encryptionKeyFile: o.storeEncryptionKeyFile } : {}),
  });
}

export async function runUp(o: UpOptions): Promise<{ close(): Promise<void> }> {
  const [host, portText] = o.listen.split(/:(?=\d+$)/);
  const configFile = o.encryptionConfig ?? (await defaultEncryptionConfig(o.dataDir));
  const log = (msg: string, fields: object = {}) => process.stderr.write(JSON.stringify({ level: 'info', msg, ...fields }) + '\n');
  await mkdir(o.dataDir, { recursive: true, mode: 0o700 });
  // Reloaded when the file changes, like --encryption-provider-config-automatic-reload.
  const engine = await ReloadingEncryptionEngine.open(configFile, {
    ...(o.kmsNoDekCache ? { load: { kmsNoDekCache: true } } : {}),
    onReload: (r) => log(r.ok ? 'encryption configuration reloaded' : 'encryption configuration reload failed', r),
  });
  const store = await openStore(o);
  const tokens = o.tokenAuthFile
    ? new Map([...(await readTokenFile(o.tokenAuthFile))].map(([token, u]) => [token, { name: u.name, groups: u.groups }]))
    : undefined;
  const policy = o.authorizationPolicyFile ? await readPolicyFile(o.authorizationPolicyFile) : undefined;
  const server = await startApiServer({
    dataDir: o.dataDir,
    host: host ?? '127.0.0.1',
    port: Number(portText ?? 6443),
    store,
    engine,
    ...(tokens ? { tokens } : {}),
    ...(policy ? { policy } : {}),
  });
  log('coffer API server ready', { url: server.url, store: o.store, encryptionConfig: configFile, configHash: engine.configHash });
  process.stdout.write(`export KUBECONFIG=${server.kubeconfigPath}\n`);
  return {
    async close() {
      await server.close();
      await store.close();
      engine.close();
    },
  };
}

export function registerUpCommand(program: Command): void {
  program
    .command('up')
    .description('run the Kubernetes-compatible API server for Secrets (embedded SQLite store, encryption at rest on)')
    .option('--data-dir <dir>', 'where the store, certificates and kubeconfig live', '.coffer')
    .option('--listen <host:port>', 'address to serve HTTPS on', '127.0.0.1:6443')
    .option('--encryption-config <file>', 'an EncryptionConfiguration (default: a generated aesgcm key beside the data dir)')
    .option('--kms-no-dek-cache', "keep no KMS v2 seed in memory between requests (Coffer's own option)")
    .option('--store <kind>', 'sqlite | etcd', 'sqlite')
    .option('--etcd-endpoints <urls>', 'comma-separated etcd client URLs (with --store etcd)')
    .option('--store-encryption-key-file <file>', 'encrypt the SQLite file with this key (kept outside the data dir)')
    .option('--token-auth-file <file>', 'more bearer tokens, in kube-apiserver --token-auth-file CSV format')
    .option('--authorization-policy-file <file>', 'who may do what (see docs/api-server.md); default: any authenticated user')
    .action(async (o: UpOptions) => {
      const running = await runUp({ ...o, dataDir: resolve(o.dataDir) });
      const stop = () => {
        void running.close().then(() => process.exit(0));
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}
