// Builds the provider a SecretStore/ClusterSecretStore names. A store has exactly one provider key (ESO's rule);
// providers ESO knows but Coffer does not implement are accepted as YAML and reported as unsupported (Ready False),
// so manifests written for ESO still apply.
import { InvalidError } from '../../lib/errors.js';
import { createAwsProvider, type AwsEndpoints, type AwsProviderSpec } from './aws-provider.js';
import type { SecretStore } from '../external-secrets/external-secret-types.js';
import type { KubeApi } from '../kube-api.js';
import type { StoreScope } from './credential-secrets.js';
import { FakeProvider, type FakeProviderSpec } from './fake-provider.js';
import { KubernetesProvider, type KubernetesProviderSpec, type SecretSource } from './kubernetes-provider.js';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { Clock } from '../../lib/clock.js';
import type { ProviderCallRecorder, SecretsProvider } from './secrets-provider.js';
import { VaultProvider, type VaultProviderSpec } from './vault-provider.js';

export interface ProviderDeps {
  kube: KubeApi;
  record: ProviderCallRecorder;
  connectKubernetes?: (kc: KubeConfig) => SecretSource;
  /** Endpoint overrides for the aws provider (ESO's AWS_SECRETSMANAGER_ENDPOINT, AWS_SSM_ENDPOINT, AWS_STS_ENDPOINT). */
  awsEndpoints?: AwsEndpoints;
  /** For the vault provider's token renewal and lookups. */
  clock?: Clock;
  logger?: Logger;
}

/** The single provider key of a store spec, or an error with ESO's message. */
export function providerName(store: SecretStore): string {
  const keys = Object.entries(store.spec?.provider ?? {}).filter(([, v]) => v !== null && v !== undefined).map(([k]) => k);
  if (keys.length !== 1) throw new InvalidError(`secret stores must only have exactly one backend specified, found ${keys.length}`);
  return keys[0]!;
}

export function createProvider(store: SecretStore, scope: StoreScope, deps: ProviderDeps): SecretsProvider {
  const name = providerName(store);
  const spec = store.spec!.provider![name];
  switch (name) {
    case 'fake':
      return new FakeProvider(spec as FakeProviderSpec);
    case 'vault':
      return new VaultProvider(spec as VaultProviderSpec, { kube: deps.kube, scope, record: deps.record, ...(deps.clock ? { clock: deps.clock } : {}), ...(deps.logger ? { logger: deps.logger } : {}) });
    case 'kubernetes':
      return new KubernetesProvider(spec as KubernetesProviderSpec, {
        kube: deps.kube,
        scope,
        record: deps.record,
        ...(deps.connectKubernetes ? { connect: deps.connectKubernetes } : {}),
      });
    case 'aws':
      return createAwsProvider(spec as AwsProviderSpec, { kube: deps.kube, scope, record: deps.record, ...(deps.awsEndpoints ? { endpoints: deps.awsEndpoints } : {}) });
    default:
      throw new InvalidError(`failed to find registered store backend for type: ${name}, name: ${store.metadata.name} (Coffer supports aws, fake, kubernetes and vault)`);
  }
}
