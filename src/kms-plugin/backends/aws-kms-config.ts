// The `aws-kms` backend's configuration mapping. Like the other backends, secrets are never values in the file: the
// credentials come from the SDK's default chain, a named profile, a web identity token file (IRSA / EKS Pod Identity
// style: AWS_WEB_IDENTITY_TOKEN_FILE + role ARN) or a static key pair whose parts are files.
import { InvalidError } from '../../lib/errors.js';
import { ConfigFields, describeValue } from '../config-fields.js';

export type AwsCredentialsConfig =
  | { type: 'default' }
  | { type: 'profile'; profile: string }
  | { type: 'webIdentity'; roleArn: string; webIdentityTokenFile: string; roleSessionName: string }
  | { type: 'static'; accessKeyIdFile: string; secretAccessKeyFile: string; sessionTokenFile?: string };

export interface AwsKmsBackendConfig {
  type: 'aws-kms';
  region: string;
  /** Key ID, key ARN, alias name (`alias/coffer`) or alias ARN: what Encrypt is asked to use. */
  keyId: string;
  /** KMS endpoint override (LocalStack, moto, a VPC endpoint); the SDK's regional endpoint when absent. */
  endpoint?: string;
  /** STS endpoint for web identity credentials (a VPC endpoint); the SDK's regional one when absent. */
  stsEndpoint?: string;
  /** Static pairs sent with every Encrypt and Decrypt (authenticated, and logged in CloudTrail by AWS). */
  encryptionContext: Record<string, string>;
  credentials: AwsCredentialsConfig;
}

// AWS region names (us-east-1, eu-central-2, us-gov-west-1, cn-north-1); the SDK would accept any string and fail later.
const REGION = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;
// KMS KeyId: a key id (UUID or mrk-...), key ARN, alias name or alias ARN (API reference, KeyId of Encrypt; 1-2048).
const KEY_ID = /^(?:arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(?:key\/[\w-]{1,128}|alias\/[\w/:-]{1,256})|alias\/[\w/:-]{1,256}|[\w-]{1,128})$/;
const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/;

function url(f: ConfigFields, name: string): string | undefined {
  const v = f.optionalString(name);
  if (v === undefined) return undefined;
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    throw new InvalidError(`must be an http(s) URL such as "https://kms.us-east-1.amazonaws.com", got ${describeValue(v)}`, { field: f.field(name) });
  }
  if ((u.protocol !== 'https:' && u.protocol !== 'http:') || u.username || u.password) {
    throw new InvalidError(`must be an http(s) URL without credentials, got ${describeValue(v)}`, { field: f.field(name) });
  }
  return v.replace(/\/+$/, '');
}

function parseCredentials(f: ConfigFields, path: (p: string) => string): AwsCredentialsConfig {
  const type = f.oneOf('type', ['default', 'profile', 'webIdentity', 'static'] as const, 'default');
  let c: AwsCredentialsConfig;
  switch (type) {
    case 'default':
      c = { type };
      break;
    case 'profile':
      c = { type, profile: f.string('profile') };
      break;
    case 'webIdentity': {
      const roleArn = f.string('roleArn');
      if (!ROLE_ARN.test(roleArn)) throw new InvalidError(`must be an IAM role ARN such as "arn:aws:iam::123456789012:role/coffer-kms", got ${describeValue(roleArn)}`, { field: f.field('roleArn') });
      const roleSessionName = f.string('roleSessionName', 'coffer-kms-plugin');
      if (!/^[\w+=,.@-]{2,64}$/.test(roleSessionName)) {
        throw new InvalidError(`must be 2-64 characters of letters, digits and +=,.@_-, got ${describeValue(roleSessionName)}`, { field: f.field('roleSessionName') });
      }
      c = { type, roleArn, roleSessionName, webIdentityTokenFile: path(f.string('webIdentityTokenFile')) };
      break;
    }
    case 'static': {
      const session = f.optionalString('sessionTokenFile');
      c = { type, accessKeyIdFile: path(f.string('accessKeyIdFile')), secretAccessKeyFile: path(f.string('secretAccessKeyFile')), ...(session ? { sessionTokenFile: path(session) } : {}) };
      break;
    }
  }
  f.rejectUnknown();
  return c;
}

export function parseAwsKmsBackend(f: ConfigFields, path: (p: string) => string): AwsKmsBackendConfig {
  const region = f.string('region');
  if (!REGION.test(region)) throw new InvalidError(`must be an AWS region such as "us-east-1", got ${describeValue(region)}`, { field: f.field('region') });
  const keyId = f.string('keyId');
  if (!KEY_ID.test(keyId)) {
    throw new InvalidError(`must be a KMS key ID, key ARN, alias name ("alias/...") or alias ARN, got ${describeValue(keyId)}`, { field: f.field('keyId') });
  }
  const context: Record<string, string> = {};
  const raw = f.raw('encryptionContext');
  if (raw !== undefined && raw !== null) {
    const ctx = ConfigFields.of(raw, f.field('encryptionContext'));
    for (const [k, v] of Object.entries(ctx.rest())) {
      if (typeof v !== 'string' || k === '') throw new InvalidError(`must map strings to strings, got ${describeValue(v)}`, { field: ctx.field(k) });
      context[k] = v;
    }
  }
  const endpoint = url(f, 'endpoint');
  const stsEndpoint = url(f, 'stsEndpoint');
  return {
    type: 'aws-kms',
    region,
    keyId,
    ...(endpoint ? { endpoint } : {}),
    ...(stsEndpoint ? { stsEndpoint } : {}),
    encryptionContext: context,
    credentials: f.has('credentials') ? parseCredentials(f.mapping('credentials'), path) : { type: 'default' },
  };
}
