// `coffer up` (= `npm start`): the API server on its embedded defaults - SQLite store in ./.coffer, encryption at rest on
// with a generated aesgcm key kept beside (never inside) the data directory - or on etcd and a given
// EncryptionConfiguration. Logs (JSON, stderr) say where everything is; stdout gets only the `export KUBECONFIG=` line.
import type { Command } from 'commander';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import pino, { type Logger } from 'pino';
import { startApiServer, type RunningApiServer } from '../apiserver/api-server.js';
import type { UserInfo } from '../apiserver/auth/authenticator.js';
import { readPolicyFile } from '../apiserver/auth/authorization-policy.js';
import { readTokenFile } from '../apiserver/auth/token-file.js';
import { writePrivateFile } from '../apiserver/tls/server-credentials.js';
import { startKmsStack, type RunningKmsStack } from './kms-stack.js';
import { KubeConfig } from '@kubernetes/client-node';
import { startExternalSecretsController } from '../controller/external-secrets-controller.js';
import { ReloadingEncryptionEngine } from '../encryption/reloading-engine.js';
import { openEtcdStore } from '../storage/etcd/etcd-store.js';
import { SqliteStore } from '../storage/sqlite/sqlite-store.js';
import type { Store } from '../storage/store.js';
import { serveUntilSignal } from './serve-until-signal.js';
import { upDashboard } from '../dashboard/up-dashboard.js';

export interface UpOptions {
  dataDir: string;
  listen: string;
  encryptionConfig?: string;
  /** The default encryption when no --encryption-config is given: kms (plugin + key server) or aesgcm. */
  encryption?: string;
  kmsNoDekCache?: boolean;
  store: string;
  etcdEndpoints?: string;
  etcdCafile?: string;
  etcdCertfile?: string;
  etcdKeyfile?: string;
  storeEncryptionKeyFile?: string;
  tokenAuthFile?: string;
  authorizationPolicyFile?: string;
  logLevel?: string;
  encryptionConfigReloadInterval?: string;
  /** commander's negation of --no-controller: run the External Secrets controller in this process (default). */
  controller?: boolean;
  kmsV2StatusInterval?: string;
  kmsV2WriteTtl?: string;
  /** commander's negation of --no-dashboard: serve the dashboard under /dashboard (default). */
  dashboard?: boolean;
}

