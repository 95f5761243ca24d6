// Assembles the API server: registry stores over one Store and one encryption engine, first-start credentials, the
// HTTPS listener and its request pipeline, /metrics, and kube's periodic compaction. close() ends watches cleanly,
// lets in-flight requests finish briefly, and leaves the Store and engine to the caller (who opened them).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isIPv6 } from 'node:net';
import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import type { Store } from '../storage/store.js';
import { CompactedError } from '../storage/store.js';
import { TokenAuthenticator, type UserInfo } from './auth/authenticator.js';
import { MASTERS_GROUP, type PolicyRule } from './auth/authorization-policy.js';
import { createApiHandler } from './http/api-handler.js';
import { kmsHealthChecks, type KmsProbe } from './http/health.js';
import { createSecureApiServer } from './http/secure-server.js';
import type { ServedResource } from './http/resource-handler.js';
import { ApiMetrics } from './metrics.js';
import type { TransformerSource } from '../storage/object-storage.js';
import { createResourceStores, type ResourceStores } from './registry/resource-stores.js';
import { writeKubeconfig } from './tls/kubeconfig.js';
import { ensureServerCredentials } from '../lib/tls/server-credentials.js';
import { RootCaPublisher } from './registry/root-ca-publisher.js';

export interface ApiServerOptions {
  /** Where the credentials and the kubeconfig live (created 0700 by the caller). */
  dataDir: string;
  host: string;
  /** 0 picks a free port. */
  port: number;
  store: Store;
  /** An EncryptionEngine, or a ReloadingEncryptionEngine that swaps configurations; its KMS probes feed /readyz. */
  engine: TransformerSource & {
    readonly healthProbes?: readonly KmsProbe[];
    readonly configHash?: string;
    readonly kmsV2WriteDeadlines?: readonly { name: string; deadline: number | undefined }[];
  };
  /** Bearer tokens besides the generated admin token (kube-apiserver --token-auth-file). */
  tokens?: Iterable<[string, UserInfo]>;
  /** Authorization rules; without them every authenticated user may do everything. */
  policy?: PolicyRule[];
  /** kube-apiserver's --etcd-compaction-interval (default 5 min); 0 turns compaction off. */
  compactionIntervalMs?: number;
  logger?: Logger;
  /** Interval of watch BOOKMARK events (kube: about a minute). */
  bookmarkIntervalMs?: number;
  /** Node.js process metrics in /metrics too (off in tests: they register global collectors). */
  processMetrics?: boolean;
  /** Another service on the same HTTPS listener (the dashboard under /dashboard): the requests it claims skip the API pipeline. */
  mount?: MountedService;
}

export interface MountedService {
  claims(url: string | undefined): boolean;
  handle(req: IncomingMessage, res: ServerResponse): void;
}

export interface RunningApiServer {
  url: string;
  kubeconfigPath: string;
  /** Files created by this start (first start: CA, certificate, key, admin token). */
  createdFiles: string[];
  stores: ResourceStores;
  metrics: ApiMetrics;
  close(): Promise<void>;
}

const DEFAULT_COMPACTION_INTERVAL_MS = 5 * 60_000;
const SHUTDOWN_GRACE_MS = 5_000;

/**
 * As kube-apiserver does, every interval compact up to the revision seen one interval earlier: watchers and paged
 * lists get that long to catch up, and the store does not keep every old (encrypted) value forever.
 */
