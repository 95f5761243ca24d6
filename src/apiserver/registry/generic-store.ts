// kube-apiserver's generic registry Store for one resource (apiserver pkg/registry/generic/registry/store.go over the
// etcd3 storage, pkg/storage/etcd3/store.go): server-owned metadata, validation,
// optimistic concurrency, deletion with finalizers, selectors, paging and watch. Every value is
// transformer.toStorage(encodeObject(obj)) under the key kube would use, with that key as the transformer's context.
import { randomInt, randomUUID } from 'node:crypto';
import type { GroupResource } from '../../encryption/group-resource.js';
import { contextForKey, type Transformer } from '../../encryption/transformer.js';
import { SYSTEM_CLOCK, type Clock } from '../../lib/clock.js';
import { AlreadyExistsError, EncryptError, InvalidError, NotFoundError, UnavailableError } from '../../lib/errors.js';
import { decodeObject, encodeObject, type StorageMediaType } from '../../objects/object-codec.js';
import { unixSecondsToRfc3339, type KubeObject, type ManagedFieldsEntry, type ObjectMeta } from '../../objects/object-meta.js';
import { CompactedError, RevisionConflictError, type KeyValue, type Store } from '../../storage/store.js';
import {
  ApiStatusError,
  alreadyExists,
  badRequest,
  conflict,
  expired,
  forbidden,
  internalError,
  opaqueInternalError,
  serviceUnavailable,
  invalid,
  notFound,
  type FieldError,
} from '../api-status.js';
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
import { ContinueTokenError, decodeContinue, encodeContinue } from './continue-token.js';
import { forbiddenField, invalidValue, notSupported } from './field-errors.js';
import { parseFieldSelector, type FieldSelector } from './field-selector.js';
import { parseLabelSelector, SelectorParseError, type LabelSelector } from './label-selector.js';
import { sameIgnoringTimes, updatedManagedFields } from '../patch/managed-fields.js';
import { validatePathSegmentName } from '../../lib/go/name-validation.js';
import { parseResourceVersion, tooLargeResourceVersion, withResourceVersion } from './resource-version.js';
import { StorageKeys } from './storage-keys.js';
import type { Strategy, Subresource } from './strategy.js';
import { transformerPrefixOf, type TransformationMetrics } from './transformation-metrics.js';
import { watchStream } from './watch-stream.js';

/** What the encryption engine offers (EncryptionEngine, or a wrapper that swaps engines on config reload). */
export interface TransformerSource {
  transformerFor(gr: GroupResource): Transformer;
}

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

interface Current {
  kv: KeyValue;
  obj: KubeObject;
  /** The decrypted plaintext (the codec's bytes), for the no-op write check. */
  plain: Uint8Array;
  /** False when plain is the stored value itself (identity): nothing secret to wipe, and it must stay intact. */
  owned: boolean;
  stale: boolean;
}

const GENERATE_NAME_CHARS = 'bcdfghjklmnpqrstvwxz2456789';
const GENERATE_NAME_ATTEMPTS = 8;
const MAX_GENERATE_NAME_PREFIX = 58;
const DEFAULT_BOOKMARK_INTERVAL_MS = 60_000;
const LIST_OPTIONS = { group: 'meta.k8s.io', kind: 'ListOptions' };

export class GenericStore implements ResourceStore {
  readonly info: ResourceInfo;
  readonly keys: StorageKeys;
  private readonly store: Store;
  private readonly transformers: TransformerSource;
  private readonly strategy: Strategy;
  private readonly clock: Clock;
  private readonly gr: { group: string; resource: string };
  private readonly metricResource: string;

  constructor(private readonly opts: GenericStoreOptions) {
    this.info = opts.info;
    this.keys = new StorageKeys(opts.info);
    this.store = opts.store;
    this.transformers = opts.transformers;
    this.strategy = opts.strategy;
    this.clock = opts.clock ?? SYSTEM_CLOCK;
    this.gr = { group: opts.info.group, resource: opts.info.plural };
    this.metricResource = opts.info.group ? `${opts.info.plural}.${opts.info.group}` : opts.info.plural;
  }

  // ---- create ----