function seconds(value: string | undefined, fallback: number, flag: string): number {
  const n = Number(value ?? fallback);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${flag}: want a number of seconds > 0, got ${JSON.stringify(value)}`);
  return n;
}

/** Where the generated key lives: `<data-dir>.keys/`, a sibling of the data directory. */
export function defaultKeyDir(dataDir: string): string {
  return `${resolve(dataDir)}.keys`;
}

/**
 * The default EncryptionConfiguration (aesgcm, one fresh 256-bit key, identity last so data written before encryption
 * was on still reads). It lives beside the data directory, never in it: whoever copies the data directory (a disk
 * image, a backup, a stolen volume) must not get the key that decrypts it.
 */
export async function ensureDefaultEncryptionConfig(dataDir: string): Promise<{ file: string; created: boolean }> {
  const dir = defaultKeyDir(dataDir);
  const file = join(dir, 'encryption-config.yaml');
  if (await readFile(file).then(() => true, () => false)) return { file, created: false };
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  const key = randomBytes(32);
  const secret = key.toString('base64');
  key.fill(0);
  await writePrivateFile(
    file,
    `apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
  - resources: [secrets]
    providers:
      - aesgcm:
          keys:
            - name: key1
              secret: ${secret}
      - identity: {}
`,
  );
  return { file, created: true };
}

function parseListen(listen: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(listen);
  if (!m) throw new Error(`--listen: want host:port, got ${JSON.stringify(listen)}`);
  const port = Number(m[3]);
  if (port > 65535) throw new Error(`--listen: port out of range: ${port}`);
  return { host: m[1] ?? (m[2] || '127.0.0.1'), port };
}

async function openStore(o: UpOptions, log: Logger): Promise<Store> {
  if (o.store === 'etcd') {
    if (!o.etcdEndpoints) throw new Error('--etcd-endpoints is required with --store etcd');
    const endpoints = o.etcdEndpoints.split(',').map((e) => e.trim()).filter(Boolean);
    const store = await openEtcdStore({
      endpoints,
      ...(o.etcdCafile ? { tls: { caFile: o.etcdCafile, ...(o.etcdCertfile ? { certFile: o.etcdCertfile } : {}), ...(o.etcdKeyfile ? { keyFile: o.etcdKeyfile } : {}) } } : {}),
    });
    log.info({ store: 'etcd', endpoints }, 'store: etcd');
    return store;
  }
  if (o.store !== 'sqlite') throw new Error(`--store: must be sqlite or etcd, got ${JSON.stringify(o.store)}`);
  const dir = join(o.dataDir, 'store');
  const store = await SqliteStore.open({ dataDir: dir, ...(o.storeEncryptionKeyFile ? { encryptionKeyFile: resolve(o.storeEncryptionKeyFile) } : {}) });
  log.info({ store: 'sqlite', path: dir, fileEncrypted: Boolean(o.storeEncryptionKeyFile) }, 'store: embedded SQLite');
  return store;
}

export interface RunningUp {
  server: RunningApiServer;
  close(): Promise<void>;
}

/** Starts everything `coffer up` runs; the caller owns signals and exit. */
export async function runUp(o: UpOptions, log: Logger): Promise<RunningUp> {
  const dataDir = resolve(o.dataDir);
  const { host, port } = parseListen(o.listen);
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  await chmod(dataDir, 0o700);

  const reloadSeconds = seconds(o.encryptionConfigReloadInterval, 60, '--encryption-config-reload-interval');
  const statusSeconds = seconds(o.kmsV2StatusInterval, 60, '--kms-v2-status-interval');
  const writeTtlSeconds = seconds(o.kmsV2WriteTtl, 180, '--kms-v2-write-ttl');
  const encryption = o.encryption ?? 'kms';
  if (encryption !== 'kms' && encryption !== 'aesgcm') throw new Error(`--encryption: must be kms or aesgcm, got ${JSON.stringify(encryption)}`);
  let configFile: string;
  let kms: RunningKmsStack | undefined;
  if (o.encryptionConfig) configFile = resolve(o.encryptionConfig);
  else if (encryption === 'kms') {
    await mkdir(defaultKeyDir(dataDir), { recursive: true, mode: 0o700 });
    kms = await startKmsStack({ dataDir, keyDir: defaultKeyDir(dataDir), logger: log, logLevel: o.logLevel ?? 'info', statusIntervalMs: statusSeconds * 1000 });
    configFile = kms.encryptionConfigFile;
    log.info({ keyserver: kms.keyserverUrl, kmsPlugin: kms.pluginEndpoint, kmsPluginHealth: kms.pluginHealthUrl }, 'KMS v2 through coffer kms-plugin and coffer keyserver');
  } else {
    const made = await ensureDefaultEncryptionConfig(dataDir);
    configFile = made.file;
    if (made.created) log.info({ encryptionConfig: configFile }, 'generated an aesgcm EncryptionConfiguration outside the data directory');
  }
  // Reloaded when the file's hash changes (checked every minute), like --encryption-provider-config-automatic-reload;
  // a file that fails to load or whose KMS plugins do not answer leaves the running configuration in place.
  const engine = await ReloadingEncryptionEngine.open(configFile, {
    intervalMs: reloadSeconds * 1000,
    ...(o.kmsNoDekCache ? { load: { kmsNoDekCache: true } } : {}),
    // Upstream: Status every 60 s (10 s after a failure), writes refused 3 min after the last good Status.
    engine: { kmsV2Timing: { healthyIntervalMs: statusSeconds * 1000, retryIntervalMs: Math.min(10, statusSeconds) * 1000, writeTtlMs: writeTtlSeconds * 1000 } },
    onReload: (r) =>
      r.ok
        ? log.info({ encryptionConfig: configFile, configHash: r.hash }, 'encryption configuration reloaded')
        : log.error({ encryptionConfig: configFile, error: r.error }, 'encryption configuration reload failed; keeping the running configuration'),
  }).catch(async (e: unknown) => {
    await kms?.close();
    throw e;
  });
  let store: Store | undefined;
  try {
    store = await openStore({ ...o, dataDir }, log);
    let tokens: [string, UserInfo][] | undefined;
    if (o.tokenAuthFile) {
      tokens = [...(await readTokenFile(o.tokenAuthFile))];
      log.info({ tokenAuthFile: resolve(o.tokenAuthFile), users: tokens.length }, 'token file read');
    }
    const policy = o.authorizationPolicyFile ? await readPolicyFile(o.authorizationPolicyFile) : undefined;
    if (policy) log.info({ authorizationPolicyFile: resolve(o.authorizationPolicyFile!), rules: policy.length }, 'authorization policy read');
    const dashboard = o.dashboard !== false ? upDashboard() : undefined;
    const server = await startApiServer({
      dataDir,
      host,
      port,
      store,
      engine,
      ...(tokens ? { tokens } : {}),
      ...(policy ? { policy } : {}),
      logger: log,
      processMetrics: true,
      ...(dashboard ? { mount: dashboard.mount } : {}),
    });
    for (const f of server.createdFiles) log.info({ file: f }, 'created');
    if (dashboard) {
      const storeDescription = o.store === 'etcd' ? `etcd ${o.etcdEndpoints ?? ''}` : `SQLite ${join(dataDir, 'store')}`;
      const link = await dashboard.start({ url: server.url, dataDir, store, storeDescription, encryptionConfig: configFile, ...(kms ? { kmsPluginUrl: kms.pluginHealthUrl } : {}), logger: log.child({ component: 'dashboard' }) });
      // Printed, not logged: the link is a credential (used up by its first sign-in), as Jupyter prints its token.
      process.stderr.write(`Dashboard: open ${link} (one-time sign-in link)\n`);
    }
    log.info(
      {
        url: server.url,
        dataDir,
        kubeconfig: server.kubeconfigPath,
        adminTokenFile: join(dataDir, 'admin.token'),
        caFile: join(dataDir, 'ca.crt'),
        encryptionConfig: configFile,
        configHash: engine.configHash,
      },
      'coffer API server ready',
    );
    // The External Secrets controller talks to this server as any client would, through its kubeconfig.
    const stopController = new AbortController();
    let controllerDone: Promise<void> | undefined;
    if (o.controller !== false) {
      const kubeConfig = new KubeConfig();
      kubeConfig.loadFromFile(server.kubeconfigPath);
      const controller = await startExternalSecretsController({
        kubeConfig,
        logger: log.child({ component: 'external-secrets-controller' }),
        metricsRegistry: server.metrics.registry,
        signal: stopController.signal,
      });
      controllerDone = controller.done;
      log.info('external secrets controller running');
    }
    const opened = store;
    return {
      server,
      async close() {
        stopController.abort();
        dashboard?.close();
        await controllerDone;
        await server.close();
        await opened.close();
        engine.close();
        await kms?.close();
      },
    };
  } catch (e) {
    await store?.close();
    engine.close();
    await kms?.close();
    throw e;
  }
}

export function registerUpCommand(program: Command): void {
  program
    .command('up')
    .description('run the Kubernetes-compatible API server for Secrets (embedded SQLite store, encryption at rest on)')
    .option('--data-dir <dir>', 'where the store, certificates and kubeconfig live', '.coffer')
    .option('--listen <host:port>', 'address to serve HTTPS on', '127.0.0.1:6443')
    .option('--encryption <kind>', 'default encryption without --encryption-config: kms (KMS v2 -> coffer kms-plugin -> coffer keyserver) | aesgcm', 'kms')
    .option('--encryption-config <file>', 'an EncryptionConfiguration, reloaded when it changes (default: a generated aesgcm key in <data-dir>.keys/)')
    .option('--encryption-config-reload-interval <seconds>', "how often the encryption configuration file is checked for changes (Coffer's own option)", '60')
    .option('--kms-v2-status-interval <seconds>', "how often KMS v2 plugins are asked for Status (upstream: 60; Coffer's own option)", '60')
    .option('--kms-v2-write-ttl <seconds>', "how long writes go on without a good KMS v2 Status (upstream: 180; Coffer's own option)", '180')
    .option('--kms-no-dek-cache', "keep no KMS v2 seed in memory between requests (Coffer's own option)")
    .option('--store <kind>', 'sqlite | etcd', 'sqlite')
    .option('--etcd-endpoints <urls>', 'comma-separated etcd client URLs (with --store etcd)')
    .option('--etcd-cafile <file>', 'CA of the etcd servers (TLS)')
    .option('--etcd-certfile <file>', 'client certificate for etcd (TLS)')
    .option('--etcd-keyfile <file>', 'client key for etcd (TLS)')
    .option('--store-encryption-key-file <file>', 'also encrypt the whole SQLite file with this 256-bit key (kept outside the data dir)')
    .option('--token-auth-file <file>', 'more bearer tokens, in kube-apiserver --token-auth-file CSV format')
    .option('--authorization-policy-file <file>', 'who may do what (docs/authorization-policy.md); default: any authenticated user')
    .option('--no-controller', 'do not run the External Secrets controller in this process')
    .option('--no-dashboard', 'do not serve the dashboard under /dashboard (docs/dashboard.md)')
    .option('--log-level <level>', 'trace | debug | info | warn | error', 'info')
    .action(async (o: UpOptions) => {
      const log = pino({ level: o.logLevel ?? 'info', base: { component: 'coffer-up' } }, pino.destination({ fd: 2, sync: true }));
      await serveUntilSignal(log, () => runUp(o, log), (running) => process.stdout.write(`export KUBECONFIG=${running.server.kubeconfigPath}\n`));
    });
}
