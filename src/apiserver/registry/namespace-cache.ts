// What the NamespaceLifecycle admission needs to know of each namespace (whether it is being deleted), kept from a
// list and a watch of the namespaces, as kube-apiserver's plugin reads its namespace informer's lister instead of
// the store (k8s.io/apiserver pkg/admission/plugin/namespace/lifecycle/admission.go). Without it every create of a
// namespaced object read and decoded its namespace from the store.
//
// When the cache does not answer, the admission reads the store ("a live lookup", as upstream does for a namespace
// its informer has not seen): before the first list, while the watch is down, for a name it does not hold (created
// elsewhere a moment ago), and while a namespace write made through this server has not come back through the watch
// yet. The last rule is stricter than upstream (whose informer may lag its own server's writes): a client that
// deleted a namespace, or saw it Terminating, through this server is answered from the store until the watch has
// caught up, so it never sees the admission decide on an older state than its own write. Writes through another API
// server on the same store are seen when their watch event arrives, as with upstream's informer.
import type { Logger } from 'pino';
import { SYSTEM_CLOCK, type Clock } from '../../lib/clock.js';
import type { ResourceStore } from '../resource-store.js';
import { runInformer } from './informer-loop.js';

export interface NamespaceCacheOptions {
  namespaces: Pick<ResourceStore, 'list' | 'watch'>;
  clock?: Clock;
  logger?: Logger;
  /** Delay before listing again after the watch failed (default 1 s). */
  retryMs?: number;
}

export class NamespaceCache {
  /** Name → being deleted (deletionTimestamp set). */
  private deleting = new Map<string, boolean>();
  /** The newest namespace revision the list or the watch has delivered. */
  private seen = 0;
  /** The newest revision of a namespace write made through this server. */
  private written = 0;
  private synced = false;
  private started = false;
  private readonly abort = new AbortController();
  private readonly clock: Clock;
  private readonly retryMs: number;
  private timer: { cancel(): void } | undefined;

  constructor(private readonly opts: NamespaceCacheOptions) {
    this.clock = opts.clock ?? SYSTEM_CLOCK;
    this.retryMs = opts.retryMs ?? 1000;
  }

  /** Starts the list and watch (once); the cache answers from the first list on. */
  start(): void {
    if (this.started || this.abort.signal.aborted) return;
    this.started = true;
    void this.inform();
  }

  close(): void {
    this.abort.abort();
    this.timer?.cancel();
    this.synced = false;
    this.deleting.clear();
  }

  /** A namespace write through this server stored revision (or found nothing to change at it). */
  noteWrite(revision: number): void {
    if (revision > this.written) this.written = revision;
  }

  /** Whether the namespace is being deleted; undefined when the cache cannot answer (see above): read the store. */
  isDeleting(name: string): boolean | undefined {
    if (!this.synced || this.seen < this.written) return undefined;
    return this.deleting.get(name);
  }

  private inform(): Promise<void> {
    let listing = new Map<string, boolean>();
    return runInformer(this.opts.namespaces, this.abort.signal, {
      relist: () => {
        this.synced = false;
        listing = new Map();
      },
      page: (items) => {
        for (const ns of items) listing.set(ns.metadata!.name!, !!ns.metadata?.deletionTimestamp);
      },
      listed: (rv) => {
        this.deleting = listing;
        this.seen = Number(rv);
        this.synced = true;
      },
      event: (ev) => {
        const meta = ev.object.metadata;
        if (ev.type === 'DELETED') this.deleting.delete(meta!.name!);
        else if (ev.type !== 'BOOKMARK') this.deleting.set(meta!.name!, !!meta!.deletionTimestamp);
        this.seen = Number(meta?.resourceVersion ?? this.seen);
      },
      failed: (err) => {
        this.synced = false;
        this.opts.logger?.warn({ error: (err as Error).message }, 'namespace cache watch failed; reading namespaces from the store until it lists again');
        return new Promise<void>((resolve) => (this.timer = this.clock.setTimeout(resolve, this.retryMs)));
      },
    });
  }
}
