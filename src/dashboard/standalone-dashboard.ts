// `coffer dashboard`: the dashboard on its own HTTPS listener against any cluster, as the kubeconfig's user. Encryption
// state needs a storage source (a live etcd, read-only); without one the encryption views say so and the others work.
// The serving certificate comes from a small CA kept in --cert-dir (its ca.crt is what a browser should trust).
import { mkdir } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { Logger } from 'pino';
import { ensureServerCredentials } from '../lib/tls/server-credentials.js';
import { openEtcdStore } from '../storage/etcd/etcd-store.js';
import type { Store } from '../storage/store.js';
import { targetFromKubeconfig } from './api-client.js';
import { createDashboard, DASHBOARD_PREFIX, isDashboardPath } from './dashboard-server.js';
import { storeScanProvider } from './encryption-scan.js';

export interface StandaloneOptions {
  kubeconfig: string;
  host: string;
  port: number;
  certDir: string;
  etcdEndpoints?: string[];
  etcdTls?: { caFile: string; certFile?: string; keyFile?: string };
  /** kube-apiserver's --etcd-prefix with a trailing slash. */
  etcdPrefix: string;
  encryptionConfig?: string;
  logger: Logger;
}

export interface RunningStandalone {
  url: string;
  loginUrl: string;
  close(): Promise<void>;
}

export async function startStandaloneDashboard(o: StandaloneOptions): Promise<RunningStandalone> {
  const { target, credential } = await targetFromKubeconfig(o.kubeconfig);
  let store: Store | undefined;
  if (o.etcdEndpoints?.length) {
    store = await openEtcdStore({ endpoints: o.etcdEndpoints, ...(o.etcdTls ? { tls: o.etcdTls } : {}), prefix: o.etcdPrefix });
  }
  const dashboard = createDashboard({
    api: target,
    ownCredential: credential,
    ...(store
      ? { scan: storeScanProvider(store, { description: `etcd ${o.etcdEndpoints!.join(',')}`, prefix: o.etcdPrefix, ...(o.encryptionConfig ? { configFile: o.encryptionConfig } : {}) }) }
      : {}),
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
    await store?.close();
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
      await store?.close();
    },
  };
}
