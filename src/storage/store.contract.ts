// Long: one contract: every case of the Store interface, so each backend runs all of them.
// The behaviour every Store backend owes the API server (etcd v3's semantics, as kube-apiserver relies on them), run by
// each backend's tests: SQLite plain and encrypted, etcd single-member and a 3-member cluster. Each case works under a
// fresh key prefix of its own, so a backend may hand out the same server for every case, as long as nothing else
// writes to it while a case runs (some cases check that a refused write did not move the revision).
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { AlreadyExistsError, ConflictError, InvalidError, NotFoundError } from '../lib/errors.js';
import { CompactedError, RevisionConflictError, type KeyValue, type Store, type WatchEvent } from './store.js';

export interface StoreContractOptions {
  /** The key prefix the store was opened with (writes outside it are refused). Default "/registry/". */
  prefix?: string;
  /** Per-case timeout. Default 10 s; a slow cluster (e.g. etcd with a member killed) may want more. */
  timeoutMs?: number;
}

export interface OpenedStore {
  store: Store;
  /** Closes the store (again, if the case closed it already) and removes whatever open() created. */
  cleanup(): Promise<void>;
}

/** etcd's default --max-request-bytes; the stores refuse larger values before sending or writing anything. */
const MAX_VALUE_BYTES = 1572864;
/** How long a case waits for an expected watch event before failing rather than hanging. */
const EVENT_WAIT_MS = 5_000;

const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const str = (b: Uint8Array): string => Buffer.from(b).toString('utf8');

