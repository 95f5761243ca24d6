// What every provider implements: read-only access to one secret store, as ESO's SecretsClient (GetSecret,
// GetSecretMap, GetAllSecrets, Validate). Providers are small modules; the reconcile pipeline never sees their
// protocols. Missing remote secrets are NoSecretError, the only error deletionPolicy Delete/Merge tolerate.
import { NotFoundError } from '../../lib/errors.js';
import type { FindRef, RemoteRef } from '../external-secrets/external-secret-types.js';

export class NoSecretError extends NotFoundError {
  constructor(detail?: string) {
    super(detail ? `Secret does not exist: ${detail}` : 'Secret does not exist');
  }
}

/** Where a PushSecret writes: spec.data[].match.remoteRef. */
export interface PushRemoteRef {
  remoteKey: string;
  property?: string;
}

/** What a PushSecret pushes from: the (templated) source Secret and the data entry's secretKey. */
export interface PushSource {
  secretKey?: string;
  data: Record<string, Buffer>;
  type?: string;
  /** The source Secret's labels and annotations, with the template's (the kubernetes provider copies them). */
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  /** The data entry's `metadata`, as written in the PushSecret (a provider's PushSecretMetadata). */
  metadata?: unknown;
}

export type ValidationResult = 'Ready' | 'Unknown';

export interface CallOptions {
  signal: AbortSignal;
}

export interface SecretsProvider {
  /** Provider label of externalsecret_provider_api_calls_count ("HashiCorp/Vault", "Kubernetes"). */
  readonly metricName: string;
  getSecret(ref: RemoteRef, opts: CallOptions): Promise<Buffer>;
  getSecretMap(ref: RemoteRef, opts: CallOptions): Promise<Record<string, Buffer>>;
  getAllSecrets(find: FindRef, opts: CallOptions): Promise<Record<string, Buffer>>;
  /** Contacts the provider; throws when the store cannot work; 'Unknown' when it cannot tell (referent auth). */
  validate(opts: CallOptions): Promise<ValidationResult>;
  /** PushSecret (ESO's SecretsClient PushSecret/DeleteSecret/SecretExists); absent for read-only providers. */
  /** `value` is the key's value, or the whole Secret as JSON; providers that write Secrets read `source`. */
  pushSecret?(value: Buffer, ref: PushRemoteRef, opts: CallOptions, source?: PushSource): Promise<void>;
  deleteSecret?(ref: PushRemoteRef, opts: CallOptions): Promise<void>;
  secretExists?(ref: PushRemoteRef, opts: CallOptions): Promise<boolean>;
  /** Releases what the provider holds (a logged-in token); called when the store changes or the controller stops. */
  close?(opts: CallOptions): Promise<void>;
}

/** Reports one provider API call for externalsecret_provider_api_calls_count. */
export type ProviderCallRecorder = (provider: string, call: string, ok: boolean) => void;

/** Runs one provider API call and reports whether it succeeded, under the provider and call names ESO uses. */
export async function recordedCall<T>(record: ProviderCallRecorder, provider: string, call: string, fn: () => Promise<T>): Promise<T> {
  try {
    const r = await fn();
    record(provider, call, true);
    return r;
  } catch (e) {
    record(provider, call, false);
    throw e;
  }
}

/** Converts a JSON value the way ESO's esutils.GetByteValue does for extract/find results. */
export function jsonMemberToBytes(value: unknown): Buffer {
  if (typeof value === 'string') return Buffer.from(value);
  if (value === null || value === undefined) return Buffer.alloc(0);
  return Buffer.from(JSON.stringify(value));
}

