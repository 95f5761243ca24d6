// Where reconcilers read the objects they look at: informer caches in production (no API request per reconcile),
// the API itself in tests and one-off tools. Secrets are cached only when they carry the managed label (as ESO's
// --enable-managed-secrets-caching), so managedSecret() answers for those alone and the reconciler reads other
// targets (Merge onto an unlabelled Secret, adoption) from the API.
import type { V1Namespace, V1Secret } from '@kubernetes/client-node';
import type { CustomObject, GeneratorResource, KubeApi } from '../kube-api.js';
import { LABEL_CREATED_BY, LABEL_MANAGED, type ClusterExternalSecret, type ExternalSecret, type SecretStore } from './external-secret-types.js';

export interface ObjectReader {
  externalSecret(namespace: string, name: string, opts: { signal: AbortSignal }): Promise<ExternalSecret | undefined>;
  secretStore(namespace: string, name: string, opts: { signal: AbortSignal }): Promise<SecretStore | undefined>;
  clusterSecretStore(name: string, opts: { signal: AbortSignal }): Promise<SecretStore | undefined>;
  clusterExternalSecret(name: string, opts: { signal: AbortSignal }): Promise<ClusterExternalSecret | undefined>;
  namespace(name: string, opts: { signal: AbortSignal }): Promise<V1Namespace | undefined>;
  namespaces(opts: { signal: AbortSignal }): Promise<V1Namespace[]>;
  externalSecrets(namespace: string | undefined, opts: { signal: AbortSignal }): Promise<ExternalSecret[]>;
  /** The Secret when it carries the managed label; undefined when it is absent or unlabelled. */
  managedSecret(namespace: string, name: string, opts: { signal: AbortSignal }): Promise<V1Secret | undefined>;
  /** Managed Secrets whose created-by label is `createdBy` (the Secrets an ExternalSecret created). */
  createdSecrets(namespace: string, createdBy: string, opts: { signal: AbortSignal }): Promise<V1Secret[]>;
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
    managedSecret: async (ns, name, o) => {
      const s = await kube.getSecret(ns, name, o);
      return s?.metadata?.labels?.[LABEL_MANAGED] === 'true' ? s : undefined;
    },
    createdSecrets: (ns, createdBy, o) => kube.listSecrets(ns, { ...o, labelSelector: `${LABEL_MANAGED}=true,${LABEL_CREATED_BY}=${createdBy}` }),
    generator: (resource, ns, name, o) => kube.getCustom(resource, ns, name, o),
  };
}
