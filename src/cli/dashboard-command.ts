// `coffer dashboard --kubeconfig FILE [source flags of the operations commands]`: the dashboard `coffer up` serves
// under /dashboard, on its own HTTPS listener, against any cluster (docs/dashboard.md). Prints a one-time sign-in link.
import type { Command } from 'commander';
import { join, resolve } from 'node:path';
import pino from 'pino';
import { InvalidError } from '../lib/errors.js';
import { addSourceOptions, type SourceFlags } from '../operations/open-source.js';
import { startStandaloneDashboard } from '../dashboard/standalone-dashboard.js';
import { serveUntilSignal } from './serve-until-signal.js';

interface DashboardCommandOptions extends SourceFlags {
  kubeconfig: string;
  listen: string;
  certDir: string;
  encryptionConfig?: string;
  kmsHealthUrl?: string;
  logLevel: string;
}

function parseListen(listen: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(listen);
  if (!m || Number(m[3]) > 65535) throw new Error(`--listen: want host:port, got ${JSON.stringify(listen)}`);
  return { host: m[1] ?? (m[2] || '127.0.0.1'), port: Number(m[3]) };
}

/** The plugin's side port from its /healthz URL (its /metrics is beside it). */
function pluginBase(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new InvalidError(`want the KMS plugin's health URL such as http://127.0.0.1:8787/healthz, got ${JSON.stringify(url)}`, { field: '--kms-health-url' });
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new InvalidError(`want an http(s) URL, got ${JSON.stringify(url)}`, { field: '--kms-health-url' });
  return u.origin;
}

export function registerDashboardCommand(program: Command): void {
  const cmd = program
    .command('dashboard')
    .description('serve the web dashboard for any cluster (encryption at rest, rotation, KMS, External Secrets)')
    .requiredOption('--kubeconfig <file>', 'the cluster and the credentials the one-time sign-in link acts with')
    .option('--listen <host:port>', 'address to serve HTTPS on', '127.0.0.1:8443')
    .option('--cert-dir <dir>', "where the dashboard's serving certificate and its CA (ca.crt) are kept", '.coffer-dashboard');
  addSourceOptions(cmd)
    .option('--encryption-config <file>', 'the EncryptionConfiguration the API servers use, to count stale objects and follow a rotation')
    .option('--kms-health-url <url>', "the KMS plugin's /healthz (its /metrics beside it feed the KMS view)")
    .option('--log-level <level>', 'trace | debug | info | warn | error', 'info')
    .action(async (o: DashboardCommandOptions) => {
      const { host, port } = parseListen(o.listen);
      const kmsPluginUrl = o.kmsHealthUrl ? pluginBase(o.kmsHealthUrl) : undefined;
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
            source: o,
            ...(o.encryptionConfig ? { encryptionConfig: resolve(o.encryptionConfig) } : {}),
            ...(kmsPluginUrl ? { kmsPluginUrl } : {}),
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