export function runStoreContract(
  name: string,
  open: () => Promise<OpenedStore>,
  opts: StoreContractOptions = {},
): void {
  const prefix = opts.prefix ?? '/registry/';
  const timeout = opts.timeoutMs ?? 10_000;

  /** Opens a store, gives the case a key prefix no other case uses, and always cleans up. */
  const withStore = (fn: (store: Store, p: string) => Promise<void>) => async () => {
    const opened = await open();
    try {
      await fn(opened.store, `${prefix}contract-${randomUUID()}/`);
    } finally {
      await opened.cleanup();
    }
  };

  void describe(`Store contract: ${name}`, () => {
    void it('revisions strictly increase across all keys and match what reads report', { timeout }, withStore(async (s, p) => {
      const before = await s.currentRevision();
      const r1 = await s.create(`${p}a`, text('a1'));
      const r2 = await s.create(`${p}b`, text('b1'));
      const r3 = await s.update(`${p}a`, text('a2'), { ifRevision: r1 });
      const d = await s.delete(`${p}b`);
      const r5 = await s.create(`${p}b`, text('b2'));
      const revs = [before, r1, r2, r3, d.revision, r5];
      for (let i = 1; i < revs.length; i++) assert.ok(revs[i]! > revs[i - 1]!, `revisions ${revs.join(', ')}`);
      assert.equal(await s.currentRevision(), r5);

      const a = await s.get(`${p}a`);
      assert.equal(a.revision, r5);
      assert.deepEqual(plain(a.kv), { key: `${p}a`, value: 'a2', createRevision: r1, modRevision: r3 });
      // A key created again after a delete starts a new life: its createRevision is the new create.
      const b = await s.get(`${p}b`);
      assert.deepEqual(plain(b.kv), { key: `${p}b`, value: 'b2', createRevision: r5, modRevision: r5 });
      assert.deepEqual(plain(d.prev), { key: `${p}b`, value: 'b1', createRevision: r2, modRevision: r2 });

      const missing = await s.get(`${p}nothing`);
      assert.equal(missing.kv, undefined);
      assert.equal(missing.revision, r5);
    }));

    void it('stores values as exact bytes: empty, binary with zeros, 1 MiB', { timeout }, withStore(async (s, p) => {
      const values = [new Uint8Array(0), Uint8Array.from([0, 255, 0, 1, 0]), randomBytes(1024 * 1024)];
      for (const [i, v] of values.entries()) await s.create(`${p}${i}`, v);
      for (const [i, v] of values.entries()) {
        const got = await s.get(`${p}${i}`);
        assert.ok(got.kv, `key ${i} present`);
        assert.ok(got.kv.value instanceof Uint8Array);
        assert.ok(Buffer.from(got.kv.value).equals(Buffer.from(v)), `value ${i} round-trips (${v.length} bytes)`);
      }
    }));

    void it('a list larger than 4 MiB (the gRPC default message size) is answered whole', { timeout }, withStore(async (s, p) => {
      // A namespace of a few thousand Secrets: etcd's Go client takes any response size, so must the store.
      const value = randomBytes(1 << 20);
      for (let i = 0; i < 5; i++) await s.create(`${p}big-${i}`, value);
      const all = await s.list(p);
      assert.equal(all.kvs.length, 5);
      assert.ok(all.kvs.every((kv) => Buffer.from(kv.value).equals(value)));
    }));

    void it('create of an existing key fails with AlreadyExistsError and writes nothing', { timeout }, withStore(async (s, p) => {
      const r1 = await s.create(`${p}k`, text('first'));
      await assert.rejects(s.create(`${p}k`, text('second')), AlreadyExistsError);
      assert.equal(await s.currentRevision(), r1);
      const got = await s.get(`${p}k`);
      assert.equal(got.kv && str(got.kv.value), 'first');
      assert.equal(got.kv?.modRevision, r1);
    }));

    void it('update with a stale revision fails with a conflict carrying the current value', { timeout }, withStore(async (s, p) => {
      const r1 = await s.create(`${p}k`, text('v1'));
      const r2 = await s.update(`${p}k`, text('v2'), { ifRevision: r1 });
      const err = await rejectsWith(s.update(`${p}k`, text('v3'), { ifRevision: r1 }), RevisionConflictError);
      assert.ok(err instanceof ConflictError);
      assert.deepEqual(plain(err.current), { key: `${p}k`, value: 'v2', createRevision: r1, modRevision: r2 });
      assert.equal(await s.currentRevision(), r2);
      // A future revision is as wrong as a past one.
      await assert.rejects(s.update(`${p}k`, text('v3'), { ifRevision: r2 + 100 }), RevisionConflictError);
      const got = await s.get(`${p}k`);
      assert.equal(got.kv && str(got.kv.value), 'v2');
    }));

    void it('update of a missing key fails with a conflict whose current value is undefined', { timeout }, withStore(async (s, p) => {
      const r1 = await s.create(`${p}k`, text('v1'));
      await s.delete(`${p}k`);
      const err = await rejectsWith(s.update(`${p}k`, text('v2'), { ifRevision: r1 }), RevisionConflictError);
      assert.equal(err.current, undefined);
      const never = await rejectsWith(s.update(`${p}never`, text('v'), { ifRevision: r1 }), RevisionConflictError);
      assert.equal(never.current, undefined);
      assert.equal((await s.get(`${p}k`)).kv, undefined);
    }));

    void it('delete: returns the previous value; stale revision conflicts; missing key is NotFound', { timeout }, withStore(async (s, p) => {
      const r1 = await s.create(`${p}k`, text('v1'));
      const r2 = await s.update(`${p}k`, text('v2'), { ifRevision: r1 });
      const err = await rejectsWith(s.delete(`${p}k`, { ifRevision: r1 }), RevisionConflictError);
      assert.deepEqual(plain(err.current), { key: `${p}k`, value: 'v2', createRevision: r1, modRevision: r2 });
      assert.equal(await s.currentRevision(), r2);

      const d = await s.delete(`${p}k`, { ifRevision: r2 });
      assert.ok(d.revision > r2);
      assert.deepEqual(plain(d.prev), { key: `${p}k`, value: 'v2', createRevision: r1, modRevision: r2 });
      assert.equal((await s.get(`${p}k`)).kv, undefined);

      await assert.rejects(s.delete(`${p}k`), NotFoundError);
      await assert.rejects(s.delete(`${p}never`), NotFoundError);
      await assert.rejects(s.delete(`${p}never`, { ifRevision: r1 }), NotFoundError);
      assert.equal(await s.currentRevision(), d.revision);
    }));

    void it('get and list at a past revision return that snapshot', { timeout }, withStore(async (s, p) => {
      const ra = await s.create(`${p}a`, text('a1'));
      const rb = await s.create(`${p}b`, text('b1'));
      const ra2 = await s.update(`${p}a`, text('a2'), { ifRevision: ra });
      const db = await s.delete(`${p}b`);
      const rc = await s.create(`${p}c`, text('c1'));

      const a1 = await s.get(`${p}a`, { revision: rb });
      assert.equal(a1.revision, rb);
      assert.deepEqual(plain(a1.kv), { key: `${p}a`, value: 'a1', createRevision: ra, modRevision: ra });
      assert.equal((await s.get(`${p}c`, { revision: db.revision })).kv, undefined, 'not created yet');
      assert.equal((await s.get(`${p}b`, { revision: ra2 })).kv?.modRevision, rb, 'not deleted yet');

      const at = async (revision: number) => {
        const l = await s.list(p, { revision });
        assert.equal(l.revision, revision);
        assert.equal(l.more, false);
        return l.kvs.map((kv) => `${kv.key.slice(p.length)}=${str(kv.value)}@${kv.modRevision}`);
      };
      assert.deepEqual(await at(ra), [`a=a1@${ra}`]);
      assert.deepEqual(await at(rb), [`a=a1@${ra}`, `b=b1@${rb}`]);
      assert.deepEqual(await at(ra2), [`a=a2@${ra2}`, `b=b1@${rb}`]);
      assert.deepEqual(await at(db.revision), [`a=a2@${ra2}`]);
      assert.deepEqual(await at(rc), [`a=a2@${ra2}`, `c=c1@${rc}`]);
      const now = await s.list(p);
      assert.equal(now.revision, rc);
      assert.deepEqual(now.kvs.map((kv) => kv.key), [`${p}a`, `${p}c`]);

      // Reads past the newest revision have no answer yet (etcd: "required revision is a future revision").
      await assert.rejects(s.get(`${p}a`, { revision: rc + 1000 }));
    }));

    void it('revisionOf answers the modRevision get reads now, and undefined for a key absent or deleted', { timeout }, withStore(async (s, p) => {
      assert.equal(await s.revisionOf(`${p}a`), undefined, 'never written');
      const r1 = await s.create(`${p}a`, text('a1'));
      assert.equal(await s.revisionOf(`${p}a`), r1);
      const r2 = await s.update(`${p}a`, text('a2'), { ifRevision: r1 });
      // Another key's writes, and one whose name extends this one's, move the store's revision, not this key's.
      await s.create(`${p}b`, text('b1'));
      await s.create(`${p}a0`, text('x'));
      assert.equal(await s.revisionOf(`${p}a`), r2);
      assert.equal(await s.revisionOf(`${p}a`), (await s.get(`${p}a`)).kv?.modRevision);
      await s.delete(`${p}a`);
      assert.equal(await s.revisionOf(`${p}a`), undefined, 'deleted');
      const r3 = await s.create(`${p}a`, text('a3'));
      assert.equal(await s.revisionOf(`${p}a`), r3, 'created again');
      // History below a compaction is gone; the current revision is still there.
      await s.compact(await s.currentRevision());
      assert.equal(await s.revisionOf(`${p}a`), r3);
      assert.equal(await s.revisionOf(`${p}b0`), undefined, 'a key between others');
      const stop = new AbortController();
      stop.abort();
      await assert.rejects(s.revisionOf(`${p}a`, { signal: stop.signal }));
      await s.close();
      await assert.rejects(s.revisionOf(`${p}a`));
    }));

    void it('list: prefix, byte order, limit with more, startKey', { timeout }, withStore(async (s, p) => {
      // U+1F600 sorts before U+FFFD in UTF-16 but after it in UTF-8 bytes; stores order by bytes, like etcd.
      const names = ['a', 'b', 'b/x', 'c', 'd', '\u00e9', '\uFFFD', '\u{1F600}'];
      for (const n of [...names].reverse()) await s.create(`${p}${n}`, text(n));
      await s.create(`${p.slice(0, -1)}-sibling/a`, text('outside')); // shares the prefix's text but not "p/"
      const keys = (l: { kvs: KeyValue[] }) => l.kvs.map((kv) => kv.key.slice(p.length));

      const all = await s.list(p);
      assert.deepEqual(keys(all), names);
      assert.equal(all.more, false);
      assert.deepEqual(all.kvs.map((kv) => str(kv.value)), names);

      const first = await s.list(p, { limit: 3 });
      assert.deepEqual(keys(first), ['a', 'b', 'b/x']);
      assert.equal(first.more, true);
      assert.equal(first.count, names.length, 'a cut list counts the whole range (remainingItemCount)');
      const next = await s.list(p, { limit: 3, startKey: `${first.kvs[2]!.key}\0` });
      assert.deepEqual(keys(next), ['c', 'd', '\u00e9']);
      assert.equal(next.more, true);
      assert.equal(next.count, names.length - 3, 'counted from startKey');
      const last = await s.list(p, { limit: 3, startKey: `${next.kvs[2]!.key}\0` });
      assert.deepEqual(keys(last), ['\uFFFD', '\u{1F600}']);
      assert.equal(last.more, false);

      assert.equal((await s.list(p, { limit: names.length })).more, false, 'limit equal to the count');
      assert.deepEqual(keys(await s.list(p, { startKey: `${p}c` })), names.slice(3), 'startKey is inclusive');
      assert.deepEqual(keys(await s.list(`${p}b`)), ['b', 'b/x']);
      assert.deepEqual(keys(await s.list(`${p}b/`)), ['b/x']);
      assert.deepEqual(keys(await s.list(`${p}zzz/`)), []);
    }));

    void it('list: each page of a paged list counts the keys left at its revision, whatever is written in between', { timeout }, withStore(async (s, p) => {
      for (let i = 0; i < 10; i++) await s.create(`${p}k${i}`, text(`v${i}`));
      const after = (l: { kvs: KeyValue[] }) => `${l.kvs.at(-1)!.key}\0`;
      const first = await s.list(p, { limit: 3 });
      assert.equal(first.count, 10);
      // Between pages: k4, k5 and k6 deleted, k95 and k96 created (after k9), k7 updated.
      for (const k of ['k4', 'k5', 'k6']) await s.delete(`${p}${k}`);
      for (const k of ['k95', 'k96']) await s.create(`${p}${k}`, text(k));
      const k7 = (await s.get(`${p}k7`)).kv!;
      await s.update(`${p}k7`, text('v7b'), { ifRevision: k7.modRevision });

      const second = await s.list(p, { limit: 3, startKey: after(first), revision: first.revision });
      assert.deepEqual(second.kvs.map((kv) => kv.key.slice(p.length)), ['k3', 'k4', 'k5'], 'the first page\'s snapshot');
      assert.equal(second.count, 7, 'k3 to k9 at the first page\'s revision');
      // The same start at the newest revision is another snapshot with its own count: k7, k8, k9, k95, k96.
      const now = await s.list(p, { limit: 3, startKey: after(second) });
      assert.deepEqual(now.kvs.map((kv) => kv.key.slice(p.length)), ['k7', 'k8', 'k9']);
      assert.equal(now.count, 5);
      const third = await s.list(p, { limit: 3, startKey: after(second), revision: first.revision });
      assert.deepEqual(third.kvs.map((kv) => kv.key.slice(p.length)), ['k6', 'k7', 'k8']);
      assert.equal(third.count, 4, 'k6 to k9 at the first page\'s revision');
      const again = await s.list(p, { limit: 3, startKey: after(second), revision: first.revision });
      assert.equal(again.count, 4, 'a page asked again (a client retrying its continue token) counts the same');
      const last = await s.list(p, { limit: 3, startKey: after(third), revision: first.revision });
      assert.deepEqual(last.kvs.map((kv) => kv.key.slice(p.length)), ['k9']);
      assert.equal(last.more, false);
    }));

    void it('watch from R replays every event after R in order with previous values, then live ones', { timeout }, withStore(async (s, p) => {
      const r1 = await s.create(`${p}a`, text('a1'));
      const r2 = await s.create(`${p}b`, text('b1'));
      const r3 = await s.update(`${p}a`, text('a2'), { ifRevision: r1 });
      const d4 = await s.delete(`${p}b`);
      await s.create(`${prefix}contract-elsewhere-${randomUUID()}`, text('not watched'));

      const w = openWatch(s, p, r2); // "after r2": neither r1 nor r2 itself
      try {
        const replayed = await w.take(2);
        assert.deepEqual(replayed.map(describeEvent), [
          `put a=a2@${r3} created ${r1} prev a1@${r1}`,
          `delete b@${d4.revision} prev b1@${r2}`,
        ]);
        const r5 = await s.create(`${p}c`, text('c1'));
        const r6 = await s.update(`${p}a`, text('a3'), { ifRevision: r3 });
        const d7 = await s.delete(`${p}a`, { ifRevision: r6 });
        const live = await w.take(3);
        assert.deepEqual(live.map(describeEvent), [
          `put c=c1@${r5} created ${r5}`,
          `put a=a3@${r6} created ${r1} prev a2@${r3}`,
          `delete a@${d7.revision} prev a3@${r6}`,
        ]);
        await w.expectNothing();
      } finally {
        await w.stop();
      }
    }));

    void it('watch from the current revision delivers only new events, none twice, none lost', { timeout }, withStore(async (s, p) => {
      await s.create(`${p}old`, text('old'));
      const w = openWatch(s, p, await s.currentRevision());
      try {
        // Writes race with the watch's start-up on purpose: some land before the first pull, some while it is being
        // served; replay and live must meet without a gap or a duplicate.
        const revs: number[] = [];
        for (let i = 0; i < 20; i++) revs.push(await s.create(`${p}k${i}`, text(String(i))));
        const taking = w.take(50);
        taking.catch(() => undefined); // awaited below; this only keeps an early failure from counting as unhandled
        for (let i = 20; i < 50; i++) revs.push(await s.create(`${p}k${i}`, text(String(i))));
        const events = await taking;
        assert.deepEqual(events.map((e) => (e.type === 'put' ? e.kv.modRevision : -1)), revs);
        await w.expectNothing();
      } finally {
        await w.stop();
      }
    }));

    void it('compaction: older reads and watches fail with CompactedError; newer ones work', { timeout }, withStore(async (s, p) => {
      const r1 = await s.create(`${p}a`, text('a1'));
      const r2 = await s.update(`${p}a`, text('a2'), { ifRevision: r1 });
      const r3 = await s.create(`${p}b`, text('b1'));
      const d4 = await s.delete(`${p}b`);
      const r5 = await s.update(`${p}a`, text('a3'), { ifRevision: r2 });
      await s.compact(d4.revision);

      const err = await rejectsWith(s.get(`${p}a`, { revision: r1 }), CompactedError);
      assert.ok(err.compactRevision >= d4.revision);
      await assert.rejects(s.list(p, { revision: r3 }), CompactedError);
      await assert.rejects(drain(s.watch(p, { fromRevision: r1, signal: AbortSignal.timeout(EVENT_WAIT_MS) })), CompactedError);

      // The compact revision itself is still readable, and everything after it.
      const atCompact = await s.list(p, { revision: d4.revision });
      assert.deepEqual(atCompact.kvs.map((kv) => `${kv.key.slice(p.length)}=${str(kv.value)}`), ['a=a2']);
      const now = await s.get(`${p}a`);
      assert.deepEqual(plain(now.kv), { key: `${p}a`, value: 'a3', createRevision: r1, modRevision: r5 });
      const w = openWatch(s, p, d4.revision);
      try {
        const [e] = await w.take(1);
        assert.equal(e && describeEvent(e), `put a=a3@${r5} created ${r1} prev a2@${r2}`);
      } finally {
        await w.stop();
      }
      // Writes go on after compaction.
      assert.ok((await s.update(`${p}a`, text('a4'), { ifRevision: r5 })) > r5);
    }));

    void it('concurrent read-modify-write loops on one key lose no update', { timeout }, withStore(async (s, p) => {
      const key = `${p}counter`;
      await s.create(key, text('0'));
      const WRITERS = 20;
      const EACH = 5;
      const winners: number[] = [];
      let conflicts = 0;
      const writer = async () => {
        for (let done = 0; done < EACH; ) {
          const { kv } = await s.get(key);
          assert.ok(kv);
          try {
            winners.push(await s.update(key, text(String(Number(str(kv.value)) + 1)), { ifRevision: kv.modRevision }));
            done++;
          } catch (e) {
            if (!(e instanceof RevisionConflictError)) throw e;
            conflicts++;
          }
        }
      };
      await Promise.all(Array.from({ length: WRITERS }, writer));
      const { kv } = await s.get(key);
      assert.equal(kv && str(kv.value), String(WRITERS * EACH));
      assert.equal(new Set(winners).size, WRITERS * EACH, 'every successful update has its own revision');
      assert.ok(conflicts > 0, 'the writers did race');
    }));

    void it('a watcher that does not read does not block writers, and later gets every event', { timeout }, withStore(async (s, p) => {
      const from = await s.currentRevision();
      const w = openWatch(s, p, from);
      try {
        const value = randomBytes(1024);
        const revs: number[] = [];
        const started = performance.now();
        for (let i = 0; i < 300; i++) revs.push(await s.create(`${p}k${String(i).padStart(3, '0')}`, value));
        assert.ok(performance.now() - started < timeout / 2, 'writes finished while the watcher slept');
        const events = await w.take(300);
        assert.deepEqual(events.map((e) => (e.type === 'put' ? e.kv.modRevision : -1)), revs);
      } finally {
        await w.stop();
      }
    }));

    void it('aborting the signal ends a watch; close() ends the rest and refuses further calls', { timeout }, withStore(async (s, p) => {
      const controller = new AbortController();
      const aborted = openWatch(s, p, await s.currentRevision(), controller.signal);
      const open = openWatch(s, p, await s.currentRevision());
      await s.create(`${p}a`, text('a'));
      assert.equal((await aborted.take(1)).length, 1);
      assert.equal((await open.take(1)).length, 1);
      controller.abort();
      await aborted.ended();
      await s.close();
      await open.ended();
      await assert.rejects(s.get(`${p}a`));
      await assert.rejects(s.create(`${p}b`, text('b')));
      await s.close(); // twice is harmless
    }));

    void it('bad input is refused with InvalidError before anything is written', { timeout }, withStore(async (s, p) => {
      const r1 = await s.create(`${p}k`, text('v'));
      const big = Buffer.alloc(MAX_VALUE_BYTES + 1, 'coffer-contract-canary ');
      const refusals: [string, () => Promise<unknown>][] = [
        ['empty key on create', () => s.create('', text('v'))],
        ['key outside the prefix', () => s.create('/elsewhere/k', text('v'))],
        ['key that only looks like the prefix', () => s.create(prefix.slice(0, -1), text('v'))],
        ['oversized value on create', () => s.create(`${p}big`, big)],
        ['oversized value on update', () => s.update(`${p}k`, big, { ifRevision: r1 })],
        ['empty key on update', () => s.update('', text('v'), { ifRevision: r1 })],
        ['empty key on delete', () => s.delete('')],
        ['the bare prefix as a key', () => s.create(prefix, text('v'))],
        ['key outside the prefix on delete', () => s.delete('/elsewhere/k')],
      ];
      for (const [what, call] of refusals) {
        const err = await rejectsWith(call(), InvalidError, what);
        assert.ok(err.message.length > 0, what);
      }
      const sized = await rejectsWith(s.create(`${p}big`, big), InvalidError);
      assert.match(sized.message, new RegExp(`${p}big`), 'the message names the key');
      assert.match(sized.message, new RegExp(String(big.length)), 'and the size');
      assert.ok(!sized.message.includes('canary'), 'but never the value');
      assert.equal(await s.currentRevision(), r1);
      assert.equal((await s.get(`${p}big`)).kv, undefined);
      assert.equal((await s.get(`${p}k`)).kv?.modRevision, r1);
    }));
  });
}

