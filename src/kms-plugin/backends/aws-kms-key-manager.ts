// The `aws-kms` backend: the KEK is an AWS KMS key; DEK seeds are wrapped with Encrypt and unwrapped with Decrypt
// through the official SDK v3, always with the configured encryption context.
//
// key_id = the key ARN KMS reports for Encrypt (the resolved key, never the alias). Re-pointing an alias to a new key
// therefore changes key_id, which kube-apiserver treats as a KEK rotation; data wrapped under the old key keeps
// decrypting because Decrypt names the old key's ARN (AWS checks the blob was made by that key: IncorrectKeyException
// otherwise). AWS's own key rotation keeps the ARN: KMS decrypts old blobs by itself and key_id stays the same.
//
// AWS errors become precise gRPC codes (kms-plugin docs): throttling is retried here with full-jitter exponential
// backoff within the caller's deadline (the SDK's own retries are off so there is one policy, visible in one place).
import { randomBytes } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { DecryptCommand, EncryptCommand, KMSClient, type KMSClientConfig } from '@aws-sdk/client-kms';
import { fromIni, fromNodeProviderChain, fromTokenFile } from '@aws-sdk/credential-providers';
import type { Logger } from 'pino';
import { KmsStatusError } from '../../kms/grpc-server.js';
import { DecryptError, InvalidError, NotFoundError, UnavailableError } from '../../lib/errors.js';
import type { KeyManager, KeyManagerEncryptResult, KeyManagerStatus } from '../key-manager.js';
import type { KeyManagerDeps } from '../key-manager-factory.js';
import { SecretFile } from '../../lib/secret-file.js';
import type { AwsCredentialsConfig, AwsKmsBackendConfig } from './aws-kms-config.js';

interface AwsCredentialIdentity {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}
type AwsCredentialIdentityProvider = () => Promise<AwsCredentialIdentity>;

const KEY_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[\w-]{1,128}$/;

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  attempts: number;
  baseMs: number;
  capMs: number;
  /** [0, 1); injectable so tests need not wait. */
  random: () => number;
}

const DEFAULT_RETRY: RetryPolicy = { attempts: 5, baseMs: 50, capMs: 1000, random: Math.random };

/** Error names AWS uses for "slow down" (KMS ThrottlingException; the SDK's generic throttling names). */
const THROTTLING = new Set(['ThrottlingException', 'Throttling', 'TooManyRequestsException', 'RequestLimitExceeded', 'LimitExceededException']);

/** The gRPC code an AWS error becomes, and the words for it. Exported for tests of the table. */
export function mapAwsError(e: unknown, what: string, keyId: string): Error {
  const err = e as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const name = err?.name ?? 'Error';
  const detail = err?.message ? `${name}: ${err.message}` : name;
  const msg = `${what}: ${detail}`;
  if (name === 'AbortError' || name === 'TimeoutError') return new UnavailableError(msg, { cause: e }); // the adapter says DEADLINE_EXCEEDED
  if (name === 'AccessDeniedException') return new KmsStatusError(grpc.status.PERMISSION_DENIED, msg);
  if (THROTTLING.has(name)) return new KmsStatusError(grpc.status.RESOURCE_EXHAUSTED, msg);
  if (name === 'DisabledException' || name === 'KMSInvalidStateException') {
    return new KmsStatusError(grpc.status.FAILED_PRECONDITION, `${what}: KMS key ${keyId} cannot be used (${detail})`);
  }
  if (name === 'NotFoundException') return new NotFoundError(msg, { cause: e });
  if (name === 'InvalidCiphertextException' || name === 'IncorrectKeyException') return new DecryptError(msg, { cause: e });
  if (name === 'ValidationException' || name === 'InvalidKeyUsageException') return new InvalidError(msg, { cause: e });
  if (['UnrecognizedClientException', 'InvalidSignatureException', 'ExpiredTokenException', 'IncompleteSignatureException', 'CredentialsProviderError', 'InvalidClientTokenId'].includes(name)) {
    return new KmsStatusError(grpc.status.UNAUTHENTICATED, msg);
  }
  // KMSInternalException, DependencyTimeoutException, KeyUnavailableException, connection errors: try again later.
  return new UnavailableError(msg, { cause: e });
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason as Error);
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal.reason as Error);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Static credentials from files, re-read when a file changes (a rotated Kubernetes Secret volume). */
function staticCredentials(c: Extract<AwsCredentialsConfig, { type: 'static' }>): AwsCredentialIdentityProvider {
  const id = new SecretFile(c.accessKeyIdFile, 'credentials.accessKeyIdFile');
  const secret = new SecretFile(c.secretAccessKeyFile, 'credentials.secretAccessKeyFile');
  const token = c.sessionTokenFile ? new SecretFile(c.sessionTokenFile, 'credentials.sessionTokenFile') : undefined;
  return async (): Promise<AwsCredentialIdentity> => ({
    // The SDK signs with strings; the file bytes stay in SecretFile's buffer, wiped on change.
    accessKeyId: (await id.read()).toString(),
    secretAccessKey: (await secret.read()).toString(),
    ...(token ? { sessionToken: (await token.read()).toString() } : {}),
  });
}

export function awsCredentialProvider(c: AwsCredentialsConfig, region: string, stsEndpoint?: string): AwsCredentialIdentityProvider {
  const clientConfig = { region, ...(stsEndpoint ? { endpoint: stsEndpoint } : {}) };
  switch (c.type) {
    case 'default':
      return fromNodeProviderChain({ clientConfig });
    case 'profile':
      return fromIni({ profile: c.profile, clientConfig });
    case 'webIdentity':
      return fromTokenFile({ webIdentityTokenFile: c.webIdentityTokenFile, roleArn: c.roleArn, roleSessionName: c.roleSessionName, clientConfig });
    case 'static':
      return staticCredentials(c);
  }
}

