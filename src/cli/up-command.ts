// Long: `coffer up` validates every flag, then starts the stack in order; the order is the point, so it reads top to bottom.
// `coffer up` (= `npm start`): the API server on its embedded defaults - SQLite store in ./.coffer, encryption at rest on
// with a generated aesgcm key kept beside (never inside) the data directory - or on etcd and a given
// EncryptionConfiguration. Logs (stderr: readable lines on a terminal, else JSON; --log-format) say where everything
// is, ending with a ready summary (ready-summary.ts); stdout gets only the `export KUBECONFIG=` line.
import type { Command } from 'commander';
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { access, chmod, mkdir, readFile, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { startApiServer, type RunningApiServer } from '../apiserver/api-server.js';
import type { UserInfo } from '../apiserver/auth/authenticator.js';
import { readPolicyFile } from '../apiserver/auth/authorization-policy.js';
import { readTokenFile } from '../apiserver/auth/token-file.js';
import { writePrivateFile } from '../lib/private-file.js';
import type { RunningKmsStack } from '../stack/kms-stack.js';
import { readEncryptionConfigurationFile, wipeEncryptionConfigurationKeys } from '../encryption/encryption-config.js';
import type { KmsProviderConfig } from '../encryption/encryption-config.js';
import { ReloadingEncryptionEngine } from '../encryption/reloading-engine.js';
import { lockDataDir } from '../lib/data-dir-lock.js';
import { InvalidError } from '../lib/errors.js';
import { refuseKeyFileInDataDir } from '../lib/key-file-location.js';
import { readStoreKeyFile, SqliteStore } from '../storage/sqlite/sqlite-store.js';
import type { Store } from '../storage/store.js';
import { createCommandLogger, LOG_FORMAT_ENV, resolveLogFormat } from '../lib/log-format.js';
import { announceUp, describeStore } from './ready-summary.js';
import { serveUntilSignal } from './serve-until-signal.js';
import { upDashboard, type UpDashboard } from '../dashboard/up-dashboard.js';

export interface UpOptions {
  dataDir: string;
  listen: string;
  encryptionConfig?: string;
  /** The default encryption when no --encryption-config is given: kms (plugin + key server) or aesgcm. */
  encryption?: string;
  kmsNoDekCache?: boolean;
  /** KMS plugins answer Encrypt/Decrypt only to this process: a caller secret minted here, or read from stdin. */
  kmsCallerAuth?: boolean;
  store: string;
  etcdEndpoints?: string;
  etcdCafile?: string;
  etcdCertfile?: string;
  etcdKeyfile?: string;
  storeEncryptionKeyFile?: string;
  tokenAuthFile?: string;
  authorizationPolicyFile?: string;
  logLevel?: string;
  logFormat?: string;
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
  if (!Number.isFinite(n) || n <= 0) throw new InvalidError(`want a number of seconds > 0, got ${JSON.stringify(value)}`, { field: flag });
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
  if (!m) throw new InvalidError(`want host:port, got ${JSON.stringify(listen)}`, { field: '--listen' });
  const port = Number(m[3]);
  if (port > 65535) throw new InvalidError(`port out of range: ${port}`, { field: '--listen' });
  return { host: m[1] ?? (m[2] || '127.0.0.1'), port };
}

/** Everything `coffer up` was asked for, checked; nothing has been started or written yet. */
interface CheckedUpOptions {
  dataDir: string;
  host: string;
  port: number;
  reloadSeconds: number;
  statusSeconds: number;
  writeTtlSeconds: number;
  encryption: 'kms' | 'aesgcm';
  encryptionConfig?: string;
  storeKeyFile?: string;
  tokens?: [string, UserInfo][];
  policy?: Awaited<ReturnType<typeof readPolicyFile>>;
}

async function readableFile(flag: string, file: string): Promise<string> {
  const path = resolve(file);
  try {
    if (!(await stat(path)).isFile()) throw new InvalidError(`${path} is not a regular file`, { field: flag });
    await access(path, constants.R_OK);
  } catch (e) {
    if (e instanceof InvalidError) throw e;
    throw new InvalidError(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { field: flag, cause: e });
  }
  return path;
}

/**
 * Checks every flag before anything starts or any file is written: a mistake found after the key server and plugin
 * started (and keys were written) used to leave a half-made data directory behind.
 */
async function checkUpOptions(o: UpOptions): Promise<CheckedUpOptions> {
  const dataDir = resolve(o.dataDir);
  const { host, port } = parseListen(o.listen);
  const encryption = o.encryption ?? 'kms';
  if (encryption !== 'kms' && encryption !== 'aesgcm') throw new InvalidError(`must be kms or aesgcm, got ${JSON.stringify(encryption)}`, { field: '--encryption' });
  const checked: CheckedUpOptions = {
    dataDir,
    host,
    port,
    reloadSeconds: seconds(o.encryptionConfigReloadInterval, 60, '--encryption-config-reload-interval'),
    statusSeconds: seconds(o.kmsV2StatusInterval, 60, '--kms-v2-status-interval'),
    writeTtlSeconds: seconds(o.kmsV2WriteTtl, 180, '--kms-v2-write-ttl'),
    encryption,
  };
  if (o.kmsCallerAuth && !o.encryptionConfig && encryption !== 'kms') {
    throw new InvalidError('applies to KMS plugins, and --encryption is aesgcm', { field: '--kms-caller-auth' });
  }
  if (o.store !== 'sqlite' && o.store !== 'etcd') throw new InvalidError(`must be sqlite or etcd, got ${JSON.stringify(o.store)}`, { field: '--store' });
  if (o.store === 'etcd') {
    if (!o.etcdEndpoints?.split(',').some((e) => e.trim())) throw new InvalidError('is required with --store etcd', { field: '--etcd-endpoints' });
    if (o.storeEncryptionKeyFile) throw new InvalidError('encrypts the SQLite file; it does not apply to --store etcd', { field: '--store-encryption-key-file' });
    // A client certificate without its key (or the reverse), or without the CA to check the server by, would be ignored.
    if (Boolean(o.etcdCertfile) !== Boolean(o.etcdKeyfile)) {
      const [missing, given] = o.etcdCertfile ? ['--etcd-keyfile', '--etcd-certfile'] : ['--etcd-certfile', '--etcd-keyfile'];
      throw new InvalidError(`is required with ${given} (a client certificate and its key go together)`, { field: missing });
    }
    if (o.etcdCertfile && !o.etcdCafile) throw new InvalidError('is required with a client certificate (--etcd-certfile)', { field: '--etcd-cafile' });
    for (const [flag, file] of [['--etcd-cafile', o.etcdCafile], ['--etcd-certfile', o.etcdCertfile], ['--etcd-keyfile', o.etcdKeyfile]] as const) {
      if (file) await readableFile(flag, file);
    }
    // Loaded only for this store, as in openStore.
    const { checkEtcdEndpoints } = await import('../storage/etcd/etcd-store.js');
    checkEtcdEndpoints(etcdEndpoints(o.etcdEndpoints), Boolean(o.etcdCafile), '--etcd-endpoints');
  } else {
    const etcdFlag = (['etcdEndpoints', 'etcdCafile', 'etcdCertfile', 'etcdKeyfile'] as const).find((k) => o[k]);
    if (etcdFlag) throw new InvalidError(`is for --store etcd, and the store is ${o.store}`, { field: `--${etcdFlag.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}` });
  }
  if (o.storeEncryptionKeyFile) {
    await refuseKeyFileInDataDir('--store-encryption-key-file', resolve(o.storeEncryptionKeyFile), dataDir);
    checked.storeKeyFile = await readableFile('--store-encryption-key-file', o.storeEncryptionKeyFile);
    const key = await readStoreKeyFile(checked.storeKeyFile, dataDir).catch((e: unknown) => {
      throw new InvalidError((e as Error).message, { field: '--store-encryption-key-file', cause: e });
    });
    key.fill(0);
  }
  if (o.encryptionConfig) {
    checked.encryptionConfig = await readableFile('--encryption-config', o.encryptionConfig);
    const config = await readEncryptionConfigurationFile(checked.encryptionConfig).catch((e: unknown) => {
      throw new InvalidError((e as Error).message, { field: '--encryption-config', cause: e });
    });
    // A configuration with aescbc/aesgcm/secretbox keys is a key file too; one that only names KMS plugins is not.
    const holdsKeys = config.resources.some((r) => r.providers.some((p) => 'keys' in p));
    wipeEncryptionConfigurationKeys(config);
    if (holdsKeys) await refuseKeyFileInDataDir('--encryption-config', checked.encryptionConfig, dataDir);
  }
  if (o.tokenAuthFile) checked.tokens = [...(await readFlagFile('--token-auth-file', o.tokenAuthFile, readTokenFile))];
  if (o.authorizationPolicyFile) checked.policy = await readFlagFile('--authorization-policy-file', o.authorizationPolicyFile, readPolicyFile);
  return checked;
}

/** A file a flag names, read by `read`; whatever is wrong with it is reported under the flag. */
async function readFlagFile<T>(flag: string, file: string, read: (path: string) => Promise<T>): Promise<T> {
  const path = await readableFile(flag, file);
  return read(path).catch((e: unknown) => {
    throw new InvalidError((e as Error).message, { field: flag, cause: e });
  });
}

function etcdEndpoints(flag: string | undefined): string[] {
  return (flag ?? '').split(',').map((e) => e.trim()).filter(Boolean);
}

/**
 * Makes the data directory one level at a time, so that a path that cannot be one is refused under --data-dir (a
 * recursive mkdir under /proc never returns).
 */
async function makeDataDir(dir: string): Promise<void> {
  const missing: string[] = [];
  for (let p = dir; ; p = dirname(p)) {
    const st = await stat(p).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return undefined;
      throw new InvalidError(`cannot use ${dir}: ${e.code ?? e.message} at ${p}`, { field: '--data-dir', cause: e });
    });
    if (st?.isDirectory()) break;
    if (st) throw new InvalidError(`cannot use ${dir}: ${p} is not a directory`, { field: '--data-dir' });
    missing.unshift(p);
  }
  for (const p of missing) {
    await mkdir(p, { mode: 0o700 }).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'EEXIST') throw new InvalidError(`cannot create ${p}: ${e.code ?? e.message}`, { field: '--data-dir', cause: e });
    });
  }
}

