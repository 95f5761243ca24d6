// Assembles the storage side of the API server: one registry store per served resource over one Store and one
// encryption engine, wired to the namespace lifecycle (admission and the in-process deletion controller).
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Clock } from '../../lib/clock.js';
import type { Store } from '../../storage/store.js';
import { ApiStatusError } from '../api-status.js';
import { createCustomResourceStores } from '../custom-resources/custom-resource-stores.js';
import { EXTERNAL_SECRETS_CRDS } from '../custom-resources/external-secrets/external-secrets-crds.js';
import { CONFIG_MAPS, EVENTS, NAMESPACES, SECRETS } from '../resource-info.js';
import { CONFIG_MAP_STRATEGY } from './config-map-strategy.js';
import { EVENT_STRATEGY } from './event-strategy.js';
import { EventTtl } from './event-ttl.js';
import { GarbageCollector } from './garbage-collector.js';
import { GenericStore } from './generic-store.js';
import type { TransformerSource } from '../../storage/object-storage.js';
import { NamespaceCache } from './namespace-cache.js';
import { NAMESPACE_DELETION, NamespaceDeletion, namespaceLifecycleAdmission } from './namespace-lifecycle.js';
import { NAMESPACE_STRATEGY } from './namespace-strategy.js';
import { SECRET_STRATEGY } from './secret-strategy.js';
import { TransformationMetrics } from '../../storage/transformation-metrics.js';

/** The namespaces kube-apiserver creates at start (k8s.io/kubernetes pkg/controlplane/controller/systemnamespaces). */
export const DEFAULT_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'] as const;

export interface ResourceStoresOptions {
  store: Store;
  /** An EncryptionEngine, or anything that hands out its current transformers (e.g. across config reloads). */
  engine: TransformerSource;
  clock?: Clock;
  /** Registers apiserver_storage_transformation_operations_total here (e.g. the /metrics registry). */
  metricsRegistry?: Registry;
  /** Interval of BOOKMARK events on watches that allow them (default 60 s). */
  bookmarkIntervalMs?: number;
  /** Retry delay of the namespace deletion controller while content remains (default 2 s). */
  namespaceRetryMs?: number;
  logger?: Logger;
  /** kube-apiserver's --event-ttl (default 1 h). */
  eventTtlMs?: number;
}

export interface ResourceStores {
  secrets: GenericStore;
  configmaps: GenericStore;
  namespaces: GenericStore;
  /** core/v1 Events (protobuf, through the engine, which leaves them in the clear unless configured for events). */
  events: GenericStore;
  eventTtl: EventTtl;
  /** The external-secrets.io resources, every served version (v1 first). */
  customResources: GenericStore[];
  /** One store per resource kind in its storage version: what cross-resource controllers (GC, namespaces) use. */
  all: GenericStore[];
  transformationMetrics: TransformationMetrics;
  namespaceDeletion: NamespaceDeletion;
  /** What the NamespaceLifecycle admission reads before the store; started by startControllers(). */
  namespaceCache: NamespaceCache;
  /** Deletes dependents of deleted owners (metadata.ownerReferences); started by startControllers(). */
  garbageCollector: GarbageCollector;
  /**
   * Starts the namespace cache of the NamespaceLifecycle admission, the garbage collector (resolves once it has listed
   * every resource) and the event TTL sweeper.
   */
  startControllers(): Promise<void>;
  /** Creates the default namespaces that are missing and resumes the cleanup of namespaces left Terminating. */
  ensureDefaultNamespaces(): Promise<void>;
  /** Stops the namespace controller's timers and the garbage collector (the Store is the caller's to close). */
  close(): void;
}

export function createResourceStores(opts: ResourceStoresOptions): ResourceStores {
  const metrics = new TransformationMetrics(opts.metricsRegistry ? { registry: opts.metricsRegistry } : {});
  const common = {
    store: opts.store,
    transformers: opts.engine,
    metrics,
    ...(opts.clock ? { clock: opts.clock } : {}),
    ...(opts.bookmarkIntervalMs !== undefined ? { bookmarkIntervalMs: opts.bookmarkIntervalMs } : {}),
  };
  const namespaces = new GenericStore({
    ...common,
    info: NAMESPACES,
    strategy: NAMESPACE_STRATEGY,
    graceful: NAMESPACE_DELETION,
    // Only called on writes, after namespaceDeletion below exists.
    onMarkedForDeletion: (ns) => namespaceDeletion.schedule(ns.metadata!.name!),
    onWritten: (revision) => namespaceCache.noteWrite(revision),
  });
  const namespaceCache = new NamespaceCache({
    namespaces,
    ...(opts.clock ? { clock: opts.clock } : {}),
    ...(opts.logger ? { logger: opts.logger } : {}),
  });
  const admit = namespaceLifecycleAdmission(namespaces, namespaceCache);
  const secrets = new GenericStore({ ...common, info: SECRETS, strategy: SECRET_STRATEGY, admit });
  const configmaps = new GenericStore({ ...common, info: CONFIG_MAPS, strategy: CONFIG_MAP_STRATEGY, admit });
  const events = new GenericStore({ ...common, info: EVENTS, strategy: EVENT_STRATEGY, admit });
  const custom = createCustomResourceStores(EXTERNAL_SECRETS_CRDS, { ...common, admit });
  const namespaced = [secrets, configmaps, events, ...custom.storage.filter((s) => s.info.namespaced)];
  const namespaceDeletion = new NamespaceDeletion({
    namespaces,
    contents: namespaced,
    ...(opts.clock ? { clock: opts.clock } : {}),
    ...(opts.namespaceRetryMs !== undefined ? { retryMs: opts.namespaceRetryMs } : {}),
  });

  const all = [namespaces, secrets, configmaps, events, ...custom.storage];
  const eventTtl = new EventTtl({
    events,
    ...(opts.eventTtlMs !== undefined ? { ttlMs: opts.eventTtlMs } : {}),
    ...(opts.clock ? { clock: opts.clock } : {}),
    ...(opts.logger ? { logger: opts.logger } : {}),
  });
  const garbageCollector = new GarbageCollector({
    stores: all,
    ...(opts.clock ? { clock: opts.clock } : {}),
    ...(opts.logger ? { logger: opts.logger } : {}),
  });

  return {
    secrets,
    configmaps,
    namespaces,
    events,
    eventTtl,
    customResources: custom.served,
    all,
    garbageCollector,
    async startControllers() {
      namespaceCache.start();
      await garbageCollector.start();
      eventTtl.start();
    },
    transformationMetrics: metrics,
    namespaceDeletion,
    namespaceCache,
    async ensureDefaultNamespaces() {
      for (const name of DEFAULT_NAMESPACES) {
        try {
          await namespaces.create(undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } }, { fieldManager: 'kube-apiserver' });
        } catch (err) {
          if (!(err instanceof ApiStatusError && err.status.reason === 'AlreadyExists')) throw err;
        }
      }
      for (const ns of (await namespaces.list(undefined)).items) {
        if (ns.metadata?.deletionTimestamp) namespaceDeletion.schedule(ns.metadata.name!);
      }
    },
    close() {
      namespaceCache.close();
      namespaceDeletion.close();
      garbageCollector.close();
      eventTtl.close();
    },
  };
}
