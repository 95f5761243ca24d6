// Watches through the registry over a real SqliteStore (k8s.io/apiserver pkg/storage/cacher semantics): start points,
// selector transitions, bookmarks, compaction, decrypt failures, and a slow watcher next to a fast one.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeClock } from '../../lib/clock.js';
import type { KubeObject } from '../../objects/object-meta.js';
import type { ApiWatchEvent, ResourceStore, WatchOptions } from '../resource-store.js';
import { aes, encryptionYaml, KEY2, openRegistry, type RegistryFixture } from './testing/registry-fixture.js';

const WAIT_MS = 5000;

function secret(name: string, labels?: Record<string, string>): KubeObject {
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name, ...(labels ? { labels } : {}) }, type: 'Opaque' };
}

/** A watch read one event at a time with deadlines; close() aborts it the way the HTTP layer would. */
function openWatch(store: ResourceStore, namespace: string | undefined, opts: Omit<WatchOptions, 'signal'> = {}) {
  const controller = new AbortController();
  const it = store.watch(namespace, { ...opts, signal: controller.signal })[Symbol.asyncIterator]();
  let pending: Promise<IteratorResult<ApiWatchEvent>> | undefined;
  const within = async <T>(p: Promise<T>, ms: number): Promise<T | 'timeout'> => {
    let timer: NodeJS.Timeout | undefined;
    const t = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), ms)));
    try {
      return await Promise.race([p, t]);
    } finally {
      clearTimeout(timer);
    }
  };
  return {
    async take(n: number): Promise<ApiWatchEvent[]> {
      const out: ApiWatchEvent[] = [];
      while (out.length < n) {
        const r = await within((pending ??= it.next()), WAIT_MS);
        if (r === 'timeout') assert.fail(`got ${out.length} of ${n} events: ${JSON.stringify(out.map(show))}`);
        pending = undefined;
        if (r.done) assert.fail(`watch ended after ${out.length} of ${n} events`);
        out.push(r.value);
      }
      return out;
    },
    async expectNothing(ms = 150): Promise<void> {
      const r = await within((pending ??= it.next()), ms);
      if (r !== 'timeout') assert.fail(`unexpected ${r.done ? 'end' : show(r.value)}`);
    },
    async ended(): Promise<void> {
      const r = await within((pending ??= it.next()), WAIT_MS);
      assert.ok(r !== 'timeout' && r.done, 'the watch ended');
    },
    async close(): Promise<void> {
      controller.abort();
      pending?.catch(() => undefined);
      await it.return?.();
    },
  };
}

function show(e: ApiWatchEvent): string {
  return `${e.type} ${e.object.metadata?.name ?? ''}@${e.object.metadata?.resourceVersion ?? ''}`;
}

async function withRegistry(fn: (r: RegistryFixture) => Promise<void>, opts: Parameters<typeof openRegistry>[0] = {}): Promise<void> {
  const r = await openRegistry(opts);
  try {
    await fn(r);
  } finally {
    await r.close();
  }
}

