// Long: kube-apiserver's registry Store (create, get, list, update, delete, watch) for one resource; storage lives in src/storage.
// kube-apiserver's generic registry Store for one resource (apiserver pkg/registry/generic/registry/store.go): the
// Kubernetes REST semantics (server-owned metadata, the strategy's defaults and validation, admission, preconditions,
// deletion with finalizers, selectors, paging and watch) over the object storage (src/storage/object-storage.ts),
// which owns the codec, the transformers and the compare-and-swap retry, as pkg/storage/etcd3/store.go does upstream.
// LIST and WATCH live in list-watch.ts. Over 400 lines because create, update and delete each carry kube's metadata
// rules, and they read best side by side, as in upstream's store.go.
import { deletePreconditionFailure, updateRefusal } from './preconditions.js';
import { randomInt, randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { SYSTEM_CLOCK, type Clock } from '../../lib/clock.js';
import type { StorageMediaType } from '../../objects/object-codec.js';
import {
  unixSecondsToRfc3339,
  withResourceVersion,
  type KubeObject,
  type ManagedFieldsEntry,
  type ObjectMeta,
} from '../../objects/object-meta.js';
import {
  DELETE_OBJECT,
  KEEP_OBJECT,
  ObjectStorage,
  StorageError,
  type TransformerSource,
  type TryUpdate,
  type UpdateState,
} from '../../storage/object-storage.js';
import type { Store } from '../../storage/store.js';
import type { TransformationMetrics } from '../../storage/transformation-metrics.js';
import { ApiStatusError, alreadyExists, badRequest, conflict, forbidden, invalid, notFound, type FieldError } from '../api-status.js';
import type { ResourceInfo } from '../resource-info.js';
import { apiVersionOf } from '../resource-info.js';
import type {
  ApiWatchEvent,
  DeleteOptions,
  KubeList,
  ListOptions,
  ResourceStore,
  WatchOptions,
  WriteOptions,
} from '../resource-store.js';
import { invalidValue } from './field-errors.js';
import { sameIgnoringTimes, updatedManagedFields } from '../patch/managed-fields.js';
import { ListWatch } from './list-watch.js';
import { validatePathSegmentName } from '../../lib/go/name-validation.js';
import { parseResourceVersion } from './resource-version.js';
import { storageStatus } from './storage-status.js';
import { StorageKeys } from './storage-keys.js';
import type { Strategy, Subresource } from './strategy.js';

/** kube's admission chain as far as these resources need it (NamespaceLifecycle). Throws ApiStatusError to refuse. */
export type Admission = (operation: 'create' | 'update', obj: KubeObject, info: ResourceInfo, signal?: AbortSignal) => Promise<void>;

/**
 * Deletion that goes through a "Terminating" phase first (namespaces: k8s.io/kubernetes
 * pkg/registry/core/namespace/storage/storage.go).
 */
export interface GracefulDeletion {
  /** Names that can never be deleted (403). */
  immortal: readonly string[];
  /** True while something other than metadata.finalizers still has to run before the object may go. */
  pending(obj: KubeObject): boolean;
  /** Marks the object as being deleted (besides deletionTimestamp). */
  mark(obj: KubeObject): KubeObject;
}

export interface GenericStoreOptions {
  store: Store;
  transformers: TransformerSource;
  info: ResourceInfo;
  strategy: Strategy;
  clock?: Clock;
  metrics?: TransformationMetrics;
  admit?: Admission;
  graceful?: GracefulDeletion;
  /** Called (synchronously, must not throw) after an object got its deletionTimestamp, or on a repeated DELETE. */
  onMarkedForDeletion?: (obj: KubeObject) => void;
  /**
   * Called (synchronously, must not throw) with the store revision a write answered (not for dry runs), before the
   * caller hears of it.
   */
  onWritten?: (revision: number) => void;
  /** How often a watch that allows bookmarks sends one (kube: about a minute). */
  bookmarkIntervalMs?: number;
  /** The storage media type: protobuf (kube's default for built-in kinds) or JSON (how kube stores custom resources). */
  mediaType?: StorageMediaType;
  /**
   * When the served version is not the stored one (custom resources served in several versions, events.k8s.io
   * events): `toStorage` turns a request object into the stored version, `fromStorage` a stored one into the served
   * version (kube's conversion, and for custom resources pruning and defaulting on read). Both may modify in place.
   */
  conversion?: { toStorage(obj: KubeObject): KubeObject; fromStorage(obj: KubeObject): KubeObject };
}

/** WriteOptions plus what only in-process callers use. */
export interface RegistryWriteOptions extends WriteOptions {
  /**
   * Namespace /status and /finalize: other fields are reset from the stored object instead (k8s.io/kubernetes
   * pkg/registry/core/namespace/strategy.go).
   */
  subresource?: Subresource;
}

const GENERATE_NAME_CHARS = 'bcdfghjklmnpqrstvwxz2456789';
const GENERATE_NAME_ATTEMPTS = 8;
const MAX_GENERATE_NAME_PREFIX = 58;

/** What a try-update function threw: it leaves the storage layer as it is, unlike the storage's own failures. */
class Refusal extends Error {
  constructor(readonly reason: unknown) {
    super('refused');
  }
}

function refusing(fn: TryUpdate): TryUpdate {
  return async (current, state) => {
    try {
      return await fn(current, state);
    } catch (err) {
      throw new Refusal(err);
    }
  };
}

export class GenericStore implements ResourceStore {
  readonly info: ResourceInfo;
  readonly keys: StorageKeys;
  private readonly storage: ObjectStorage;
  private readonly listWatch: ListWatch;
  private readonly strategy: Strategy;
  private readonly clock: Clock;
  private readonly gr: { group: string; resource: string };

  constructor(private readonly opts: GenericStoreOptions) {
    this.info = opts.info;
    this.keys = new StorageKeys(opts.info);
    this.strategy = opts.strategy;
    this.clock = opts.clock ?? SYSTEM_CLOCK;
    this.gr = { group: opts.info.group, resource: opts.info.plural };
    this.storage = new ObjectStorage({
      store: opts.store,
      transformers: opts.transformers,
      resource: this.gr,
      ...(opts.mediaType ? { mediaType: opts.mediaType } : {}),
      ...(opts.conversion ? { conversion: opts.conversion } : {}),
      ...(opts.metrics ? { metrics: opts.metrics } : {}),
    });
    this.listWatch = new ListWatch({ ...opts, storage: this.storage, keys: this.keys, clock: this.clock });
  }

  // ---- create ----

  async create(namespace: string | undefined, input: KubeObject, opts: RegistryWriteOptions = {}): Promise<KubeObject> {
    let obj = this.accept(input, opts.handedOver);
    const meta = obj.metadata!;
    const rvSent = meta.resourceVersion;
    // Server-owned fields a client may not set (kube wipes them rather than refusing).
    for (const f of ['creationTimestamp', 'uid', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'selfLink', 'resourceVersion'] as const) {
      delete meta[f];
    }
    this.checkNamespace(namespace, meta);
    obj = this.strategy.applyDefaults(obj);
    if (!opts.managedFieldsSet) obj.metadata = withManagedFields(obj.metadata!, this.managedFields(undefined, obj, opts));
    obj.metadata!.uid = randomUUID();
    obj.metadata!.creationTimestamp = this.now();
    const generated = !obj.metadata!.name && !!obj.metadata!.generateName;
    if (generated) obj.metadata!.name = this.generateName(obj.metadata!.generateName!);
    obj = this.strategy.prepareForCreate(obj);
    this.validate(obj, this.strategy.validate(obj));
    await this.opts.admit?.('create', obj, this.info, opts.signal);
    // kube's storage refuses this with a plain (non-Status) error, after everything else passed.
    if (rvSent) throw new ApiStatusError(500, '', 'resourceVersion should not be set on objects to be created');

    for (let attempt = 1; ; attempt++) {
      const name = obj.metadata!.name!;
      const key = this.keys.key(obj.metadata!.namespace, name);
      try {
        return this.written(await this.storage.create(key, obj, { dryRun: opts.dryRun, signal: opts.signal }), opts);
      } catch (err) {
        if (!(err instanceof StorageError && err.code === 'KeyExists')) throw storageStatus(err, this.info, name);
        if (!generated || opts.dryRun) throw await this.alreadyExistsError(key, name);
        if (attempt >= GENERATE_NAME_ATTEMPTS) {
          throw new ApiStatusError(
            409,
            'AlreadyExists',
            `${this.grText()} "${name}" already exists, the server was not able to generate a unique name for the object`,
            { name, ...(this.gr.group ? { group: this.gr.group } : {}), kind: this.gr.resource, retryAfterSeconds: 1 },
          );
        }
        obj.metadata!.name = this.generateName(obj.metadata!.generateName!);
        obj = this.strategy.prepareForCreate(obj);
      }
    }
  }

  // ---- read ----

  async get(namespace: string | undefined, name: string, opts: { resourceVersion?: string; signal?: AbortSignal } = {}): Promise<KubeObject> {
    const rv = parseResourceVersion(opts.resourceVersion);
    if (rv > 0) await this.listWatch.requireRevision(rv, opts.signal);
    const obj = await this.storageOp(name, () => this.storage.get(this.keys.key(namespace, name), { signal: opts.signal }));
    if (!obj) throw notFound(this.gr, name);
    return obj;
  }

  async getJson(namespace: string | undefined, name: string): Promise<Buffer> {
    const body = await this.storageOp(name, () => this.storage.getJson(this.keys.key(namespace, name)));
    if (!body) throw notFound(this.gr, name);
    return body;
  }

  list(namespace: string | undefined, opts: ListOptions = {}): Promise<KubeList> {
    return this.listWatch.list(namespace, opts);
  }

  watch(namespace: string | undefined, opts: WatchOptions): AsyncIterable<ApiWatchEvent> {
    return this.listWatch.watch(namespace, opts);
  }

  // ---- update ----

  async update(namespace: string | undefined, name: string, input: KubeObject, opts: RegistryWriteOptions = {}): Promise<KubeObject> {
    const body = this.accept(input);
    return this.updateLoop(namespace, name, () => structuredClone(body), opts);
  }

  async guaranteedUpdate(
    namespace: string | undefined,
    name: string,
    mutate: (current: KubeObject) => KubeObject | Promise<KubeObject>,
    opts: RegistryWriteOptions = {},
  ): Promise<KubeObject> {
    return this.updateLoop(namespace, name, async (current) => this.accept(await mutate(current)), opts);
  }

  private updateLoop(
    namespace: string | undefined,
    name: string,
    next: (current: KubeObject) => KubeObject | Promise<KubeObject>,
    opts: RegistryWriteOptions,
  ): Promise<KubeObject> {
    const key = this.keys.key(namespace, name);
    // A lost compare-and-swap reads again and redoes the whole update on the new state (kube's GuaranteedUpdate).
    const tryUpdate = refusing(async (current, state) =>
      this.prepareUpdate(key, name, namespace, current, state, await next(structuredClone(current)), opts),
    );
    return this.storageOp(name, async () => this.written(await this.storage.guaranteedUpdate(key, tryUpdate, opts), opts));
  }

  /** The object an update stores, from the proposed one and the current one (BeforeUpdate in rest/update.go). */
  private async prepareUpdate(
    key: string,
    name: string,
    namespace: string | undefined,
    current: KubeObject,
    state: UpdateState,
    proposed: KubeObject,
    opts: RegistryWriteOptions,
  ): Promise<KubeObject | typeof DELETE_OBJECT> {
    let obj = proposed;
    const meta = obj.metadata!;
    if ((meta.name ?? '') !== name) throw badRequest(`the name of the object (${meta.name ?? ''}) does not match the name on the URL (${name})`);
    this.checkNamespace(namespace, meta);
    const old = current.metadata ?? {};
    const refusal = updateRefusal(meta, { uid: old.uid, resourceVersion: String(state.revision) });
    if (refusal) throw refusal.kind === 'conflict' ? conflict(this.gr, name) : this.preconditionFailed(name, key, refusal.detail);
    meta.uid = old.uid;
    if (old.creationTimestamp) meta.creationTimestamp = old.creationTimestamp;
    if (old.deletionTimestamp) meta.deletionTimestamp = old.deletionTimestamp;
    if (old.deletionGracePeriodSeconds !== undefined && meta.deletionGracePeriodSeconds === undefined) {
      meta.deletionGracePeriodSeconds = old.deletionGracePeriodSeconds;
    }
    if (old.generation !== undefined) meta.generation = old.generation;
    else delete meta.generation;
    delete meta.resourceVersion;
    delete meta.selfLink;

    obj = this.strategy.applyDefaults(obj, current);
    if (!opts.managedFieldsSet) obj.metadata = withManagedFields(obj.metadata!, this.managedFields(current, obj, opts));
    obj = this.strategy.prepareForUpdate(obj, current, opts.subresource);
    this.validate(obj, this.strategy.validateUpdate(obj, current, opts.subresource));
    await this.opts.admit?.('update', obj, this.info, opts.signal);

    const managed = obj.metadata?.managedFields;
    if (!isDeepStrictEqual(managed, old.managedFields) && sameIgnoringTimes(managed, old.managedFields)) {
      // Only managedFields times moved: upstream then keeps the old times, so an otherwise unchanged object is not
      // written (fieldmanager's IgnoreManagedFieldsTimestampsTransformer).
      const restored = { ...obj, metadata: withManagedFields(obj.metadata!, old.managedFields) };
      if (state.unchanged(restored)) obj = restored;
    }
    // The last finalizer of an object being deleted is gone: the update deletes it (ShouldDeleteDuringUpdate,
    // k8s.io/apiserver pkg/registry/generic/registry/store.go). A dry run answers the object it would have stored.
    const deleting = !this.opts.graceful && obj.metadata?.deletionTimestamp && (obj.metadata.finalizers ?? []).length === 0;
    return deleting && !opts.dryRun ? DELETE_OBJECT : obj;
  }

  // ---- delete ----

  async delete(namespace: string | undefined, name: string, opts: DeleteOptions = {}): Promise<{ object: KubeObject; deleted: boolean }> {
    const key = this.keys.key(namespace, name);
    const graceful = this.opts.graceful;
    if (graceful?.immortal.includes(name)) throw forbidden(this.gr, name, 'this namespace may not be deleted');
    // What the last attempt decided: remove the object, leave it as it is (already being deleted), or mark it.
    let outcome: 'deleted' | 'kept' | 'marked' = 'deleted';
    const decide = refusing((current) => {
      const meta = current.metadata ?? {};
      const failed = deletePreconditionFailure(opts.preconditions, meta);
      if (failed) throw this.preconditionFailed(name, key, failed);
      // The propagation policy becomes the `orphan` / `foregroundDeletion` finalizer the garbage collector acts on
      // (deletionFinalizersForGarbageCollection in store.go); Background removes the object now, the collector deleting
      // its dependents afterwards.
      const gc = deletionFinalizers(meta.finalizers ?? [], opts.propagationPolicy);
      const finalizers = gc ?? meta.finalizers ?? [];
      if (finalizers.length === 0 && !(graceful?.pending(current) ?? false)) {
        outcome = 'deleted';
        return Promise.resolve(DELETE_OBJECT);
      }
      if (meta.deletionTimestamp && gc === undefined) {
        outcome = 'kept';
        return Promise.resolve(KEEP_OBJECT);
      }
      outcome = 'marked';
      let marked: KubeObject = withResourceVersion(structuredClone(current), undefined);
      if (!meta.deletionTimestamp) {
        marked.metadata!.deletionTimestamp = this.now();
        // kube's markAsDeleting: objects that count generations count this one too.
        if ((meta.generation ?? 0) > 0) marked.metadata!.generation = meta.generation! + 1;
        if (graceful) marked = graceful.mark(marked);
        else marked.metadata!.deletionGracePeriodSeconds = 0;
      }
      if (gc !== undefined) {
        if (gc.length > 0) marked.metadata!.finalizers = gc;
        else delete marked.metadata!.finalizers;
      }
      return Promise.resolve(marked);
    });
    const object = await this.storageOp(name, async () => this.written(await this.storage.guaranteedUpdate(key, decide, opts), opts));
    if (outcome === 'deleted') return { object, deleted: true };
    // A repeated DELETE reminds the controllers of the object; a dry run tells nobody.
    if (!opts.dryRun) this.opts.onMarkedForDeletion?.(object);
    return { object, deleted: false };
  }

  async deleteCollection(namespace: string | undefined, listOpts: ListOptions = {}, deleteOpts: DeleteOptions = {}): Promise<KubeList> {
    if (!this.info.verbs.includes('deletecollection')) {
      throw new ApiStatusError(405, 'MethodNotAllowed', `deletecollection is not supported on resources of kind "${this.grText()}"`, {
        ...(this.gr.group ? { group: this.gr.group } : {}),
        kind: this.gr.resource,
      });
    }
    const { limit: _limit, continue: _continue, ...all } = listOpts;
    const list = await this.list(namespace, all);
    const items: KubeObject[] = [];
    for (const item of list.items) {
      try {
        items.push((await this.delete(item.metadata?.namespace, item.metadata!.name!, deleteOpts)).object);
      } catch (err) {
        // Deleted by someone else in the meantime: nothing left to do for it.
        if (err instanceof ApiStatusError && err.status.code === 404) continue;
        throw err;
      }
    }
    return { ...list, metadata: { resourceVersion: list.metadata.resourceVersion }, items };
  }

  // ---- storage failures ----

  /** Runs a storage operation: what a try-update function threw passes as it is, storage failures become Statuses. */
  private async storageOp<T>(name: string, op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (err) {
      if (err instanceof Refusal) throw err.reason;
      throw storageStatus(err, this.info, name);
    }
  }

  // ---- helpers ----

  /** Tells onWritten the revision of a write's answer. */
  private written(obj: KubeObject, opts: { dryRun?: boolean | undefined }): KubeObject {
    const rv = obj.metadata?.resourceVersion;
    if (this.opts.onWritten && !opts.dryRun && rv) this.opts.onWritten(Number(rv));
    return obj;
  }

  /**
   * A deep copy (or the object itself, when handed over) with kind/apiVersion defaulted from the endpoint (kube does
   * that when a body leaves them out).
   */
  private accept(input: KubeObject, handedOver = false): KubeObject {
    const obj = handedOver ? input : structuredClone(input);
    const apiVersion = apiVersionOf(this.info);
    if (!obj.apiVersion) obj.apiVersion = apiVersion;
    if (!obj.kind) obj.kind = this.info.kind;
    if (obj.apiVersion !== apiVersion) {
      throw badRequest(`the API version in the data (${obj.apiVersion}) does not match the expected API version (${apiVersion})`);
    }
    if (obj.kind !== this.info.kind) {
      throw badRequest(`the kind in the data (${obj.kind}) does not match the expected kind (${this.info.kind})`);
    }
    if (obj.metadata == null) obj.metadata = {};
    if (typeof obj.metadata !== 'object' || Array.isArray(obj.metadata)) {
      throw badRequest(`${this.info.kind} in version "${this.info.version}" cannot be handled as a ${this.info.kind}: metadata must be an object`);
    }
    return obj;
  }

  /** The URL's namespace fills an empty one; a different one is refused; cluster-scoped objects have none. */
  private checkNamespace(namespace: string | undefined, meta: ObjectMeta): void {
    if (!this.info.namespaced) {
      delete meta.namespace;
      return;
    }
    if (!meta.namespace) {
      if (namespace !== undefined) meta.namespace = namespace;
    } else if (namespace !== undefined && meta.namespace !== namespace) {
      throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
    }
  }

  private managedFields(live: KubeObject | undefined, next: KubeObject, opts: WriteOptions) {
    return updatedManagedFields(live, next, { manager: opts.fieldManager, now: new Date(this.clock.now()), info: this.info });
  }

  /**
   * Strategy errors first; only when there are none, the generic path-segment rule (kube's order: BeforeCreate in
   * k8s.io/apiserver pkg/registry/rest/create.go).
   */
  private validate(obj: KubeObject, errs: FieldError[]): void {
    const meta = obj.metadata ?? {};
    if (errs.length === 0) {
      if (meta.generateName) {
        for (const msg of validatePathSegmentName(meta.generateName, true)) errs.push(invalidValue('metadata.generateName', meta.generateName, msg));
      }
      if (meta.name) for (const msg of validatePathSegmentName(meta.name, false)) errs.push(invalidValue('metadata.name', meta.name, msg));
    }
    if (errs.length > 0) throw invalid(this.strategy.groupKind, meta.name ?? '', errs);
  }

  private generateName(prefix: string): string {
    let suffix = '';
    for (let i = 0; i < 5; i++) suffix += GENERATE_NAME_CHARS[randomInt(GENERATE_NAME_CHARS.length)];
    return prefix.slice(0, MAX_GENERATE_NAME_PREFIX) + suffix;
  }

  private async alreadyExistsError(key: string, name: string): Promise<ApiStatusError> {
    const err = alreadyExists(this.gr, name);
    try {
      const existing = await this.storage.get(key);
      if (existing?.metadata?.deletionTimestamp) {
        return new ApiStatusError(409, 'AlreadyExists', `object is being deleted: ${err.message}`, err.status.details);
      }
    } catch {
      // The plain message is right too.
    }
    return err;
  }

  private preconditionFailed(name: string, key: string, detail: string): ApiStatusError {
    // Namespaces' own REST code words it plainly; the generic store embeds etcd3's storage error text.
    const cause = this.opts.graceful
      ? `Precondition failed: ${detail}`
      : `StorageError: invalid object, Code: 4, Key: ${key}, ResourceVersion: 0, AdditionalErrorMsg: Precondition failed: ${detail}`;
    return conflict(this.gr, name, cause);
  }

  private grText(): string {
    return this.gr.group ? `${this.gr.resource}.${this.gr.group}` : this.gr.resource;
  }

  private now(): string {
    return unixSecondsToRfc3339(Math.floor(this.clock.now() / 1000))!;
  }
}

/**
 * kube's deletionFinalizersForGarbageCollection: an explicit policy replaces the object's `orphan` /
 * `foregroundDeletion` finalizers (Orphan adds `orphan`, Foreground `foregroundDeletion`, Background neither);
 * without one, the finalizers already there are the policy. Undefined when the finalizers stay as they are.
 */
export function deletionFinalizers(current: readonly string[], policy: DeleteOptions['propagationPolicy']): string[] | undefined {
  if (policy === undefined) return undefined;
  const next = current.filter((f) => f !== FINALIZER_ORPHAN && f !== FINALIZER_FOREGROUND);
  if (policy === 'Orphan') next.push(FINALIZER_ORPHAN);
  if (policy === 'Foreground') next.push(FINALIZER_FOREGROUND);
  const same = next.length === current.length && next.every((f) => current.includes(f));
  return same ? undefined : next;
}

export const FINALIZER_ORPHAN = 'orphan';
export const FINALIZER_FOREGROUND = 'foregroundDeletion';

function withManagedFields(meta: ObjectMeta, managedFields: ManagedFieldsEntry[] | undefined): ObjectMeta {
  // None before and none after (a create without a field manager): the same object, not a copy of it.
  if (managedFields === undefined && !Object.hasOwn(meta, 'managedFields')) return meta;
  const { managedFields: _old, ...rest } = meta;
  return managedFields === undefined ? rest : { ...rest, managedFields };
}
