// The object storage under the registry: k8s.io/apiserver's storage.Interface (pkg/storage/interfaces.go) as its etcd3
// implementation gives it (pkg/storage/etcd3/store.go), over any Store. It owns everything between an object and the
// stored bytes: the codec (and version conversion), the resource's transformer with the storage key as authenticated
// data, the rewrite of stale values, the wiping of decrypted plaintext, the transformation metrics, the "unable to
// transform key" errors and the compare-and-swap retry. Kubernetes REST semantics (strategies, validation,
// preconditions, finalizers) stay above it, in the registry.
import type { GroupResource } from '../encryption/group-resource.js';
import { contextForKey, type Transformer } from '../encryption/transformer.js';
import { AlreadyExistsError, CofferError, EncryptError, InvalidError, NotFoundError, UnavailableError } from '../lib/errors.js';
import { decodeObject, encodeObject, type StorageMediaType } from '../objects/object-codec.js';
import { withResourceVersion, type KubeObject } from '../objects/object-meta.js';
import { JsonCache } from './json-cache.js';
import { RecentWrites } from './recent-writes.js';
import { RevisionConflictError, type KeyValue, type Store } from './store.js';
import { transformerPrefixOf, type TransformationMetrics } from './transformation-metrics.js';

/** What the encryption engine offers (EncryptionEngine, or a wrapper that swaps engines on config reload). */
export interface TransformerSource {
  transformerFor(gr: GroupResource): Transformer;
}

export interface ObjectStorageOptions {
  store: Store;
  transformers: TransformerSource;
  /** The resource whose providers apply, and the `resource` label of the transformation metrics. */
  resource: GroupResource;
  /** protobuf (kube's default for built-in kinds) or JSON (how kube stores custom resources). Default protobuf. */
  mediaType?: StorageMediaType;
  /**
   * When the served version is not the stored one: `toStorage` turns an object into the stored version, `fromStorage`
   * a stored one into the served version. Both may modify their argument.
   */
  conversion?: { toStorage(obj: KubeObject): KubeObject; fromStorage(obj: KubeObject): KubeObject };
  metrics?: TransformationMetrics;
  /** getJson's cache (default: one with json-cache.ts's bounds); false: none. There is none with a conversion either. */
  jsonCache?: JsonCache | false;
}

/**
 * Why an operation failed, as upstream's storage.StorageError codes (pkg/storage/errors.go). The message names the
 * key, never the value. Failures of the Store itself (its driver, CompactedError) pass through unchanged.
 */
export type StorageErrorCode =
  | 'KeyNotFound'
  | 'KeyExists'
  /** The codec refused the object: the client's fault. */
  | 'Unencodable'
  /** A stored value that does not open or decode, or a provider that failed to seal. */
  | 'Internal'
  /** A provider that cannot seal now (a KMS plugin down): worth a retry. */
  | 'Unavailable';

export class StorageError extends CofferError {
  constructor(
    readonly code: StorageErrorCode,
    readonly key: string,
    message: string,
  ) {
    super(message);
  }
}

/** A try-update function's answer besides a new object: remove the object (compare-and-swap on the revision read). */
export const DELETE_OBJECT = Symbol('delete');
/** A try-update function's answer besides a new object: leave the stored value as it is, even if it is stale. */
export const KEEP_OBJECT = Symbol('keep');

export interface UpdateState {
  /** The revision the current object was read at (its resourceVersion). */
  revision: number;
  /** True when obj would be stored as exactly the bytes stored now. */
  unchanged(obj: KubeObject): boolean;
}

/** Given the current object (which it must not modify), the next one; may throw to refuse. */
export type TryUpdate = (current: KubeObject, state: UpdateState) => Promise<KubeObject | typeof DELETE_OBJECT | typeof KEEP_OBJECT>;

export type ObjectWatchEvent =
  | { type: 'put'; key: string; revision: number; object(): Promise<KubeObject>; previous?: () => Promise<KubeObject> }
  | { type: 'delete'; key: string; revision: number; previous?: () => Promise<KubeObject> };

