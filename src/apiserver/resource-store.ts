// The storage side of one resource, as kube-apiserver's generic registry Store: REST semantics (metadata the server
// owns, validation, optimistic concurrency, resourceVersion rules, selectors, paging, watch) over the Store, with
// every value passing through the encryption engine and the object codec. HTTP handlers call only this; errors are
// ApiStatusError (api-status.ts).
import type { KubeObject } from '../objects/object-meta.js';
import type { ResourceInfo } from './resource-info.js';

export interface UserInfo {
  name: string;
  groups: string[];
}

export interface WriteOptions {
  dryRun?: boolean;
  /** Who is writing, for managedFields (kubectl: "kubectl-client-side-apply", "kubectl-edit", ...). */
  fieldManager?: string;
  /**
   * The caller already computed metadata.managedFields (server-side apply): store them as given. Otherwise the store
   * records an `Update` entry for fieldManager, as kube's field manager does for create/update/non-apply patches.
   */
  managedFieldsSet?: boolean;
  user?: UserInfo;
  signal?: AbortSignal;
  /**
   * create: the object is handed over (a request body decoded for this call alone), so the store may modify and keep
   * it instead of working on a deep copy.
   */
  handedOver?: boolean;
}

export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  /** "" / undefined = most recent (quorum read); "0" = any; a number = at least / exactly per resourceVersionMatch. */
  resourceVersion?: string;
  resourceVersionMatch?: 'NotOlderThan' | 'Exact';
  signal?: AbortSignal;
}

export interface WatchOptions {
  labelSelector?: string;
  fieldSelector?: string;
  /** Unset or "0": synthetic ADDED events for what exists now, then changes. A number: changes after it. */
  resourceVersion?: string;
  allowWatchBookmarks?: boolean;
  /**
   * WatchList: true sends the state not older than resourceVersion as ADDED events, then (with bookmarks allowed) a
   * BOOKMARK annotated `k8s.io/initial-events-end`; false starts at resourceVersion (unset or "0": now) without them.
   */
  sendInitialEvents?: boolean;
  /** For a single-object watch (`fieldSelector=metadata.name=x` as kubectl sends it, or a name in the URL). */
  name?: string;
  signal: AbortSignal;
}

export interface DeleteOptions {
  preconditions?: { uid?: string; resourceVersion?: string };
  propagationPolicy?: 'Orphan' | 'Background' | 'Foreground';
  gracePeriodSeconds?: number;
  dryRun?: boolean;
  signal?: AbortSignal;
}

export interface KubeList {
  apiVersion: string;
  kind: string; // SecretList
  metadata: { resourceVersion: string; continue?: string; remainingItemCount?: number };
  items: KubeObject[];
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export interface ApiWatchEvent {
  type: WatchEventType;
  object: KubeObject; // for ERROR: a Status
}

export interface ResourceStore {
  readonly info: ResourceInfo;
  /** namespace is undefined for cluster-scoped resources. Returns the stored object (with resourceVersion). */
  create(namespace: string | undefined, obj: KubeObject, opts?: WriteOptions): Promise<KubeObject>;
  get(namespace: string | undefined, name: string, opts?: { resourceVersion?: string; signal?: AbortSignal }): Promise<KubeObject>;
  /** What get answers, as compact JSON (`JSON.stringify`): what a GET of the newest object serves. Optional. */
  getJson?(namespace: string | undefined, name: string): Promise<Buffer>;
  /** namespace undefined on a namespaced resource = all namespaces. */
  list(namespace: string | undefined, opts?: ListOptions): Promise<KubeList>;
  /** PUT: full replacement; metadata.resourceVersion, when set, must match (409 Conflict otherwise). */
  update(namespace: string | undefined, name: string, obj: KubeObject, opts?: WriteOptions): Promise<KubeObject>;
  /**
   * Read-modify-write with retries on conflict (kube's GuaranteedUpdate), used by PATCH: `mutate` gets the current
   * object and returns the new one (throwing ApiStatusError to refuse). A stale read forces the write even when
   * nothing changed, which is what re-encrypts data after a key rotation.
   */
  guaranteedUpdate(
    namespace: string | undefined,
    name: string,
    mutate: (current: KubeObject) => KubeObject | Promise<KubeObject>,
    opts?: WriteOptions,
  ): Promise<KubeObject>;
  /** `deleted` false when finalizers/foreground deletion keep the object (deletionTimestamp set). */
  delete(namespace: string | undefined, name: string, opts?: DeleteOptions): Promise<{ object: KubeObject; deleted: boolean }>;
  deleteCollection(namespace: string | undefined, listOpts?: ListOptions, deleteOpts?: DeleteOptions): Promise<KubeList>;
  watch(namespace: string | undefined, opts: WatchOptions): AsyncIterable<ApiWatchEvent>;
}
