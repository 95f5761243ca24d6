// A live etcd, read with range requests only (paged, at one revision), through the same client the etcd store uses.
// TLS flags are etcdctl's: --cacert, --cert, --key.
import { InvalidError } from '../lib/errors.js';
import { openEtcdStore, type EtcdStore } from '../storage/etcd/etcd-store.js';
import { pagedEntries, type Source } from './source.js';

export interface EtcdSourceOptions {
  endpoints: string[];
  cacert?: string;
  cert?: string;
  key?: string;
}

export function parseEndpoints(text: string): string[] {
  const endpoints = text.split(',').map((e) => e.trim()).filter(Boolean);
  if (endpoints.length === 0) throw new InvalidError(`no endpoint in ${JSON.stringify(text)}`, { field: '--etcd-endpoints' });
  return endpoints;
}

/** A live etcd source; its store is there for a reader that also watches (the dashboard), never to write. */
export type EtcdSource = Source & { readonly store: EtcdStore };

export async function openEtcdSource(opts: EtcdSourceOptions, description?: string): Promise<EtcdSource> {
  if ((opts.cert === undefined) !== (opts.key === undefined)) {
    throw new InvalidError('--cert and --key go together (a client certificate and its key)', { field: opts.cert ? '--key' : '--cert' });
  }
  if (opts.cert && !opts.cacert) throw new InvalidError('a client certificate needs --cacert too', { field: '--cacert' });
  const store: EtcdStore = await openEtcdStore({
    endpoints: opts.endpoints,
    ...(opts.cacert ? { tls: { caFile: opts.cacert, ...(opts.cert ? { certFile: opts.cert, keyFile: opts.key! } : {}) } } : {}),
    requestTimeoutMs: 60_000,
  });
  return {
    description: description ?? `etcd ${opts.endpoints.join(',')}`,
    entries: (prefix, o) => pagedEntries(store, prefix, o),
    close: () => store.close(),
    store,
  };
}
