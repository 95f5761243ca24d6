// kube-controller-manager's garbage collector for metadata.ownerReferences (k8s.io/kubernetes
// pkg/controller/garbagecollector), in-process: informers (list + watch, so changes made through any API server on the
// same etcd are seen) keep an owner→dependents graph of every served resource, and a work queue acts on it:
// - a dependent whose owners are all gone (or all being deleted in the foreground) is deleted; references to gone
//   owners are removed instead while another owner is alive (kube's attemptToDeleteItem);
// - an owner with the `foregroundDeletion` finalizer gets its dependents deleted, and loses the finalizer (and so is
//   deleted) once no dependent with blockOwnerDeletion remains;
// - an owner with the `orphan` finalizer has its references removed from every dependent, then loses the finalizer.
// Every write is conditional on the uid it was decided for, and every step is idempotent, so two API servers running
// their collectors on one etcd reach the same end state without fighting (a loser sees 404/409 and moves on).
import { setMaxListeners } from 'node:events';
import type { Logger } from 'pino';
import { SYSTEM_CLOCK, type Clock } from '../../lib/clock.js';
import type { KubeObject, OwnerReference } from '../../objects/object-meta.js';
import { ApiStatusError } from '../api-status.js';
import type { ResourceStore } from '../resource-store.js';
import { FINALIZER_FOREGROUND, FINALIZER_ORPHAN } from './generic-store.js';
import { runInformer } from './informer-loop.js';

const FIELD_MANAGER = 'garbage-collector';

interface Node {
  uid: string;
  store: ResourceStore;
  namespace: string | undefined;
  name: string;
  owners: readonly OwnerReference[];
  deleting: boolean;
  finalizers: readonly string[];
}

/** The owners and finalizers of most nodes: one shared empty list, not two new arrays kept per object in the graph. */
const NONE: readonly never[] = Object.freeze([]);

type TaskKind = 'attempt' | 'foreground' | 'orphan';

export interface GarbageCollectorOptions {
  /** One store per resource (its storage version): everything that can be an owner or a dependent. */
  stores: readonly ResourceStore[];
  logger?: Logger;
  clock?: Clock;
  /** Delay before retrying a failed step or a broken watch (default 1 s). */
  retryMs?: number;
}

const isStatus = (err: unknown, ...codes: number[]) => err instanceof ApiStatusError && codes.includes(err.status.code);
const groupOf = (apiVersion: string) => (apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : '');

/** The refused-for-now write of another collector (or a vanished object): nothing left to do for this step. */
class Skip extends Error {}

export class GarbageCollector {
  private readonly nodes = new Map<string, Node>();
  private readonly dependents = new Map<string, Set<string>>();
  private readonly queue = new Map<string, { kind: TaskKind; uid: string }>();
  private readonly abort = new AbortController();
  private readonly clock: Clock;
  private readonly retryMs: number;
  private running: Promise<void> | undefined;
  private synced = false;
  private readonly timers = new Set<{ cancel(): void }>();

  constructor(private readonly opts: GarbageCollectorOptions) {
    // One informer per resource watches under this one signal, so it has as many abort listeners as there are
    // resources (a few per watch): no leak, but more than Node's default warning threshold of 10.
    setMaxListeners(4 * opts.stores.length + 10, this.abort.signal);
    this.clock = opts.clock ?? SYSTEM_CLOCK;
    this.retryMs = opts.retryMs ?? 1000;
  }

  /** Starts the informers; resolves once every resource has been listed and the first pass queued. */
  async start(): Promise<void> {
    const firstLists = this.opts.stores.map((store) => new Promise<void>((resolve) => void this.inform(store, resolve)));
    await Promise.all(firstLists);
    this.synced = true;
    for (const node of this.nodes.values()) this.consider(node, undefined);
    this.kick();
  }

  close(): void {
    this.abort.abort();
    for (const t of this.timers) t.cancel();
    this.timers.clear();
  }