/** Awaits a rejection of the given class and returns the error, so a case can look at its fields. */
async function rejectsWith<E extends Error>(
  promise: Promise<unknown>,
  cls: abstract new (...args: never[]) => E,
  what?: string,
): Promise<E> {
  try {
    await promise;
  } catch (e) {
    assert.ok(e instanceof cls, `${what ?? 'call'}: expected ${cls.name}, got ${String(e)}`);
    return e;
  }
  assert.fail(`${what ?? 'call'}: expected ${cls.name}, but it succeeded`);
}

function plain(kv: KeyValue | undefined) {
  return kv && { key: kv.key, value: str(kv.value), createRevision: kv.createRevision, modRevision: kv.modRevision };
}

function describeEvent(e: WatchEvent): string {
  const short = (k: string) => k.slice(k.lastIndexOf('/') + 1);
  const prev = e.prev ? ` prev ${str(e.prev.value)}@${e.prev.modRevision}` : '';
  return e.type === 'put'
    ? `put ${short(e.kv.key)}=${str(e.kv.value)}@${e.kv.modRevision} created ${e.kv.createRevision}${prev}`
    : `delete ${short(e.key)}@${e.revision}${prev}`;
}

async function drain(events: AsyncIterable<WatchEvent>): Promise<void> {
  for await (const _ of events) {
    // only the end (or the error) matters
  }
}