export interface ObjectPage {
  /** The store revision the page was read at. */
  revision: number;
  /** The objects of the keys the filter let through, in key order. */
  items: KubeObject[];
  /** How many keys the store returned, and the last of them: a continuation starts after it. */
  read: number;
  lastKey?: string;
  /** True when `limit` cut the store's result short. */
  more: boolean;
  /** When `more`: the keys from `startKey` at the revision, ignoring `limit` (etcd's RangeResponse.count). */
  count?: number;
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

/**
 * Values a LIST opens at once. All of a page at once (Promise.all over thousands) decrypted every value before
 * decoding any, so with an encrypting provider thousands of plaintexts were alive together and V8 promoted them to
 * its old generation (a LIST of 5,000 KMS v2 Secrets: 85 MB promoted in six LISTs against identity's 52, issue 16).
 * In batches each plaintext is decoded and wiped while young; 64 still overlap the KMS calls of a cold KMS v1 cache.
 */
const OPEN_BATCH = 64;

export class ObjectStorage {
  private readonly metricResource: string;
  /**
   * The JSON getJson made, by key and revision. Not with a conversion: what it makes of a stored object can change
   * without a write (a custom resource's schema, its defaults).
   */
  private readonly json: JsonCache | undefined;
  /** What this storage just wrote, for its watches to take instead of opening the value again (recent-writes.ts). */
  private readonly recent = new RecentWrites();

  constructor(private readonly opts: ObjectStorageOptions) {
    const { group, resource } = opts.resource;
    this.metricResource = group ? `${resource}.${group}` : resource;
    this.json = opts.jsonCache === false || opts.conversion ? undefined : (opts.jsonCache ?? new JsonCache());
  }

  /** The object at key with its resourceVersion; undefined when absent. */
  async get(key: string, opts: { signal?: AbortSignal | undefined } = {}): Promise<KubeObject | undefined> {
    const cur = await this.read(key, opts.signal);
    if (!cur) return undefined;
    wipe(cur);
    return cur.obj;
  }

  /**
   * The object at key with its resourceVersion as compact JSON (`JSON.stringify`), as a GET answers it; undefined when
   * absent. The store is read every time; the decryption, decode and encoding are skipped while the key's revision is
   * the one the cached JSON was made from. When there is cached JSON of the key, that check reads the key's revision
   * alone (the store's revisionOf: no value read, or on SQLite no read at all), and the whole row only if the
   * revision moved; that miss reads twice, and caches the JSON of the revision its second read found. A key with
   * nothing cached is read whole at once.
   */
  async getJson(key: string, opts: { signal?: AbortSignal | undefined } = {}): Promise<Buffer | undefined> {
    const signal = opts.signal;
    const json = this.json;
    if (json?.has(key)) {
      const revision = await this.opts.store.revisionOf(key, { signal });
      if (revision === undefined) {
        json.delete(key);
        return undefined;
      }
      const cached = json.get(key, revision);
      if (cached) return cached;
    }
    const { kv } = await this.opts.store.get(key, { signal });
    if (!kv) {
      json?.delete(key);
      return undefined;
    }
    const body = Buffer.from(JSON.stringify(await this.open(kv)));
    json?.set(key, kv.modRevision, Buffer.from(body));
    return body;
  }

  /** Objects under the prefix at one revision (0: now), from startKey; keyFilter skips keys before decrypting them. */
  async list(
    prefix: string,
    opts: { revision?: number; startKey?: string; limit?: number; keyFilter?: (key: string) => boolean; signal?: AbortSignal | undefined },
  ): Promise<ObjectPage> {
    const { keyFilter, ...range } = opts;
    const page = await this.opts.store.list(prefix, range);
    const objects: (KubeObject | undefined)[] = [];
    for (let i = 0; i < page.kvs.length; i += OPEN_BATCH) {
      const batch = page.kvs.slice(i, i + OPEN_BATCH).map((kv) => (keyFilter && !keyFilter(kv.key) ? Promise.resolve(undefined) : this.open(kv)));
      for (const o of await Promise.all(batch)) objects.push(o);
    }
    const last = page.kvs[page.kvs.length - 1];
    return {
      revision: page.revision,
      items: objects.filter((o): o is KubeObject => o !== undefined),
      read: page.kvs.length,
      more: page.more,
      ...(last ? { lastKey: last.key } : {}),
      ...(page.count !== undefined ? { count: page.count } : {}),
    };
  }

