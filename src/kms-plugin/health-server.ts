// The plugin's HTTP side port, for kubelet probes and Prometheus: /livez says the process runs (it never fails because
// of the KMS or a bad request: restarting a healthy plugin because Vault is down helps nobody), /healthz says the
// backend really works (cached probe, like Status), /metrics is prom-client's text format.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { parseListenAddress } from './plugin-config.js';
import type { KmsPluginMetrics } from './plugin-metrics.js';
import type { StatusCache } from './status-cache.js';

export interface HealthServer {
  /** `http://host:port` with the port actually bound. */
  url: string;
  close(): Promise<void>;
}

export async function startHealthServer(
  listen: string,
  o: { statusCache: StatusCache; metrics: KmsPluginMetrics; logger: Logger },
): Promise<HealthServer> {
  const { host, port } = parseListenAddress(listen, 'healthListen');
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (status: number, body: string, type = 'text/plain; charset=utf-8') => {
      res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'method not allowed\n');
    if (path === '/livez') return send(200, 'ok\n');
    if (path === '/healthz' || path === '/readyz') {
      o.statusCache.get().then(
        (r) => (r.healthy ? send(200, 'ok\n') : send(503, `kms backend unhealthy: ${r.reason ?? 'unknown'}\n`)),
        (e: unknown) => send(503, `kms backend unhealthy: ${e instanceof Error ? e.message : String(e)}\n`),
      );
      return;
    }
    if (path === '/metrics') {
      o.metrics.text().then(
        (m) => send(200, m.body, m.contentType),
        (e: unknown) => send(500, `metrics failed: ${e instanceof Error ? e.message : String(e)}\n`),
      );
      return;
    }
    send(404, 'not found: try /healthz, /livez or /metrics\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const url = `http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}`;
  o.logger.debug({ healthUrl: url }, 'health server listening');
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
