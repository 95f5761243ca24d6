// `coffer kms-plugin` as a library: a KeyManager from the config, served over gRPC (KMS v2 and v1beta1) on a unix
// socket for kube-apiserver or Coffer's API server, plus the HTTP side port. Used by the CLI and by tests.
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import { keyIdHash } from '../kms/kms-v2-encrypted-object.js';
import { serveKms } from '../kms/grpc-server.js';
import { SYSTEM_CLOCK, type Clock } from '../lib/clock.js';
import { InvalidError } from '../lib/errors.js';
import { readFirstLine } from '../lib/vault/vault-auth.js';
import { createKmsHandlers } from './grpc-adapter.js';
import { startHealthServer, type HealthServer } from './health-server.js';
import type { KeyManager } from './key-manager.js';
import { createKeyManager } from './key-manager-factory.js';
import type { KmsPluginConfig } from './plugin-config.js';
import { KmsPluginMetrics } from './plugin-metrics.js';
import { StatusCache, type ProbeResult } from './status-cache.js';

export interface StartKmsPluginOptions {
  config: KmsPluginConfig;
  logger: Logger;
  clock?: Clock;
  /** Use this instead of building one from config.backend (tests). It is closed with the plugin. */
  keyManager?: KeyManager;
  /** Node process metrics on /metrics (the CLI turns them on; tests leave them off). */
  processMetrics?: boolean;
  /** Where the caller secret and a wrapping token are read (default: process.stdin). */
  stdin?: Readable;
}

/** A caller secret is one line of at least 32 characters (the supervisor sends 32 random bytes as base64url, 43). */
const CALLER_SECRET_MIN = 32;
const CALLER_SECRET_MAX = 1024;

/**
 * With `callerSecret: stdin`, the first line of stdin: the supervisor mints it at its own start, never writes it to
 * disk, and hands it to the plugin and to the API server's KMS client, so a process that can merely open the socket
 * cannot Encrypt or Decrypt. Read before the backend, whose `wrapped-token` auth reads the next line.
 */
async function readCallerSecret(input: Readable): Promise<Buffer> {
  const line = await readFirstLine(input, { maxBytes: CALLER_SECRET_MAX, timeoutMs: 30_000, what: 'caller secret' });
  if (line.length < CALLER_SECRET_MIN) {
    line.fill(0);
    throw new InvalidError(`the caller secret on stdin is shorter than ${CALLER_SECRET_MIN} characters`, { field: 'callerSecret' });
  }
  return line;
}

export interface RunningKmsPlugin {
  endpoint: string;
  healthUrl: string;
  keyManager: KeyManager;
  metrics: KmsPluginMetrics;
  statusCache: StatusCache;
  close(): Promise<void>;
}

export async function startKmsPlugin(o: StartKmsPluginOptions): Promise<RunningKmsPlugin> {
  const clock = o.clock ?? SYSTEM_CLOCK;
  const logger = o.logger;
  const stdin = o.stdin ?? process.stdin;
  const callerSecret = o.config.callerSecret === 'stdin' ? await readCallerSecret(stdin) : undefined;
  const keyManager = o.keyManager ?? (await createKeyManager(o.config.backend, { logger, clock, timeoutMs: o.config.timeoutMs, stdin }));
  const backend = keyManager.name;
  const metrics = new KmsPluginMetrics({ processMetrics: o.processMetrics ?? false });
  const onProbe = (r: ProbeResult, previous: ProbeResult | undefined) => {
    metrics.backendProbes.inc({ backend, result: r.healthy ? 'healthy' : 'unhealthy' });
    metrics.backendHealthy.set({ backend }, r.healthy ? 1 : 0);
    if (r.keyId) metrics.setCurrentKeyId(r.keyId, backend);
    if (previous && previous.keyId && r.keyId && previous.keyId !== r.keyId) {
      logger.info({ backend, keyId: keyIdHash(r.keyId), previousKeyId: keyIdHash(previous.keyId) }, 'backend key id changed (KEK rotated)');
    }
    if (!r.healthy && previous?.healthy !== false) logger.error({ backend, reason: r.reason }, 'KMS backend is unhealthy');
    if (r.healthy && previous && !previous.healthy) logger.info({ backend, keyId: keyIdHash(r.keyId) }, 'KMS backend is healthy again');
  };
  const statusCache = new StatusCache(keyManager, {
    okTtlMs: o.config.statusCacheTtlMs,
    errorTtlMs: o.config.statusErrorCacheTtlMs,
    timeoutMs: o.config.timeoutMs,
    clock,
    onProbe,
  });
  let grpcServer: Awaited<ReturnType<typeof serveKms>> | undefined;
  let health: HealthServer | undefined;
  try {
    // One probe before serving: the log says at once whether the backend works. The plugin serves either way;
    // kube-apiserver retries a failing plugin every 10 s, so refusing to start would only slow recovery.
    const first = await statusCache.get();
    logger.info(
      { backend, healthy: first.healthy, keyId: first.keyId ? keyIdHash(first.keyId) : undefined, reason: first.reason },
      first.healthy ? 'KMS backend ready' : 'KMS backend not ready yet; serving anyway',
    );
    const handlers = createKmsHandlers({ keyManager, statusCache, metrics, logger, timeoutMs: o.config.timeoutMs });
    grpcServer = await serveKms(o.config.endpoint, handlers, {
      ...(callerSecret ? { callerSecret } : {}),
      onUnauthenticated: (method) => {
        metrics.operations.inc({ method, backend, grpc_code: 'UNAUTHENTICATED' });
        logger.warn({ method, grpcCode: 'UNAUTHENTICATED' }, `${method} refused: the caller did not send the caller secret`);
      },
    });
    if (callerSecret) logger.info('Encrypt and Decrypt answer only callers that send the caller secret handed over on stdin');
    health = await startHealthServer(o.config.healthListen, { statusCache, metrics, logger });
  } catch (e) {
    await grpcServer?.close();
    await keyManager.close();
    callerSecret?.fill(0);
    throw e;
  }
  const served = grpcServer;
  const healthServer = health;
  let closing: Promise<void> | undefined;
  return {
    endpoint: o.config.endpoint,
    healthUrl: healthServer.url,
    keyManager,
    metrics,
    statusCache,
    close() {
      closing ??= (async () => {
        await Promise.allSettled([served.close(), healthServer.close()]);
        await keyManager.close();
        callerSecret?.fill(0);
      })();
      return closing;
    },
  };
}
