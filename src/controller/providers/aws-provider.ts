// ESO's `aws` provider (spec.provider.aws): `service: SecretsManager` or `service: ParameterStore`, over the official
// SDK v3. This file checks the store spec and builds the service's provider; aws-credentials.ts resolves who calls.
// Endpoints are the SDK's (regional) unless the controller was given overrides (ESO's AWS_SECRETSMANAGER_ENDPOINT,
// AWS_SSM_ENDPOINT, AWS_STS_ENDPOINT; the SDK's own AWS_ENDPOINT_URL_<SERVICE> work too).
import { InvalidError } from '../../lib/errors.js';
import type { KubeApi } from '../kube-api.js';
import { awsCredentialProvider, type AwsAuthSpec } from './aws-credentials.js';
import { AwsParameterStoreProvider } from './aws-parameter-store-provider.js';
import { AwsSecretsManagerProvider } from './aws-secrets-manager-provider.js';
import type { AwsServiceContext } from './aws-service-context.js';
import { isReferent, type StoreScope } from './credential-secrets.js';
import type { ProviderCallRecorder, SecretsProvider } from './secrets-provider.js';

export interface AwsProviderSpec {
  service?: string;
  region?: string;
  role?: string;
  additionalRoles?: string[];
  externalID?: string;
  sessionTags?: { key: string; value: string }[];
  transitiveTagKeys?: string[];
  prefix?: string;
  auth?: AwsAuthSpec;
  secretsManager?: unknown;
}

export interface AwsEndpoints {
  secretsmanager?: string;
  ssm?: string;
  sts?: string;
}

export interface AwsProviderDeps {
  kube: KubeApi;
  scope: StoreScope;
  record: ProviderCallRecorder;
  endpoints?: AwsEndpoints;
  now?: () => number;
}

const REGION = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;
const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/;

export function createAwsProvider(spec: AwsProviderSpec, deps: AwsProviderDeps): SecretsProvider {
  const service = spec.service;
  if (service !== 'SecretsManager' && service !== 'ParameterStore') {
    throw new InvalidError(`aws.service must be SecretsManager or ParameterStore, got ${JSON.stringify(service ?? null)}`);
  }
  if (!spec.region || !REGION.test(spec.region)) throw new InvalidError(`aws.region must be an AWS region such as "us-east-1", got ${JSON.stringify(spec.region ?? null)}`);
  for (const [field, arn] of [['role', spec.role], ...(spec.additionalRoles ?? []).map((r, i) => [`additionalRoles[${i}]`, r])] as [string, string | undefined][]) {
    if (arn !== undefined && arn !== '' && !ROLE_ARN.test(arn)) throw new InvalidError(`aws.${field} must be an IAM role ARN, got ${JSON.stringify(arn)}`);
  }
  if (spec.auth?.secretRef && spec.auth.jwt) throw new InvalidError('aws.auth: only one of secretRef and jwt may be set');
  const sel = spec.auth?.secretRef?.secretAccessKeySecretRef ?? (spec.auth?.jwt?.serviceAccountRef?.name ? { name: spec.auth.jwt.serviceAccountRef.name, ...(spec.auth.jwt.serviceAccountRef.namespace ? { namespace: spec.auth.jwt.serviceAccountRef.namespace } : {}) } : undefined);
  const endpoint = service === 'SecretsManager' ? deps.endpoints?.secretsmanager : deps.endpoints?.ssm;
  const ctx: AwsServiceContext = {
    region: spec.region,
    credentials: awsCredentialProvider({ ...spec, region: spec.region }, { kube: deps.kube, scope: deps.scope, ...(deps.endpoints?.sts ? { stsEndpoint: deps.endpoints.sts } : {}), ...(deps.now ? { now: deps.now } : {}) }),
    ...(endpoint ? { endpoint } : {}),
    prefix: spec.prefix ?? '',
    record: deps.record,
    referentWithoutNamespace: isReferent(sel, deps.scope) && !deps.scope.referentNamespace,
  };
  return service === 'SecretsManager' ? new AwsSecretsManagerProvider(ctx) : new AwsParameterStoreProvider(ctx);
}