/** Fails before anything starts when --listen's address is taken (kube-apiserver's words, and what to do). */
async function checkListenFree(host: string, port: number): Promise<void> {
  if (port === 0) return;
  await new Promise<void>((res, rej) => {
    const probe = createServer();
    probe.once('error', (e: NodeJS.ErrnoException) => {
      const address = `${host.includes(':') ? `[${host}]` : host}:${port}`;
      const hint =
        e.code === 'EADDRINUSE'
          ? `; another program (or another coffer up) listens there: stop it, or give this one another --listen (ss -ltnp 'sport = :${port}' shows who)`
          : '';
      rej(new InvalidError(`failed to listen on ${address}: ${e.code === 'EADDRINUSE' ? 'bind: address already in use' : e.message}${hint}`, { field: '--listen' }));
    });
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => res()));
  });
}

async function openStore(o: UpOptions, c: CheckedUpOptions, log: Logger): Promise<Store> {
  if (o.store === 'etcd') {
    const endpoints = etcdEndpoints(o.etcdEndpoints);
    // Loaded only for this store (etcd3 and gRPC take seconds to import): a SQLite start never pays for them.
    const { openEtcdStore } = await import('../storage/etcd/etcd-store.js');
    const store = await openEtcdStore({
      endpoints,
      ...(o.etcdCafile ? { tls: { caFile: o.etcdCafile, ...(o.etcdCertfile ? { certFile: o.etcdCertfile } : {}), ...(o.etcdKeyfile ? { keyFile: o.etcdKeyfile } : {}) } } : {}),
    });
    log.info({ store: 'etcd', endpoints }, 'store: etcd');
    return store;
  }
  const dir = join(c.dataDir, 'store');
  const store = await SqliteStore.open({ dataDir: dir, ...(c.storeKeyFile ? { encryptionKeyFile: c.storeKeyFile } : {}) });
  log.info({ store: 'sqlite', path: dir, fileEncrypted: Boolean(c.storeKeyFile) }, 'store: embedded SQLite');
  return store;
}

