// Assembles the API server: a store (embedded SQLite or etcd), the encryption engine, the registry and HTTPS.
import { createServer, type Server } from 'node:https';
import { Registry } from 'prom-client';
import type { EncryptionEngine } from '../../encryption/encryption-engine.js';
import type { Store } from '../../storage/store.js';
import { createResourceStores, type ResourceStores } from '../registry/resource-stores.js';
import { handleRequest, type HandlerContext } from './request-handler.js';
import { ensureServerCredentials } from './tls-bootstrap.js';

export interface ApiServerOptions {
  dataDir: string;
  host: string;
  port: number;
  store: Store;
  engine: EncryptionEngine;
  /** Extra `token -> user` pairs besides the generated admin token. */
  tokens?: ReadonlyMap<string, string>;
}

export interface RunningApiServer {
  url: string;
  kubeconfigPath: string;
  stores: ResourceStores;
  close(): Promise<void>;
}

export async function startApiServer(opts: ApiServerOptions): Promise<RunningApiServer> {
  const metricsRegistry = new Registry();
  const stores = createResourceStores({ store: opts.store, engine: opts.engine, metricsRegistry });
  await stores.ensureDefaultNamespaces();
  const ready: { ctx?: HandlerContext } = {}; // set once the port, and so the credentials, are known
  const server: Server = createServer({}, (req, res) => {
    if (ready.ctx) void handleRequest(ready.ctx, req, res);
    else res.writeHead(503).end();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : opts.port;
  const url = `https://${opts.host}:${port}`;
  const creds = await ensureServerCredentials(opts.dataDir, url);
  server.setSecureContext({ cert: creds.certPem, key: creds.keyPem });
  const tokens = new Map(opts.tokens ?? []);
  tokens.set(creds.adminToken, 'admin');
  ready.ctx = { stores, tokens, serverAddress: `${opts.host}:${port}`, metrics: () => metricsRegistry.metrics() };
  return {
    url,
    kubeconfigPath: creds.kubeconfigPath,
    stores,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      stores.close();
    },
  };
}
