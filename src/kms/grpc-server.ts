// Serves the KMS plugin gRPC APIs (v1beta1 and/or v2) on a unix socket, for `coffer kms-plugin` and for tests.
// Handlers are plain async functions; an error they throw becomes a gRPC status (its `grpcCode`, else INTERNAL).
import * as grpc from '@grpc/grpc-js';
import { createHash, timingSafeEqual } from 'node:crypto';
import { chmod, lstat, unlink } from 'node:fs/promises';
import { connect } from 'node:net';
import { CofferError } from '../lib/errors.js';
import { CALLER_SECRET_METADATA, type KmsV2EncryptResponse, type KmsV2StatusResponse } from './kms-service.js';
import { kmsV1beta1Service, kmsV2Service } from './proto-loader.js';
import { parseKmsEndpoint } from './unix-endpoint.js';

export interface KmsV1Handlers {
  version(): Promise<{ version: string; runtimeName: string; runtimeVersion: string }>;
  encrypt(plain: Buffer): Promise<Uint8Array>;
  decrypt(cipher: Buffer): Promise<Uint8Array>;
}

export interface KmsV2Handlers {
  status(): Promise<KmsV2StatusResponse>;
  encrypt(req: { plaintext: Buffer; uid: string }): Promise<KmsV2EncryptResponse>;
  decrypt(req: { ciphertext: Buffer; uid: string; keyId: string; annotations: Record<string, Buffer> }): Promise<Uint8Array>;
}

/** An error a handler throws to answer with a specific gRPC code; its message goes to the client. */
export class KmsStatusError extends CofferError {
  readonly grpcCode: grpc.status;
  constructor(grpcCode: grpc.status, message: string) {
    super(message);
    this.grpcCode = grpcCode;
  }
}

export interface KmsServer {
  close(): Promise<void>;
}

type Callback = (error: Partial<grpc.ServiceError> | null, value?: unknown) => void;
/** Refuses a call (an error to answer with) or lets it through (undefined). */
type Guard = (metadata: grpc.Metadata) => KmsStatusError | undefined;

export interface ServeKmsOptions {
  /**
   * When set, Encrypt and Decrypt (of both APIs) answer UNAUTHENTICATED unless the call carries this secret as
   * CALLER_SECRET_METADATA: the socket's file mode alone lets any process of the plugin's user unwrap every DEK.
   * Status and Version stay open: they reveal health and a key id, which tools such as `coffer rotate` read.
   */
  callerSecret?: Buffer;
  /** Told of each refused call (the plugin logs and counts it). */
  onUnauthenticated?: (method: string) => void;
}

function callerGuard(o: ServeKmsOptions, method: string): Guard | undefined {
  if (!o.callerSecret) return undefined;
  // Compared as digests: equal lengths for timingSafeEqual, and no timing hint about the secret's bytes.
  const want = createHash('sha256').update(o.callerSecret).digest();
  return (metadata) => {
    const sent = metadata.get(CALLER_SECRET_METADATA);
    const got = createHash('sha256').update(sent.length === 1 ? sent[0]! : '').digest();
    if (sent.length === 1 && timingSafeEqual(got, want)) return undefined;
    o.onUnauthenticated?.(method);
    return new KmsStatusError(grpc.status.UNAUTHENTICATED, `${method}: this KMS plugin answers only callers that send its caller secret (metadata ${CALLER_SECRET_METADATA}), handed over by its supervisor at start`);
  };
}

function unary<Req>(handle: (req: Req) => Promise<unknown>, guard?: Guard) {
  return (call: { request: Req; metadata: grpc.Metadata }, callback: Callback) => {
    const refused = guard?.(call.metadata);
    if (refused) {
      callback({ code: refused.grpcCode, details: refused.message });
      return;
    }
    handle(call.request).then(
      (value) => callback(null, value),
      (e: unknown) => {
        const code = e instanceof KmsStatusError ? e.grpcCode : grpc.status.INTERNAL;
        callback({ code, details: e instanceof Error ? e.message : String(e) });
      },
    );
  };
}

/** True when something accepts connections on the socket (a running plugin we must not steal it from). */
function socketInUse(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export async function serveKms(endpoint: string, handlers: { v1?: KmsV1Handlers; v2?: KmsV2Handlers }, o: ServeKmsOptions = {}): Promise<KmsServer> {
  const target = parseKmsEndpoint(endpoint);
  if (!target.abstract) {
    const existing = await lstat(target.path).catch(() => undefined);
    if (existing) {
      if (!existing.isSocket()) throw new CofferError(`cannot serve KMS on ${endpoint}: ${target.path} exists and is not a socket`);
      if (await socketInUse(target.path)) throw new CofferError(`cannot serve KMS on ${endpoint}: another process is listening there`);
      await unlink(target.path); // left behind by a crashed plugin
    }
  }

  const server = new grpc.Server();
  if (handlers.v1) {
    const h = handlers.v1;
    server.addService(kmsV1beta1Service().service, {
      version: unary(() => h.version()),
      encrypt: unary((req: { plain: Buffer }) => h.encrypt(req.plain).then((cipher) => ({ cipher })), callerGuard(o, 'v1beta1/Encrypt')),
      decrypt: unary((req: { cipher: Buffer }) => h.decrypt(req.cipher).then((plain) => ({ plain })), callerGuard(o, 'v1beta1/Decrypt')),
    });
  }
  if (handlers.v2) {
    const h = handlers.v2;
    server.addService(kmsV2Service().service, {
      status: unary(() => h.status()),
      encrypt: unary((req: { plaintext: Buffer; uid: string }) => h.encrypt(req), callerGuard(o, 'v2/Encrypt')),
      decrypt: unary(
        (req: { ciphertext: Buffer; uid: string; keyId: string; annotations: Record<string, Buffer> }) => h.decrypt(req).then((plaintext) => ({ plaintext })),
        callerGuard(o, 'v2/Decrypt'),
      ),
    });
  }
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(target.grpcTarget, grpc.ServerCredentials.createInsecure(), (e) => (e ? reject(e) : resolve())),
  );
  // Only the API server's user may talk to the plugin: anyone who can call Decrypt can unwrap every DEK. grpc-js
  // creates the socket with the process umask, so it is narrowed right after binding; callers that need no window at
  // all put the socket in a directory only they can enter.
  if (!target.abstract) await chmod(target.path, 0o600);

  return {
    async close() {
      // Finish calls in flight, but do not wait for idle clients to hang up.
      await new Promise<void>((resolve) => {
        const force = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 1000);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      });
      if (!target.abstract) await unlink(target.path).catch(() => undefined);
    },
  };
}
