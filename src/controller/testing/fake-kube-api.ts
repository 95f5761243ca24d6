// An in-memory Kubernetes API for controller tests: objects with uid/resourceVersion/generation, managedFields for
// Update operations, Events kept in a list, and a counter of requests so tests can assert API cost. Where it decides
// what the API server decides, it uses the API server's own code: its label-selector parser, its update and delete
// preconditions (src/apiserver/registry/preconditions.ts) and its error texts; every call honours its signal. The
// KubeApi contract (kube-api.contract.ts) runs over this fake and over ClientNodeKubeApi against a real API server.
import type { CoreV1Event, V1ManagedFieldsEntry, V1Namespace, V1Secret } from '@kubernetes/client-node';
import { randomUUID } from 'node:crypto';
import { alreadyExists, conflict, notFound } from '../../apiserver/api-status.js';
import { parseLabelSelector } from '../../apiserver/registry/label-selector.js';
import { deletePreconditionFailure, updateRefusal } from '../../apiserver/registry/preconditions.js';
import { AlreadyExistsError, ConflictError, InvalidError, NotFoundError, UnavailableError } from '../../lib/errors.js';
import { GENERATOR_RESOURCES, type CustomObject, type CustomResource, type KubeApi, type WriteOptions } from '../kube-api.js';
import { GROUP } from '../external-secrets/external-secret-types.js';

type Stored = { metadata: { name?: string; namespace?: string; uid?: string; resourceVersion?: string; generation?: number; labels?: Record<string, string>; managedFields?: V1ManagedFieldsEntry[] }; [k: string]: unknown };

function matches(selector: string | undefined, labels: Record<string, string> | undefined): boolean {
  try {
    return parseLabelSelector(selector).matches(labels);
  } catch (e) {
    throw new InvalidError(`unable to parse requirement: ${(e as Error).message}`);
  }
}

function groupOf(resource: string): string {
  if (resource === 'secrets' || resource === 'namespaces' || resource === 'configmaps' || resource === 'events') return '';
  return GENERATOR_RESOURCES.has(resource) ? 'generators.external-secrets.io' : GROUP;
}

/**
 * What client-node's fetch does with an aborted signal: the call fails before it is sent. (Tests may call the fake's
 * methods without options; the controller always passes them.)
 */
function checkSignal(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw new UnavailableError(`${what}: the operation was aborted`, { cause: signal.reason });
}

export class FakeKubeApi implements KubeApi {
  private rv = 1;
  readonly objects = new Map<string, Stored>();
  readonly events: CoreV1Event[] = [];
  readonly requests: string[] = [];
  /** Called after every write (tests use it as a watch). */
  onChange: ((resource: string, obj: Stored, deleted: boolean) => void) | undefined;

  private key(resource: string, ns: string | undefined, name: string): string {
    return `${resource}/${ns ?? ''}/${name}`;
  }

  private get<T>(resource: string, ns: string | undefined, name: string): T | undefined {
    const o = this.objects.get(this.key(resource, ns, name));
    return o ? (structuredClone(o) as T) : undefined;
  }

  private list<T>(resource: string, ns: string | undefined, selector?: string): T[] {
    const prefix = ns === undefined ? `${resource}/` : `${resource}/${ns}/`;
    return [...this.objects.entries()]
      .filter(([k, o]) => k.startsWith(prefix) && matches(selector, o.metadata.labels))
      .map(([, o]) => structuredClone(o) as T);
  }

  /** Creates or replaces without checks (test setup); bumps generation when anything but status changes. */
  put<T extends object>(resource: string, obj: T): T {
    const o = structuredClone(obj) as unknown as Stored;
    const k = this.key(resource, o.metadata.namespace, o.metadata.name!);
    const prev = this.objects.get(k);
    o.metadata.uid = prev?.metadata.uid ?? o.metadata.uid ?? randomUUID();
    o.metadata.resourceVersion = String(++this.rv);
    const { status: _s, metadata: _m, ...spec } = o;
    const prevSpec = prev ? (({ status: _ps, metadata: _pm, ...rest }) => rest)(prev) : undefined;
    o.metadata.generation = prev ? (JSON.stringify(prevSpec) === JSON.stringify(spec) ? prev.metadata.generation : (prev.metadata.generation ?? 1) + 1) : 1;
    this.objects.set(k, o);
    this.onChange?.(resource, structuredClone(o), false);
    return structuredClone(o) as unknown as T;
  }

  remove(resource: string, ns: string | undefined, name: string): void {
    const k = this.key(resource, ns, name);
    const o = this.objects.get(k);
    this.objects.delete(k);
    if (o) this.onChange?.(resource, o, true);
  }

