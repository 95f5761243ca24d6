// Where reconcilers read the objects they look at: informer caches in production (no API request per reconcile),
// the API itself in tests and one-off tools. Secrets are not here: the target Secret is read from the API, because
// unlabelled targets (Merge) are not in the managed-Secret cache.
import type { V1Namespace } from '@kubernetes/client-node';
import type { CustomObject, GeneratorResource, KubeApi } from '../kube-api.js';
import type { ClusterExternalSecret, ExternalSecret, SecretStore } from './external-secret-types.js';

export interface ObjectReader {
  externalSecret(namespace: string, name: string, opts: { signal: AbortSignal }): Promise<ExternalSecret | undefined>;
  secretStore(namespace: string, name: string, opts: { signal: AbortSignal }): Promise<SecretStore | undefined>;
  clusterSecretStore(name: string, opts: { signal: AbortSignal }): Promise<SecretStore | undefined>;
  clusterExternalSecret(name: string, opts: { signal: AbortSignal }): Promise<ClusterExternalSecret | undefined>;
  namespace(name: string, opts: { signal: AbortSignal }): Promise<V1Namespace | undefined>;
  namespaces(opts: { signal: AbortSignal }): Promise<V1Namespace[]>;
  externalSecrets(namespace: string | undefined, opts: { signal: AbortSignal }): Promise<ExternalSecret[]>;
  /** A generators.external-secrets.io object (read from the API: generators are few and read once per refresh). */
  generator(resource: GeneratorResource, namespace: string, name: string, opts: { signal: AbortSignal }): Promise<CustomObject | undefined>;
}

export function kubeApiReader(kube: KubeApi): ObjectReader {
  return {
    externalSecret: (ns, name, o) => kube.getCustom<ExternalSecret>('externalsecrets', ns, name, o),
    secretStore: (ns, name, o) => kube.getCustom<SecretStore>('secretstores', ns, name, o),
    clusterSecretStore: (name, o) => kube.getCustom<SecretStore>('clustersecretstores', undefined, name, o),
    clusterExternalSecret: (name, o) => kube.getCustom<ClusterExternalSecret>('clusterexternalsecrets', undefined, name, o),
    namespace: (name, o) => kube.getNamespace(name, o),
    namespaces: (o) => kube.listNamespaces(o),
    externalSecrets: (ns, o) => kube.listCustom<ExternalSecret>('externalsecrets', ns, o),
    generator: (resource, ns, name, o) => kube.getCustom(resource, ns, name, o),
  };
}