export interface RunningUp {
  server: RunningApiServer;
  encryptionConfigFile: string;
  /** The store in words, for the ready summary. */
  store: string;
  close(): Promise<void>;
}

/** Starts everything `coffer up` runs; the caller owns signals and exit. */
export async function runUp(o: UpOptions, log: Logger): Promise<RunningUp> {
  const c = await checkUpOptions(o);
  const dataDir = c.dataDir;
  await makeDataDir(dataDir);
  // The lock first: a second `coffer up` on this directory must stop here, before it starts a child or writes a file.
  const lock = lockDataDir(dataDir);
  try {
    await chmod(dataDir, 0o700);
    await checkListenFree(c.host, c.port);
    return await startAll(o, c, log, lock.release);
  } catch (e) {
    lock.release();
    throw e;
  }
}

/**
 * The secret KMS plugins with `callerSecret: stdin` require (kms/grpc-server.ts): minted here for coffer up's own
 * plugin, or - for plugins a supervisor started beside this process (--encryption-config) - the first line of stdin,
 * where that supervisor put it. Kept in memory only.
 */
async function kmsCallerSecret(fromStdin: boolean): Promise<string> {
  if (!fromStdin) return randomBytes(32).toString('base64url');
  const { readFirstLine } = await import('../lib/vault/vault-auth.js');
  const line = await readFirstLine(process.stdin, { maxBytes: 1024, timeoutMs: 30_000, what: 'KMS caller secret' });
  const secret = line.toString('utf8');
  line.fill(0);
  if (secret.length < 32) throw new InvalidError('the KMS caller secret on stdin is shorter than 32 characters', { field: '--kms-caller-auth' });
  return secret;
}

