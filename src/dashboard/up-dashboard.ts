// The dashboard inside `coffer up`: mounted on the API server's HTTPS listener under /dashboard, talking to that same
// server over HTTPS as the signed-in user (never by a shortcut around its authorization), and reading encryption
// state from the server's own Store. The mount exists before the listener does; the dashboard behind it is made once
// the server's URL and credentials are known. Its code (and the Kubernetes client below it) is imported only then,
// after `coffer up` said it is ready: until it is built the mount answers 503.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Store } from '../storage/store.js';
import { isDashboardPath } from './dashboard-path.js';
import type { Dashboard } from './dashboard-server.js';

export interface UpDashboard {
  /** For the API server's `mount` option. */
  mount: { claims(url: string | undefined): boolean; handle(req: IncomingMessage, res: ServerResponse): void };
  /**
   * Once the server listens: loads and builds the dashboard and returns the one-time sign-in link, or undefined when
   * `signal` aborted the start (nothing is left running then).
   */
  start(
    o: { url: string; dataDir: string; store: Store; storeDescription: string; encryptionConfig: string; kmsPluginUrl?: string; logger: Logger },
    signal: AbortSignal,
  ): Promise<string | undefined>;
  close(): void;
}

export function upDashboard(): UpDashboard {
  let dashboard: Dashboard | undefined;
  return {
    mount: {
      claims: isDashboardPath,
      handle(req, res) {
        if (dashboard) dashboard.handle(req, res);
        else res.writeHead(503, { 'Content-Type': 'text/plain', 'Retry-After': '1' }).end('dashboard starting\n');
      },
    },
    async start(o, signal) {
      const [{ createDashboard }, { sourceScanProvider, storeSource }, ca, token] = await Promise.all([
        import('./dashboard-server.js'),
        import('./encryption-scan.js'),
        readFile(join(o.dataDir, 'ca.crt')),
        readFile(join(o.dataDir, 'admin.token'), 'utf8'),
      ]);
      if (signal.aborted) return undefined;
      dashboard = createDashboard({
        api: { server: o.url, ca },
        ownCredential: { token: token.trim() },
        scan: sourceScanProvider(storeSource(o.store, o.storeDescription, '/registry/'), { configFile: o.encryptionConfig }),
        ...(o.kmsPluginUrl ? { kmsPluginUrl: o.kmsPluginUrl } : {}),
        logger: o.logger,
      });
      return dashboard.oneTimeLoginUrl(o.url);
    },
    close: () => dashboard?.close(),
  };
}
