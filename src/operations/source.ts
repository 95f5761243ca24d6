// Where the operations commands read stored values from: a live etcd, an etcd snapshot file, or Coffer's SQLite store.
// All three give the same thing, the keys and values exactly as stored (ciphertext), one consistent revision, in key
// order, page by page; none of them ever writes to what it reads.
import { InvalidError } from '../lib/errors.js';

export interface StoredEntry {
  key: string;
  value: Uint8Array;
  /** etcd's mod_revision (the object's resourceVersion). */
  modRevision: number;
}

export interface Source {
  /** Names the source in messages and reports (endpoints, file), never a credential. */
  readonly description: string;
  /** Every key under the prefix, at one revision (the first page's), in byte order. */
  entries(prefix: string, opts?: { pageSize?: number; signal?: AbortSignal }): AsyncIterable<StoredEntry>;
  close(): Promise<void>;
}

/** kube-apiserver's default --etcd-prefix. */
export const DEFAULT_ETCD_PREFIX = '/registry';
export const DEFAULT_PAGE_SIZE = 500;

/** `/registry`, `/registry/` and `registry` all mean the same key prefix `/registry/`, as kube-apiserver joins paths. */
export function normalizeEtcdPrefix(prefix: string): string {
  const trimmed = prefix.replace(/\/+$/, '');
  if (trimmed === '' || /[\0\s]/.test(prefix)) {
    throw new InvalidError(`must be a non-empty key path such as /registry, got ${JSON.stringify(prefix)}`, { field: '--etcd-prefix' });
  }
  return `${trimmed.startsWith('/') ? '' : '/'}${trimmed}/`;
}

interface PagedStore {
  list(
    prefix: string,
    opts: { revision?: number; limit?: number; startKey?: string; signal?: AbortSignal },
  ): Promise<{ revision: number; more: boolean; kvs: { key: string; value: Uint8Array; modRevision: number }[] }>;
}

/** Pages through a Store's list at the revision of the first page, so the result is one consistent snapshot. */
export async function* pagedEntries(
  store: PagedStore,
  prefix: string,
  opts: { pageSize?: number; signal?: AbortSignal } = {},
): AsyncIterable<StoredEntry> {
  const limit = opts.pageSize ?? DEFAULT_PAGE_SIZE;
  let revision: number | undefined;
  let startKey: string | undefined;
  for (;;) {
    const page = await store.list(prefix, {
      limit,
      ...(revision === undefined ? {} : { revision }),
      ...(startKey === undefined ? {} : { startKey }),
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    revision ??= page.revision;
    for (const kv of page.kvs) yield { key: kv.key, value: kv.value, modRevision: kv.modRevision };
    if (!page.more || page.kvs.length === 0) return;
    startKey = `${page.kvs.at(-1)!.key}\0`;
  }
}
