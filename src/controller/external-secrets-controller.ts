// The External Secrets controller as a library: informers (list+watch) feed four work queues (ExternalSecret,
// SecretStore, ClusterSecretStore, ClusterExternalSecret), each drained by its reconciler. `coffer controller` and
// `coffer up` both start it through startExternalSecretsController.
import type { AwsEndpoints } from './providers/aws-provider.js';
import { CoreV1Api, CustomObjectsApi, type KubeConfig, type KubernetesListObject, type KubernetesObject, type V1Namespace, type V1Secret } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { SYSTEM_CLOCK, type Clock } from '../lib/clock.js';
import { ClientNodeKubeApi } from './client-node-kube-api.js';
import { ClusterExternalSecretReconciler } from './external-secrets/cluster-external-secret-reconciler.js';
import { ExternalSecretReconciler } from './external-secrets/external-secret-reconciler.js';
import { GROUP, LABEL_CREATED_BY, VERSION, type ClusterExternalSecret, type ExternalSecret, type SecretStore } from './external-secrets/external-secret-types.js';
import { ExternalSecretsMetrics } from './external-secrets/external-secrets-metrics.js';
import type { ObjectReader } from './external-secrets/object-reader.js';
import { isSecretValid } from './external-secrets/refresh-decision.js';
import { targetName } from './external-secrets/render-secret.js';
import { SecretStoreReconciler } from './external-secrets/secret-store-reconciler.js';
import { runPushSecretController } from './external-secrets/push-secret-controller.js';
import { KubeEventRecorder } from './event-recorder.js';
import { KubeConnectionPool } from './kube-connection-pool.js';
import { startInformer, type ObjectInformer } from './informer.js';
import { ProviderPool } from './providers/provider-pool.js';
import { runReconcileLoop } from './reconcile-loop.js';
import { formatKey } from './reconciler.js';
import { WorkQueue } from './work-queue.js';

export interface ExternalSecretsControllerOptions {
  kubeConfig: KubeConfig;
  logger: Logger;
  metricsRegistry?: Registry;
  signal: AbortSignal;
  /** ExternalSecret workers (ESO's --concurrent; default 4). */
  workers?: number;
  /** Stores with spec.controller set to another class are left alone (ESO's --controller-class). */
  controllerClass?: string;
  /** Client-side provider rate limit per store. */
  providerRatePerSecond?: number;
  providerBurst?: number;
  /** Endpoint overrides of the aws provider's clients (LocalStack, VPC endpoints). */
  awsEndpoints?: AwsEndpoints;
  clock?: Clock;
}

export interface RunningExternalSecretsController {
  /** Resolves when the controller has stopped (signal aborted). */
  done: Promise<void>;
  /** The work queue length of each controller, for tests and diagnostics. */
  queueLengths(): Record<string, number>;
}

const MANAGED_SELECTOR = 'reconcile.external-secrets.io/managed=true';

/**
 * Trigger-relevant part of an ExternalSecret: status-only updates must not re-trigger (SetupWithManager in
 * external-secrets pkg/controllers/externalsecret/externalsecret_controller.go).
 */
function triggerFingerprint(o: ExternalSecret): string {
  return JSON.stringify([o.metadata.generation, o.metadata.labels ?? {}, o.metadata.annotations ?? {}, o.metadata.finalizers ?? [], o.metadata.deletionTimestamp ?? null]);
}

