// The behaviour the object storage (src/storage/object-storage.ts) owes the registry over any Store and any provider,
// as k8s.io/apiserver's storage tests ask it of the etcd3 store (pkg/storage/testing/store_tests.go): objects round-trip
// with their resourceVersion, the stored bytes are the provider's with the key as authenticated data, a lost
// compare-and-swap is retried, no-op writes are skipped unless the value is stale, plaintexts are wiped, failures name
// the key and never the value. Each case works under a namespace of its own, so one server may serve every case.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import type { GroupResource } from '../encryption/group-resource.js';
import { contextForKey, type Transformer } from '../encryption/transformer.js';
import { EncryptError } from '../lib/errors.js';
import { decodeObject, encodeObject } from '../objects/object-codec.js';
import type { KubeObject } from '../objects/object-meta.js';
import { JsonCache } from './json-cache.js';
import { DELETE_OBJECT, KEEP_OBJECT, ObjectStorage, StorageError, type ObjectWatchEvent, type TransformerSource } from './object-storage.js';
import type { Store } from './store.js';
import { TransformationMetrics, transformerPrefixOf } from './transformation-metrics.js';

export interface OpenedObjectStore {
  store: Store;
  /** The provider under test, as the encryption engine hands it out for secrets. */
  transformers: TransformerSource;
  cleanup(): Promise<void>;
}

export interface ObjectStorageContractOptions {
  /**
   * True for a provider that encrypts and binds a value to its key (every provider but identity): the secret is not in
   * the stored bytes, and a value moved to another key does not open.
   */
  authenticated: boolean;
  timeoutMs?: number;
}

const SECRETS: GroupResource = { group: '', resource: 'secrets' };
const SECRET_VALUE = 'c3VwZXItc2VjcmV0LXZhbHVl'; // base64 of "super-secret-value"
const EVENT_WAIT_MS = 5_000;

/**
 * Wraps the provider under test: counts reads, keeps every plaintext it handled (to check they are wiped), can mark
 * values stale (as a rotated configuration would) and make sealing fail.
 */
class Probe implements TransformerSource {
  stale = false;
  sealFailure: Error | undefined;
  reads = 0;
  /** Plaintexts fromStorage produced that are not views of the stored value, and those toStorage was given. */
  readonly plaintexts: Uint8Array[] = [];
  /** The most plaintexts fromStorage had produced and the storage had not wiped yet, at any one time. */
  mostUnwiped = 0;
  private readonly opened: Uint8Array[] = [];

  constructor(private readonly inner: TransformerSource) {}

  transformerFor(gr: GroupResource): Transformer {
    const t = this.inner.transformerFor(gr);
    return {
      fromStorage: async (data, ctx) => {
        this.reads++;
        const r = await t.fromStorage(data, ctx);
        if (r.data.buffer !== data.buffer) {
          this.plaintexts.push(r.data);
          this.opened.push(r.data);
          // A wiped plaintext is all zeros; a Secret's never starts with one (protobuf "k8s\0" or JSON "{").
          this.mostUnwiped = Math.max(this.mostUnwiped, this.opened.filter((p) => p[0] !== 0).length);
        }
        return this.stale ? { ...r, stale: true } : r;
      },
      toStorage: async (data, ctx) => {
        if (this.sealFailure) throw this.sealFailure;
        this.plaintexts.push(data);
        return t.toStorage(data, ctx);
      },
    };
  }

  assertWiped(): void {
    assert.ok(this.plaintexts.length > 0, 'the provider saw plaintexts');
    for (const p of this.plaintexts) assert.ok(p.every((b) => b === 0), `a plaintext of ${p.byteLength} bytes was not wiped`);
  }
}

function secret(namespace: string, name: string, labels?: Record<string, string>): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace, uid: randomUUID(), ...(labels ? { labels } : {}) },
    type: 'Opaque',
    data: { password: SECRET_VALUE },
  };
}

function withLabel(obj: KubeObject, key: string, value: string): KubeObject {
  const out = structuredClone(obj);
  out.metadata = { ...out.metadata, labels: { ...out.metadata?.labels, [key]: value } };
  return out;
}

