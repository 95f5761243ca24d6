// Credentials of ESO's `aws` provider, resolved in ESO's order (providers/v1/aws/auth/auth.go): a base identity from
// auth.secretRef (an access key pair in Kubernetes Secrets), auth.jwt (a ServiceAccount token exchanged with STS
// AssumeRoleWithWebIdentity) or the controller's own default chain; then every role of additionalRoles assumed in
// turn (role chaining); then `role`, with externalID and sessionTags. Each step is a provider the SDK calls when its
// credentials near expiry; assumed credentials are cached until 5 minutes before they expire.
//
// One deviation: ESO takes the web identity role from the ServiceAccount's `eks.amazonaws.com/role-arn` annotation;
// Coffer's Kubernetes port does not read ServiceAccounts, so auth.jwt assumes `role` (required with jwt) directly.
import { AssumeRoleCommand, AssumeRoleWithWebIdentityCommand, STSClient, type Credentials } from '@aws-sdk/client-sts';
import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import { InvalidError } from '../../lib/errors.js';
import type { KubeApi } from '../kube-api.js';
import { readSecretKey, selectorNamespace, type SecretKeySelector, type StoreScope } from './credential-secrets.js';

export interface AwsCredentialIdentity {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}
export type AwsCredentialProvider = () => Promise<AwsCredentialIdentity>;

export interface AwsAuthSpec {
  secretRef?: { accessKeyIDSecretRef?: SecretKeySelector; secretAccessKeySecretRef?: SecretKeySelector; sessionTokenSecretRef?: SecretKeySelector };
  jwt?: { serviceAccountRef?: { name?: string; namespace?: string; audiences?: string[] } };
}

export interface AwsRoleSpec {
  region: string;
  role?: string;
  additionalRoles?: string[];
  externalID?: string;
  sessionTags?: { key: string; value: string }[];
  transitiveTagKeys?: string[];
  auth?: AwsAuthSpec;
}

export interface AwsCredentialDeps {
  kube: KubeApi;
  scope: StoreScope;
  stsEndpoint?: string;
  /** Milliseconds clock (tests). */
  now?: () => number;
}

/** ESO's session name for the roles it assumes. */
const SESSION_NAME = 'external-secrets-provider-aws';
/** Secrets holding keys are read again after a second, so a rotated key pair is used at the next refresh. */
const SECRET_REREAD_MS = 1000;
const REFRESH_BEFORE_MS = 5 * 60_000;

function fromSts(c: Credentials | undefined, what: string): AwsCredentialIdentity {
  if (!c?.AccessKeyId || !c.SecretAccessKey) throw new InvalidError(`${what} returned no credentials`);
  return { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, ...(c.SessionToken ? { sessionToken: c.SessionToken } : {}), ...(c.Expiration ? { expiration: c.Expiration } : {}) };
}

/** Caches what `fetch` returns until 5 minutes before it expires; concurrent callers share one fetch. */
function cached(fetch: () => Promise<AwsCredentialIdentity>, now: () => number, maxAgeMs?: number): AwsCredentialProvider {
  let entry: { at: number; value: Promise<AwsCredentialIdentity> } | undefined;
  return async () => {
    const t = now();
    if (entry) {
      const v = await entry.value.catch(() => undefined);
      const fresh = v && (maxAgeMs !== undefined ? t - entry.at < maxAgeMs : !v.expiration || v.expiration.getTime() - REFRESH_BEFORE_MS > t);
      if (fresh) return v;
    }
    const value = fetch();
    entry = { at: t, value };
    value.catch(() => {
      if (entry?.value === value) entry = undefined;
    });
    return value;
  };
}

