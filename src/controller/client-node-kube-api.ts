// The KubeApi port over @kubernetes/client-node 1.x: CoreV1Api for Secrets, Namespaces, Events and TokenRequest,
// CustomObjectsApi for external-secrets.io objects (status through the status subresource). HTTP 404 becomes
// undefined on reads and NotFoundError on writes, 409 becomes ConflictError (AlreadyExistsError on a create), so
// reconcilers never see client-node's exception types. client-node 1.x takes an AbortSignal only through a request
// middleware (RequestContext.setSignal, which its fetch passes on), so every call carries one that way.
import { CoreV1Api, CustomObjectsApi, type CoreV1Event, type KubeConfig, Observable, type ConfigurationOptions, type ObservableMiddleware, type V1Namespace, type V1Secret } from '@kubernetes/client-node';
import type { KubeConnectionPool } from './kube-connection-pool.js';
import { AlreadyExistsError, ConflictError, CofferError, NotFoundError, UnavailableError } from '../lib/errors.js';
import { GROUP, VERSION } from './external-secrets/external-secret-types.js';
import { CLUSTER_SCOPED, GENERATOR_RESOURCES, type CustomObject, type CustomResource, type KubeApi, type WriteOptions } from './kube-api.js';

function code(e: unknown): number | undefined {
  return (e as { code?: number }).code;
}

/** Per-call options that make client-node's fetch stop when `signal` aborts (the object API takes observable middleware). */
function signalled(signal: AbortSignal): ConfigurationOptions {
  const setSignal: ObservableMiddleware = {
    pre: (ctx) => {
      ctx.setSignal(signal);
      return new Observable(Promise.resolve(ctx));
    },
    post: (res) => new Observable(Promise.resolve(res)),
  };
  return { middleware: [setSignal], middlewareMergeStrategy: 'append' };
}

function translate(e: unknown, what: string): Error {
  if ((e as Error).name === 'AbortError') return new UnavailableError(`${what}: the operation was aborted`, { cause: e });
  const c = code(e);
  const body = (e as { body?: unknown }).body;
  let detail = e instanceof Error ? e.message : String(e);
  if (typeof body === 'string') {
    try {
      detail = (JSON.parse(body) as { message?: string }).message ?? detail;
    } catch {
      // keep client-node's message
    }
  }
  if (c === 409) return /already exists/.test(detail) ? new AlreadyExistsError(`${what}: ${detail}`, { cause: e }) : new ConflictError(`${what}: ${detail}`, { cause: e });
  if (c === 404) return new NotFoundError(`${what}: ${detail}`, { cause: e });
  return new CofferError(`${what}: ${c ? `HTTP ${c}: ` : ''}${detail}`, { cause: e });
}

async function orUndefined<T>(p: Promise<T>, what: string): Promise<T | undefined> {
  try {
    return await p;
  } catch (e) {
    if (code(e) === 404) return undefined;
    throw translate(e, what);
  }
}

async function orThrow<T>(p: Promise<T>, what: string): Promise<T> {
  try {
    return await p;
  } catch (e) {
    throw translate(e, what);
  }
}

export class ClientNodeKubeApi implements KubeApi {
  private readonly core: CoreV1Api;
  private readonly custom: CustomObjectsApi;

  /** connections: send requests over this keep-alive pool (one TLS handshake per connection, not per request). */
  constructor(kc: KubeConfig, opts: { connections?: KubeConnectionPool } = {}) {
    this.core = opts.connections ? opts.connections.makeApiClient(CoreV1Api) : kc.makeApiClient(CoreV1Api);
    this.custom = opts.connections ? opts.connections.makeApiClient(CustomObjectsApi) : kc.makeApiClient(CustomObjectsApi);
  }