/**
 * A watch read one event at a time, with deadlines, so a missing event fails the case instead of hanging it. Only one
 * next() is ever outstanding: take() leaves a pending pull in place for the next take() to await.
 */
function openWatch(s: Store, p: string, fromRevision: number, signal?: AbortSignal) {
  const controller = new AbortController();
  const iterator = s.watch(p, { fromRevision, signal: signal ?? controller.signal })[Symbol.asyncIterator]();
  let pending: Promise<IteratorResult<WatchEvent>> | undefined;
  const pull = () => (pending ??= iterator.next());
  const within = <T>(promise: Promise<T>, ms: number): Promise<T | 'timeout'> => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), ms)));
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
  };
  return {
    async take(n: number): Promise<WatchEvent[]> {
      const out: WatchEvent[] = [];
      while (out.length < n) {
        const r = await within(pull(), EVENT_WAIT_MS);
        if (r === 'timeout') assert.fail(`watch: got ${out.length} of ${n} events within ${EVENT_WAIT_MS} ms`);
        pending = undefined;
        if (r.done) assert.fail(`watch ended after ${out.length} of ${n} events`);
        out.push(r.value);
      }
      return out;
    },
    /** Nothing more arrives for a short while (an extra event would be a duplicate or a leak from another prefix). */
    async expectNothing(): Promise<void> {
      const r = await within(pull(), 200);
      if (r !== 'timeout') assert.fail(`unexpected watch ${r.done ? 'end' : `event ${describeEvent(r.value)}`}`);
    },
    /** The watch ends (normally, or with an AbortError) soon. */
    async ended(): Promise<void> {
      let r: IteratorResult<WatchEvent> | 'timeout';
      try {
        r = await within(pull(), EVENT_WAIT_MS);
      } catch (e) {
        assert.equal((e as Error).name, 'AbortError', `watch ended with ${String(e)}`);
        return;
      }
      if (r === 'timeout') assert.fail('watch did not end');
      assert.equal(r.done, true, 'watch ended');
    },
    async stop(): Promise<void> {
      controller.abort();
      // return() while a next() is pending is allowed for async generators (it queues); swallow the pull's outcome.
      pending?.catch(() => undefined);
      await iterator.return?.();
    },
  };
}