function scheduleCompaction(store: Store, intervalMs: number, logger: Logger): () => void {
  let previous: number | undefined;
  const timer = setInterval(() => {
    void (async () => {
      const current = await store.currentRevision();
      if (previous !== undefined && previous > 0) {
        await store.compact(previous).catch((e: unknown) => {
          if (!(e instanceof CompactedError)) throw e; // another API server on the same etcd got there first
        });
      }
      previous = current;
    })().catch((e: unknown) => logger.warn({ error: e instanceof Error ? e.message : String(e) }, 'compaction failed; retrying next interval'));
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}

function urlHost(host: string): string {
  // A wildcard listener is reached over loopback by the local kubeconfig.
  const h = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return isIPv6(h) ? `[${h}]` : h;
}

export function servedResources(stores: ResourceStores): ServedResource[] {
  return [
    { info: stores.namespaces.info, store: stores.namespaces, subresources: ['status', 'finalize'], returnDeletedObject: true },
    { info: stores.secrets.info, store: stores.secrets },
    { info: stores.configmaps.info, store: stores.configmaps },
    { info: stores.events.info, store: stores.events },
    ...stores.customResources.map((store) => ({
      info: store.info,
      store,
      ...(store.info.customResource?.statusSubresource ? { subresources: ['status' as const] } : {}),
    })),
  ];
}

export async function startApiServer(opts: ApiServerOptions): Promise<RunningApiServer> {
  const logger = opts.logger ?? pino({ level: 'silent' });
  const metrics = new ApiMetrics({ processMetrics: opts.processMetrics ?? false });
  metrics.reportEncryptionConfig(() => opts.engine.configHash);
  metrics.reportKmsV2WriteDeadlines(() => opts.engine.kmsV2WriteDeadlines ?? []);
  const stores = createResourceStores({
    store: opts.store,
    engine: opts.engine,
    metricsRegistry: metrics.registry,
    ...(opts.bookmarkIntervalMs !== undefined ? { bookmarkIntervalMs: opts.bookmarkIntervalMs } : {}),
    logger,
  });
  let rootCaPublisher: RootCaPublisher | undefined;
  try {
    await stores.ensureDefaultNamespaces();
    // kube-controller-manager's garbage collector, run here so ownerReferences work against Coffer alone. Readiness
    // does not wait for its first LIST of every resource (kube-apiserver does not wait for the controller manager):
    // that LIST reads every Secret, 26 s at 100,000 (docs/performance.md). Deletions made meanwhile are seen by its
    // watches and handled once it has synced.
    stores.startControllers().catch((err: unknown) => logger.error({ err: err instanceof Error ? err.message : String(err) }, 'garbage collector failed to start'));
    const { credentials, created } = await ensureServerCredentials(opts.dataDir, { listenHost: opts.host });
    const authenticator = new TokenAuthenticator(opts.tokens ?? []);
    authenticator.add(credentials.adminToken, { name: 'admin', uid: 'coffer-admin', groups: [MASTERS_GROUP] });
    // kube-controller-manager's root-ca-cert-publisher: kube-root-ca.crt in every namespace.
    const publisher = new RootCaPublisher({ namespaces: stores.namespaces, configmaps: stores.configmaps, caPem: credentials.caPem, logger });
    rootCaPublisher = publisher;
    publisher.start();

    const shutdown = new AbortController();
    let serverAddress = `${urlHost(opts.host)}:${opts.port}`;
    const handler = createApiHandler({
      resources: servedResources(stores),
      authenticator,
      policy: opts.policy,
      get serverAddress() {
        return serverAddress;
      },
      metrics,
      logger,
      // kube names its storage check `etcd`, whichever store answers it.
      healthChecks: [
        { name: 'etcd', check: async () => void (await opts.store.currentRevision()) },
        ...kmsHealthChecks(() => opts.engine.healthProbes ?? []),
      ],
      shutdown: shutdown.signal,
    });
    const mount = opts.mount;
    const route = mount ? (req: IncomingMessage, res: ServerResponse) => (mount.claims(req.url) ? mount.handle(req, res) : handler(req, res)) : handler;
    const secure = createSecureApiServer({ cert: credentials.certPem, key: credentials.keyPem }, route);
    const server = secure.server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port, opts.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : opts.port;
    serverAddress = `${urlHost(opts.host)}:${port}`;
    const url = `https://${serverAddress}`;
    const kubeconfigPath = join(opts.dataDir, 'kubeconfig');
    await writeKubeconfig(kubeconfigPath, { server: url, caPem: credentials.caPem, token: credentials.adminToken });
    const interval = opts.compactionIntervalMs ?? DEFAULT_COMPACTION_INTERVAL_MS;
    const stopCompaction = interval > 0 ? scheduleCompaction(opts.store, interval, logger) : () => undefined;

    let closing: Promise<void> | undefined;
    return {
      url,
      kubeconfigPath,
      createdFiles: created,
      stores,
      metrics,
      close() {
        closing ??= (async () => {
          stopCompaction();
          publisher.close();
          shutdown.abort(); // watches end their streams normally, as kube does on shutdown
          await secure.close(SHUTDOWN_GRACE_MS);
          stores.close();
        })();
        return closing;
      },
    };
  } catch (e) {
    rootCaPublisher?.close();
    stores.close();
    throw e;
  }
}