  async create(namespace: string | undefined, input: KubeObject, opts: RegistryWriteOptions = {}): Promise<KubeObject> {
    let obj = this.accept(input);
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
      const plain = this.encode(obj);
      try {
        const created = this.decodePlain(plain, key);
        if (opts.dryRun) {
          const { kv } = await this.store.get(key, { signal: opts.signal }).catch((err: unknown) => {
            throw this.storageError(err);
          });
          if (kv) throw await this.alreadyExistsError(key, name);
          return withResourceVersion(created, undefined);
        }
        const value = await this.seal(key, plain);
        try {
          const revision = await this.store.create(key, value, { signal: opts.signal });
          return withResourceVersion(created, revision);
        } catch (err) {
          if (!(err instanceof AlreadyExistsError)) throw this.storageError(err);
          if (!generated) throw await this.alreadyExistsError(key, name);
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
      } finally {
        plain.fill(0);
      }
    }
  }

  // ---- read ----

  async get(namespace: string | undefined, name: string, opts: { resourceVersion?: string; signal?: AbortSignal } = {}): Promise<KubeObject> {
    const rv = parseResourceVersion(opts.resourceVersion);
    if (rv > 0) await this.requireRevision(rv, opts.signal);
    const cur = await this.read(this.keys.key(namespace, name), opts.signal);
    if (!cur) throw notFound(this.gr, name);
    wipe(cur);
    return cur.obj;
  }

  async list(namespace: string | undefined, opts: ListOptions = {}): Promise<KubeList> {
    const label = this.parseLabels(opts.labelSelector);
    const field = this.parseFields(opts.fieldSelector);
    this.validateListOptions(opts);
    const prefix = this.keys.listPrefix(namespace);
    const limit = opts.limit !== undefined && opts.limit > 0 ? Math.floor(opts.limit) : undefined;

    let revision = 0;
    let from = prefix;
    let continued = false;
    if (opts.continue) {
      if (opts.resourceVersion && opts.resourceVersion !== '0') throw badRequest('specifying resource version is not allowed when using continue');
      try {
        const token = decodeContinue(opts.continue, prefix);
        from = token.startKey;
        revision = Math.max(0, token.revision);
      } catch (err) {
        if (err instanceof ContinueTokenError) throw badRequest(`invalid continue token: ${err.message}`);
        throw err;
      }
      continued = true;
    } else {
      revision = await this.listRevision(opts, limit !== undefined);
    }

    const page = await this.collect(prefix, label, field, { revision, from, limit, continued, signal: opts.signal });
    const list: KubeList = {
      apiVersion: apiVersionOf(this.info),
      kind: this.info.listKind,
      metadata: { resourceVersion: String(page.revision) },
      items: page.items,
    };
    if (page.next !== undefined) {
      list.metadata.continue = encodeContinue(page.next, prefix, page.revision);
      if (label.empty && field.empty && page.remaining !== undefined) list.metadata.remainingItemCount = page.remaining;
    }
    return list;
  }

  /**
   * Matching objects under the prefix at one snapshot, in key order, from `from`, at most `limit` of them (filling the
   * page across store reads when selectors skip objects). `next` is where a continuation starts, when more keys follow.
   */
  private async collect(
    prefix: string,
    label: LabelSelector,
    field: FieldSelector,
    o: { revision: number; from: string; limit?: number | undefined; continued: boolean; signal?: AbortSignal | undefined },
  ): Promise<{ items: KubeObject[]; revision: number; next?: string; remaining?: number }> {
    const items: KubeObject[] = [];
    let revision = o.revision;
    let from = o.from;
    let readAt: number | undefined;
    for (;;) {
      const pageLimit = o.limit === undefined ? undefined : o.limit - items.length;
      let page;
      try {
        page = await this.store.list(prefix, { revision, startKey: from, signal: o.signal, ...(pageLimit ? { limit: pageLimit } : {}) });
      } catch (err) {
        if (err instanceof CompactedError) throw this.listExpired(o.continued, from, prefix);
        throw this.storageError(err);
      }
      // Later pages read the same snapshot as the first.
      readAt ??= page.revision;
      revision = readAt;
      const objects = await Promise.all(
        page.kvs.map((kv) => (this.keyMayMatch(kv.key, field) ? this.open(kv) : Promise.resolve(undefined))),
      );
      objects.forEach((obj) => {
        if (obj && this.matches(obj, label, field)) items.push(obj);
      });
      if (!page.more || page.kvs.length === 0) return { items, revision: readAt };
      from = `${page.kvs[page.kvs.length - 1]!.key}\0`;
      if (o.limit !== undefined && items.length >= o.limit) {
        // Keys after this page, from the store's count (exact for an unfiltered list, the only one that reports it).
        const remaining = page.count === undefined ? undefined : page.count - page.kvs.length;
        return { items, revision: readAt, next: from, ...(remaining !== undefined ? { remaining } : {}) };
      }
    }
  }