/** The engine's KMS v1 and v2 clients for --kms-caller-auth: every call carries the caller secret. */
async function callerAuthenticatedKmsClients(callerSecret: string) {
  const [{ GrpcKmsV1Client }, { GrpcKmsV2Client }] = await Promise.all([import('../kms/grpc-v1-client.js'), import('../kms/grpc-v2-client.js')]);
  return {
    connectKmsV1: (p: KmsProviderConfig) => new GrpcKmsV1Client(p.endpoint, { timeoutMs: p.timeoutMs, callerSecret }),
    connectKmsV2: (p: KmsProviderConfig) => new GrpcKmsV2Client(p.endpoint, { timeoutMs: p.timeoutMs, callerSecret }),
  };
}

async function startAll(o: UpOptions, c: CheckedUpOptions, log: Logger, releaseLock: () => void): Promise<RunningUp> {
  const { dataDir, host, port } = c;
  const callerSecret = o.kmsCallerAuth ? await kmsCallerSecret(Boolean(c.encryptionConfig)) : undefined;
  // The store first: an etcd that cannot be reached fails the start before a child is started or a key is written.
  const store = await openStore(o, c, log);
  let kms: RunningKmsStack | undefined;
  let engine: ReloadingEncryptionEngine | undefined;
  try {
    let configFile: string;
    if (c.encryptionConfig) configFile = c.encryptionConfig;
    else if (c.encryption === 'kms') {
      await mkdir(defaultKeyDir(dataDir), { recursive: true, mode: 0o700 });
      const { startKmsStack } = await import('../stack/kms-stack.js');
      kms = await startKmsStack({
        dataDir,
        keyDir: defaultKeyDir(dataDir),
        logger: log,
        logLevel: o.logLevel ?? 'info',
        statusIntervalMs: c.statusSeconds * 1000,
        ...(callerSecret ? { callerSecret } : {}),
      });
      configFile = kms.encryptionConfigFile;
      log.info({ keyserver: kms.keyserverUrl, kmsPlugin: kms.pluginEndpoint, kmsPluginHealth: kms.pluginHealthUrl }, 'KMS v2 through coffer kms-plugin and coffer keyserver');
    } else {
      const made = await ensureDefaultEncryptionConfig(dataDir);
      configFile = made.file;
      if (made.created) log.info({ encryptionConfig: configFile }, 'generated an aesgcm EncryptionConfiguration outside the data directory');
    }
    // KMS clients that send the caller secret, loaded only then: without one, the engine loads gRPC for KMS providers only.
    const connectKms = callerSecret ? await callerAuthenticatedKmsClients(callerSecret) : undefined;
    // Reloaded when the file's hash changes (checked every minute), like --encryption-provider-config-automatic-reload;
    // a file that fails to load or whose KMS plugins do not answer leaves the running configuration in place.
    const opened = await ReloadingEncryptionEngine.open(configFile, {
      intervalMs: c.reloadSeconds * 1000,
      ...(o.kmsNoDekCache ? { load: { kmsNoDekCache: true } } : {}),
      // Upstream: Status every 60 s (10 s after a failure), writes refused 3 min after the last good Status.
      engine: {
        kmsV2Timing: { healthyIntervalMs: c.statusSeconds * 1000, retryIntervalMs: Math.min(10, c.statusSeconds) * 1000, writeTtlMs: c.writeTtlSeconds * 1000 },
        ...connectKms,
      },
      onReload: (r) =>
        r.ok
          ? log.info({ encryptionConfig: configFile, configHash: r.hash }, 'encryption configuration reloaded')
          : log.error({ encryptionConfig: configFile, error: r.error }, 'encryption configuration reload failed; keeping the running configuration'),
    });
    engine = opened;
    const { tokens, policy } = c;
    if (tokens) log.info({ tokenAuthFile: resolve(o.tokenAuthFile!), users: tokens.length }, 'token file read');
    if (policy) log.info({ authorizationPolicyFile: resolve(o.authorizationPolicyFile!), rules: policy.length }, 'authorization policy read');
    const dashboard = o.dashboard !== false ? upDashboard() : undefined;
    const server = await startApiServer({
      dataDir,
      host,
      port,
      store,
      engine: opened,
      ...(tokens ? { tokens } : {}),
      ...(policy ? { policy } : {}),
      logger: log,
      processMetrics: true,
      ...(dashboard ? { mount: dashboard.mount } : {}),
    });
    for (const f of server.createdFiles) log.info({ file: f }, 'created');
    log.info(
      {
        url: server.url,
        dataDir,
        kubeconfig: server.kubeconfigPath,
        adminTokenFile: join(dataDir, 'admin.token'),
        caFile: join(dataDir, 'ca.crt'),
        encryptionConfig: configFile,
        configHash: opened.configHash,
      },
      'coffer API server ready',
    );
    // The dashboard and the External Secrets controller start beside the ready announcement, not before it: their code
    // (the Kubernetes client below both) takes a second or more to import, and the API server needs neither. Their
    // imports are read asynchronously, so the announcement (written as this function returns) goes out first. A stop
    // during their start ends it without waiting for the imports (a hung stop in CI once came from a start that did).
    const stop = new AbortController();
    const dashboardDone = dashboard
      ? runDashboard(
          dashboard,
          {
            url: server.url,
            dataDir,
            store,
            storeDescription: o.store === 'etcd' ? `etcd ${o.etcdEndpoints ?? ''}` : `SQLite ${join(dataDir, 'store')}`,
            encryptionConfig: configFile,
            ...(kms ? { kmsPluginUrl: kms.pluginHealthUrl } : {}),
            logger: log.child({ component: 'dashboard' }),
          },
          stop.signal,
        )
      : undefined;
    // The controller talks to this server as any client would, through its kubeconfig; its informers list what was
    // created in the meantime (startExternalSecretsController checks the signal between informers).
    const controllerDone = o.controller === false ? undefined : runController(server, log.child({ component: 'external-secrets-controller' }), stop.signal);
    const stack = kms;
    return {
      server,
      encryptionConfigFile: configFile,
      store: describeStore({ ...o, dataDir }),
      async close() {
        stop.abort();
        await dashboardDone;
        dashboard?.close();
        await controllerDone;
        await server.close();
        await store.close();
        opened.close();
        await stack?.close();
        releaseLock();
      },
    };
  } catch (e) {
    engine?.close();
    await kms?.close();
    await store.close();
    throw e;
  }
}