  private write<T extends object>(resource: string, obj: T, opts: { create: boolean; fieldManager?: string; statusOnly?: boolean }): T {
    const o = obj as unknown as Stored;
    const k = this.key(resource, o.metadata.namespace, o.metadata.name!);
    const prev = this.objects.get(k);
    const gr = { group: groupOf(resource), resource };
    const name = o.metadata.name!;
    if (opts.create && prev) throw new AlreadyExistsError(alreadyExists(gr, name).message);
    if (!opts.create) {
      if (!prev) throw new NotFoundError(notFound(gr, name).message);
      const refusal = updateRefusal(o.metadata, prev.metadata);
      if (refusal) throw new ConflictError(conflict(gr, name, refusal.kind === 'conflict' ? undefined : `Precondition failed: ${refusal.detail}`).message);
    }
    let next: Stored = structuredClone(o);
    if (opts.statusOnly) next = { ...structuredClone(prev!), status: structuredClone(o.status) };
    if (resource === 'secrets' && opts.fieldManager) next.metadata.managedFields = this.managedFields(prev, next, opts.fieldManager);
    if (!opts.statusOnly) next.metadata.uid = prev?.metadata.uid ?? randomUUID();
    return this.put(resource, next) as unknown as T;
  }

  private managedFields(prev: Stored | undefined, next: Stored, manager: string): V1ManagedFieldsEntry[] {
    const before = (prev?.data ?? {}) as Record<string, string>;
    const after = (next.data ?? {}) as Record<string, string>;
    const entries = structuredClone(prev?.metadata.managedFields ?? []);
    const mine = entries.find((e) => e.manager === manager) ?? { manager, operation: 'Update', fieldsType: 'FieldsV1', fieldsV1: {} };
    const fields = ((mine.fieldsV1 as Record<string, Record<string, object>>)['f:data'] ??= {});
    for (const k of Object.keys(after)) {
      if (before[k] !== after[k]) {
        fields[`f:${k}`] = {};
        for (const other of entries) if (other !== mine) delete ((other.fieldsV1 as Record<string, Record<string, object>>)['f:data'] ?? {})[`f:${k}`];
      }
    }
    for (const k of Object.keys(fields)) if (!Object.hasOwn(after, k.slice(2))) delete fields[k];
    return [...entries.filter((e) => e !== mine), mine];
  }