  watch(namespace: string | undefined, opts: WatchOptions): AsyncIterable<ApiWatchEvent> {
    // Bad input fails here, before the HTTP layer commits to a 200 streaming response.
    const label = this.parseLabels(opts.labelSelector);
    let field = this.parseFields(opts.fieldSelector);
    if (opts.name !== undefined) field = field.and('metadata.name', opts.name);
    const rv = parseResourceVersion(opts.resourceVersion);
    return { [Symbol.asyncIterator]: () => this.watchEvents(namespace, opts, label, field, rv) };
  }

  private async *watchEvents(
    namespace: string | undefined,
    opts: WatchOptions,
    label: LabelSelector,
    field: FieldSelector,
    rv: number,
  ): AsyncGenerator<ApiWatchEvent, void, undefined> {
    const prefix = this.keys.listPrefix(namespace);
    let fromRevision = rv;
    let initial: KubeObject[] | undefined;
    let initialEventsEnd: KubeObject | undefined;
    const send = opts.sendInitialEvents;
    if (rv === 0 || send !== undefined) {
      try {
        if (send === true || (send === undefined && rv === 0)) {
          // "Get state and start at most recent" (WatchList: a state not older than rv, so the current one): the
          // current objects as ADDED, then changes after that state.
          if (rv > 0) await this.requireRevision(rv, opts.signal);
          const now = await this.collect(prefix, label, field, { revision: 0, from: prefix, continued: false, signal: opts.signal });
          initial = now.items;
          fromRevision = now.revision;
          // k8s.io/apiserver pkg/storage/cacher: the end of the initial events is a bookmark, sent only to clients that
          // allow bookmarks.
          if (send && opts.allowWatchBookmarks) initialEventsEnd = this.bookmark(now.revision, { 'k8s.io/initial-events-end': 'true' });
        } else if (rv === 0) {
          // sendInitialEvents=false without a resourceVersion: changes from now on only.
          fromRevision = await this.store.currentRevision({ signal: opts.signal });
        }
      } catch (err) {
        if (opts.signal.aborted) return;
        // Once a watch is open, failures travel in the stream (the response may already be committed).
        const status = err instanceof ApiStatusError ? err : opaqueInternalError(err);
        yield { type: 'ERROR', object: status.status as unknown as KubeObject };
        return;
      }
    }
    yield* watchStream({
      store: this.store,
      prefix,
      fromRevision,
      ...(initial ? { initial } : {}),
      ...(initialEventsEnd ? { initialEventsEnd } : {}),
      decode: (kv) => this.open(kv),
      matches: (obj) => this.matches(obj, label, field),
      matchesEverything: label.empty && field.empty,
      tombstone: (key, revision) => this.tombstone(key, revision),
      ...(opts.allowWatchBookmarks
        ? {
            bookmarks: {
              intervalMs: this.opts.bookmarkIntervalMs ?? DEFAULT_BOOKMARK_INTERVAL_MS,
              clock: this.clock,
              object: (r: number) => this.bookmark(r),
            },
          }
        : {}),
      signal: opts.signal,
    });
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

  private async updateLoop(
    namespace: string | undefined,
    name: string,
    next: (current: KubeObject) => KubeObject | Promise<KubeObject>,
    opts: RegistryWriteOptions,
  ): Promise<KubeObject> {
    const key = this.keys.key(namespace, name);
    for (;;) {
      const cur = await this.read(key, opts.signal);
      if (!cur) throw notFound(this.gr, name);
      try {
        const result = await this.tryUpdate(key, name, namespace, cur, await next(structuredClone(cur.obj)), opts);
        if (result !== undefined) return result;
      } finally {
        wipe(cur);
      }
      // Lost a compare-and-swap: read again and redo the whole update on the new state (kube's GuaranteedUpdate).
    }
  }

  /** One attempt; undefined when the store's compare-and-swap lost. */
  private async tryUpdate(
    key: string,
    name: string,
    namespace: string | undefined,
    cur: Current,
    proposed: KubeObject,
    opts: RegistryWriteOptions,
  ): Promise<KubeObject | undefined> {
    let obj = proposed;
    const meta = obj.metadata!;
    if ((meta.name ?? '') !== name) throw badRequest(`the name of the object (${meta.name ?? ''}) does not match the name on the URL (${name})`);
    this.checkNamespace(namespace, meta);
    const old = cur.obj.metadata ?? {};
    const currentRv = String(cur.kv.modRevision);
    if (meta.uid && meta.uid !== old.uid) throw this.preconditionFailed(name, key, `UID in precondition: ${meta.uid}, UID in object meta: ${old.uid ?? ''}`);
    // A resourceVersion in the body is a precondition; without one, these kinds allow an unconditional update.
    if (meta.resourceVersion && meta.resourceVersion !== currentRv) throw conflict(this.gr, name);
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

    obj = this.strategy.applyDefaults(obj, cur.obj);
    if (!opts.managedFieldsSet) obj.metadata = withManagedFields(obj.metadata!, this.managedFields(cur.obj, obj, opts));
    obj = this.strategy.prepareForUpdate(obj, cur.obj, opts.subresource);
    this.validate(obj, this.strategy.validateUpdate(obj, cur.obj, opts.subresource));
    await this.opts.admit?.('update', obj, this.info, opts.signal);

    let plain = this.encode(obj);
    try {
      if (!sameBytes(plain, cur.plain) && sameIgnoringTimes(obj.metadata?.managedFields, old.managedFields)) {
        // Only managedFields times moved: upstream then keeps the old times, so the object is really unchanged.
        const restored = { ...obj, metadata: withManagedFields(obj.metadata!, old.managedFields) };
        const again = this.encode(restored);
        if (sameBytes(again, cur.plain)) {
          plain.fill(0);
          plain = again;
        } else again.fill(0);
      }
      // A write that changes nothing is skipped (no new resourceVersion, no watch event), unless the stored value was
      // read through an old key or provider: then the same bytes are re-encrypted (how rotation rewrites data).
      if (!cur.stale && sameBytes(plain, cur.plain)) return cur.obj;
      const updated = this.decodePlain(plain, key);
      if (opts.dryRun) return withResourceVersion(updated, currentRv);

      const finalizers = obj.metadata?.finalizers ?? [];
      if (!this.opts.graceful && obj.metadata?.deletionTimestamp && finalizers.length === 0) {
        // The last finalizer of an object being deleted is gone: the update deletes it (ShouldDeleteDuringUpdate,
        // k8s.io/apiserver pkg/registry/generic/registry/store.go).
        try {
          const { revision } = await this.store.delete(key, { ifRevision: cur.kv.modRevision, signal: opts.signal });
          return withResourceVersion(cur.obj, revision);
        } catch (err) {
          if (err instanceof RevisionConflictError || err instanceof NotFoundError) return undefined;
          throw this.storageError(err);
        }
      }
      const value = await this.seal(key, plain);
      try {
        const revision = await this.store.update(key, value, { ifRevision: cur.kv.modRevision, signal: opts.signal });
        return withResourceVersion(updated, revision);
      } catch (err) {
        if (err instanceof RevisionConflictError) return undefined;
        throw this.storageError(err);
      }
    } finally {
      plain.fill(0);
    }
  }

  // ---- delete ----

  async delete(namespace: string | undefined, name: string, opts: DeleteOptions = {}): Promise<{ object: KubeObject; deleted: boolean }> {
    const key = this.keys.key(namespace, name);
    const graceful = this.opts.graceful;
    if (graceful?.immortal.includes(name)) throw forbidden(this.gr, name, 'this namespace may not be deleted');
    for (;;) {
      const cur = await this.read(key, opts.signal);
      if (!cur) throw notFound(this.gr, name);
      wipe(cur);
      const meta = cur.obj.metadata ?? {};
      const pre = opts.preconditions;
      if (pre?.uid && pre.uid !== meta.uid) throw this.preconditionFailed(name, key, `UID in precondition: ${pre.uid}, UID in object meta: ${meta.uid ?? ''}`);
      if (pre?.resourceVersion && pre.resourceVersion !== meta.resourceVersion) {
        throw this.preconditionFailed(name, key, `ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${meta.resourceVersion ?? ''}`);
      }
      // The propagation policy becomes the `orphan` / `foregroundDeletion` finalizer the garbage collector acts on
      // (deletionFinalizersForGarbageCollection in store.go); Background removes the object now, the collector deleting
      // its dependents afterwards.
      const gc = deletionFinalizers(meta.finalizers ?? [], opts.propagationPolicy);
      const finalizers = gc ?? meta.finalizers ?? [];
      const pending = finalizers.length > 0 || (graceful?.pending(cur.obj) ?? false);
      if (!pending) {
        if (opts.dryRun) return { object: cur.obj, deleted: true };
        try {
          const { revision } = await this.store.delete(key, { ifRevision: cur.kv.modRevision, signal: opts.signal });
          return { object: withResourceVersion(cur.obj, revision), deleted: true };
        } catch (err) {
          if (err instanceof RevisionConflictError || err instanceof NotFoundError) continue;
          throw this.storageError(err);
        }
      }
      if (meta.deletionTimestamp && gc === undefined) {
        if (!opts.dryRun) this.opts.onMarkedForDeletion?.(cur.obj);
        return { object: cur.obj, deleted: false };
      }
      let marked: KubeObject = withResourceVersion(cur.obj, undefined);
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
      const plain = this.encode(marked);
      try {
        const object = this.decodePlain(plain, key);
        if (opts.dryRun) return { object: withResourceVersion(object, cur.kv.modRevision), deleted: false };
        const value = await this.seal(key, plain);
        let revision: number;
        try {
          revision = await this.store.update(key, value, { ifRevision: cur.kv.modRevision, signal: opts.signal });
        } catch (err) {
          if (err instanceof RevisionConflictError) continue;
          throw this.storageError(err);
        }
        const result = withResourceVersion(object, revision);
        this.opts.onMarkedForDeletion?.(result);
        return { object: result, deleted: false };
      } finally {
        plain.fill(0);
      }
    }
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

  // ---- storage and transformation ----

  private transformer(): Transformer {
    return this.transformers.transformerFor(this.gr);
  }

  /** Reads and opens a key; undefined when absent. */
  private async read(key: string, signal: AbortSignal | undefined): Promise<Current | undefined> {
    let kv: KeyValue | undefined;
    try {
      ({ kv } = await this.store.get(key, { signal }));
    } catch (err) {
      throw this.storageError(err);
    }
    return kv ? this.openCurrent(kv) : undefined;
  }

  private async openCurrent(kv: KeyValue): Promise<Current> {
    let result;
    const prefix = transformerPrefixOf(kv.value);
    try {
      result = await this.transformer().fromStorage(kv.value, contextForKey(kv.key));
      this.opts.metrics?.record(this.metricResource, 'from_storage', prefix);
    } catch (err) {
      this.opts.metrics?.record(this.metricResource, 'from_storage', prefix, err);
      // Names the key, never the value (kube: "unable to transform key").
      throw internalError(`unable to transform key ${JSON.stringify(kv.key)}: ${(err as Error).message}`);
    }
    const plain = result.data;
    const shared = overlaps(plain, kv.value);
    let obj: KubeObject;
    try {
      obj = this.fromStorage(decodeObject(plain));
    } catch (err) {
      if (!shared) plain.fill(0);
      throw internalError(`unable to decode the object stored at ${JSON.stringify(kv.key)}: ${(err as Error).message}`);
    }
    return { kv, obj: withResourceVersion(obj, kv.modRevision), plain, owned: !shared, stale: result.stale };
  }

  /** An object as stored at kv, with its resourceVersion. */
  private async open(kv: KeyValue): Promise<KubeObject> {
    const cur = await this.openCurrent(kv);
    wipe(cur);
    return cur.obj;
  }

  private async seal(key: string, plain: Uint8Array): Promise<Uint8Array> {
    try {
      const out = await this.transformer().toStorage(plain, contextForKey(key));
      // Identity hands back the very buffer, which the caller wipes: keep a copy for the store.
      const value = overlaps(out, plain) ? Buffer.from(out) : out;
      this.opts.metrics?.record(this.metricResource, 'to_storage', transformerPrefixOf(value));
      return value;
    } catch (err) {
      this.opts.metrics?.record(this.metricResource, 'to_storage', 'unknown', err);
      // kube answers 500; a write refused because the KMS is unhealthy is worth a retry, so it is a 503 with the reason.
      if (err instanceof EncryptError || err instanceof UnavailableError) {
        throw serviceUnavailable(`unable to transform key ${JSON.stringify(key)}: ${err.message}`);
      }
      throw internalError(`unable to transform key ${JSON.stringify(key)}: ${(err as Error).message}`);
    }
  }

  /** The storage encoding; an object the codec refuses is a bad request, worded as kube's decoder words it. */
  private encode(obj: KubeObject): Buffer {
    try {
      const stored = this.opts.conversion ? this.opts.conversion.toStorage(structuredClone(obj)) : obj;
      return encodeObject(stored, { mediaType: this.opts.mediaType ?? 'protobuf' });
    } catch (err) {
      if (err instanceof InvalidError) {
        const kind = this.info.kind;
        throw badRequest(`${kind} in version "${this.info.version}" cannot be handled as a ${kind}: ${err.message}`);
      }
      throw err;
    }
  }

  private decodePlain(plain: Uint8Array, key: string): KubeObject {
    try {
      return this.fromStorage(decodeObject(plain));
    } catch (err) {
      throw internalError(`unable to decode the object for ${JSON.stringify(key)}: ${(err as Error).message}`);
    }
  }

  private fromStorage(obj: KubeObject): KubeObject {
    return this.opts.conversion ? this.opts.conversion.fromStorage(obj) : obj;
  }

  private storageError(err: unknown): Error {
    if (err instanceof ApiStatusError) return err;
    return opaqueInternalError(err);
  }

  // ---- helpers ----

  /** A deep copy with kind/apiVersion defaulted from the endpoint (kube does that when a body leaves them out). */
  private accept(input: KubeObject): KubeObject {
    const obj = structuredClone(input);
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
      const existing = await this.read(key, undefined);
      if (existing?.obj.metadata?.deletionTimestamp) {
        wipe(existing);
        return new ApiStatusError(409, 'AlreadyExists', `object is being deleted: ${err.message}`, err.status.details);
      }
      if (existing) wipe(existing);
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

  private parseLabels(text: string | undefined): LabelSelector {
    try {
      return parseLabelSelector(text);
    } catch (err) {
      if (err instanceof SelectorParseError) throw badRequest(err.message);
      throw err;
    }
  }

  private parseFields(text: string | undefined): FieldSelector {
    try {
      return parseFieldSelector(text, (f) => this.strategy.fieldLabelError(f));
    } catch (err) {
      if (err instanceof SelectorParseError) throw badRequest(err.message);
      throw err;
    }
  }

  private matches(obj: KubeObject, label: LabelSelector, field: FieldSelector): boolean {
    return label.matches(obj.metadata?.labels) && (field.empty || field.matches(this.strategy.selectableFields(obj)));
  }

  /** metadata.name / metadata.namespace selectors can be decided from the key, saving a decryption. */
  private keyMayMatch(key: string, field: FieldSelector): boolean {
    if (field.empty) return true;
    const { namespace, name } = this.keys.parse(key);
    const wantName = field.exactValue('metadata.name');
    if (wantName !== undefined && wantName !== name) return false;
    const wantNamespace = field.exactValue('metadata.namespace');
    return wantNamespace === undefined || namespace === undefined || wantNamespace === namespace;
  }

  private validateListOptions(opts: ListOptions): void {
    const match = opts.resourceVersionMatch as string | undefined;
    if (!match) return;
    const errs: FieldError[] = [];
    if (match !== 'Exact' && match !== 'NotOlderThan') errs.push(notSupported('resourceVersionMatch', match, ['Exact', 'NotOlderThan', '']));
    else if (!opts.resourceVersion) errs.push(forbiddenField('resourceVersionMatch', 'resourceVersionMatch is forbidden unless resourceVersion is provided'));
    else if (opts.continue) errs.push(forbiddenField('resourceVersionMatch', 'resourceVersionMatch is forbidden when continue is provided'));
    else if (match === 'Exact' && opts.resourceVersion === '0') {
      errs.push(forbiddenField('resourceVersionMatch', 'resourceVersionMatch "exact" is forbidden for resourceVersion "0"'));
    }
    if (errs.length > 0) throw invalid(LIST_OPTIONS, '', errs);
  }

  /**
   * The revision a list reads at (0 = current), as kube's resourceVersion semantics (k8s.io/apiserver
   * pkg/storage/etcd3/store.go GetList).
   */
  private async listRevision(opts: ListOptions, limited: boolean): Promise<number> {
    const rv = parseResourceVersion(opts.resourceVersion);
    if (rv === 0) return 0;
    // Exact when asked, and (legacy) for a paged list with a resourceVersion and no match.
    const exact = opts.resourceVersionMatch === 'Exact' || (opts.resourceVersionMatch === undefined && limited);
    await this.requireRevision(rv, opts.signal);
    return exact ? rv : 0;
  }

  private async requireRevision(rv: number, signal: AbortSignal | undefined): Promise<void> {
    let current: number;
    try {
      current = await this.store.currentRevision({ signal });
    } catch (err) {
      throw this.storageError(err);
    }
    if (rv > current) throw tooLargeResourceVersion(rv, current);
  }

  private listExpired(continued: boolean, from: string, prefix: string): ApiStatusError {
    if (!continued) return expired('The resourceVersion for the provided list is too old.');
    const err = expired(
      'The provided continue parameter is too old to display a consistent list result. You can start a new list without ' +
        'the continue parameter, or use the continue token in this response to retrieve the remainder of the results. ' +
        'Continuing with the provided token results in an inconsistent list - objects that were created, modified, or ' +
        'deleted between the time the first chunk was returned and now may show up in the list.',
    );
    // A token at "now" (-1) from the same key lets the client finish, inconsistently, if it wants to.
    if (from.length > prefix.length) err.status.metadata.continue = encodeContinue(from, prefix, -1);
    return err;
  }

  private bookmark(revision: number, annotations?: Record<string, string>): KubeObject {
    const metadata = { resourceVersion: String(revision), creationTimestamp: null, ...(annotations ? { annotations } : {}) };
    return { kind: this.info.kind, apiVersion: apiVersionOf(this.info), metadata };
  }

  private tombstone(key: string, revision: number): KubeObject {
    const { namespace, name } = this.keys.parse(key);
    return {
      kind: this.info.kind,
      apiVersion: apiVersionOf(this.info),
      metadata: { name, ...(namespace !== undefined ? { namespace } : {}), resourceVersion: String(revision) },
    };
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

/** Whether two views share memory (identity transformers hand back their input, or a view of it). */
function overlaps(a: Uint8Array, b: Uint8Array): boolean {
  return a.buffer === b.buffer && a.byteOffset < b.byteOffset + b.byteLength && b.byteOffset < a.byteOffset + a.byteLength;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && Buffer.compare(a, b) === 0;
}

/** Zero-fills a decrypted plaintext once the object has been decoded from it. */
function wipe(cur: Current): void {
  if (cur.owned) cur.plain.fill(0);
}

function withManagedFields(meta: ObjectMeta, managedFields: ManagedFieldsEntry[] | undefined): ObjectMeta {
  const { managedFields: _old, ...rest } = meta;
  return managedFields === undefined ? rest : { ...rest, managedFields };
}