/** `work`'s result, or undefined once `signal` aborts: a stop does not wait for modules nothing uses yet. */
function unlessStopped<T>(work: Promise<T>, signal: AbortSignal): Promise<T | undefined> {
  if (signal.aborted) return Promise.resolve(undefined);
  const stopped = new Promise<undefined>((resolve) => signal.addEventListener('abort', () => resolve(undefined), { once: true }));
  return Promise.race([work, stopped]);
}

/** Builds the dashboard and prints its one-time sign-in link; failures are logged, never thrown. */
async function runDashboard(dashboard: UpDashboard, o: Parameters<UpDashboard['start']>[0], signal: AbortSignal): Promise<void> {
  try {
    const link = await unlessStopped(dashboard.start(o, signal), signal);
    // Printed, not logged: the link is a credential (used up by its first sign-in), as Jupyter prints its token.
    if (link && !signal.aborted) process.stderr.write(`Dashboard: open ${link} (one-time sign-in link)\n`);
  } catch (e) {
    o.logger.error({ error: e instanceof Error ? e.message : String(e) }, 'dashboard failed to start; the API server goes on without it');
  }
}

/** Imports and runs the External Secrets controller until `signal`; failures are logged, never thrown. */
async function runController(server: RunningApiServer, log: Logger, signal: AbortSignal): Promise<void> {
  try {
    const modules = await unlessStopped(Promise.all([import('@kubernetes/client-node'), import('../controller/external-secrets-controller.js')]), signal);
    if (!modules || signal.aborted) return;
    const [{ KubeConfig }, { startExternalSecretsController }] = modules;
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(server.kubeconfigPath);
    const controller = await startExternalSecretsController({ kubeConfig, logger: log, metricsRegistry: server.metrics.registry, signal });
    if (!signal.aborted) log.info('external secrets controller running');
    await controller.done;
  } catch (e) {
    log.error({ error: e instanceof Error ? e.message : String(e) }, 'external secrets controller failed; the API server goes on without it');
  }
}