/** The failure's code, checking on the way that its message names the key and never the secret. */
async function storageErrorOf(p: Promise<unknown>, key: string): Promise<string> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof StorageError, `a StorageError, got ${String(err)}`);
    assert.ok(!err.message.includes(SECRET_VALUE) && !err.message.includes('super-secret-value'), 'the message holds no value');
    assert.ok(err.message.includes(JSON.stringify(key)) || err.code === 'Unencodable', `the message names the key: ${err.message}`);
    return err.code;
  }
  assert.fail('the operation succeeded');
}

async function counts(metrics: TransformationMetrics): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const { labels, value } of await metrics.snapshot()) {
    out[`${labels.transformation_type} ${labels.transformer_prefix} ${labels.status}`] = value;
  }
  return out;
}

async function nextEvent(it: AsyncIterator<ObjectWatchEvent>): Promise<ObjectWatchEvent> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('no watch event')), EVENT_WAIT_MS)));
  try {
    const r = await Promise.race([it.next(), timeout]);
    assert.ok(!r.done, 'the watch goes on');
    return r.value;
  } finally {
    clearTimeout(timer);
  }
}

export function runObjectStorageContract(name: string, open: () => Promise<OpenedObjectStore>, opts: ObjectStorageContractOptions): void {
  interface Case {
    store: Store;
    storage: ObjectStorage;
    /** The storage's getJson cache. */
    json: JsonCache;
    probe: Probe;
    metrics: TransformationMetrics;
    ns: string;
    key(name: string): string;
  }
  const withStorage = (fn: (c: Case) => Promise<void>) => async () => {
    const opened = await open();
    try {
      const probe = new Probe(opened.transformers);
      const metrics = new TransformationMetrics();
      const json = new JsonCache();
      const storage = new ObjectStorage({ store: opened.store, transformers: probe, resource: SECRETS, metrics, jsonCache: json });
      const ns = `contract-${randomUUID().slice(0, 8)}`;
      await fn({ store: opened.store, storage, json, probe, metrics, ns, key: (n) => `/registry/secrets/${ns}/${n}` });
    } finally {
      await opened.cleanup();
    }
  };

  void describe(`ObjectStorage contract: ${name}`, { timeout: opts.timeoutMs ?? 20_000 }, () => {
    void it('create stores the provider’s bytes under the key; get reads the object back with its resourceVersion', withStorage(async (c) => {
      const obj = secret(c.ns, 'a');
      const created = await c.storage.create(c.key('a'), obj);
      const { kv } = await c.store.get(c.key('a'));
      assert.ok(kv);
      assert.equal(created.metadata?.resourceVersion, String(kv.modRevision));
      assert.deepEqual(await c.storage.get(c.key('a')), created);
      assert.deepEqual({ ...created, metadata: { ...created.metadata, resourceVersion: undefined } }, { ...obj, metadata: { ...obj.metadata, resourceVersion: undefined } });
      // The stored value opens with the provider and the key as authenticated data, to the codec's bytes.
      const opened = await c.probe.transformerFor(SECRETS).fromStorage(kv.value, contextForKey(c.key('a')));
      assert.deepEqual(decodeObject(opened.data), decodeObject(encodeObject(obj)));
      // The codec stores data decoded; only identity leaves it readable.
      assert.equal(Buffer.from(kv.value).includes('super-secret-value'), !opts.authenticated, 'the secret is in the clear only with identity');
      assert.equal(await c.storage.get(c.key('missing')), undefined);
    }));

    void it('getJson serves the newest revision as JSON, opening each revision once; its cache goes with every write', withStorage(async (c) => {
      const parsed = async (key: string) => JSON.parse((await c.storage.getJson(key))?.toString() ?? 'null') as unknown;
      const created = await c.storage.create(c.key('a'), secret(c.ns, 'a'));
      assert.deepEqual(await parsed(c.key('a')), created);
      assert.deepEqual(await c.storage.getJson(c.key('a')), Buffer.from(JSON.stringify(await c.storage.get(c.key('a')))));
      const reads = c.probe.reads;
      await parsed(c.key('a'));
      assert.equal(c.probe.reads, reads, 'an unchanged object is not opened again');
      assert.equal(c.json.size, 1);
      const updated = await c.storage.guaranteedUpdate(c.key('a'), (cur) => Promise.resolve(withLabel(cur, 'x', '1')));
      assert.equal(c.json.size, 0, 'an update drops the plaintext at once');
      assert.deepEqual(await parsed(c.key('a')), updated);
      await c.storage.delete(c.key('a'));
      assert.equal(c.json.size, 0, 'a delete drops the plaintext at once');
      assert.equal(await c.storage.getJson(c.key('a')), undefined);
      assert.equal(await c.storage.getJson(c.key('missing')), undefined);
    }));

    void it('getJson of an unchanged object reads only its revision; a miss caches the revision its full read found', withStorage(async (c) => {
      // The store's calls, and a write slipped in between a GET's revision read and its full read.
      const calls: string[] = [];
      let between: (() => Promise<unknown>) | undefined;
      const store = new Proxy(c.store, {
        get(target, prop) {
          const v: unknown = Reflect.get(target, prop, target);
          if (typeof v !== 'function') return v;
          return async (...args: unknown[]) => {
            calls.push(String(prop));
            const answer: unknown = await (v as (...a: unknown[]) => Promise<unknown>).apply(target, args);
            if (prop === 'revisionOf' && between) await between();
            between = undefined;
            return answer;
          };
        },
      });
      const json = new JsonCache();
      const storage = new ObjectStorage({ store, transformers: c.probe, resource: SECRETS, metrics: c.metrics, jsonCache: json });
      const parsed = async (key: string) => JSON.parse((await storage.getJson(key))?.toString() ?? 'null') as unknown;
      const created = await c.storage.create(c.key('a'), secret(c.ns, 'a'));
      calls.length = 0;
      assert.deepEqual(await parsed(c.key('a')), created);
      assert.deepEqual(calls, ['get'], 'with nothing cached, the whole row at once');
      calls.length = 0;
      const reads = c.probe.reads;
      assert.deepEqual(await parsed(c.key('a')), created);
      assert.deepEqual(calls, ['revisionOf'], 'a hit reads the revision alone');
      assert.equal(c.probe.reads, reads);

      // Cached, then written by another writer (c.storage: another cache, as another API server's), and written again
      // after the revision read: the answer and the cache are the revision the full read found, so the next GET is a hit.
      const update = (name: string, label: string) => c.storage.guaranteedUpdate(c.key(name), (cur) => Promise.resolve(withLabel(cur, 'x', label)));
      await c.storage.create(c.key('b'), secret(c.ns, 'b'));
      await parsed(c.key('b'));
      await update('b', '2');
      let changed: KubeObject | undefined;
      between = async () => (changed = await update('b', '3'));
      calls.length = 0;
      assert.deepEqual(await parsed(c.key('b')), await c.storage.get(c.key('b')));
      assert.deepEqual(calls, ['revisionOf', 'get'], 'a stale entry: the revision, then the whole row');
      assert.equal(changed?.metadata?.labels?.x, '3');
      calls.length = 0;
      assert.deepEqual(await parsed(c.key('b')), changed, 'the newer revision was cached');
      assert.deepEqual(calls, ['revisionOf']);

      // The same with a delete after the revision read: absent, and nothing cached.
      await c.storage.create(c.key('c'), secret(c.ns, 'c'));
      await parsed(c.key('c'));
      await update('c', '2');
      between = () => c.storage.delete(c.key('c'));
      assert.equal(await storage.getJson(c.key('c')), undefined);
      assert.equal(json.size, 2, 'a and b');
      assert.equal(await storage.getJson(c.key('c')), undefined);
    }));

    void it('getJson sees what another API server wrote, and a watch drops the plaintext of what it changed', withStorage(async (c) => {
      const parsed = async (key: string) => JSON.parse((await c.storage.getJson(key))?.toString() ?? 'null') as unknown;
      // Another API server on the same store: its own ObjectStorage, whose writes this one's cache does not hear of.
      const other = new ObjectStorage({ store: c.store, transformers: c.probe, resource: SECRETS });
      await c.storage.create(c.key('a'), secret(c.ns, 'a'));
      await parsed(c.key('a'));
      const changed = await other.guaranteedUpdate(c.key('a'), (cur) => Promise.resolve(withLabel(cur, 'x', '2')));
      assert.deepEqual(await parsed(c.key('a')), changed, 'the revision read decides, not the cache');
      await other.delete(c.key('a'));
      assert.equal(await c.storage.getJson(c.key('a')), undefined);

      await c.storage.create(c.key('b'), secret(c.ns, 'b'));
      await parsed(c.key('b'));
      assert.equal(c.json.size, 1);
      const stop = new AbortController();
      const events = c.storage.watch(c.key(''), { fromRevision: await c.store.currentRevision(), signal: stop.signal })[Symbol.asyncIterator]();
      try {
        const pending = nextEvent(events);
        await other.delete(c.key('b'));
        assert.equal((await pending).type, 'delete');
        assert.equal(c.json.size, 0, 'the watch event dropped it, before anyone read the key again');
      } finally {
        stop.abort();
        await events.return?.();
      }
    }));

    void it('create refuses an existing key and a dry run stores nothing', withStorage(async (c) => {
      await c.storage.create(c.key('a'), secret(c.ns, 'a'));
      const before = await c.store.currentRevision();
      assert.equal(await storageErrorOf(c.storage.create(c.key('a'), secret(c.ns, 'a')), c.key('a')), 'KeyExists');
      assert.equal(await storageErrorOf(c.storage.create(c.key('a'), secret(c.ns, 'a'), { dryRun: true }), c.key('a')), 'KeyExists');
      const dry = await c.storage.create(c.key('b'), secret(c.ns, 'b'), { dryRun: true });
      assert.equal(dry.metadata?.resourceVersion, undefined);
      assert.equal(dry.metadata?.name, 'b');
      assert.equal(await c.storage.get(c.key('b')), undefined);
      assert.equal(await c.store.currentRevision(), before);
    }));

    void it('a value moved to another key does not open when the provider authenticates the key', withStorage(async (c) => {
      await c.storage.create(c.key('a'), secret(c.ns, 'a'));
      const { kv } = await c.store.get(c.key('a'));
      await c.store.create(c.key('moved'), kv!.value);
      if (opts.authenticated) {
        assert.equal(await storageErrorOf(c.storage.get(c.key('moved')), c.key('moved')), 'Internal');
        assert.ok(Object.keys(await counts(c.metrics)).some((k) => k.startsWith('from_storage ') && !k.endsWith(' OK')), 'the failure is counted');
      } else {
        // Identity binds nothing: the copy reads as the original (why kube's providers use the key as AAD).
        assert.equal((await c.storage.get(c.key('moved')))?.metadata?.name, 'a');
      }
    }));

    void it('a value that does not open or decode is an Internal error naming the key, never the value', withStorage(async (c) => {
      await c.store.create(c.key('garbage'), Buffer.from(`k8s:enc:aesgcm:v1:key1:${SECRET_VALUE}super-secret-value`));
      await c.store.create(c.key('plain'), Buffer.from(`not an object: super-secret-value ${SECRET_VALUE}`));
      for (const k of ['garbage', 'plain']) {
        assert.equal(await storageErrorOf(c.storage.get(c.key(k)), c.key(k)), 'Internal');
        assert.equal(await storageErrorOf(c.storage.guaranteedUpdate(c.key(k), (cur) => Promise.resolve(cur)), c.key(k)), 'Internal');
      }
    }));

    void it('guaranteedUpdate writes a change with a compare-and-swap and skips a no-op', withStorage(async (c) => {
      const created = await c.storage.create(c.key('a'), secret(c.ns, 'a'));
      const same = await c.storage.guaranteedUpdate(c.key('a'), (cur) => Promise.resolve(structuredClone(cur)));
      assert.deepEqual(same, created, 'an unchanged object is not written');
      assert.equal(await c.store.currentRevision(), Number(created.metadata!.resourceVersion));

      let seen: number | undefined;
      const updated = await c.storage.guaranteedUpdate(c.key('a'), (cur, state) => {
        seen = state.revision;
        assert.equal(state.unchanged(cur), true);
        assert.equal(state.unchanged(withLabel(cur, 'x', 'y')), false);
        return Promise.resolve(withLabel(cur, 'x', 'y'));
      });
      assert.equal(seen, Number(created.metadata!.resourceVersion));
      assert.ok(Number(updated.metadata!.resourceVersion) > seen);
      assert.deepEqual(await c.storage.get(c.key('a')), updated);
      assert.deepEqual(updated.metadata?.labels, { x: 'y' });

      const dry = await c.storage.guaranteedUpdate(c.key('a'), (cur) => Promise.resolve(withLabel(cur, 'x', 'dry')), { dryRun: true });
      assert.equal(dry.metadata?.labels?.x, 'dry');
      assert.equal(dry.metadata?.resourceVersion, updated.metadata.resourceVersion);
      assert.deepEqual(await c.storage.get(c.key('a')), updated, 'a dry run writes nothing');
      assert.equal(await storageErrorOf(c.storage.guaranteedUpdate(c.key('missing'), (cur) => Promise.resolve(cur)), c.key('missing')), 'KeyNotFound');
    }));

    void it('guaranteedUpdate retries a lost compare-and-swap on the state that won', withStorage(async (c) => {
      await c.storage.create(c.key('a'), secret(c.ns, 'a'));
      const currents: KubeObject[] = [];
      const out = await c.storage.guaranteedUpdate(c.key('a'), async (cur) => {
        currents.push(cur);
        // Another writer gets in between this read and this write.
        if (currents.length === 1) await c.storage.guaranteedUpdate(c.key('a'), (other) => Promise.resolve(withLabel(other, 'first', '1')));
        return withLabel(cur, 'second', '2');
      });
      assert.equal(currents.length, 2, 'tried twice');
      assert.deepEqual(currents[1]!.metadata?.labels, { first: '1' });
      assert.deepEqual(out.metadata?.labels, { first: '1', second: '2' });
      assert.deepEqual(await c.storage.get(c.key('a')), out);
    }));

    void it('a stale value is rewritten by an unchanged update, unless the try-update function keeps it', withStorage(async (c) => {
      const created = await c.storage.create(c.key('a'), secret(c.ns, 'a'));
      c.probe.stale = true;
      const kept = await c.storage.guaranteedUpdate(c.key('a'), () => Promise.resolve(KEEP_OBJECT));
      assert.deepEqual(kept, created);
      const rewritten = await c.storage.guaranteedUpdate(c.key('a'), (cur) => Promise.resolve(structuredClone(cur)));
      assert.ok(Number(rewritten.metadata!.resourceVersion) > Number(created.metadata!.resourceVersion), 'the stale value was written again');
      const strip = (o: KubeObject) => ({ ...o, metadata: { ...o.metadata, resourceVersion: undefined } });
      assert.deepEqual(strip(rewritten), strip(created), 'with the same content');
    }));

    void it('delete honours its precondition, a dry run and a missing key; DELETE_OBJECT removes with a compare-and-swap', withStorage(async (c) => {
      const created = await c.storage.create(c.key('a'), secret(c.ns, 'a'));
      await assert.rejects(
        c.storage.delete(c.key('a'), {
          precondition: () => {
            throw new Error('precondition refused');
          },
        }),
        /precondition refused/,
      );
      assert.deepEqual(await c.storage.delete(c.key('a'), { dryRun: true }), created);
      assert.deepEqual(await c.storage.get(c.key('a')), created);
      const gone = await c.storage.delete(c.key('a'), { precondition: (cur) => assert.equal(cur.metadata?.uid, created.metadata?.uid) });
      assert.ok(Number(gone.metadata!.resourceVersion) > Number(created.metadata!.resourceVersion), 'the object at the deletion revision');
      assert.equal(await c.storage.get(c.key('a')), undefined);
      assert.equal(await storageErrorOf(c.storage.delete(c.key('a')), c.key('a')), 'KeyNotFound');

      await c.storage.create(c.key('b'), secret(c.ns, 'b'));
      let tries = 0;
      await c.storage.guaranteedUpdate(c.key('b'), async () => {
        if (tries++ === 0) await c.storage.guaranteedUpdate(c.key('b'), (o) => Promise.resolve(withLabel(o, 'raced', 'yes')));
        return DELETE_OBJECT;
      });
      assert.equal(tries, 2, 'a delete that lost its compare-and-swap is decided again');
      assert.equal(await c.storage.get(c.key('b')), undefined);
    }));

    void it('list reads one revision in key order, pages, counts, and decrypts only what the key filter lets through', withStorage(async (c) => {
      for (const n of ['a', 'b', 'c']) await c.storage.create(c.key(n), secret(c.ns, n));
      const at = await c.store.currentRevision();
      await c.storage.guaranteedUpdate(c.key('b'), (cur) => Promise.resolve(withLabel(cur, 'v', '2')));
      const prefix = `/registry/secrets/${c.ns}/`;

      const old = await c.storage.list(prefix, { revision: at });
      assert.equal(old.revision, at);
      assert.deepEqual(old.items.map((o) => o.metadata?.name), ['a', 'b', 'c']);
      assert.equal(old.items[1]!.metadata?.labels, undefined, 'b as it was at the revision');

      const page = await c.storage.list(prefix, { limit: 2 });
      assert.deepEqual(page.items.map((o) => o.metadata?.name), ['a', 'b']);
      assert.equal(page.more, true);
      assert.equal(page.read, 2);
      assert.equal(page.lastKey, c.key('b'));
      assert.equal(page.count, 3);

      const reads = c.probe.reads;
      const filtered = await c.storage.list(prefix, { keyFilter: (k) => k !== c.key('b') });
      assert.deepEqual(filtered.items.map((o) => o.metadata?.name), ['a', 'c']);
      assert.equal(filtered.read, 3);
      assert.equal(c.probe.reads - reads, 2, 'the filtered-out value was not decrypted');
    }));

    void it('watch delivers puts and deletes after a revision, decoding on demand', withStorage(async (c) => {
      const from = await c.store.currentRevision();
      const abort = new AbortController();
      const it = c.storage.watch(`/registry/secrets/${c.ns}/`, { fromRevision: from, signal: abort.signal })[Symbol.asyncIterator]();
      try {
        const created = await c.storage.create(c.key('a'), secret(c.ns, 'a'));
        const updated = await c.storage.guaranteedUpdate(c.key('a'), (cur) => Promise.resolve(withLabel(cur, 'x', 'y')));
        const deleted = await c.storage.delete(c.key('a'));

        const put = await nextEvent(it);
        assert.equal(put.type, 'put');
        assert.equal(put.key, c.key('a'));
        assert.equal(put.revision, Number(created.metadata!.resourceVersion));
        if (put.type === 'put') assert.deepEqual(await put.object(), created);

        const modified = await nextEvent(it);
        assert.equal(modified.revision, Number(updated.metadata!.resourceVersion));
        if (modified.type === 'put') assert.deepEqual(await modified.object(), updated);
        if (modified.previous) assert.deepEqual(await modified.previous(), created);

        const gone = await nextEvent(it);
        assert.equal(gone.type, 'delete');
        assert.equal(gone.revision, Number(deleted.metadata!.resourceVersion));
        if (gone.previous) assert.deepEqual(await gone.previous(), updated);
      } finally {
        abort.abort();
        await it.return?.();
      }
    }));

    void it('a watcher takes the object this storage wrote instead of opening it again; others open their own', withStorage(async (c) => {
      const abort = new AbortController();
      const watch = async () => {
        const it = c.storage.watch(`/registry/secrets/${c.ns}/`, { fromRevision: await c.store.currentRevision(), signal: abort.signal });
        return it[Symbol.asyncIterator]();
      };
      const first = await watch();
      const second = await watch();
      try {
        // Both watchers wait for the next event (a watch is under way from its first pull), as the registry's do.
        const events = [nextEvent(first), nextEvent(second)];
        const reads = c.probe.reads;
        const created = await c.storage.create(c.key('a'), secret(c.ns, 'a'));
        const expected = structuredClone(created);
        // The caller's object is its own: changing it changes nothing a watcher gets.
        created.data = { password: 'Y2hhbmdlZA==' };
        created.metadata!.labels = { changed: 'yes' };
        const [a, b] = await Promise.all(events);
        assert.ok(a?.type === 'put' && b?.type === 'put');
        const fromFirst = await a.object();
        assert.deepEqual(fromFirst, expected);
        assert.equal(c.probe.reads, reads, 'the first watcher took the written object: no read of the value');
        const fromSecond = await b.object();
        assert.deepEqual(fromSecond, expected);
        assert.notEqual(fromSecond, fromFirst, 'each watcher has an object of its own');
        assert.equal(c.probe.reads, reads + 1, 'the second watcher opened the value');
        const prefix = transformerPrefixOf((await c.store.get(c.key('a'))).kv!.value);
        assert.equal((await counts(c.metrics))[`from_storage ${prefix} OK`], 2, 'both count as reads, as before');

        // What another API server wrote was never this storage's to hand over: it is opened.
        const other = new ObjectStorage({ store: c.store, transformers: c.probe, resource: SECRETS });
        const next = nextEvent(first);
        const updated = await other.guaranteedUpdate(c.key('a'), (cur) => Promise.resolve(withLabel(cur, 'x', 'y')));
        const changed = await next;
        assert.ok(changed.type === 'put');
        assert.deepEqual(await changed.object(), updated);
        assert.equal(c.probe.reads, reads + 3, 'the other server read once for its update, the watcher once');
        c.probe.assertWiped();
      } finally {
        abort.abort();
        await first.return?.();
        await second.return?.();
      }
    }));

    void it('plaintexts are wiped once used, and a value read as-is (identity) stays intact', withStorage(async (c) => {
      await c.storage.create(c.key('a'), secret(c.ns, 'a'));
      await c.storage.get(c.key('a'));
      await c.storage.guaranteedUpdate(c.key('a'), (cur) => Promise.resolve(withLabel(cur, 'x', 'y')));
      await c.storage.list(`/registry/secrets/${c.ns}/`, {});
      c.probe.assertWiped();
      assert.equal((await c.storage.get(c.key('a')))?.metadata?.labels?.x, 'y', 'the stored value still reads');
    }));

    void it('a LIST wipes the plaintexts it decoded before it opens many more values', withStorage(async (c) => {
      // All of a page opened at once kept every plaintext of it alive together, until V8 promoted them (issue 16).
      const n = 150;
      for (let i = 0; i < n; i++) await c.storage.create(c.key(`s${i}`), secret(c.ns, `s${i}`));
      const listed = await c.storage.list(`/registry/secrets/${c.ns}/`, {});
      assert.equal(listed.items.length, n);
      if (opts.authenticated) assert.ok(c.probe.mostUnwiped > 0 && c.probe.mostUnwiped <= n / 2, `at most ${n / 2} at once, got ${c.probe.mostUnwiped}`);
      c.probe.assertWiped();
    }));

    void it('counts every transformation by provider prefix', withStorage(async (c) => {
      await c.storage.create(c.key('a'), secret(c.ns, 'a'));
      await c.storage.get(c.key('a'));
      const prefix = transformerPrefixOf((await c.store.get(c.key('a'))).kv!.value);
      assert.deepEqual(await counts(c.metrics), { [`to_storage ${prefix} OK`]: 1, [`from_storage ${prefix} OK`]: 1 });
    }));

    void it('an object the codec refuses and a provider that cannot seal store nothing', withStorage(async (c) => {
      const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: c.ns } };
      assert.equal(await storageErrorOf(c.storage.create(c.key('p'), pod), c.key('p')), 'Unencodable');
      const created = await c.storage.create(c.key('a'), secret(c.ns, 'a'));
      const before = await c.store.currentRevision();
      c.probe.sealFailure = new EncryptError('the KMS plugin is unhealthy');
      assert.equal(await storageErrorOf(c.storage.create(c.key('b'), secret(c.ns, 'b')), c.key('b')), 'Unavailable');
      assert.equal(await storageErrorOf(c.storage.guaranteedUpdate(c.key('a'), (cur) => Promise.resolve(withLabel(cur, 'x', 'y'))), c.key('a')), 'Unavailable');
      c.probe.sealFailure = new Error('provider bug');
      assert.equal(await storageErrorOf(c.storage.create(c.key('b'), secret(c.ns, 'b')), c.key('b')), 'Internal');
      c.probe.sealFailure = undefined;
      assert.equal(await c.store.currentRevision(), before);
      assert.deepEqual(await c.storage.get(c.key('a')), created, 'the stored object is intact');
      assert.equal((await counts(c.metrics))['to_storage unknown Unknown'], 3);
    }));
  });
}