  /** Resolves when no step is queued or running (retries waiting on a timer do not count). For tests. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  // ---- informers ----

  private inform(store: ResourceStore, listed: () => void): Promise<void> {
    const mine = new Set<string>();
    let seen = new Set<string>();
    let first = true;
    const firstListDone = () => {
      if (first) {
        first = false;
        listed();
      }
    };
    return runInformer(store, this.abort.signal, {
      relist: () => (seen = new Set()),
      page: (items) => {
        for (const obj of items) {
          const uid = obj.metadata?.uid;
          if (!uid) continue;
          seen.add(uid);
          mine.add(uid);
          this.upsert(store, obj);
        }
      },
      listed: () => {
        // Deleted while no watch was open: the same as a DELETED event.
        for (const uid of [...mine]) {
          if (!seen.has(uid)) {
            mine.delete(uid);
            this.remove(uid);
          }
        }
        firstListDone();
      },
      event: (ev) => {
        const uid = ev.object.metadata?.uid;
        if (ev.type === 'BOOKMARK' || !uid) return;
        if (ev.type === 'DELETED') {
          mine.delete(uid);
          this.remove(uid);
        } else {
          mine.add(uid);
          this.upsert(store, ev.object);
        }
      },
      failed: (err) => {
        this.opts.logger?.warn({ resource: store.info.plural, error: (err as Error).message }, 'garbage collector watch failed; retrying');
        firstListDone(); // do not hold the server's start on one resource; its objects join when the retry lists them
        return new Promise<void>((resolve) => this.after(this.retryMs, resolve));
      },
    });
  }

  private upsert(store: ResourceStore, obj: KubeObject): void {
    const meta = obj.metadata!;
    const uid = meta.uid!;
    const previous = this.nodes.get(uid);
    const node: Node = {
      uid,
      store,
      namespace: meta.namespace,
      name: meta.name!,
      owners: meta.ownerReferences?.length ? [...meta.ownerReferences] : NONE,
      deleting: !!meta.deletionTimestamp,
      finalizers: meta.finalizers?.length ? [...meta.finalizers] : NONE,
    };
    for (const ref of previous?.owners ?? []) this.dependents.get(ref.uid)?.delete(uid);
    for (const ref of node.owners) {
      const set = this.dependents.get(ref.uid) ?? new Set<string>();
      set.add(uid);
      this.dependents.set(ref.uid, set);
    }
    this.nodes.set(uid, node);
    if (this.synced) this.consider(node, previous);
  }

  private remove(uid: string): void {
    const node = this.nodes.get(uid);
    if (!node) return;
    this.nodes.delete(uid);
    for (const ref of node.owners) {
      this.dependents.get(ref.uid)?.delete(uid);
      // A foreground owner may have been waiting for this one.
      const owner = this.nodes.get(ref.uid);
      if (owner?.deleting && owner.finalizers.includes(FINALIZER_FOREGROUND)) this.enqueue('foreground', owner.uid);
    }
    // Its dependents may have lost their last owner.
    for (const dep of this.dependents.get(uid) ?? []) this.enqueue('attempt', dep);
    if ((this.dependents.get(uid)?.size ?? 0) === 0) this.dependents.delete(uid);
  }

  /** Queues what a new or changed object calls for. */
  private consider(node: Node, previous: Node | undefined): void {
    if (node.deleting && node.finalizers.includes(FINALIZER_ORPHAN)) this.enqueue('orphan', node.uid);
    if (node.deleting && node.finalizers.includes(FINALIZER_FOREGROUND)) this.enqueue('foreground', node.uid);
    // Most objects have no owners before or after (every created Secret passes here): no text made for them.
    const before = previous?.owners ?? [];
    const ownersChanged = (before.length > 0 || node.owners.length > 0) && JSON.stringify(before) !== JSON.stringify(node.owners);
    // Only references to owners not known alive need a look (kube: dangling or "virtual" owners).
    if (ownersChanged && node.owners.some((ref) => this.ownerNeedsLook(ref))) this.enqueue('attempt', node.uid);
  }

  private ownerNeedsLook(ref: OwnerReference): boolean {
    const owner = this.nodes.get(ref.uid);
    return !owner || (owner.deleting && owner.finalizers.includes(FINALIZER_FOREGROUND));
  }

  // ---- work queue ----

  private enqueue(kind: TaskKind, uid: string): void {
    if (this.abort.signal.aborted) return;
    this.queue.set(`${kind}:${uid}`, { kind, uid });
    this.kick();
  }

  private kick(): void {
    if (this.running || !this.synced) return;
    this.running = (async () => {
      // Yield first: `running` must be set before the loop can finish and clear it.
      await Promise.resolve();
      while (this.queue.size > 0 && !this.abort.signal.aborted) {
        const [key, task] = this.queue.entries().next().value as [string, { kind: TaskKind; uid: string }];
        this.queue.delete(key);
        try {
          if (task.kind === 'attempt') await this.attemptToDelete(task.uid);
          else if (task.kind === 'foreground') await this.processForeground(task.uid);
          else await this.orphanDependents(task.uid);
        } catch (err) {
          if (err instanceof Skip || this.abort.signal.aborted) continue;
          this.opts.logger?.warn({ task: key, error: (err as Error).message }, 'garbage collection step failed; retrying');
          this.after(this.retryMs, () => this.enqueue(task.kind, task.uid));
        }
      }
      this.running = undefined;
    })();
  }

