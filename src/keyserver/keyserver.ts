// `startKeyserver`: the key server in one call - sealed storage opened with the root key, the Vault API subset mounted
// (sys/, auth/token/, auth/approle/, transit/, secret/), an audit log, and an HTTP(S) listener. Plain HTTP only on
// loopback. On first start (or when asked) a root token is minted; it is returned and, if a file is named, written
// there with mode 0600 - never logged.
import { createHash } from 'node:crypto';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import pino, { type Logger } from 'pino';
import { SYSTEM_CLOCK, type Clock } from '../lib/clock.js';
import { InvalidError } from '../lib/errors.js';
import { writePrivateFile } from '../lib/private-file.js';
import { approleMount } from './approle-routes.js';
import { AuditLog } from './audit-log.js';
import { createListFallback, createRequestListener, followRequestFraming } from './http-edge.js';
import { kvV2Mount } from './kv-v2-routes.js';
import { addressUrl, isLoopback, parseListenAddress } from './listen-address.js';
import { PolicyStore } from './policy-store.js';
import { cubbyholeMount, ResponseWrapper, wrappingMount } from './response-wrapping.js';
import { SealedStorage } from './sealed-storage.js';
import { sysMount, type MountInfo } from './sys-routes.js';
import { TokenStore } from './token-store.js';
import { tokenMount } from './token-routes.js';
import { TransitKeyring } from './transit-keyring.js';
import { transitMount } from './transit-routes.js';
import { VaultRouter } from './vault-router.js';

export const DEFAULT_LISTEN = '127.0.0.1:8200';
export const AUDIT_LOG_FILE_NAME = 'audit.log';
const TIDY_INTERVAL_MS = 60_000;

export interface KeyserverOptions {
  /** Holds the sealed SQLite storage (and the scrypt salt when a passphrase is used). Created, mode 0700. */
  dataDir: string;
  /** 32 bytes (see loadRootKey). Copied into nothing: the caller may zero-fill it once startKeyserver resolves. */
  rootKey: Uint8Array;
  /** host:port; default 127.0.0.1:8200; port 0 picks a free port (see `url`). */
  listen?: string;
  /** PEM certificate chain and key; required for a non-loopback address. */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** JSON lines of every request; default <dataDir>/audit.log. */
  auditLogPath?: string;
  /** Where a newly minted root token is written (mode 0600). */
  rootTokenFile?: string;
  /** Mint a root token even though the storage already exists (whoever holds the root key can read everything anyway). */
  mintRootToken?: boolean;
  logger?: Logger;
  clock?: Clock;
}

export interface RunningKeyserver {
  /** e.g. http://127.0.0.1:43121 */
  url: string;
  /** The root token, when one was minted by this start (first start, or mintRootToken). */
  rootToken: string | undefined;
  /** True when this start created the storage. */
  created: boolean;
  close(): Promise<void>;
}

export async function startKeyserver(o: KeyserverOptions): Promise<RunningKeyserver> {
  const log = o.logger ?? pino({ level: 'silent' });
  const clock = o.clock ?? SYSTEM_CLOCK;
  const { host, port } = parseListenAddress(o.listen ?? DEFAULT_LISTEN);
  if (!o.tls && !isLoopback(host)) {
    throw new InvalidError(`${host} is not a loopback address; serving tokens and secrets there needs TLS (--tls-cert and --tls-key)`, { field: 'listen' });
  }
  const dataDir = resolve(o.dataDir);
  const storage = await SealedStorage.open(dataDir, o.rootKey);
  let audit: AuditLog | undefined;
  let server: Server | undefined;
  let timer: { cancel(): void } | undefined;
  try {
    const tokens = new TokenStore(storage, clock);
    const policies = new PolicyStore(storage);
    const keyring = new TransitKeyring(storage, clock);
    // A stable, non-secret cluster id derived from the storage file's path, so health answers the same across restarts.
    const clusterId = uuidShaped(createHash('sha256').update(storage.file).digest('hex'));
    const mounts = [
      transitMount(keyring),
      kvV2Mount(storage, clock),
      tokenMount(tokens, policies, clock),
      approleMount(storage, tokens, clock),
    ];
    const mountInfo = (): MountInfo[] =>
      mounts.map((m) => ({
        path: m.path,
        type: m.type === 'token' ? 'token' : m.type,
        options: m.type === 'kv' ? { version: '2' } : null,
        accessor: `${m.type}_${createHash('sha256').update(m.path).digest('hex').slice(0, 8)}`,
        uuid: uuidShaped(createHash('sha256').update(`${clusterId}/${m.path}`).digest('hex')),
      }));
    const wrapper = new ResponseWrapper(tokens, storage, clock);
    const router = new VaultRouter(
      [...mounts, sysMount({ policies, clock, mounts: mountInfo, clusterId }), wrappingMount(wrapper), cubbyholeMount(storage)],
      tokens,
      policies,
      log,
      wrapper,
    );

    let rootToken: string | undefined;
    if (storage.created || o.mintRootToken) {
      rootToken = tokens.create({ policies: ['root'], path: 'auth/token/root', displayName: 'root', ttl: 0 }).token;
      if (o.rootTokenFile) await writePrivateFile(resolve(o.rootTokenFile), `${rootToken}\n`);
      log.info({ rootTokenFile: o.rootTokenFile ? resolve(o.rootTokenFile) : undefined }, 'minted a root token');
    }

    const auditLogPath = resolve(o.auditLogPath ?? join(dataDir, AUDIT_LOG_FILE_NAME));
    audit = new AuditLog(auditLogPath);
    const listener = createRequestListener({ router, audit, log });
    server = o.tls ? createHttpsServer({ cert: o.tls.cert, key: o.tls.key, minVersion: 'TLSv1.2' }, listener) : createHttpServer(listener);
    const srv = server;
    srv.on('clientError', createListFallback({ router, audit, log }));
    followRequestFraming(srv, o.tls ? 'secureConnection' : 'connection');
    await new Promise<void>((res, rej) => {
      srv.once('error', rej);
      srv.listen(port, host, () => {
        srv.off('error', rej);
        res();
      });
    });
    const bound = srv.address() as AddressInfo;
    const url = addressUrl(o.tls ? 'https' : 'http', host === 'localhost' ? 'localhost' : bound.address, bound.port);

    const tidy = () => {
      try {
        const revoked = tokens.tidy();
        const rotated = keyring.rotateDue();
        if (revoked || rotated.length) log.info({ expiredTokensRevoked: revoked, keysRotated: rotated }, 'key server tidy');
      } catch (e) {
        log.error({ error: e instanceof Error ? e.message : String(e) }, 'key server tidy failed');
      }
      timer = clock.setTimeout(tidy, TIDY_INTERVAL_MS);
    };
    timer = clock.setTimeout(tidy, TIDY_INTERVAL_MS);
    log.info({ url, dataDir, storage: storage.file, auditLog: auditLogPath, created: storage.created }, 'key server listening');

    const openedAudit = audit;
    let closing: Promise<void> | undefined;
    return {
      url,
      rootToken,
      created: storage.created,
      close() {
        closing ??= (async () => {
          timer?.cancel();
          await new Promise<void>((res) => {
            srv.close(() => res());
            srv.closeAllConnections();
          });
          openedAudit.close();
          storage.close();
        })();
        return closing;
      },
    };
  } catch (e) {
    timer?.cancel();
    server?.close();
    audit?.close();
    storage.close();
    throw e;
  }
}

function uuidShaped(hex: string): string {
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