  getSecret(namespace: string, name: string, opts: { signal: AbortSignal }): Promise<V1Secret | undefined> {
    return orUndefined(this.core.readNamespacedSecret({ namespace, name }, signalled(opts.signal)), `get secret ${namespace}/${name}`);
  }
  async listSecrets(namespace: string, opts: { signal: AbortSignal; labelSelector?: string }): Promise<V1Secret[]> {
    const param = { namespace, ...(opts.labelSelector ? { labelSelector: opts.labelSelector } : {}) };
    return (await orThrow(this.core.listNamespacedSecret(param, signalled(opts.signal)), `list secrets in ${namespace}`)).items;
  }
  createSecret(secret: V1Secret, opts: WriteOptions): Promise<V1Secret> {
    const namespace = secret.metadata!.namespace!;
    const param = { namespace, body: secret, ...(opts.fieldManager ? { fieldManager: opts.fieldManager } : {}) };
    return orThrow(this.core.createNamespacedSecret(param, signalled(opts.signal)), `create secret ${namespace}/${secret.metadata!.name}`);
  }
  replaceSecret(secret: V1Secret, opts: WriteOptions): Promise<V1Secret> {
    const namespace = secret.metadata!.namespace!;
    const name = secret.metadata!.name!;
    const param = { namespace, name, body: secret, ...(opts.fieldManager ? { fieldManager: opts.fieldManager } : {}) };
    return orThrow(this.core.replaceNamespacedSecret(param, signalled(opts.signal)), `update secret ${namespace}/${name}`);
  }
  async deleteSecret(namespace: string, name: string, opts: { signal: AbortSignal; uid?: string }): Promise<void> {
    const param = { namespace, name, ...(opts.uid ? { body: { preconditions: { uid: opts.uid } } } : {}) };
    await orUndefined(this.core.deleteNamespacedSecret(param, signalled(opts.signal)), `delete secret ${namespace}/${name}`);
  }
  getConfigMap(namespace: string, name: string, opts: { signal: AbortSignal }): Promise<{ data?: Record<string, string> } | undefined> {
    return orUndefined(this.core.readNamespacedConfigMap({ namespace, name }, signalled(opts.signal)), `get configmap ${namespace}/${name}`);
  }
  getNamespace(name: string, opts: { signal: AbortSignal }): Promise<V1Namespace | undefined> {
    return orUndefined(this.core.readNamespace({ name }, signalled(opts.signal)), `get namespace ${name}`);
  }
  async listNamespaces(opts: { signal: AbortSignal; labelSelector?: string }): Promise<V1Namespace[]> {
    return (await orThrow(this.core.listNamespace(opts.labelSelector ? { labelSelector: opts.labelSelector } : {}, signalled(opts.signal)), 'list namespaces')).items;
  }

  private where(resource: CustomResource, namespace: string | undefined): { base: { group: string; version: string; plural: string }; ns: string | undefined } {
    const [group, version] = GENERATOR_RESOURCES.has(resource) ? ['generators.external-secrets.io', 'v1alpha1'] : [GROUP, VERSION];
    return { base: { group, version, plural: resource }, ns: CLUSTER_SCOPED.has(resource) ? undefined : namespace };
  }

