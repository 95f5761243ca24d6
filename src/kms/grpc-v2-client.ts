// kube-apiserver's side of `v2.KeyManagementService` (KMS v2): Status, Encrypt and Decrypt, each with the
// configured timeout, `:authority` localhost as upstream sets it.
import * as grpc from '@grpc/grpc-js';
import { callUnary } from './grpc-unary.js';
import type { CallOptions, KmsV2EncryptResponse, KmsV2Service, KmsV2StatusResponse } from './kms-service.js';
import { kmsV2Service } from './proto-loader.js';
import { parseKmsEndpoint } from './unix-endpoint.js';

export class GrpcKmsV2Client implements KmsV2Service {
  private readonly client: grpc.Client;
  private readonly timeoutMs: number;
  private readonly callerSecret: string | undefined;

  constructor(
    private readonly endpoint: string,
    /** callerSecret: sent with every call, for a plugin that authenticates its callers (grpc-server.ts). */
    opts: { timeoutMs: number; callerSecret?: string | undefined },
  ) {
    const Service = kmsV2Service();
    this.client = new Service(parseKmsEndpoint(endpoint).grpcTarget, grpc.credentials.createInsecure(), {
      'grpc.default_authority': 'localhost',
    });
    this.timeoutMs = opts.timeoutMs;
    this.callerSecret = opts.callerSecret;
  }

  async status(opts?: CallOptions): Promise<KmsV2StatusResponse> {
    const res = await this.call<KmsV2StatusResponse>('Status', {}, opts);
    return { version: res.version, healthz: res.healthz, keyId: res.keyId };
  }

  async encrypt(plaintext: Uint8Array, opts: CallOptions & { uid: string }): Promise<KmsV2EncryptResponse> {
    const res = await this.call<KmsV2EncryptResponse>('Encrypt', { plaintext, uid: opts.uid }, opts);
    return { ciphertext: res.ciphertext, keyId: res.keyId, annotations: { ...res.annotations } };
  }

  async decrypt(
    ciphertext: Uint8Array,
    opts: CallOptions & { uid: string; keyId: string; annotations: Record<string, Uint8Array> },
  ): Promise<Uint8Array> {
    const request = { ciphertext, uid: opts.uid, keyId: opts.keyId, annotations: opts.annotations };
    const res = await this.call<{ plaintext: Buffer }>('Decrypt', request, opts);
    return res.plaintext;
  }

  close(): void {
    this.client.close();
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