export class AwsKmsKeyManager implements KeyManager {
  readonly name = 'aws-kms';
  private lastKeyId = '';

  constructor(
    private readonly client: Pick<KMSClient, 'send'>,
    private readonly cfg: Pick<AwsKmsBackendConfig, 'keyId' | 'region' | 'encryptionContext'>,
    private readonly logger: Logger,
    private readonly retry: RetryPolicy = DEFAULT_RETRY,
  ) {}

  private get where(): string {
    return `KMS key ${this.cfg.keyId} in ${this.cfg.region}`;
  }

  /** One KMS call; throttling is retried with full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter"). */
  private async call<T>(what: string, keyId: string, signal: AbortSignal, fn: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (e) {
        const mapped = mapAwsError(e, what, keyId);
        const throttled = mapped instanceof KmsStatusError && mapped.grpcCode === grpc.status.RESOURCE_EXHAUSTED;
        if (!throttled || attempt >= this.retry.attempts || signal.aborted) throw mapped;
        const delay = Math.floor(this.retry.random() * Math.min(this.retry.capMs, this.retry.baseMs * 2 ** (attempt - 1)));
        this.logger.warn({ backend: this.name, attempt, delayMs: delay }, `${what}: throttled by KMS, retrying`);
        await sleep(delay, signal).catch(() => {
          throw mapped;
        });
      }
    }
  }

  private async encryptRaw(plaintext: Uint8Array, signal: AbortSignal): Promise<{ ciphertext: Uint8Array; keyId: string }> {
    const what = `encrypting with ${this.where}`;
    const out = await this.call(what, this.cfg.keyId, signal, () =>
      this.client.send(new EncryptCommand({ KeyId: this.cfg.keyId, Plaintext: plaintext, EncryptionContext: this.cfg.encryptionContext }), { abortSignal: signal }),
    );
    if (!out.CiphertextBlob || out.CiphertextBlob.length === 0) throw new UnavailableError(`${what}: response has no CiphertextBlob`);
    if (!out.KeyId || !KEY_ARN.test(out.KeyId)) throw new UnavailableError(`${what}: response names no key ARN (got ${JSON.stringify(out.KeyId ?? null)})`);
    this.lastKeyId = out.KeyId;
    return { ciphertext: out.CiphertextBlob, keyId: out.KeyId };
  }

  private async decryptRaw(ciphertext: Uint8Array, keyArn: string, signal: AbortSignal): Promise<Uint8Array> {
    const what = `decrypting with KMS key ${keyArn}`;
    const out = await this.call(what, keyArn, signal, () =>
      this.client.send(new DecryptCommand({ CiphertextBlob: ciphertext, KeyId: keyArn, EncryptionContext: this.cfg.encryptionContext }), { abortSignal: signal }),
    );
    if (!out.Plaintext) throw new UnavailableError(`${what}: response has no Plaintext`);
    return out.Plaintext;
  }

  async status(opts: { signal: AbortSignal }): Promise<KeyManagerStatus> {
    // A real round trip proves the DEK path works (credentials, key policy, key state), not just that AWS answers.
    const probe = randomBytes(32);
    try {
      const wrapped = await this.encryptRaw(probe, opts.signal);
      const back = Buffer.from(await this.decryptRaw(wrapped.ciphertext, wrapped.keyId, opts.signal));
      const same = back.equals(probe);
      back.fill(0);
      if (!same) return { healthy: false, keyId: wrapped.keyId, reason: `${this.where}: encrypt/decrypt round trip returned other bytes` };
      return { healthy: true, keyId: wrapped.keyId };
    } catch (e) {
      return { healthy: false, keyId: this.lastKeyId, reason: (e as Error).message };
    } finally {
      probe.fill(0);
    }
  }

  async encrypt(plaintext: Uint8Array, opts: { signal: AbortSignal }): Promise<KeyManagerEncryptResult> {
    return this.encryptRaw(plaintext, opts.signal);
  }

  async decrypt(ciphertext: Uint8Array, opts: { keyId: string; annotations: Record<string, Uint8Array>; signal: AbortSignal }): Promise<Uint8Array> {
    if (Object.keys(opts.annotations).length > 0) {
      throw new InvalidError(`the aws-kms backend writes no annotations, got ${Object.keys(opts.annotations).map((k) => JSON.stringify(k)).join(', ')}`);
    }
    if (!KEY_ARN.test(opts.keyId)) throw new NotFoundError(`key id ${JSON.stringify(opts.keyId)} is not an AWS KMS key ARN`);
    return this.decryptRaw(ciphertext, opts.keyId, opts.signal);
  }

  async close(): Promise<void> {
    (this.client as Partial<KMSClient>).destroy?.();
  }
}

export function createAwsKmsKeyManager(config: AwsKmsBackendConfig, deps: KeyManagerDeps & { retry?: RetryPolicy }): AwsKmsKeyManager {
  const credentials = awsCredentialProvider(config.credentials, config.region, config.stsEndpoint);
  const clientConfig: KMSClientConfig = {
    region: config.region,
    maxAttempts: 1,
    ...(config.endpoint ? { endpoint: config.endpoint } : {}),
    credentials,
  };
  const logger = deps.logger.child({ backend: 'aws-kms' });
  logger.info(
    { region: config.region, keyId: config.keyId, endpoint: config.endpoint, credentials: config.credentials.type, encryptionContextKeys: Object.keys(config.encryptionContext) },
    'aws-kms backend configured',
  );
  return new AwsKmsKeyManager(new KMSClient(clientConfig), config, logger, deps.retry);
}
