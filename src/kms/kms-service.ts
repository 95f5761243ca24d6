// What the API-server side needs from a KMS plugin, independent of transport. The gRPC clients in this folder
// implement these over unix sockets; unit tests may implement them in-process.

export interface CallOptions {
  signal?: AbortSignal;
}

/** `v1beta1.KeyManagementService` (KMS v1, deprecated upstream): wraps each DEK. */
export interface KmsV1Service {
  encrypt(plain: Uint8Array, opts?: CallOptions): Promise<Uint8Array>;
  decrypt(cipher: Uint8Array, opts?: CallOptions): Promise<Uint8Array>;
  close(): void;
}

export interface KmsV2StatusResponse {
  version: string;
  healthz: string;
  keyId: string;
}

export interface KmsV2EncryptResponse {
  ciphertext: Uint8Array;
  keyId: string;
  annotations: Record<string, Uint8Array>;
}

/** `v2.KeyManagementService` (KMS v2). */
export interface KmsV2Service {
  status(opts?: CallOptions): Promise<KmsV2StatusResponse>;
  encrypt(plaintext: Uint8Array, opts: CallOptions & { uid: string }): Promise<KmsV2EncryptResponse>;
  decrypt(
    ciphertext: Uint8Array,
    opts: CallOptions & { uid: string; keyId: string; annotations: Record<string, Uint8Array> },
  ): Promise<Uint8Array>;
  close(): void;
}

/** The gRPC metadata key a caller puts a plugin's caller secret under (`coffer kms-plugin` with `callerSecret: stdin`). */
export const CALLER_SECRET_METADATA = 'coffer-caller-secret';
