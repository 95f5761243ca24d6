// `coffer dashboard`: the dashboard on its own HTTPS listener against any cluster, as the kubeconfig's user. Encryption
// state needs a storage source, named by the operations commands' flags (a live etcd, an etcd snapshot, Coffer's
// SQLite store), all read-only; without one the encryption views say so and the others work. The serving
// certificate comes from a small CA kept in --cert-dir (its ca.crt is what a browser should trust).
import { mkdir } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { ensureServerCredentials } from '../lib/tls/server-credentials.js';
import { openEtcdSource, parseEndpoints } from '../operations/etcd-source.js';
import { chosenSource, openSourceFromFlags, type SourceFlags } from '../operations/open-source.js';
import { normalizeEtcdPrefix } from '../operations/source.js';
import { openSqliteSource, storeDir } from '../operations/sqlite-source.js';
import { SQLITE_FILE_NAME } from '../storage/sqlite/sqlite-store.js';
import { targetFromKubeconfig } from './api-client.js';
import { DASHBOARD_PREFIX, isDashboardPath } from './dashboard-path.js';
import { createDashboard } from './dashboard-server.js';
import { openedSource, sourceScanProvider, watchFiles, watchStore, type ScanSource } from './encryption-scan.js';

export interface StandaloneOptions {
  kubeconfig: string;
  host: string;
  port: number;
  certDir: string;
  /** The operations commands' source flags (--etcd-endpoints, --snapshot, --data-dir...); no source is fine. */
  source: SourceFlags;
  encryptionConfig?: string;
  /** The KMS plugin's side port (`http://127.0.0.1:8787`), for its /healthz and /metrics. */
  kmsPluginUrl?: string;
  logger: Logger;
}

export interface RunningStandalone {
  url: string;
  loginUrl: string;
  close(): Promise<void>;
}

/**
 * The source behind the encryption views. A live etcd is watched for changes; Coffer's SQLite store (held locked by
 * `coffer up`) is copied afresh for each pass, and its files watched; a snapshot file does not change.
 */
async function openScanSource(f: SourceFlags): Promise<ScanSource | undefined> {
  switch (chosenSource(f)) {
    case undefined:
      return undefined;
    case 'etcd': {
      const source = await openEtcdSource({ endpoints: parseEndpoints(f.etcdEndpoints!), ...(f.cacert ? { cacert: f.cacert } : {}), ...(f.cert ? { cert: f.cert } : {}), ...(f.key ? { key: f.key } : {}) });
      return openedSource(source, watchStore(source.store, normalizeEtcdPrefix(f.etcdPrefix)));
    }
    case 'sqlite': {
      const open = () => openSqliteSource({ dataDir: f.dataDir!, ...(f.storeEncryptionKeyFile ? { storeEncryptionKeyFile: f.storeEncryptionKeyFile } : {}) });
      const dir = await storeDir(resolve(f.dataDir!)); // fails now, naming the flag, when there is no store
      return {
        description: `coffer store ${join(dir, SQLITE_FILE_NAME)}`,
        acquire: async () => {
          const source = await open();
          return { source, release: () => source.close() };
        },
        watch: (onChange, signal) => watchFiles(dir, [SQLITE_FILE_NAME, `${SQLITE_FILE_NAME}-wal`], onChange, signal),
        close: async () => undefined,
      };
    }
    default:
      return openedSource(await openSourceFromFlags(f));
  }
}

export async function startStandaloneDashboard(o: StandaloneOptions): Promise<RunningStandalone> {
  const { target, credential } = await targetFromKubeconfig(o.kubeconfig);
  const source = await openScanSource(o.source);
  const dashboard = createDashboard({
    api: target,
    ownCredential: credential,
    ...(source
      ? { scan: sourceScanProvider(source, { prefix: normalizeEtcdPrefix(o.source.etcdPrefix), ...(o.encryptionConfig ? { configFile: o.encryptionConfig } : {}) }) }
      : {}),
    ...(o.kmsPluginUrl ? { kmsPluginUrl: o.kmsPluginUrl } : {}),
    logger: o.logger,
  });
  await mkdir(o.certDir, { recursive: true, mode: 0o700 });
  const { credentials } = await ensureServerCredentials(o.certDir, { listenHost: o.host });
  const server: Server = createServer({ cert: credentials.certPem, key: credentials.keyPem }, (req, res) => {
    if (isDashboardPath(req.url)) return dashboard.handle(req, res);
    if ((req.url ?? '/') === '/') return void res.writeHead(302, { Location: `${DASHBOARD_PREFIX}/` }).end();
    res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found: the dashboard is under /dashboard/\n');
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(o.port, o.host, () => resolve());
    });
  } catch (e) {
    dashboard.close();
    await source?.close();
    throw e;
  }
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : o.port;
  const url = `https://${o.host.includes(':') ? `[${o.host}]` : o.host}:${port}`;
  return {
    url,
    loginUrl: dashboard.oneTimeLoginUrl(url),
    async close() {
      dashboard.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await source?.close();
    },
  };
}
