// An in-memory Kubernetes API for controller tests: objects with uid/resourceVersion/generation, optimistic
// concurrency (ConflictError on a stale resourceVersion), label selectors of the `k=v,k2=v2` form, managedFields for
// Update operations, Events kept in a list, and a counter of requests so tests can assert API cost.
import type { CoreV1Event, V1ManagedFieldsEntry, V1Namespace, V1Secret } from '@kubernetes/client-node';
import { randomUUID } from 'node:crypto';
import { AlreadyExistsError, ConflictError, NotFoundError } from '../../lib/errors.js';
import type { CustomObject, CustomResource, KubeApi, WriteOptions } from '../kube-api.js';

type Stored = { metadata: { name?: string; namespace?: string; uid?: string; resourceVersion?: string; generation?: number; labels?: Record<string, string>; managedFields?: V1ManagedFieldsEntry[] }; [k: string]: unknown };

function matches(selector: string | undefined, labels: Record<string, string> | undefined): boolean {
  if (!selector) return true;
  return selector.split(',').every((term) => {
    const [k, v] = term.split('=');
    return (labels ?? {})[k!] === v;
  });
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
    if (opts.create && prev) throw new AlreadyExistsError(`${resource} "${o.metadata.name}" already exists`);
    if (!opts.create) {
      if (!prev) throw new NotFoundError(`${resource} "${o.metadata.name}" not found`);
      if (o.metadata.resourceVersion && o.metadata.resourceVersion !== prev.metadata.resourceVersion) {
        throw new ConflictError(`Operation cannot be fulfilled on ${resource} "${o.metadata.name}": the object has been modified`);
      }
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

  async getSecret(ns: string, name: string): Promise<V1Secret | undefined> {
    this.requests.push(`get secret ${ns}/${name}`);
    return this.get('secrets', ns, name);
  }
  async listSecrets(ns: string, opts: { labelSelector?: string }): Promise<V1Secret[]> {
    this.requests.push(`list secrets ${ns}`);
    return this.list('secrets', ns, opts.labelSelector);
  }
  async createSecret(secret: V1Secret, opts: WriteOptions): Promise<V1Secret> {
    this.requests.push(`create secret ${secret.metadata?.namespace}/${secret.metadata?.name}`);
    return this.write('secrets', secret, { create: true, ...(opts.fieldManager ? { fieldManager: opts.fieldManager } : {}) });
  }
  async replaceSecret(secret: V1Secret, opts: WriteOptions): Promise<V1Secret> {
    this.requests.push(`update secret ${secret.metadata?.namespace}/${secret.metadata?.name}`);
    return this.write('secrets', secret, { create: false, ...(opts.fieldManager ? { fieldManager: opts.fieldManager } : {}) });
  }
  async deleteSecret(ns: string, name: string): Promise<void> {
    this.requests.push(`delete secret ${ns}/${name}`);
    this.remove('secrets', ns, name);
  }
  async getConfigMap(ns: string, name: string): Promise<{ data?: Record<string, string> } | undefined> {
    return this.get('configmaps', ns, name);
  }
  async getNamespace(name: string): Promise<V1Namespace | undefined> {
    return this.get('namespaces', undefined, name);
  }
  async listNamespaces(opts: { labelSelector?: string }): Promise<V1Namespace[]> {
    return this.list('namespaces', undefined, opts.labelSelector);
  }
  async getCustom<T extends CustomObject>(resource: CustomResource, ns: string | undefined, name: string): Promise<T | undefined> {
    return this.get(resource, ns, name);
  }
  async listCustom<T extends CustomObject>(resource: CustomResource, ns: string | undefined): Promise<T[]> {
    return this.list(resource, ns);
  }
  async createCustom<T extends CustomObject>(resource: CustomResource, obj: T): Promise<T> {
    this.requests.push(`create ${resource} ${obj.metadata.namespace ?? ''}/${obj.metadata.name}`);
    return this.write(resource, obj, { create: true });
  }
  async replaceCustom<T extends CustomObject>(resource: CustomResource, obj: T): Promise<T> {
    this.requests.push(`update ${resource} ${obj.metadata.namespace ?? ''}/${obj.metadata.name}`);
    return this.write(resource, obj, { create: false });
  }
  async replaceCustomStatus<T extends CustomObject>(resource: CustomResource, obj: T): Promise<T> {
    this.requests.push(`status ${resource} ${obj.metadata.namespace ?? ''}/${obj.metadata.name}`);
    return this.write(resource, obj, { create: false, statusOnly: true });
  }
  async deleteCustom(resource: CustomResource, ns: string | undefined, name: string): Promise<void> {
    this.requests.push(`delete ${resource} ${ns ?? ''}/${name}`);
    this.remove(resource, ns, name);
  }
  async createEvent(event: CoreV1Event): Promise<void> {
    this.events.push(structuredClone(event));
  }
  async replaceEvent(event: CoreV1Event): Promise<void> {
    const i = this.events.findIndex((e) => e.metadata.name === event.metadata.name && e.metadata.namespace === event.metadata.namespace);
    if (i < 0) throw new NotFoundError(`events "${event.metadata.name}" not found`);
    this.events[i] = structuredClone(event);
  }
}
