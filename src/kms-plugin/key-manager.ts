// What a key-manager backend of `coffer kms-plugin` implements: the KMS v2 contract (k8s.io/kms apis/v2/api.proto) without gRPC.
// The gRPC adapter turns these calls into v2 (and v1beta1) RPCs; backends never see the transport.

export interface KeyManagerStatus {
  /** True only when the backend really answered (a probe, not a guess). */
  healthy: boolean;
  /** The current key id; changes when the KEK rotates and is never reused for a different key. */
  keyId: string;
  /** Why it is unhealthy, without secret material; shown in logs and /healthz. */
  reason?: string;
}

export interface KeyManagerEncryptResult {
  ciphertext: Uint8Array;
  keyId: string;
  /** Keys must be fully qualified domain names (e.g. `multi.coffer.dev`), as KMS v2 requires. */
  annotations?: Record<string, Uint8Array>;
}

export interface KeyManagerCallOptions {
  /** The API server's request uid, for log correlation. */
  uid: string;
  signal: AbortSignal;
}

export interface KeyManager {
  /** A human label for logs and metrics (`vault-transit`, `pkcs11`, `local`, `multi`). */
  readonly name: string;
  status(opts: { signal: AbortSignal }): Promise<KeyManagerStatus>;
  encrypt(plaintext: Uint8Array, opts: KeyManagerCallOptions): Promise<KeyManagerEncryptResult>;
  decrypt(
    ciphertext: Uint8Array,
    opts: KeyManagerCallOptions & { keyId: string; annotations: Record<string, Uint8Array> },
  ): Promise<Uint8Array>;
  close(): Promise<void>;
}
