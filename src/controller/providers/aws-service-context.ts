// What the two services of the `aws` provider share: who calls and where, the key prefix, and ESO's handling of
// properties, secret maps, error texts and call metrics.
import { InvalidError } from '../../lib/errors.js';
import type { AwsCredentialProvider } from './aws-credentials.js';
import { recordedCall, type ProviderCallRecorder, type ValidationResult } from './secrets-provider.js';

/** What both services share: who calls, where, and the key prefix. */
export interface AwsServiceContext {
  region: string;
  credentials: AwsCredentialProvider;
  endpoint?: string;
  prefix: string;
  record: ProviderCallRecorder;
  /** ESO's referent authentication: validation cannot tell before an ExternalSecret names the namespace. */
  referentWithoutNamespace: boolean;
}

/** ESO's gjson lookup of remoteRef.property (secretsmanager.go, parameterstore.go): a key with dots as one name first. */
export function awsProperty(payload: string, property: string, key: string, select: (root: unknown, path: string) => unknown): unknown {
  let root: unknown;
  try {
    root = JSON.parse(payload);
  } catch {
    root = undefined;
  }
  if (root && typeof root === 'object' && !Array.isArray(root) && Object.hasOwn(root, property)) return (root as Record<string, unknown>)[property];
  const v = root === undefined ? undefined : select(root, property);
  if (v === undefined) throw new InvalidError(`key ${property} does not exist in secret ${key}`);
  return v;
}

/** ESO's GetSecretMap for both services: a JSON object; string members unquoted, others as JSON text. */
export function awsSecretMap(data: Buffer, key: string): Record<string, Buffer> {
  let obj: unknown;
  try {
    obj = JSON.parse(data.toString('utf8'));
  } catch (e) {
    throw new InvalidError(`unable to unmarshal secret ${key}: ${(e as Error).message}`);
  }
  if (!obj || typeof obj !== 'object' || Array.isArray(obj)) throw new InvalidError(`unable to unmarshal secret ${key}: not a JSON object`);
  const out: Record<string, Buffer> = {};
  for (const [k, v] of Object.entries(obj)) out[k] = typeof v === 'string' ? Buffer.from(v) : Buffer.from(JSON.stringify(v));
  return out;
}

/** An SDK error as "<Code>: <message>", without request ids (ESO's SanitizeErr). */
export function awsErrorText(e: unknown): string {
  const err = e as { name?: string; message?: string };
  return err?.message ? `${err.name ?? 'Error'}: ${err.message}` : (err?.name ?? String(e));
}

/** Calls `fn`, reporting it to externalsecret_provider_api_calls_count as ESO names it. */
export function recordAws<T>(ctx: AwsServiceContext, metric: string, call: string, fn: () => Promise<T>): Promise<T> {
  return recordedCall(ctx.record, metric, call, fn);
}

/**
 * What the two services' providers share besides the helpers above: the SDK client made from the context, validation
 * (ESO's ValidateStore for aws: the credentials resolve) and close.
 */
export abstract class AwsServiceProvider<Client extends { destroy(): void }> {
  protected readonly client: Client;

  protected constructor(
    protected readonly ctx: AwsServiceContext,
    makeClient: new (config: { region: string; credentials: AwsCredentialProvider; endpoint?: string }) => Client,
  ) {
    this.client = new makeClient({ region: ctx.region, credentials: ctx.credentials, ...(ctx.endpoint ? { endpoint: ctx.endpoint } : {}) });
  }

  async validate(): Promise<ValidationResult> {
    if (this.ctx.referentWithoutNamespace) return 'Unknown';
    try {
      await this.ctx.credentials();
    } catch (e) {
      throw new InvalidError(`cannot get AWS credentials: ${awsErrorText(e)}`, { cause: e });
    }
    return 'Ready';
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}