  /** Stores obj under key if the key is absent (KeyExists otherwise); the object as stored, with its resourceVersion. */
  async create(key: string, obj: KubeObject, opts: { dryRun?: boolean | undefined; signal?: AbortSignal | undefined } = {}): Promise<KubeObject> {
    const plain = this.encode(obj, key);
    try {
      const created = this.decode(plain, key, 'for');
      if (opts.dryRun) {
        // Whether the key exists, without reading its value.
        if ((await this.opts.store.revisionOf(key, { signal: opts.signal })) !== undefined) throw keyExists(key);
        return withResourceVersion(created, undefined);
      }
      const value = await this.seal(key, plain);
      this.remember(key, value, plain, created);
      try {
        return withResourceVersion(created, await this.opts.store.create(key, value, { signal: opts.signal }));
      } catch (err) {
        this.recent.forget(key);
        throw err instanceof AlreadyExistsError ? keyExists(key) : err;
      } finally {
        this.json?.delete(key);
      }
    } finally {
      plain.fill(0);
    }
  }

  /**
   * Reads the current object, asks tryUpdate for the next, and writes it with a compare-and-swap on the revision read;
   * a lost swap reads again and asks again (upstream's GuaranteedUpdate). A next object stored as the same bytes is
   * not written (no new resourceVersion, no watch event) unless the current value is stale: then the same bytes are
   * re-encrypted with the first provider, which is how a rotation rewrites data.
   */
  async guaranteedUpdate(key: string, tryUpdate: TryUpdate, opts: { dryRun?: boolean | undefined; signal?: AbortSignal | undefined } = {}): Promise<KubeObject> {
    for (;;) {
      const cur = await this.read(key, opts.signal);
      if (!cur) throw new StorageError('KeyNotFound', key, `key ${JSON.stringify(key)} not found`);
      try {
        const next = await tryUpdate(cur.obj, { revision: cur.kv.modRevision, unchanged: (obj) => this.encodesAs(obj, key, cur.plain) });
        const result = await this.write(key, cur, next, opts);
        if (result !== undefined) return result;
      } finally {
        wipe(cur);
      }
    }
  }

  /** Deletes the object at key once `precondition` accepts it (it throws to refuse); the object as it was. */
  delete(
    key: string,
    opts: { precondition?: (current: KubeObject) => void; dryRun?: boolean | undefined; signal?: AbortSignal | undefined } = {},
  ): Promise<KubeObject> {
    return this.guaranteedUpdate(
      key,
      (current) => {
        opts.precondition?.(current);
        return Promise.resolve(DELETE_OBJECT);
      },
      opts,
    );
  }

  /** Every change under the prefix after fromRevision, decoded only when asked (a filter may need neither state). */
  async *watch(prefix: string, opts: { fromRevision: number; signal: AbortSignal }): AsyncGenerator<ObjectWatchEvent, void, undefined> {
    const unwatch = this.recent.watching();
    try {
      for await (const e of this.opts.store.watch(prefix, opts)) {
        // A change made elsewhere (another API server on the same etcd) ends the plaintext kept for the key.
        this.json?.delete(e.type === 'put' ? e.kv.key : e.key);
        const prev = e.prev;
        // Built without spreading an optional part (an object and a copy per event otherwise).
        let event: ObjectWatchEvent;
        if (e.type === 'put') {
          const kv = e.kv;
          event = { type: 'put', key: kv.key, revision: kv.modRevision, object: () => this.openWritten(kv) };
        } else event = { type: 'delete', key: e.key, revision: e.revision };
        if (prev) event.previous = () => this.open(prev);
        yield event;
      }
    } finally {
      unwatch();
    }
  }

  currentRevision(opts: { signal?: AbortSignal | undefined } = {}): Promise<number> {
    return this.opts.store.currentRevision(opts);
  }

  /** One write attempt; undefined when the compare-and-swap lost. */
  private async write(
    key: string,
    cur: Current,
    next: KubeObject | typeof DELETE_OBJECT | typeof KEEP_OBJECT,
    opts: { dryRun?: boolean | undefined; signal?: AbortSignal | undefined },
  ): Promise<KubeObject | undefined> {
    const ifRevision = cur.kv.modRevision;
    if (next === KEEP_OBJECT) return cur.obj;
    if (next === DELETE_OBJECT) {
      if (opts.dryRun) return cur.obj;
      try {
        const { revision } = await this.opts.store.delete(key, { ifRevision, signal: opts.signal });
        return withResourceVersion(cur.obj, revision);
      } catch (err) {
        if (err instanceof RevisionConflictError || err instanceof NotFoundError) return undefined;
        throw err;
      } finally {
        // After the write, not before: a read racing it could cache the old revision again.
        this.json?.delete(key);
      }
    }
    const plain = this.encode(next, key);
    try {
      if (!cur.stale && sameBytes(plain, cur.plain)) return cur.obj;
      const updated = this.decode(plain, key, 'for');
      if (opts.dryRun) return withResourceVersion(updated, ifRevision);
      const value = await this.seal(key, plain);
      this.remember(key, value, plain, updated);
      try {
        return withResourceVersion(updated, await this.opts.store.update(key, value, { ifRevision, signal: opts.signal }));
      } catch (err) {
        this.recent.forget(key);
        if (err instanceof RevisionConflictError) return undefined;
        throw err;
      } finally {
        this.json?.delete(key);
      }
    } finally {
      plain.fill(0);
    }
  }