export function registerUpCommand(program: Command): void {
  program
    .command('up')
    .description('run the Kubernetes-compatible API server for Secrets (embedded SQLite store, encryption at rest on)')
    .option('--data-dir <dir>', 'where the store, certificates and kubeconfig live', '.coffer')
    .option('--listen <host:port>', 'address to serve HTTPS on', '127.0.0.1:6443')
    .option('--encryption <kind>', 'default encryption without --encryption-config: kms (KMS v2 -> coffer kms-plugin -> coffer keyserver) | aesgcm', 'kms')
    .option('--encryption-config <file>', 'an EncryptionConfiguration, reloaded when it changes (default: one generated in <data-dir>.keys/ for --encryption: KMS v2 through coffer kms-plugin and coffer keyserver, or aesgcm)')
    .option('--encryption-config-reload-interval <seconds>', "how often the encryption configuration file is checked for changes (Coffer's own option)", '60')
    .option('--kms-v2-status-interval <seconds>', "how often KMS v2 plugins are asked for Status (upstream: 60; Coffer's own option)", '60')
    .option('--kms-v2-write-ttl <seconds>', "how long writes go on without a good KMS v2 Status (upstream: 180; Coffer's own option)", '180')
    .option('--kms-no-dek-cache', "keep no KMS v2 seed in memory between requests (Coffer's own option)")
    .option(
      '--kms-caller-auth',
      "KMS plugins answer Encrypt/Decrypt only to this process, with a caller secret kept in memory: minted for coffer up's own plugin, or read from stdin's first line with --encryption-config (Coffer's own option; docs/security.md)",
    )
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
    .option('--log-format <format>', 'json | text (default: text on a terminal, json otherwise)')
    .action(async (o: UpOptions) => {
      const format = resolveLogFormat(o.logFormat);
      process.env[LOG_FORMAT_ENV] = format; // the plugin and key server started below log the same way
      const log = createCommandLogger({ component: 'coffer-up', level: o.logLevel ?? 'info', format });
      await serveUntilSignal(log, () => runUp(o, log), (running) => announceUp(running, { format, log }));
    });
}