  async getCustom<T extends CustomObject>(resource: CustomResource, namespace: string | undefined, name: string, opts: { signal: AbortSignal }): Promise<T | undefined> {
    const { base: w, ns } = this.where(resource, namespace);
    const o = signalled(opts.signal);
    const p = ns !== undefined ? this.custom.getNamespacedCustomObject({ ...w, namespace: ns, name }, o) : this.custom.getClusterCustomObject({ ...w, name }, o);
    return (await orUndefined(p as Promise<T>, `get ${resource} ${namespace ?? ''}/${name}`)) ?? undefined;
  }
  async listCustom<T extends CustomObject>(resource: CustomResource, namespace: string | undefined, opts: { signal: AbortSignal }): Promise<T[]> {
    const { base: w, ns } = this.where(resource, namespace);
    const o = signalled(opts.signal);
    const p = ns !== undefined ? this.custom.listNamespacedCustomObject({ ...w, namespace: ns }, o) : this.custom.listClusterCustomObject(w, o);
    return (await orThrow(p as Promise<{ items: T[] }>, `list ${resource}`)).items ?? [];
  }
  createCustom<T extends CustomObject>(resource: CustomResource, obj: T, opts: WriteOptions): Promise<T> {
    const { base: w, ns } = this.where(resource, obj.metadata.namespace);
    const extra = opts.fieldManager ? { fieldManager: opts.fieldManager } : {};
    const o = signalled(opts.signal);
    const p = ns !== undefined ? this.custom.createNamespacedCustomObject({ ...w, namespace: ns, body: obj, ...extra }, o) : this.custom.createClusterCustomObject({ ...w, body: obj, ...extra }, o);
    return orThrow(p as Promise<T>, `create ${resource} ${obj.metadata.name}`);
  }
  replaceCustom<T extends CustomObject>(resource: CustomResource, obj: T, opts: WriteOptions): Promise<T> {
    const { base: w, ns } = this.where(resource, obj.metadata.namespace);
    const name = obj.metadata.name!;
    const extra = opts.fieldManager ? { fieldManager: opts.fieldManager } : {};
    const o = signalled(opts.signal);
    const p = ns !== undefined ? this.custom.replaceNamespacedCustomObject({ ...w, namespace: ns, name, body: obj, ...extra }, o) : this.custom.replaceClusterCustomObject({ ...w, name, body: obj, ...extra }, o);
    return orThrow(p as Promise<T>, `update ${resource} ${obj.metadata.name}`);
  }
  replaceCustomStatus<T extends CustomObject>(resource: CustomResource, obj: T, opts: WriteOptions): Promise<T> {
    const { base: w, ns } = this.where(resource, obj.metadata.namespace);
    const name = obj.metadata.name!;
    const o = signalled(opts.signal);
    const p = ns !== undefined ? this.custom.replaceNamespacedCustomObjectStatus({ ...w, namespace: ns, name, body: obj }, o) : this.custom.replaceClusterCustomObjectStatus({ ...w, name, body: obj }, o);
    return orThrow(p as Promise<T>, `update status of ${resource} ${obj.metadata.namespace ?? ''}/${name}`);
  }
  async deleteCustom(resource: CustomResource, namespace: string | undefined, name: string, opts: { signal: AbortSignal }): Promise<void> {
    const { base: w, ns } = this.where(resource, namespace);
    const o = signalled(opts.signal);
    const p = ns !== undefined ? this.custom.deleteNamespacedCustomObject({ ...w, namespace: ns, name }, o) : this.custom.deleteClusterCustomObject({ ...w, name }, o);
    await orUndefined(p as Promise<unknown>, `delete ${resource} ${namespace ?? ''}/${name}`);
  }
  async createEvent(event: CoreV1Event, opts: { signal: AbortSignal }): Promise<void> {
    await orThrow(this.core.createNamespacedEvent({ namespace: event.metadata.namespace!, body: event }, signalled(opts.signal)), 'create event');
  }
  async replaceEvent(event: CoreV1Event, opts: { signal: AbortSignal }): Promise<void> {
    const { name, namespace } = event.metadata;
    await orThrow(this.core.replaceNamespacedEvent({ name: name!, namespace: namespace!, body: event }, signalled(opts.signal)), `update event ${namespace}/${name}`);
  }
  async createServiceAccountToken(namespace: string, name: string, opts: { signal: AbortSignal; audiences?: string[]; expirationSeconds?: number }): Promise<{ token: string; expiresAt?: Date }> {
    const body = { spec: { audiences: opts.audiences ?? [], ...(opts.expirationSeconds ? { expirationSeconds: opts.expirationSeconds } : {}) } };
    const r = await orThrow(this.core.createNamespacedServiceAccountToken({ namespace, name, body }, signalled(opts.signal)), `create token for serviceaccount ${namespace}/${name}`);
    const expiresAt = r.status?.expirationTimestamp ? new Date(r.status.expirationTimestamp) : undefined;
    return { token: r.status?.token ?? '', ...(expiresAt && !Number.isNaN(expiresAt.getTime()) ? { expiresAt } : {}) };
  }
}
