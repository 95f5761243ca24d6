// The Kubernetes operations the controller performs, as one small port: client-node behind it in production
// (client-node-kube-api.ts), an in-memory fake in tests (testing/fake-kube-api.ts); both run the contract in
// kube-api.contract.ts. Reads of missing objects return undefined; an update of a missing object throws NotFoundError;
// a write that loses a race (or fails a uid precondition) throws ConflictError, so the work queue retries with fresh
// state; a create of an existing object throws AlreadyExistsError. Every call stops when its signal aborts.
import type { CoreV1Event, V1Namespace, V1ObjectMeta, V1Secret } from '@kubernetes/client-node';

/** The custom resources the controller reads and writes, named by their plural. */
export type CustomResource = 'externalsecrets' | 'secretstores' | 'clustersecretstores' | 'clusterexternalsecrets' | GeneratorResource;
/** generators.external-secrets.io/v1alpha1 kinds Coffer runs. */
export type GeneratorResource = 'passwords' | 'uuids';
export const GENERATOR_RESOURCES: ReadonlySet<string> = new Set<GeneratorResource>(['passwords', 'uuids']);

export const CLUSTER_SCOPED: ReadonlySet<CustomResource> = new Set(['clustersecretstores', 'clusterexternalsecrets']);

export interface CustomObject {
  apiVersion?: string;
  kind?: string;
  metadata: V1ObjectMeta;
}

export interface WriteOptions {
  signal: AbortSignal;
  fieldManager?: string;
}

export interface KubeApi {
  getSecret(namespace: string, name: string, opts: { signal: AbortSignal }): Promise<V1Secret | undefined>;
  listSecrets(namespace: string, opts: { signal: AbortSignal; labelSelector?: string }): Promise<V1Secret[]>;
  createSecret(secret: V1Secret, opts: WriteOptions): Promise<V1Secret>;
  /** Full update; metadata.resourceVersion must be the one read (ConflictError otherwise). */
  replaceSecret(secret: V1Secret, opts: WriteOptions): Promise<V1Secret>;
  deleteSecret(namespace: string, name: string, opts: { signal: AbortSignal; uid?: string }): Promise<void>;
  getConfigMap(namespace: string, name: string, opts: { signal: AbortSignal }): Promise<{ data?: Record<string, string> } | undefined>;

  getNamespace(name: string, opts: { signal: AbortSignal }): Promise<V1Namespace | undefined>;
  listNamespaces(opts: { signal: AbortSignal; labelSelector?: string }): Promise<V1Namespace[]>;

  getCustom<T extends CustomObject>(resource: CustomResource, namespace: string | undefined, name: string, opts: { signal: AbortSignal }): Promise<T | undefined>;
  listCustom<T extends CustomObject>(resource: CustomResource, namespace: string | undefined, opts: { signal: AbortSignal }): Promise<T[]>;
  createCustom<T extends CustomObject>(resource: CustomResource, obj: T, opts: WriteOptions): Promise<T>;
  replaceCustom<T extends CustomObject>(resource: CustomResource, obj: T, opts: WriteOptions): Promise<T>;
  /** Writes only .status through the status subresource (resourceVersion checked). */
  replaceCustomStatus<T extends CustomObject>(resource: CustomResource, obj: T, opts: WriteOptions): Promise<T>;
  deleteCustom(resource: CustomResource, namespace: string | undefined, name: string, opts: { signal: AbortSignal }): Promise<void>;

  createEvent(event: CoreV1Event, opts: { signal: AbortSignal }): Promise<void>;
  /** Unconditional full update of an Event (a repeat's count and lastTimestamp); throws when it does not exist. */
  replaceEvent(event: CoreV1Event, opts: { signal: AbortSignal }): Promise<void>;
  /** TokenRequest for a ServiceAccount (kubernetes provider auth.serviceAccount): the token and when it expires. */
  createServiceAccountToken(namespace: string, name: string, opts: { signal: AbortSignal; audiences?: string[]; expirationSeconds?: number }): Promise<{ token: string; expiresAt?: Date }>;
}