export async function startExternalSecretsController(opts: ExternalSecretsControllerOptions): Promise<RunningExternalSecretsController> {
  const { kubeConfig: kc, logger, signal } = opts;
  const clock = opts.clock ?? SYSTEM_CLOCK;
  // Every request of the controller goes over one keep-alive pool; watches hold their own connection each.
  const connections = new KubeConnectionPool(kc);
  const kube = new ClientNodeKubeApi(kc, { connections });
  const core = connections.makeApiClient(CoreV1Api);
  const custom = connections.makeApiClient(CustomObjectsApi);
  const metrics = opts.metricsRegistry ? new ExternalSecretsMetrics(opts.metricsRegistry) : undefined;
  const controllerClass = opts.controllerClass ?? 'default';

  const customList = <T extends KubernetesObject>(plural: string) => () => custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural }) as Promise<KubernetesListObject<T>>;
  const path = (plural: string) => `/apis/${GROUP}/${VERSION}/${plural}`;
  const esInformer = startInformer<ExternalSecret & KubernetesObject>(kc, path('externalsecrets'), customList('externalsecrets'), { logger });
  const storeInformer = startInformer<SecretStore & KubernetesObject>(kc, path('secretstores'), customList('secretstores'), { logger });
  const clusterStoreInformer = startInformer<SecretStore & KubernetesObject>(kc, path('clustersecretstores'), customList('clustersecretstores'), { logger });
  const cesInformer = startInformer<ClusterExternalSecret & KubernetesObject>(kc, path('clusterexternalsecrets'), customList('clusterexternalsecrets'), { logger });
  const nsInformer = startInformer<V1Namespace>(kc, '/api/v1/namespaces', () => core.listNamespace(), { logger });
  const secretInformer = startInformer<V1Secret>(kc, '/api/v1/secrets', () => core.listSecretForAllNamespaces({ labelSelector: MANAGED_SELECTOR }), { logger, labelSelector: MANAGED_SELECTOR });

  const reader: ObjectReader = {
    externalSecret: async (ns, name) => esInformer.get(name, ns),
    secretStore: async (ns, name) => storeInformer.get(name, ns),
    clusterSecretStore: async (name) => clusterStoreInformer.get(name),
    clusterExternalSecret: async (name) => cesInformer.get(name),
    namespace: async (name) => nsInformer.get(name),
    namespaces: async () => [...nsInformer.list()],
    externalSecrets: async (ns) => [...esInformer.list(ns)],
    managedSecret: async (ns, name) => secretInformer.get(name, ns),
    createdSecrets: async (ns, createdBy) => secretInformer.list(ns).filter((s) => s.metadata?.labels?.[LABEL_CREATED_BY] === createdBy),
    generator: (resource, ns, name, o) => kube.getCustom(resource, ns, name, o),
  };
  const events = new KubeEventRecorder(kube, { component: 'external-secrets', clock, logger });
  const storeEvents = new KubeEventRecorder(kube, { component: 'secret-store', clock, logger });
  const pool = new ProviderPool({
    kube,
    clock,
    logger,
    record: (p, c, ok) => metrics?.recordProviderCall(p, c, ok),
    ...(opts.providerRatePerSecond ? { ratePerSecond: opts.providerRatePerSecond } : {}),
    ...(opts.providerBurst ? { burst: opts.providerBurst } : {}),
    ...(opts.awsEndpoints ? { awsEndpoints: opts.awsEndpoints } : {}),
  });

  const queues = {
    externalsecret: new WorkQueue(clock),
    secretstore: new WorkQueue(clock),
    clustersecretstore: new WorkQueue(clock),
    clusterexternalsecret: new WorkQueue(clock),
  };
  const keyOf = (o: KubernetesObject) => formatKey({ namespace: o.metadata?.namespace ?? '', name: o.metadata!.name! });

  // ExternalSecrets: add/delete always; updates only when something other than status changed.
  const fingerprints = new Map<string, string>();
  esInformer.onAdd((o) => {
    fingerprints.set(keyOf(o), triggerFingerprint(o));
    queues.externalsecret.add(keyOf(o));
  });
  esInformer.onUpdate((o) => {
    const k = keyOf(o);
    const f = triggerFingerprint(o);
    if (fingerprints.get(k) === f) return;
    fingerprints.set(k, f);
    queues.externalsecret.add(k);
    const ces = o.metadata.ownerReferences?.find((r) => r.controller && r.kind === 'ClusterExternalSecret');
    if (ces) queues.clusterexternalsecret.add(ces.name);
  });
  esInformer.onDelete((o) => {
    fingerprints.delete(keyOf(o));
    queues.externalsecret.add(keyOf(o));
    const ces = o.metadata.ownerReferences?.find((r) => r.controller && r.kind === 'ClusterExternalSecret');
    if (ces) queues.clusterexternalsecret.add(ces.name);
  });
  // Managed Secrets: a deletion, or a change that leaves the Secret invalid (managed label or data hash off), re-checks
  // the ExternalSecrets targeting it (drift repair at once). A change that leaves it valid is skipped: the reconcile
  // would skip it too (ESO's shouldRefresh/isSecretValid), and the watch's echo of the controller's own writes would
  // otherwise queue every ExternalSecret a second time right after its sync.
  const secretChanged = (deleted: boolean) => (s: V1Secret) => {
    const ns = s.metadata?.namespace ?? '';
    for (const es of esInformer.list(ns)) {
      if (targetName(es) === s.metadata?.name && (deleted || !isSecretValid(s, es))) queues.externalsecret.add(keyOf(es));
    }
  };
  secretInformer.onAdd(secretChanged(false));
  secretInformer.onUpdate(secretChanged(false));
  secretInformer.onDelete(secretChanged(true));
  // Stores: validate on change; when one becomes Ready, the ExternalSecrets waiting on it need not wait for backoff.
  const readyOf = (s: SecretStore) => s.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
  const storeReady = new Map<string, boolean>();
  const storeChanged = (kind: 'SecretStore' | 'ClusterSecretStore') => (s: SecretStore & KubernetesObject) => {
    const k = `${kind}/${keyOf(s)}`;
    (kind === 'SecretStore' ? queues.secretstore : queues.clustersecretstore).add(keyOf(s));
    const ready = readyOf(s);
    if (ready && storeReady.get(k) === false) {
      for (const es of esInformer.list(kind === 'SecretStore' ? s.metadata.namespace : undefined)) {
        if ((es.spec?.secretStoreRef?.kind ?? 'SecretStore') === kind && es.spec?.secretStoreRef?.name === s.metadata.name) queues.externalsecret.add(keyOf(es));
      }
    }
    storeReady.set(k, ready);
  };
  storeInformer.onAdd(storeChanged('SecretStore'));
  storeInformer.onUpdate(storeChanged('SecretStore'));
  storeInformer.onDelete((s) => queues.secretstore.add(keyOf(s)));
  clusterStoreInformer.onAdd(storeChanged('ClusterSecretStore'));
  clusterStoreInformer.onUpdate(storeChanged('ClusterSecretStore'));
  clusterStoreInformer.onDelete((s) => queues.clustersecretstore.add(keyOf(s)));
  cesInformer.onAdd((c) => queues.clusterexternalsecret.add(keyOf(c)));
  cesInformer.onUpdate((c) => queues.clusterexternalsecret.add(keyOf(c)));
  cesInformer.onDelete((c) => queues.clusterexternalsecret.add(keyOf(c)));
  const allCes = () => cesInformer.list().forEach((c) => queues.clusterexternalsecret.add(keyOf(c)));
  nsInformer.onAdd(allCes);
  nsInformer.onUpdate(allCes);
  nsInformer.onDelete(allCes);

  // Caches first (namespaces and stores before the objects that need them), then the workers.
  const informers: ObjectInformer<KubernetesObject>[] = [nsInformer, storeInformer, clusterStoreInformer, secretInformer, esInformer, cesInformer] as ObjectInformer<KubernetesObject>[];
  for (const i of informers) {
    // A stop during the start (`coffer up` stopped while its controller is still syncing) goes straight to shutdown.
    if (signal.aborted) break;
    await i.start();
  }
  if (!signal.aborted) logger.info({ controllerClass }, 'external-secrets controller started');

  const base = { clock, logger, ...(metrics ? { metrics } : {}) };
  const loops = [
    runReconcileLoop(queues.externalsecret, new ExternalSecretReconciler({ ...base, kube, reader, pool, events, controllerClass }), { name: 'externalsecret', workers: opts.workers ?? 4, signal, logger }),
    runReconcileLoop(queues.secretstore, new SecretStoreReconciler({ ...base, kind: 'SecretStore', kube, reader, pool, events: storeEvents, controllerClass }), { name: 'secretstore', workers: 1, signal, logger }),
    runReconcileLoop(queues.clustersecretstore, new SecretStoreReconciler({ ...base, kind: 'ClusterSecretStore', kube, reader, pool, events: storeEvents, controllerClass }), { name: 'clustersecretstore', workers: 1, signal, logger }),
    runReconcileLoop(queues.clusterexternalsecret, new ClusterExternalSecretReconciler({ ...base, kube, reader }), { name: 'clusterexternalsecret', workers: 1, signal, logger }),
    runPushSecretController({ kubeConfig: kc, kube, clock, logger, signal, record: (p, c, ok) => metrics?.recordProviderCall(p, c, ok) }),
  ];
  const done = (async () => {
    await new Promise<void>((resolve) => (signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true })));
    await Promise.all(loops);
    await Promise.all(informers.map((i) => i.stop().catch(() => undefined)));
    await events.flush();
    await storeEvents.flush();
    await pool.close();
    connections.close();
    logger.info('external-secrets controller stopped');
  })();
  return {
    done,
    queueLengths: () => Object.fromEntries(Object.entries(queues).map(([k, q]) => [k, q.length])),
  };
}