export function awsCredentialProvider(spec: AwsRoleSpec, deps: AwsCredentialDeps): AwsCredentialProvider {
  const now = deps.now ?? Date.now;
  const sts = (credentials?: AwsCredentialProvider) =>
    new STSClient({
      region: spec.region,
      ...(deps.stsEndpoint ? { endpoint: deps.stsEndpoint } : {}),
      // AssumeRoleWithWebIdentity is unsigned; the client still wants a provider, which it never calls for it.
      credentials: credentials ?? (async () => ({ accessKeyId: 'unused', secretAccessKey: 'unused' })),
    });
  const auth = spec.auth ?? {};
  let base: AwsCredentialProvider;
  let roleUsed = false;
  if (auth.secretRef) {
    const ref = auth.secretRef;
    if (!ref.accessKeyIDSecretRef || !ref.secretAccessKeySecretRef) {
      throw new InvalidError('aws.auth.secretRef: accessKeyIDSecretRef and secretAccessKeySecretRef are both required');
    }
    const read = async (sel: SecretKeySelector) => (await readSecretKey(deps.kube, sel, deps.scope, { signal: AbortSignal.timeout(10_000) })).toString('utf8').trim();
    base = cached(
      async () => {
        const [accessKeyId, secretAccessKey, sessionToken] = await Promise.all([
          read(ref.accessKeyIDSecretRef!),
          read(ref.secretAccessKeySecretRef!),
          ref.sessionTokenSecretRef ? read(ref.sessionTokenSecretRef) : Promise.resolve(undefined),
        ]);
        // The SDK asks again once this "expires": that is how a key rotated in the Secret reaches it.
        return { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}), expiration: new Date(now() + SECRET_REREAD_MS) };
      },
      now,
      SECRET_REREAD_MS,
    );
  } else if (auth.jwt) {
    const sa = auth.jwt.serviceAccountRef;
    if (!sa?.name) throw new InvalidError('aws.auth.jwt.serviceAccountRef.name is required');
    if (!spec.role) throw new InvalidError('aws.role is required with auth.jwt: it is the role assumed with the ServiceAccount token');
    const role = spec.role;
    roleUsed = true;
    base = cached(async () => {
      const ns = selectorNamespace({ name: sa.name!, ...(sa.namespace ? { namespace: sa.namespace } : {}) }, deps.scope);
      if (!ns) throw new InvalidError(`aws.auth.jwt.serviceAccountRef ${sa.name} has no namespace (referent authentication needs an ExternalSecret)`);
      // ESO asks for the STS audience plus any the store names (auth/auth.go, credsFromServiceAccount).
      const { token } = await deps.kube.createServiceAccountToken(ns, sa.name!, { signal: AbortSignal.timeout(10_000), audiences: ['sts.amazonaws.com', ...(sa.audiences ?? [])], expirationSeconds: 600 });
      const out = await sts().send(new AssumeRoleWithWebIdentityCommand({ RoleArn: role, RoleSessionName: SESSION_NAME, WebIdentityToken: token }));
      return fromSts(out.Credentials, `sts:AssumeRoleWithWebIdentity ${role}`);
    }, now);
  } else {
    base = fromNodeProviderChain({ clientConfig: { region: spec.region, ...(deps.stsEndpoint ? { endpoint: deps.stsEndpoint } : {}) } });
  }

  const assume = (source: AwsCredentialProvider, roleArn: string, extra: { externalId?: string; tags?: { Key: string; Value: string }[]; transitive?: string[] }) => {
    const client = sts(source);
    return cached(async () => {
      const out = await client.send(
        new AssumeRoleCommand({
          RoleArn: roleArn, RoleSessionName: SESSION_NAME,
          ...(extra.externalId ? { ExternalId: extra.externalId } : {}),
          ...(extra.tags?.length ? { Tags: extra.tags } : {}),
          ...(extra.transitive?.length ? { TransitiveTagKeys: extra.transitive } : {}),
        }),
      );
      return fromSts(out.Credentials, `sts:AssumeRole ${roleArn}`);
    }, now);
  };
  let creds = base;
  for (const r of spec.additionalRoles ?? []) creds = assume(creds, r, {});
  if (spec.role && !roleUsed) {
    creds = assume(creds, spec.role, {
      ...(spec.externalID ? { externalId: spec.externalID } : {}),
      tags: (spec.sessionTags ?? []).map((t) => ({ Key: t.key, Value: t.value })),
      ...(spec.transitiveTagKeys ? { transitive: spec.transitiveTagKeys } : {}),
    });
  }
  return creds;
}
