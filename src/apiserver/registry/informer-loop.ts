// kube's informer (client-go tools/cache Reflector) over one of this server's own resource stores, for the controllers
// run inside it (the garbage collector, the NamespaceLifecycle admission's namespace cache): a LIST in pages, then a
// WATCH from its revision that resumes when a stream ends, and a LIST again after an expired watch or a failure.
import type { KubeObject } from '../../objects/object-meta.js';
import type { ApiWatchEvent, KubeList, ResourceStore } from '../resource-store.js';

/** Page size of the LIST: client-go's reflector pages its list by 500 (tools/pager). */
export const LIST_PAGE_SIZE = 500;

/**
 * Every object of a resource, page by page at one revision (the continue token keeps the first page's), with the event
 * loop let go between pages: one unpaged LIST of 100,000 Secrets held the API server's start (and every request) for
 * tens of seconds while it read, decrypted and decoded them all.
 */
export async function* listPages(store: Pick<ResourceStore, 'list'>, signal: AbortSignal): AsyncGenerator<KubeList> {
  let next: string | undefined;
  do {
    const page = await store.list(undefined, { signal, limit: LIST_PAGE_SIZE, ...(next ? { continue: next } : {}) });
    yield page;
    next = page.metadata.continue || undefined;
    if (next) await new Promise<void>((resolve) => setImmediate(resolve));
  } while (next);
}

/** What the loop tells its owner, in this order: relist, pages, listed, events; failed whenever something breaks. */
export interface InformerHandlers {
  /** A LIST starts (the first, or again after the watch expired or failed): what follows replaces what was known. */
  relist(): void;
  /** One page of that LIST. */
  page(items: readonly KubeObject[]): void;
  /** The LIST is whole, at resourceVersion; the watch starts from it. */
  listed(resourceVersion: string): void;
  /** A watch event after the LIST (bookmarks included, for their resourceVersion; never ERROR). */
  event(ev: ApiWatchEvent): void;
  /** The LIST or the watch failed: resolves when it is time to list again. */
  failed(err: unknown): Promise<void>;
}

/** Runs the informer over store until signal aborts. */
export async function runInformer(store: Pick<ResourceStore, 'list' | 'watch'>, signal: AbortSignal, h: InformerHandlers): Promise<void> {
  while (!signal.aborted) {
    try {
      h.relist();
      let rv = '';
      for await (const page of listPages(store, signal)) {
        rv = page.metadata.resourceVersion;
        h.page(page.items);
      }
      h.listed(rv);
      for (;;) {
        let expired = false;
        for await (const ev of store.watch(undefined, { resourceVersion: rv, signal })) {
          if (ev.type === 'ERROR') {
            expired = true;
            break;
          }
          rv = ev.object.metadata?.resourceVersion ?? rv;
          h.event(ev);
        }
        if (expired || signal.aborted) break;
        // The stream ended (timeout): resume from what was seen.
      }
    } catch (err) {
      if (signal.aborted) return;
      await h.failed(err);
    }
  }
}
