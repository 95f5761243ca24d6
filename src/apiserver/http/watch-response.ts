// Streams watch events as kube does (k8s.io/apiserver pkg/endpoints/handlers/watch.go): 200 with headers flushed at
// once, then one compact JSON event per line over chunked encoding. `kubectl get -w` asks for Tables: each event then
// carries a one-row Table, the first with column definitions and later ones with `columnDefinitions: null`. Events are
// pulled from the registry only as fast as this client's socket drains, so a slow watcher holds back nobody but itself.
import { once } from 'node:events';
import type { ServerResponse } from 'node:http';
import type { ApiWatchEvent } from '../resource-store.js';
import type { ResourceInfo } from '../resource-info.js';
import { toTable, type IncludeObject } from '../table.js';

export interface WatchResponseOptions {
  /** Set for a Table watch. */
  table?: { info: ResourceInfo; version: 'v1' | 'v1beta1'; includeObject: IncludeObject };
  /** Aborted when the client goes away; the handler aborts it at the timeout too. */
  abort: AbortController;
  /** The client's timeoutSeconds, or undefined: kube then closes after a random 30-60 minutes. */
  timeoutSeconds: number | undefined;
}

const MIN_REQUEST_TIMEOUT_S = 1800; // kube-apiserver's --min-request-timeout

export function watchTimeoutMs(timeoutSeconds: number | undefined): number {
  if (timeoutSeconds !== undefined) return timeoutSeconds * 1000;
  return Math.floor(MIN_REQUEST_TIMEOUT_S * (1 + Math.random()) * 1000);
}

export async function writeWatch(res: ServerResponse, events: AsyncIterable<ApiWatchEvent>, opts: WatchResponseOptions): Promise<void> {
  const { abort } = opts;
  const timer = setTimeout(() => abort.abort(), watchTimeoutMs(opts.timeoutSeconds));
  // No Content-Length: HTTP/1.1 chunks the body, HTTP/2 (where Transfer-Encoding is forbidden) sends DATA frames.
  res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private' });
  res.flushHeaders(); // clients count the watch as started once the headers arrive
  let first = true;
  const iterator = events[Symbol.asyncIterator]();
  // One listener for the whole stream (a listener per event would pile up on the signal).
  const aborted = new Promise<undefined>((resolve) => abort.signal.addEventListener('abort', () => resolve(undefined), { once: true }));
  try {
    for (;;) {
      const next = await Promise.race([iterator.next(), aborted]);
      if (next === undefined || next.done) break;
      const event = next.value;
      let object: unknown = event.object;
      if (opts.table && (event.type === 'ADDED' || event.type === 'MODIFIED' || event.type === 'DELETED')) {
        object = toTable(opts.table.info, [event.object], { resourceVersion: event.object.metadata?.resourceVersion }, {
          version: opts.table.version,
          includeObject: opts.table.includeObject,
          withColumns: first,
        });
        first = false;
      }
      if (!res.write(JSON.stringify({ type: event.type, object }) + '\n')) {
        await Promise.race([once(res, 'drain'), aborted]);
      }
      if (event.type === 'ERROR') break; // kube closes the stream after an ERROR event
    }
  } catch (err) {
    if (!abort.signal.aborted) throw err;
  } finally {
    clearTimeout(timer);
    abort.abort();
    await iterator.return?.().catch(() => undefined);
    if (!res.writableEnded) res.end();
  }
}
