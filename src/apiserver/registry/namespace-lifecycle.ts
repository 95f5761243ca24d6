// The namespace lifecycle kube-apiserver and kube-controller-manager give namespaces (k8s.io/apiserver
// pkg/admission/plugin/namespace/lifecycle, k8s.io/kubernetes pkg/controller/namespace): writes into a
// missing namespace are 404, creates in a Terminating one are 403 (the NamespaceLifecycle admission plugin); deleting a
// namespace marks it Terminating, then a controller deletes everything in it, clears the `kubernetes` finalizer
// (kube's PUT /finalize) and finally deletes the namespace. Here the controller runs in-process, asynchronously.
import { SYSTEM_CLOCK, type Clock } from '../../lib/clock.js';
import type { KubeObject } from '../../objects/object-meta.js';
import type { Namespace } from '../../objects/namespace.js';
import { ApiStatusError, forbidden, notFound } from '../api-status.js';
import type { ResourceStore } from '../resource-store.js';
import type { Admission, GenericStore, GracefulDeletion } from './generic-store.js';
import type { NamespaceCache } from './namespace-cache.js';
import { FINALIZER_KUBERNETES } from './namespace-strategy.js';

const NAMESPACES = { group: '', resource: 'namespaces' };

/**
 * kube's immortal namespaces (the NamespaceLifecycle plugin's Register, k8s.io/apiserver
 * pkg/admission/plugin/namespace/lifecycle/admission.go).
 */
export const IMMORTAL_NAMESPACES = ['default', 'kube-system', 'kube-public'] as const;

const isNotFound = (err: unknown) => err instanceof ApiStatusError && err.status.code === 404;

/**
 * The NamespaceLifecycle admission check for writes of namespaced objects: from the cache when it can answer
 * (namespace-cache.ts), otherwise from the store.
 */
export function namespaceLifecycleAdmission(namespaces: Pick<ResourceStore, 'get'>, cache?: NamespaceCache): Admission {
  return async (operation, obj, info, signal) => {
    const name = obj.metadata?.namespace;
    if (!name) return;
    let deleting = cache?.isDeleting(name);
    if (deleting === undefined) {
      let ns: KubeObject;
      try {
        ns = await namespaces.get(undefined, name, { ...(signal ? { signal } : {}) });
      } catch (err) {
        if (isNotFound(err)) throw notFound(NAMESPACES, name);
        throw err;
      }
      deleting = !!ns.metadata?.deletionTimestamp;
    }
    if (operation === 'create' && deleting) {
      const err = forbidden({ group: info.group, resource: info.plural }, obj.metadata?.name, `unable to create new content in namespace ${name} because it is being terminated`);
      err.status.details = {
        ...err.status.details,
        causes: [{ reason: 'NamespaceTerminating', message: `namespace ${name} is being terminated`, field: 'metadata.namespace' }],
      };
      throw err;
    }
  };
}

/** How the namespace store deletes: mark Terminating first while spec.finalizers remain; three names never. */
export const NAMESPACE_DELETION: GracefulDeletion = {
  immortal: IMMORTAL_NAMESPACES,
  pending: (obj) => ((obj as Namespace).spec?.finalizers ?? []).length > 0,
  mark(obj) {
    const ns = obj as Namespace;
    ns.status = { ...ns.status, phase: 'Terminating' };
    return ns;
  },
};

export interface NamespaceDeletionOptions {
  namespaces: GenericStore;
  /** Every namespaced resource served: their objects are deleted with the namespace. */
  contents: readonly ResourceStore[];
  clock?: Clock;
  /** Delay before looking again while objects with finalizers (or failures) keep a namespace. */
  retryMs?: number;
}

/** The namespace controller's deletion loop, one run per namespace at a time. */
export class NamespaceDeletion {
  private readonly running = new Map<string, Promise<void>>();
  private readonly rerun = new Set<string>();
  private readonly timers = new Map<string, { cancel(): void }>();
  private readonly clock: Clock;
  private readonly retryMs: number;
  private closed = false;

  constructor(private readonly opts: NamespaceDeletionOptions) {
    this.clock = opts.clock ?? SYSTEM_CLOCK;
    this.retryMs = opts.retryMs ?? 2000;
  }

  /** Starts (or repeats, once the current run ends) the cleanup of a namespace being deleted. */
  schedule(name: string): void {
    if (this.closed) return;
    this.timers.get(name)?.cancel();
    this.timers.delete(name);
    if (this.running.has(name)) {
      this.rerun.add(name);
      return;
    }
    const run = (async () => {
      let finished = false;
      try {
        finished = await this.finish(name);
      } catch {
        // Retried below: a store hiccup or an unreadable object must not stop the controller.
      }
      this.running.delete(name);
      if (this.rerun.delete(name)) this.schedule(name);
      else if (!finished && !this.closed) {
        this.timers.set(name, this.clock.setTimeout(() => this.schedule(name), this.retryMs));
      }
    })();
    this.running.set(name, run);
  }

  /** Resolves once no run is in progress (retries waiting on a timer do not count). */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running.values()]);
  }

  /** Namespaces waiting for a retry. */
  get waiting(): string[] {
    return [...this.timers.keys()];
  }

  close(): void {
    this.closed = true;
    for (const t of this.timers.values()) t.cancel();
    this.timers.clear();
  }

  /** One pass; true when there is nothing more to do for the namespace. */
  private async finish(name: string): Promise<boolean> {
    const { namespaces, contents } = this.opts;
    let ns: Namespace;
    try {
      ns = (await namespaces.get(undefined, name)) as Namespace;
    } catch (err) {
      if (isNotFound(err)) return true;
      throw err;
    }
    if (!ns.metadata?.deletionTimestamp) return true;

    let remaining = 0;
    for (const store of contents) {
      const list = await store.list(name);
      for (const item of list.items) {
        try {
          if (!(await store.delete(name, item.metadata!.name!, { propagationPolicy: 'Background' })).deleted) remaining++;
        } catch (err) {
          if (!isNotFound(err)) throw err;
        }
      }
    }
    // Objects with finalizers of their own hold the namespace until someone removes those (as on kube).
    if (remaining > 0) return false;

    if ((ns.spec?.finalizers ?? []).includes(FINALIZER_KUBERNETES)) {
      ns = (await namespaces.guaranteedUpdate(
        undefined,
        name,
        (cur) => {
          const current = cur as Namespace;
          return { ...current, spec: { ...current.spec, finalizers: (current.spec?.finalizers ?? []).filter((f) => f !== FINALIZER_KUBERNETES) } };
        },
        { subresource: 'finalize' },
      )) as Namespace;
    }
    // Other finalizers belong to other controllers; wait for them rather than calling DELETE into a loop.
    if ((ns.spec?.finalizers ?? []).length > 0 || (ns.metadata?.finalizers ?? []).length > 0) return false;
    try {
      return (await namespaces.delete(undefined, name)).deleted;
    } catch (err) {
      if (isNotFound(err)) return true;
      throw err;
    }
  }
}
