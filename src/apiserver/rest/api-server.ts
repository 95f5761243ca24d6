// Assembles the API server: a store (embedded SQLite or etcd), the encryption engine, the registry and HTTPS.
import { createServer, type Server } from 'node:https';
import { Counter, Histogram, Registry } from 'prom-client';
import { CompactedError, type Store } from '../../storage/store.js';
import type { TransformerSource } from '../registry/generic-store.js';
import { createResourceStores, type ResourceStores } from '../registry/resource-stores.js';
import type { PolicyRule, RequestUser } from './authorization-policy.js';
import { handleRequest, type HandlerContext } from './request-handler.js';
import { ensureServerCredentials } from './tls-bootstrap.js';

export interface ApiServerOptions {
  dataDir: string;
  host: string;
  port: number;
  store: Store;
  /** An EncryptionEngine, or a ReloadingEncryptionEngine that swaps configurations. */
  engine: TransformerSource;
  /** Extra bearer tokens and their users, besides the generated admin token. */
  tokens?: ReadonlyMap<string, RequestUser>;
  /** Authorization rules; without them every authenticated user may do everything. */
  policy?: PolicyRule[];
  /** How often old revisions are compacted away (kube-apiserver's --etcd-compaction-interval, default 5 min). */
  compactionIntervalMs?: number;
}

const DEFAULT_COMPACTION_INTERVAL_MS = 5 * 60_000;

/** The resource a request path names, for metrics labels (`secrets`, `namespaces`, or "" for non-resource paths). */
function resourceOf(url: string | undefined): string {
  const m = /^\/api\/v1\/(?:namespaces\/[^/]+\/)?([a-z]+)/.exec(url ?? '');
  return m?.[1] ?? '';
}

/**
 * As kube-apiserver does, every interval compact up to the revision seen one interval earlier: watchers and paged
 * lists get that long to catch up, and the store does not keep every old (encrypted) value forever.
 */
function scheduleCompaction(store: Store, intervalMs: number): () => void {
  let previous: number | undefined;
  const timer = setInterval(() => {
    void (async () => {
      const current = await store.currentRevision();
      if (previous !== undefined) await store.compact(previous).catch((e: unknown) => {
        if (!(e instanceof CompactedError)) throw e; // another API server on the same etcd got there first
      });
      previous = current;
    })().catch(() => undefined); // a store that is down now is retried at the next interval
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
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
  const requests = new Counter({
    name: 'apiserver_request_total',
    help: 'Requests by HTTP method, resource and response code.',
    labelNames: ['verb', 'resource', 'code'],
    registers: [metricsRegistry],
  });
  const latency = new Histogram({
    name: 'apiserver_request_duration_seconds',
    help: 'Request latency by HTTP method and resource (watches: until the stream ends).',
    labelNames: ['verb', 'resource'],
    registers: [metricsRegistry],
  });
  await stores.ensureDefaultNamespaces();
  const ready: { ctx?: HandlerContext } = {}; // set once the port, and so the credentials, are known
  const server: Server = createServer({}, (req, res) => {
    const labels = { verb: req.method ?? '', resource: resourceOf(req.url) };
    const end = latency.startTimer(labels);
    res.once('finish', () => {
      end();
      requests.inc({ ...labels, code: String(res.statusCode) });
    });
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
  const stopCompaction = scheduleCompaction(opts.store, opts.compactionIntervalMs ?? DEFAULT_COMPACTION_INTERVAL_MS);
  const tokens = new Map(opts.tokens ?? []);
  tokens.set(creds.adminToken, { name: 'admin', groups: ['system:masters'] });
  ready.ctx = { stores, tokens, policy: opts.policy, serverAddress: `${opts.host}:${port}`, metrics: () => metricsRegistry.metrics() };
  return {
    url,
    kubeconfigPath: creds.kubeconfigPath,
    stores,
    async close() {
      stopCompaction();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      stores.close();
    },
  };
}