  async getSecret(ns: string, name: string, opts?: { signal: AbortSignal }): Promise<V1Secret | undefined> {
    checkSignal(opts?.signal, `get secret ${ns}/${name}`);
    this.requests.push(`get secret ${ns}/${name}`);
    return this.get('secrets', ns, name);
  }
  async listSecrets(ns: string, opts?: { signal: AbortSignal; labelSelector?: string }): Promise<V1Secret[]> {
    checkSignal(opts?.signal, `list secrets in ${ns}`);
    this.requests.push(`list secrets ${ns}`);
    return this.list('secrets', ns, opts?.labelSelector);
  }
  async createSecret(secret: V1Secret, opts?: WriteOptions): Promise<V1Secret> {
    checkSignal(opts?.signal, `create secret ${secret.metadata?.namespace}/${secret.metadata?.name}`);
    this.requests.push(`create secret ${secret.metadata?.namespace}/${secret.metadata?.name}`);
    return this.write('secrets', secret, { create: true, ...(opts?.fieldManager ? { fieldManager: opts.fieldManager } : {}) });
  }
  async replaceSecret(secret: V1Secret, opts?: WriteOptions): Promise<V1Secret> {
    checkSignal(opts?.signal, `update secret ${secret.metadata?.namespace}/${secret.metadata?.name}`);
    this.requests.push(`update secret ${secret.metadata?.namespace}/${secret.metadata?.name}`);
    return this.write('secrets', secret, { create: false, ...(opts?.fieldManager ? { fieldManager: opts.fieldManager } : {}) });
  }
  async deleteSecret(ns: string, name: string, opts?: { signal: AbortSignal; uid?: string }): Promise<void> {
    checkSignal(opts?.signal, `delete secret ${ns}/${name}`);
    this.requests.push(`delete secret ${ns}/${name}`);
    const current = this.objects.get(this.key('secrets', ns, name));
    const failed = current && deletePreconditionFailure(opts?.uid ? { uid: opts.uid } : undefined, current.metadata);
    if (failed) throw new ConflictError(conflict({ group: '', resource: 'secrets' }, name, `Precondition failed: ${failed}`).message);
    this.remove('secrets', ns, name);
  }
  async getConfigMap(ns: string, name: string, opts?: { signal: AbortSignal }): Promise<{ data?: Record<string, string> } | undefined> {
    checkSignal(opts?.signal, `get configmap ${ns}/${name}`);
    return this.get('configmaps', ns, name);
  }
  async getNamespace(name: string, opts?: { signal: AbortSignal }): Promise<V1Namespace | undefined> {
    checkSignal(opts?.signal, `get namespace ${name}`);
    return this.get('namespaces', undefined, name);
  }
  async listNamespaces(opts?: { signal: AbortSignal; labelSelector?: string }): Promise<V1Namespace[]> {
    checkSignal(opts?.signal, 'list namespaces');
    return this.list('namespaces', undefined, opts?.labelSelector);
  }
  async getCustom<T extends CustomObject>(resource: CustomResource, ns: string | undefined, name: string, opts?: { signal: AbortSignal }): Promise<T | undefined> {
    checkSignal(opts?.signal, `get ${resource} ${ns ?? ''}/${name}`);
    return this.get(resource, ns, name);
  }
  async listCustom<T extends CustomObject>(resource: CustomResource, ns: string | undefined, opts?: { signal: AbortSignal }): Promise<T[]> {
    checkSignal(opts?.signal, `list ${resource}`);
    return this.list(resource, ns);
  }
  async createCustom<T extends CustomObject>(resource: CustomResource, obj: T, opts?: WriteOptions): Promise<T> {
    checkSignal(opts?.signal, `create ${resource} ${obj.metadata.name}`);
    this.requests.push(`create ${resource} ${obj.metadata.namespace ?? ''}/${obj.metadata.name}`);
    return this.write(resource, obj, { create: true });
  }
  async replaceCustom<T extends CustomObject>(resource: CustomResource, obj: T, opts?: WriteOptions): Promise<T> {
    checkSignal(opts?.signal, `update ${resource} ${obj.metadata.name}`);
    this.requests.push(`update ${resource} ${obj.metadata.namespace ?? ''}/${obj.metadata.name}`);
    return this.write(resource, obj, { create: false });
  }
  async replaceCustomStatus<T extends CustomObject>(resource: CustomResource, obj: T, opts?: WriteOptions): Promise<T> {
    checkSignal(opts?.signal, `update status of ${resource} ${obj.metadata.name}`);
    this.requests.push(`status ${resource} ${obj.metadata.namespace ?? ''}/${obj.metadata.name}`);
    return this.write(resource, obj, { create: false, statusOnly: true });
  }
  async deleteCustom(resource: CustomResource, ns: string | undefined, name: string, opts?: { signal: AbortSignal }): Promise<void> {
    checkSignal(opts?.signal, `delete ${resource} ${ns ?? ''}/${name}`);
    this.requests.push(`delete ${resource} ${ns ?? ''}/${name}`);
    this.remove(resource, ns, name);
  }
  async createEvent(event: CoreV1Event, opts?: { signal: AbortSignal }): Promise<void> {
    checkSignal(opts?.signal, 'create event');
    this.events.push(structuredClone(event));
  }
  async replaceEvent(event: CoreV1Event, opts?: { signal: AbortSignal }): Promise<void> {
    checkSignal(opts?.signal, `update event ${event.metadata.namespace}/${event.metadata.name}`);
    const i = this.events.findIndex((e) => e.metadata.name === event.metadata.name && e.metadata.namespace === event.metadata.namespace);
    if (i < 0) throw new NotFoundError(notFound({ group: '', resource: 'events' }, event.metadata.name ?? '').message);
    this.events[i] = structuredClone(event);
  }
  /** TokenRequest: a token naming the ServiceAccount (put one under `serviceaccounts` first), as the API server issues it. */
  async createServiceAccountToken(ns: string, name: string, opts?: { signal: AbortSignal; audiences?: string[]; expirationSeconds?: number }): Promise<{ token: string; expiresAt?: Date }> {
    checkSignal(opts?.signal, `create token for serviceaccount ${ns}/${name}`);
    if (!this.objects.has(this.key('serviceaccounts', ns, name))) throw new NotFoundError(notFound({ group: '', resource: 'serviceaccounts' }, name).message);
    this.requests.push(`create token ${ns}/${name}`);
    return { token: `fake-token:${ns}:${name}:${(opts?.audiences ?? []).join(',')}`, expiresAt: new Date(Date.now() + (opts?.expirationSeconds ?? 3600) * 1000) };
  }
}
