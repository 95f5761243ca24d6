// kube-apiserver's side of `v1beta1.KeyManagementService` (KMS v1): a Version handshake once per connection, then
// Encrypt/Decrypt of DEKs, every request tagged "v1beta1".
import * as grpc from '@grpc/grpc-js';
import { UnavailableError } from '../lib/errors.js';
import { callUnary } from './grpc-unary.js';
import type { CallOptions, KmsV1Service } from './kms-service.js';
import { kmsV1beta1Service } from './proto-loader.js';
import { parseKmsEndpoint } from './unix-endpoint.js';

export const KMS_V1_API_VERSION = 'v1beta1';

export class GrpcKmsV1Client implements KmsV1Service {
  private readonly client: grpc.Client;
  private readonly timeoutMs: number;
  private readonly callerSecret: string | undefined;
  private versionChecked: Promise<void> | undefined;

  constructor(
    private readonly endpoint: string,
    /** callerSecret: sent with every call, for a plugin that authenticates its callers (grpc-server.ts). */
    opts: { timeoutMs: number; callerSecret?: string | undefined },
  ) {
    const Service = kmsV1beta1Service();
    this.client = new Service(parseKmsEndpoint(endpoint).grpcTarget, grpc.credentials.createInsecure(), {
      'grpc.default_authority': 'localhost',
    });
    this.timeoutMs = opts.timeoutMs;
    this.callerSecret = opts.callerSecret;
  }

  async encrypt(plain: Uint8Array, opts?: CallOptions): Promise<Uint8Array> {
    await this.checkVersion(opts);
    const res = await this.call<{ cipher: Buffer }>('Encrypt', { version: KMS_V1_API_VERSION, plain }, opts);
    return res.cipher;
  }

  async decrypt(cipher: Uint8Array, opts?: CallOptions): Promise<Uint8Array> {
    await this.checkVersion(opts);
    const res = await this.call<{ plain: Buffer }>('Decrypt', { version: KMS_V1_API_VERSION, cipher }, opts);
    return res.plain;
  }

  close(): void {
    this.client.close();
  }

  /** Upstream remembers a successful handshake; a failed one is retried on the next call. */
  private checkVersion(opts?: CallOptions): Promise<void> {
    this.versionChecked ??= this.call<{ version: string }>('Version', { version: KMS_V1_API_VERSION }, opts).then(
      (res) => {
        if (res.version !== KMS_V1_API_VERSION) {
          throw new UnavailableError(
            `KMS provider api version ${res.version} is not supported, only ${KMS_V1_API_VERSION} is supported now`,
          );
        }
      },
    );
    return this.versionChecked.catch((e: unknown) => {
      this.versionChecked = undefined;
      throw e;
    });
  }

  private call<Res>(method: string, request: object, opts?: CallOptions): Promise<Res> {
    return callUnary<Res>(this.client, method, request, {
      endpoint: this.endpoint,
      timeoutMs: this.timeoutMs,
      signal: opts?.signal,
      callerSecret: this.callerSecret,
    });
  }
}