  private transformer(): Transformer {
    return this.opts.transformers.transformerFor(this.opts.resource);
  }

  /** Reads and opens a key; undefined when absent. */
  private async read(key: string, signal: AbortSignal | undefined): Promise<Current | undefined> {
    const { kv } = await this.opts.store.get(key, { signal });
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
      throw new StorageError('Internal', kv.key, `unable to transform key ${JSON.stringify(kv.key)}: ${(err as Error).message}`);
    }
    const plain = result.data;
    const shared = overlaps(plain, kv.value);
    let obj: KubeObject;
    try {
      obj = this.decode(plain, kv.key, 'stored at');
    } catch (err) {
      if (!shared) plain.fill(0);
      throw err;
    }
    return { kv, obj: withResourceVersion(obj, kv.modRevision), plain, owned: !shared, stale: result.stale };
  }

  /**
   * A watched put's object: the one this storage decoded for the write's answer when it wrote exactly these bytes (or
   * decoded from the plaintext it kept), if no other watcher took it yet (no decryption, no second decode); otherwise
   * opened from the value. Watched objects are read-only, as kube's watch cache shares its objects among watchers; the
   * top level and metadata are this event's own (withResourceVersion). A taken plaintext is counted in the
   * transformation metrics as the read it replaces, so that they read as before (one from_storage per watcher and
   * event).
   */
  private async openWritten(kv: KeyValue): Promise<KubeObject> {
    const taken = this.recent.take(kv.key, kv.value);
    if (!taken) return this.open(kv);
    this.opts.metrics?.record(this.metricResource, 'from_storage', transformerPrefixOf(kv.value));
    // A decode that throws rejects the promise, as open's would (an async function: no executor closure per event).
    try {
      return withResourceVersion(taken.object ?? this.decode(taken.plain, kv.key, 'stored at'), kv.modRevision);
    } finally {
      taken.done();
    }
  }

  /**
   * Before a write of plain as value under key: keeps the plaintext, and the object decoded from it for the write's
   * answer, for a watcher of it (recent-writes.ts).
   */
  private remember(key: string, value: Uint8Array, plain: Uint8Array, object: KubeObject): void {
    if (this.recent.wanted) this.recent.put(key, value, plain, object);
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
      const unavailable = err instanceof EncryptError || err instanceof UnavailableError;
      throw new StorageError(unavailable ? 'Unavailable' : 'Internal', key, `unable to transform key ${JSON.stringify(key)}: ${(err as Error).message}`);
    }
  }

  private encode(obj: KubeObject, key: string): Buffer {
    try {
      const stored = this.opts.conversion ? this.opts.conversion.toStorage(structuredClone(obj)) : obj;
      return encodeObject(stored, { mediaType: this.opts.mediaType ?? 'protobuf' });
    } catch (err) {
      if (err instanceof InvalidError) throw new StorageError('Unencodable', key, err.message);
      throw err;
    }
  }

  /** `where`: "stored at" for a value read from the store, "for" for one about to be written. */
  private decode(plain: Uint8Array, key: string, where: 'for' | 'stored at'): KubeObject {
    try {
      const obj = decodeObject(plain);
      return this.opts.conversion ? this.opts.conversion.fromStorage(obj) : obj;
    } catch (err) {
      throw new StorageError('Internal', key, `unable to decode the object ${where} ${JSON.stringify(key)}: ${(err as Error).message}`);
    }
  }

  private encodesAs(obj: KubeObject, key: string, plain: Uint8Array): boolean {
    const bytes = this.encode(obj, key);
    try {
      return sameBytes(bytes, plain);
    } finally {
      bytes.fill(0);
    }
  }
}

function keyExists(key: string): StorageError {
  return new StorageError('KeyExists', key, `key ${JSON.stringify(key)} already exists`);
}

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
