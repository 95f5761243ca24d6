// Turns the object storage's watch into kube watch events (k8s.io/apiserver pkg/storage/cacher): synthetic ADDED for
// the current state when the watch starts "now", selector transitions as kube's watch cache delivers them (leaving the
// selector is DELETED with the previous state, entering is ADDED), BOOKMARKs, and an ERROR event with a 410 Expired
// Status when history is gone.
//
// Why a slow reader cannot hurt anyone: events are pulled from the Store one at a time, only when the consumer asks
// for the next one, so nothing is buffered here. Each Store watch is per watcher and bounded (SQLite's hub falls back
// to reading its log; etcd's gRPC stream applies backpressure); a watcher that falls behind compaction ends with the
// same 410 ERROR event kube sends, and its client re-lists.
import type { Clock } from '../../lib/clock.js';
import { withResourceVersion, type KubeObject } from '../../objects/object-meta.js';
import type { ObjectStorage, ObjectWatchEvent } from '../../storage/object-storage.js';
import { CompactedError } from '../../storage/store.js';
import { ApiStatusError, expired, internalError } from '../api-status.js';
import type { ApiWatchEvent } from '../resource-store.js';

export interface WatchStreamSource {
  storage: ObjectStorage;
  prefix: string;
  /** Watch changes after this revision. */
  fromRevision: number;
  /** Objects to announce as ADDED first (already filtered), when the watch starts from the current state. */
  initial?: KubeObject[];
  /** The BOOKMARK that ends the initial events of a WatchList request. */
  initialEventsEnd?: KubeObject;
  matches(obj: KubeObject): boolean;
  /** True when no selector is set: a put then needs no previous value decoded. */
  matchesEverything: boolean;
  /** The object of a DELETED event for a key whose previous value the store did not keep. */
  tombstone(key: string, revision: number): KubeObject;
  bookmarks?: { intervalMs: number; clock: Clock; object(revision: number): KubeObject };
  signal: AbortSignal;
}

const TICK = Symbol('tick');

function errorEvent(err: ApiStatusError): ApiWatchEvent {
  return { type: 'ERROR', object: err.status as unknown as KubeObject };
}

export async function* watchStream(src: WatchStreamSource): AsyncGenerator<ApiWatchEvent, void, undefined> {
  // The Store watch stops when the client goes away (signal) or stops iterating (return() reaches the finally below).
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  src.signal.addEventListener('abort', onAbort, { once: true });
  let timer: { cancel(): void } | undefined;
  const it = src.storage.watch(src.prefix, { fromRevision: src.fromRevision, signal: stop.signal })[Symbol.asyncIterator]();
  let pending: Promise<IteratorResult<ObjectWatchEvent>> | undefined;
  try {
    for (const obj of src.initial ?? []) yield { type: 'ADDED', object: obj };
    if (src.initialEventsEnd) yield { type: 'BOOKMARK', object: src.initialEventsEnd };

    // Everything up to `seen` has been delivered or filtered out: the only revision a bookmark may promise.
    let seen = src.fromRevision;
    let tick: Promise<typeof TICK> | undefined;
    const arm = () => {
      const b = src.bookmarks;
      if (b) tick = new Promise((resolve) => (timer = b.clock.setTimeout(() => resolve(TICK), b.intervalMs)));
    };
    arm();

    for (;;) {
      if (src.signal.aborted) return;
      pending ??= it.next();
      const r = tick ? await Promise.race([pending, tick]) : await pending;
      if (r === TICK) {
        // The next interval starts now, not when the consumer comes back for more.
        arm();
        yield { type: 'BOOKMARK', object: src.bookmarks!.object(seen) };
        continue;
      }
      pending = undefined;
      if (r.done) return;
      const event = r.value;
      // Without a selector a put is the object as it is: no translate call (an async frame and a promise per event).
      const out =
        event.type === 'put' && src.matchesEverything
          ? { type: event.previous ? ('MODIFIED' as const) : ('ADDED' as const), object: await event.object() }
          : await translate(src, event);
      seen = event.revision;
      if (out) yield out;
    }
  } catch (err) {
    if (src.signal.aborted || (err as Error | undefined)?.name === 'AbortError') return;
    if (err instanceof CompactedError) {
      // kube's watch cache wording: the requested revision and the oldest one a watch can still start from.
      yield errorEvent(expired(`too old resource version: ${src.fromRevision} (${Math.max(0, err.compactRevision - 1)})`));
      return;
    }
    yield errorEvent(err instanceof ApiStatusError ? err : internalError((err as Error).message));
  } finally {
    timer?.cancel();
    src.signal.removeEventListener('abort', onAbort);
    stop.abort();
    pending?.catch(() => undefined);
    try {
      await it.return?.();
    } catch {
      // The watch is over either way.
    }
  }
}

async function translate(src: WatchStreamSource, event: ObjectWatchEvent): Promise<ApiWatchEvent | undefined> {
  if (event.type === 'delete') {
    // DELETED carries the last state of the object with the revision of the deletion.
    const last = event.previous ? withResourceVersion(await event.previous(), event.revision) : src.tombstone(event.key, event.revision);
    return src.matches(last) ? { type: 'DELETED', object: last } : undefined;
  }
  const current = await event.object();
  const previous = event.previous ? await event.previous() : undefined;
  const now = src.matches(current);
  const before = previous !== undefined && src.matches(previous);
  if (now) return { type: before ? 'MODIFIED' : 'ADDED', object: current };
  // Leaving the selector looks like a deletion to this watcher: the previous state, at this event's revision.
  if (before) return { type: 'DELETED', object: withResourceVersion(previous, event.revision) };
  return undefined;
}