void describe('watch', () => {
  void it('without a resourceVersion: synthetic ADDED for what exists, then MODIFIED and DELETED (final state, new RV)', () =>
    withRegistry(async (r) => {
      const secrets = r.stores.secrets;
      const a = await secrets.create('default', secret('a'));
      const b = await secrets.create('default', secret('b'));
      await r.stores.namespaces.create(undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'other' } });
      await secrets.create('other', secret('not-here'));
      const w = openWatch(secrets, 'default');
      try {
        assert.deepEqual((await w.take(2)).map(show), [`ADDED a@${a.metadata!.resourceVersion}`, `ADDED b@${b.metadata!.resourceVersion}`]);
        const a2 = await secrets.update('default', 'a', { ...a, data: { k: 'dg==' } });
        const gone = await secrets.delete('default', 'b');
        const [modified, deleted] = await w.take(2);
        assert.deepEqual([modified, deleted].map((e) => show(e!)), [`MODIFIED a@${a2.metadata!.resourceVersion}`, `DELETED b@${gone.object.metadata!.resourceVersion}`]);
        assert.deepEqual(modified!.object, a2, 'events carry the whole object with kind and apiVersion');
        assert.equal(deleted!.object.metadata!.uid, b.metadata!.uid);
        await secrets.create('other', secret('still-not-here'));
        await w.expectNothing();
      } finally {
        await w.close();
      }
    }));

  void it('from a list resourceVersion: only later changes, no replay', () =>
    withRegistry(async (r) => {
      const secrets = r.stores.secrets;
      await secrets.create('default', secret('old'));
      const list = await secrets.list('default');
      const c = await secrets.create('default', secret('c'));
      const w = openWatch(secrets, 'default', { resourceVersion: list.metadata.resourceVersion });
      try {
        assert.deepEqual((await w.take(1)).map(show), [`ADDED c@${c.metadata!.resourceVersion}`]);
        await w.expectNothing();
      } finally {
        await w.close();
      }
    }));

  void it('selectors: entering is ADDED, leaving is DELETED with the previous state at the new revision', () =>
    withRegistry(async (r) => {
      const secrets = r.stores.secrets;
      const w = openWatch(secrets, undefined, { labelSelector: 'app=web', resourceVersion: String(await r.store.currentRevision()) });
      try {
        const x = await secrets.create('default', secret('x', { app: 'db' }));
        const x2 = await secrets.update('default', 'x', { ...x, metadata: { ...x.metadata, labels: { app: 'web' } } });
        const x3 = await secrets.update('default', 'x', { ...x2, metadata: { ...x2.metadata, labels: { app: 'web', v: '2' } } });
        const x4 = await secrets.update('default', 'x', { ...x3, metadata: { ...x3.metadata, labels: { app: 'db' } } });
        await secrets.delete('default', 'x');
        const events = await w.take(3);
        assert.deepEqual(events.map(show), [
          `ADDED x@${x2.metadata!.resourceVersion}`,
          `MODIFIED x@${x3.metadata!.resourceVersion}`,
          `DELETED x@${x4.metadata!.resourceVersion}`,
        ]);
        assert.deepEqual(events[2]!.object.metadata!.labels, { app: 'web', v: '2' }, 'the last state that matched');
        await w.expectNothing();
      } finally {
        await w.close();
      }
    }));

  void it("a single-object watch (kubectl's fieldSelector=metadata.name=x&resourceVersion=0) gets its synthetic ADDED first", () =>
    withRegistry(async (r) => {
      const secrets = r.stores.secrets;
      const one = await secrets.create('default', secret('one'));
      await secrets.create('default', secret('two'));
      const w = openWatch(secrets, 'default', { fieldSelector: 'metadata.name=one', resourceVersion: '0' });
      const byName = openWatch(secrets, 'default', { name: 'one' });
      try {
        assert.deepEqual((await w.take(1)).map(show), [`ADDED one@${one.metadata!.resourceVersion}`]);
        assert.deepEqual((await byName.take(1)).map(show), [`ADDED one@${one.metadata!.resourceVersion}`]);
        await secrets.update('default', 'two', secret('two', { touched: 'y' }));
        const one2 = await secrets.update('default', 'one', secret('one', { touched: 'y' }));
        assert.deepEqual((await w.take(1)).map(show), [`MODIFIED one@${one2.metadata!.resourceVersion}`]);
        assert.deepEqual((await byName.take(1)).map(show), [`MODIFIED one@${one2.metadata!.resourceVersion}`]);
      } finally {
        await w.close();
        await byName.close();
      }
    }));

  void it('bookmarks: periodic, with the latest revision the watch has seen, shaped as kube sends them', async () => {
    const clock = new FakeClock(Date.UTC(2026, 0, 1));
    await withRegistry(
      async (r) => {
        const secrets = r.stores.secrets;
        const start = String(await r.store.currentRevision());
        const w = openWatch(secrets, 'default', { resourceVersion: start, allowWatchBookmarks: true });
        const plain = openWatch(secrets, 'default', { resourceVersion: start });
        try {
          await w.expectNothing(50);
          await clock.advance(1000);
          const [first] = await w.take(1);
          assert.deepEqual(first, { type: 'BOOKMARK', object: { kind: 'Secret', apiVersion: 'v1', metadata: { resourceVersion: start, creationTimestamp: null } } });
          const b = await secrets.create('default', secret('b'));
          assert.equal(show((await w.take(1))[0]!), `ADDED b@${b.metadata!.resourceVersion}`);
          await clock.advance(1000);
          assert.equal(show((await w.take(1))[0]!), `BOOKMARK @${b.metadata!.resourceVersion}`);
          await clock.advance(1000);
          assert.equal(show((await w.take(1))[0]!), `BOOKMARK @${b.metadata!.resourceVersion}`);
          // Without allowWatchBookmarks there are none.
          assert.equal(show((await plain.take(1))[0]!), `ADDED b@${b.metadata!.resourceVersion}`);
          await plain.expectNothing(50);
        } finally {
          await w.close();
          await plain.close();
        }
      },
      { clock, bookmarkIntervalMs: 1000 },
    );
  });

  void it('a resourceVersion older than compaction gets one ERROR event with a 410 Expired Status, then the stream ends', () =>
    withRegistry(async (r) => {
      const secrets = r.stores.secrets;
      const old = await secrets.create('default', secret('c1'));
      await secrets.update('default', 'c1', secret('c1', { v: '2' }));
      await secrets.update('default', 'c1', secret('c1', { v: '3' }));
      const compactTo = await r.store.currentRevision();
      await r.store.compact(compactTo);
      const w = openWatch(secrets, 'default', { resourceVersion: old.metadata!.resourceVersion! });
      try {
        const [e] = await w.take(1);
        assert.deepEqual(e, {
          type: 'ERROR',
          object: {
            kind: 'Status',
            apiVersion: 'v1',
            metadata: {},
            status: 'Failure',
            message: `too old resource version: ${old.metadata!.resourceVersion} (${compactTo - 1})`,
            reason: 'Expired',
            code: 410,
          },
        });
        await w.ended();
      } finally {
        await w.close();
      }
    }));

  void it('a value that cannot be decrypted ends the watch with a 500 ERROR event naming the key', () =>
    withRegistry(async (r) => {
      const secrets = r.stores.secrets;
      await secrets.create('default', secret('locked'));
      const w = openWatch(secrets, 'default', { resourceVersion: String(await r.store.currentRevision()) });
      try {
        await r.engine.load(encryptionYaml(aes('aesgcm', [['other', KEY2]])));
        await r.store.delete('/registry/secrets/default/locked');
        const [e] = await w.take(1);
        assert.equal(e!.type, 'ERROR');
        const status = e!.object as unknown as { code: number; reason: string; message: string };
        assert.deepEqual([status.code, status.reason], [500, 'InternalError']);
        assert.match(status.message, /unable to transform key "\/registry\/secrets\/default\/locked"/);
        await w.ended();
      } finally {
        await w.close();
      }
    }));

  void it('a watcher that stops reading slows neither writers nor another watcher, and later gets every event in order', () =>
    withRegistry(
      async (r) => {
        const secrets = r.stores.secrets;
        const from = String(await r.store.currentRevision());
        const slow = openWatch(secrets, 'default', { resourceVersion: from });
        const fast = openWatch(secrets, 'default', { resourceVersion: from });
        try {
          await secrets.create('default', secret('first'));
          await slow.take(1); // started, then it sleeps
          const fastEvents = fast.take(201);
          fastEvents.catch(() => undefined); // awaited below
          const revisions: string[] = [];
          const started = performance.now();
          for (let i = 0; i < 200; i++) revisions.push((await secrets.create('default', secret(`k${String(i).padStart(3, '0')}`))).metadata!.resourceVersion!);
          const writeMs = performance.now() - started;
          assert.deepEqual((await fastEvents).slice(1).map((e) => e.object.metadata!.resourceVersion), revisions);
          assert.ok(writeMs < WAIT_MS, `writes took ${writeMs} ms`);
          const late = await slow.take(200);
          assert.deepEqual(late.map((e) => e.object.metadata!.resourceVersion), revisions, 'the slow watcher misses nothing');
        } finally {
          await slow.close();
          await fast.close();
        }
      },
      { watchLimits: { maxQueuedEvents: 8, pageEvents: 16 } },
    ));

  void it('aborting the signal ends the watch', () =>
    withRegistry(async (r) => {
      const controller = new AbortController();
      const it = r.stores.secrets.watch('default', { signal: controller.signal })[Symbol.asyncIterator]();
      const next = it.next();
      controller.abort();
      assert.deepEqual(await next, { done: true, value: undefined });
    }));

  void it('bad selectors and resourceVersions fail when the watch is opened, before any streaming', () =>
    withRegistry(async (r) => {
      const signal = new AbortController().signal;
      assert.throws(() => r.stores.secrets.watch('default', { labelSelector: 'a in', signal }), /unable to parse requirement/);
      assert.throws(() => r.stores.configmaps.watch('default', { fieldSelector: 'type=x', signal }), /is not a known field selector/);
      assert.throws(() => r.stores.secrets.watch('default', { resourceVersion: 'x', signal }), /invalid resource version/);
    }));
});
