// The MVCC key-value store under the API server, with etcd v3's semantics (as kine gives them to k3s): one revision
// counter across all keys, compare-and-swap on a key's modification revision, watch from a revision, compaction.
// Values are the stored bytes (ciphertext after the encryption engine); the store never sees objects.
import { CofferError, ConflictError } from '../lib/errors.js';

export interface KeyValue {
  key: string;
  value: Uint8Array;
  /** Revision of the write that created this key (since its last deletion), as etcd's create_revision. */
  createRevision: number;
  /** Revision of the last write to this key, as etcd's mod_revision; the object's resourceVersion. */
  modRevision: number;
}

export interface ListResult {
  /** The store revision the list was read at. */
  revision: number;
  kvs: KeyValue[];
  /** True when `limit` cut the result short; continue from the last key + "\0". */
  more: boolean;
  /**
   * When `more`: how many keys the range from `startKey` holds at the revision, ignoring `limit` (etcd's
   * RangeResponse.count), so a paged LIST can answer remainingItemCount without reading the rest.
   */
  count?: number;
}

export type WatchEvent =
  | { type: 'put'; kv: KeyValue; prev?: KeyValue }
  | { type: 'delete'; key: string; revision: number; prev?: KeyValue };

export interface Store {
  get(key: string, opts?: { revision?: number; signal?: AbortSignal }): Promise<{ revision: number; kv?: KeyValue }>;
  /**
   * The key's modRevision now, undefined when it is absent: get's answer without the value, read as get reads (etcd: the
   * same linearizable range, keys only). For a reader that may hold that revision's value already (the JSON cache).
   */
  revisionOf(key: string, opts?: { signal?: AbortSignal }): Promise<number | undefined>;
  /** Keys with the prefix, in byte order, from startKey (inclusive), at a past revision if given. */
  list(
    prefix: string,
    opts?: { revision?: number; limit?: number; startKey?: string; signal?: AbortSignal },
  ): Promise<ListResult>;
  /** Creates the key if absent; AlreadyExistsError otherwise. Returns the new revision. */
  create(key: string, value: Uint8Array, opts?: { signal?: AbortSignal }): Promise<number>;
  /** Writes the key if its modRevision equals ifRevision; ConflictError (with the current value) otherwise. */
  update(key: string, value: Uint8Array, opts: { ifRevision: number; signal?: AbortSignal }): Promise<number>;
  /** Deletes the key (if its modRevision equals ifRevision, when given); NotFoundError when absent. */
  delete(
    key: string,
    opts?: { ifRevision?: number; signal?: AbortSignal },
  ): Promise<{ revision: number; prev?: KeyValue }>;
  /** Every event on keys with the prefix after fromRevision, in order, then live ones, until the signal aborts. */
  watch(prefix: string, opts: { fromRevision: number; signal: AbortSignal }): AsyncIterable<WatchEvent>;
  currentRevision(opts?: { signal?: AbortSignal }): Promise<number>;
  /** Forgets history before the revision; reads and watches below it fail with CompactedError. */
  compact(revision: number, opts?: { signal?: AbortSignal }): Promise<void>;
  close(): Promise<void>;
}

/** A read or watch asked for a revision that compaction has removed (etcd: "required revision has been compacted"). */
export class CompactedError extends CofferError {
  readonly compactRevision: number;
  constructor(requested: number, compactRevision: number) {
    super(`required revision ${requested} has been compacted (compacted up to ${compactRevision})`);
    this.compactRevision = compactRevision;
  }
}

/** A compare-and-swap lost: `current` is what is stored now (undefined when the key is gone). */
export class RevisionConflictError extends ConflictError {
  readonly current: KeyValue | undefined;
  constructor(message: string, current: KeyValue | undefined) {
    super(message);
    this.current = current;
  }
}
