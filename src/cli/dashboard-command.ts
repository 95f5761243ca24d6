// `coffer dashboard --kubeconfig FILE [--etcd-endpoints URLS ...]`: the dashboard `coffer up` serves under /dashboard,
// on its own HTTPS listener, against any cluster (docs/dashboard.md). Prints a one-time sign-in link.
import type { Command } from 'commander';
import { join, resolve } from 'node:path';
import pino from 'pino';
import { startStandaloneDashboard } from '../dashboard/standalone-dashboard.js';
import { serveUntilSignal } from './serve-until-signal.js';

interface DashboardCommandOptions {
  kubeconfig: string;
  listen: string;
  certDir: string;
  etcdEndpoints?: string;
  cacert?: string;
  cert?: string;
  key?: string;
  etcdPrefix: string;
  encryptionConfig?: string;
  logLevel: string;
}

function parseListen(listen: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(listen);
  if (!m || Number(m[3]) > 65535) throw new Error(`--listen: want host:port, got ${JSON.stringify(listen)}`);
  return { host: m[1] ?? (m[2] || '127.0.0.1'), port: Number(m[3]) };
}

function etcdPrefix(prefix: string): string {
  const trimmed = prefix.replace(/\/+$/, '');
  if (!trimmed || /[\0\s]/.test(prefix)) throw new Error(`--etcd-prefix: want a key path such as /registry, got ${JSON.stringify(prefix)}`);
  return `${trimmed.startsWith('/') ? '' : '/'}${trimmed}/`;
}

export function registerDashboardCommand(program: Command): void {
  program
    .command('dashboard')
    .description('serve the web dashboard for any cluster (encryption at rest, rotation, KMS, External Secrets)')
    .requiredOption('--kubeconfig <file>', 'the cluster and the credentials the one-time sign-in link acts with')
    .option('--listen <host:port>', 'address to serve HTTPS on', '127.0.0.1:8443')
    .option('--cert-dir <dir>', "where the dashboard's serving certificate and its CA (ca.crt) are kept", '.coffer-dashboard')
    .option('--etcd-endpoints <urls>', "comma-separated etcd client URLs to read stored encryption from (read-only)")
    .option('--cacert <file>', 'CA of the etcd servers (as etcdctl)')
    .option('--cert <file>', 'client certificate for etcd (as etcdctl)')
    .option('--key <file>', 'client key for etcd (as etcdctl)')
    .option('--etcd-prefix <prefix>', "kube-apiserver's --etcd-prefix", '/registry')
    .option('--encryption-config <file>', 'the EncryptionConfiguration the API servers use, to count stale objects')
    .option('--log-level <level>', 'trace | debug | info | warn | error', 'info')
    .action(async (o: DashboardCommandOptions) => {
      const { host, port } = parseListen(o.listen);
      const prefix = etcdPrefix(o.etcdPrefix);
      if ((o.cert || o.key || o.cacert) && !o.etcdEndpoints) throw new Error('--cacert, --cert and --key need --etcd-endpoints');
      if (o.cert && !o.cacert) throw new Error('--cert needs --cacert');
      const log = pino({ level: o.logLevel, base: { component: 'coffer-dashboard' } }, pino.destination({ fd: 2, sync: true }));
      const certDir = resolve(o.certDir);
      await serveUntilSignal(
        log,
        () =>
          startStandaloneDashboard({
            kubeconfig: resolve(o.kubeconfig),
            host,
            port,
            certDir,
            ...(o.etcdEndpoints ? { etcdEndpoints: o.etcdEndpoints.split(',').map((e) => e.trim()).filter(Boolean) } : {}),
            ...(o.cacert ? { etcdTls: { caFile: o.cacert, ...(o.cert ? { certFile: o.cert } : {}), ...(o.key ? { keyFile: o.key } : {}) } } : {}),
            etcdPrefix: prefix,
            ...(o.encryptionConfig ? { encryptionConfig: resolve(o.encryptionConfig) } : {}),
            logger: log,
          }),
        (running) => {
          log.info({ url: `${running.url}/dashboard/`, caFile: join(certDir, 'ca.crt') }, 'coffer dashboard ready');
          // Printed, not logged: the link is a credential, used up by its first sign-in.
          process.stderr.write(`Dashboard: open ${running.loginUrl} (one-time sign-in link)\n`);
        },
      );
    });
}
