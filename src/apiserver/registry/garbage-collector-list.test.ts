// The garbage collector's informer LIST: in pages at one revision, with the event loop free between pages, so that its
// first list of a large store does not hold the API server's start and its requests (100,000 Secrets took 12-36 s).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeObject } from '../../objects/object-meta.js';
import type { KubeList, ListOptions, ResourceStore } from '../resource-store.js';
import { GarbageCollector } from './garbage-collector.js';
import { LIST_PAGE_SIZE } from './informer-loop.js';

/** A store of `count` ConfigMaps that answers LIST pages by `limit`/`continue` and records each call's options. */
function pagedStore(count: number, onList: (opts: ListOptions) => void): ResourceStore {
  const items: KubeObject[] = Array.from({ length: count }, (_, i) => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: `c${i}`, namespace: 'default', uid: `uid-${i}`, resourceVersion: '7' },
  }));
  const store = {
    info: { group: '', version: 'v1', kind: 'ConfigMap', plural: 'configmaps', namespaced: true },
    list(_ns: string | undefined, opts: ListOptions = {}): Promise<KubeList> {
      onList(opts);
      const from = opts.continue ? Number(opts.continue) : 0;
      const to = opts.limit ? Math.min(count, from + opts.limit) : count;
      return Promise.resolve({
        apiVersion: 'v1',
        kind: 'ConfigMapList',
        metadata: { resourceVersion: '7', ...(to < count ? { continue: String(to) } : {}) },
        items: items.slice(from, to),
      });
    },
    async *watch(_ns: string | undefined, opts: { signal: AbortSignal }) {
      await new Promise<void>((resolve) => opts.signal.addEventListener('abort', () => resolve(), { once: true }));
      yield* [];
    },
  };
  return store as unknown as ResourceStore;
}

void describe('GarbageCollector informer LIST', () => {
  void it('lists in pages of 500 and lets other work run between pages', async () => {
    const calls: { opts: ListOptions; ticksBefore: number }[] = [];
    let ticks = 0;
    // Counts turns of the event loop while the collector lists: one runs between pages only if the list lets go.
    let ticker = setImmediate(function tick() {
      ticks++;
      ticker = setImmediate(tick);
    });
    const gc = new GarbageCollector({ stores: [pagedStore(1_200, (opts) => calls.push({ opts, ticksBefore: ticks }))] });
    try {
      await gc.start();
    } finally {
      gc.close();
      clearImmediate(ticker);
    }
    assert.deepEqual(
      calls.map((c) => [c.opts.limit, c.opts.continue]),
      [
        [LIST_PAGE_SIZE, undefined],
        [LIST_PAGE_SIZE, '500'],
        [LIST_PAGE_SIZE, '1000'],
      ],
    );
    assert.ok(calls[2]!.ticksBefore > calls[0]!.ticksBefore, `no turn of the event loop between pages: ${JSON.stringify(calls.map((c) => c.ticksBefore))}`);
  });
});