  private after(ms: number, fn: () => void): void {
    const t = this.clock.setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  // ---- steps ----

  /** The object as stored now, if it still is the one with this uid. */
  private async fetch(node: Pick<Node, 'store' | 'namespace' | 'name' | 'uid'>): Promise<KubeObject | undefined> {
    try {
      const obj = await node.store.get(node.namespace, node.name, { signal: this.abort.signal });
      return obj.metadata?.uid === node.uid ? obj : undefined;
    } catch (err) {
      if (isStatus(err, 404)) return undefined;
      throw err;
    }
  }

  private ownerStore(ref: OwnerReference): ResourceStore | undefined {
    const group = groupOf(ref.apiVersion ?? '');
    return this.opts.stores.find((s) => s.info.group === group && s.info.kind === ref.kind);
  }

  /** solid: exists and is not waiting for its dependents; waiting: being deleted in the foreground; dangling: gone. */
  private async classify(dependent: KubeObject, ref: OwnerReference): Promise<'solid' | 'waiting' | 'dangling'> {
    const store = this.ownerStore(ref);
    // An owner kind Coffer does not serve cannot be checked; kube keeps retrying such dependents, never deleting them.
    if (!store) return 'solid';
    const namespace = store.info.namespaced ? dependent.metadata?.namespace : undefined;
    // A namespaced owner of a cluster-scoped dependent is treated as absent, as kube does.
    if (store.info.namespaced && namespace === undefined) return 'dangling';
    const owner = await this.fetch({ store, namespace, name: ref.name ?? '', uid: ref.uid });
    if (!owner) return 'dangling';
    return owner.metadata?.deletionTimestamp && (owner.metadata.finalizers ?? []).includes(FINALIZER_FOREGROUND) ? 'waiting' : 'solid';
  }

  private async attemptToDelete(uid: string): Promise<void> {
    const node = this.nodes.get(uid);
    if (!node) return;
    const obj = await this.fetch(node);
    if (!obj) return;
    const meta = obj.metadata!;
    // Already going: its own finalizers (or the foreground step) finish the job.
    if (meta.deletionTimestamp) return;
    const refs = meta.ownerReferences ?? [];
    if (refs.length === 0) return;
    const states = await Promise.all(refs.map((ref) => this.classify(obj, ref)));
    const gone = new Set(refs.filter((_, i) => states[i] !== 'solid').map((r) => r.uid));
    if (gone.size === 0) return;
    if (states.includes('solid')) {
      await this.removeOwnerReferences(node, gone);
      return;
    }
    const hasDependents = (this.dependents.get(uid)?.size ?? 0) > 0;
    const finalizers = meta.finalizers ?? [];
    const policy =
      states.includes('waiting') && hasDependents
        ? 'Foreground'
        : finalizers.includes(FINALIZER_ORPHAN)
          ? 'Orphan'
          : finalizers.includes(FINALIZER_FOREGROUND)
            ? 'Foreground'
            : 'Background';
    try {
      await node.store.delete(node.namespace, node.name, { preconditions: { uid }, propagationPolicy: policy, signal: this.abort.signal });
    } catch (err) {
      if (!isStatus(err, 404, 409)) throw err;
    }
  }

  private async processForeground(uid: string): Promise<void> {
    const node = this.nodes.get(uid);
    if (!node) return;
    const owner = await this.fetch(node);
    if (!owner?.metadata?.deletionTimestamp || !(owner.metadata.finalizers ?? []).includes(FINALIZER_FOREGROUND)) return;
    const deps = [...(this.dependents.get(uid) ?? [])].map((d) => this.nodes.get(d)).filter((d): d is Node => !!d);
    for (const dep of deps) this.enqueue('attempt', dep.uid);
    const blocking = deps.some((d) => d.owners.some((r) => r.uid === uid && r.blockOwnerDeletion === true));
    if (blocking) return;
    await this.removeFinalizer(node, FINALIZER_FOREGROUND);
  }

  private async orphanDependents(uid: string): Promise<void> {
    const node = this.nodes.get(uid);
    if (!node) return;
    const owner = await this.fetch(node);
    if (!owner?.metadata?.deletionTimestamp || !(owner.metadata.finalizers ?? []).includes(FINALIZER_ORPHAN)) return;
    for (const dep of [...(this.dependents.get(uid) ?? [])]) {
      const d = this.nodes.get(dep);
      if (d) await this.removeOwnerReferences(d, new Set([uid]));
    }
    await this.removeFinalizer(node, FINALIZER_ORPHAN);
  }

  private async update(node: Node, change: (obj: KubeObject) => KubeObject | undefined): Promise<void> {
    try {
      await node.store.guaranteedUpdate(
        node.namespace,
        node.name,
        (cur) => {
          if (cur.metadata?.uid !== node.uid) throw new Skip();
          const next = change(cur);
          if (!next) throw new Skip();
          return next;
        },
        { fieldManager: FIELD_MANAGER, signal: this.abort.signal },
      );
    } catch (err) {
      if (err instanceof Skip || isStatus(err, 404)) return;
      throw err;
    }
  }

  private removeOwnerReferences(node: Node, uids: ReadonlySet<string>): Promise<void> {
    return this.update(node, (cur) => {
      const refs = cur.metadata?.ownerReferences ?? [];
      const kept = refs.filter((r) => !uids.has(r.uid));
      if (kept.length === refs.length) return undefined;
      const metadata = { ...cur.metadata };
      if (kept.length > 0) metadata.ownerReferences = kept;
      else delete metadata.ownerReferences;
      return { ...cur, metadata };
    });
  }

  private removeFinalizer(node: Node, finalizer: string): Promise<void> {
    return this.update(node, (cur) => {
      const finalizers = cur.metadata?.finalizers ?? [];
      if (!finalizers.includes(finalizer)) return undefined;
      const metadata = { ...cur.metadata, finalizers: finalizers.filter((f) => f !== finalizer) };
      if (metadata.finalizers.length === 0) delete (metadata as { finalizers?: string[] }).finalizers;
      return { ...cur, metadata };
    });
  }
}
