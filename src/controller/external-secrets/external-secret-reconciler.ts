// The ExternalSecret reconcile pipeline: decide → fetch → render → apply → status. Each stage is its own module;
// this file only sequences them and turns every ending (success, skip, each kind of failure) into one Outcome, which
// is written to status, Events and metrics in one place. On any failure the existing Secret is left as it was.
import type { V1Secret } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { Clock } from '../../lib/clock.js';
import { AlreadyExistsError, ConflictError } from '../../lib/errors.js';
import type { EventRecorder, EventType } from '../event-recorder.js';
import type { KubeApi } from '../kube-api.js';
import type { ProviderPool } from '../providers/provider-pool.js';
import { TerminalError, type ObjectKey, type ReconcileResult, type Reconciler } from '../reconciler.js';
import { applySecret } from './apply-secret.js';
import { writeExternalSecretStatus, type StatusUpdate } from './external-secret-status.js';
import type { ExternalSecret } from './external-secret-types.js';
import type { ExternalSecretsMetrics } from './external-secrets-metrics.js';
import { fetchSecretData } from './fetch-secret-data.js';
import type { ObjectReader } from './object-reader.js';
import { currentVersion, isPeriodicOnly, isSecretValid, nextRefreshDelay, refreshIntervalMs, shouldRefresh } from './refresh-decision.js';
import { checkImmutableChange, renderSecret, RenderError, targetName } from './render-secret.js';
import { UnmanagedStoreError } from './store-resolver.js';

export interface ExternalSecretReconcilerDeps {
  kube: KubeApi;
  reader: ObjectReader;
  pool: ProviderPool;
  events: EventRecorder;
  clock: Clock;
  logger: Logger;
  metrics?: ExternalSecretsMetrics;
  controllerClass?: string;
  random?: () => number;
  /** Longest spread of overdue periodic refreshes after a start (default: a tenth of the interval, ≤ 5 min). */
  restartSpreadMs?: (intervalMs: number) => number;
}

interface Outcome {
  status?: StatusUpdate;
  events: [EventType, string, string][];
  error?: Error;
  terminal?: boolean;
  requeueAfterMs?: number;
}

const FIVE_MINUTES = 300_000;

export function formatTime(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

export class ExternalSecretReconciler implements Reconciler {
  /** UIDs reconciled since start: the first overdue periodic refresh of each is spread instead of run at once. */
  private readonly seen = new Set<string>();
  private readonly random: () => number;

  constructor(private readonly deps: ExternalSecretReconcilerDeps) {
    this.random = deps.random ?? Math.random;
  }

  async reconcile(key: ObjectKey, opts: { signal: AbortSignal }): Promise<ReconcileResult> {
    const start = this.deps.clock.now();
    const es = await this.deps.reader.externalSecret(key.namespace, key.name, opts);
    const m = this.deps.metrics;
    if (!es) {
      m?.externalSecretDeleted(key.name, key.namespace);
      return {};
    }
    if (es.metadata.deletionTimestamp) return {}; // Owner-created Secrets go with the ExternalSecret via GC
    m?.syncCalls.inc({ name: key.name, namespace: key.namespace });
    try {
      const outcome = await this.sync(es, start, opts.signal);
      return await this.finish(es, outcome, start, opts.signal);
    } finally {
      m?.esDuration.set({ name: key.name, namespace: key.namespace }, (this.deps.clock.now() - start) * 1e6);
    }
  }

  private requeue(es: ExternalSecret, intervalMs: number, refreshTime: number | undefined, now: number): number | undefined {
    const base = nextRefreshDelay(es, refreshTime, now, intervalMs);
    if (base === undefined) return undefined;
    // Waking slightly late (never early: an early wake finds nothing due and requeues again), spread by jitter. The
    // margin scales with the interval (at most 1 s), so a short refreshInterval is still honoured: 2s means ~2 s.
    return base + Math.min(1000, 10 + intervalMs * 0.01) + this.random() * Math.min(intervalMs * 0.05, 60_000);
  }

  private async sync(es: ExternalSecret, start: number, signal: AbortSignal): Promise<Outcome> {
    const { kube } = this.deps;
    // ESO puts only its generic text in the condition; the cause is added so `kubectl get es -o yaml` says what broke.
    const fail = (message: string, error: Error, terminal = false): Outcome => ({
      status: { ready: 'False', reason: 'SecretSyncedError', message: `${message}: ${error.message}` },
      events: [['Warning', 'UpdateFailed', error.message]],
      error,
      terminal,
    });
    let intervalMs: number;
    try {
      intervalMs = refreshIntervalMs(es);
    } catch (e) {
      return fail('could not get secret data from provider', e as Error, true);
    }
    const name = targetName(es);
    const namespace = es.metadata.namespace!;
    const policy = es.spec?.target?.creationPolicy ?? 'Owner';
    // The managed-Secret cache answers for labelled Secrets. Owner and Orphan create the target, so a miss is taken at
    // its word and the rare unlabelled Secret of that name shows up as AlreadyExists on create (then read below);
    // Merge and None only ever touch an existing Secret, which may be unlabelled, so their misses ask the API.
    let existing = await this.deps.reader.managedSecret(namespace, name, { signal });
    if (!existing && policy !== 'Owner' && policy !== 'Orphan') existing = await kube.getSecret(namespace, name, { signal });
    const refreshTime = es.status?.refreshTime ? Date.parse(es.status.refreshTime) : undefined;
    const due = shouldRefresh(es, start, intervalMs);
    const valid = isSecretValid(existing, es);
    const uid = es.metadata.uid ?? `${es.metadata.namespace}/${es.metadata.name}`;
    const firstLook = !this.seen.has(uid);
    this.seen.add(uid);
    if (!due && valid) return { events: [], requeueAfterMs: this.requeue(es, intervalMs, refreshTime, start) ?? -1 };
    if (due && valid && firstLook && isPeriodicOnly(es)) {
      // Overdue only because the controller was down: spread these so a restart does not fire them all at once.
      const window = this.deps.restartSpreadMs?.(intervalMs) ?? Math.min(intervalMs / 10, FIVE_MINUTES);
      const delay = this.random() * window;
      if (delay >= 1) return { events: [], requeueAfterMs: delay };
    }

    // A label/annotation change with the same generation is a force-sync: bypass shared provider results.
    const synced = es.status?.syncedResourceVersion ?? '';
    const forced = synced !== '' && synced !== currentVersion(es) && synced.split('-')[0] === String(es.metadata.generation ?? 0);
    const maxAgeMs = forced ? 0 : intervalMs > 0 ? Math.min(intervalMs / 10, FIVE_MINUTES) : 60_000;

    let fetched;
    try {
      fetched = await fetchSecretData(es, { reader: this.deps.reader, pool: this.deps.pool, controllerClass: this.deps.controllerClass ?? 'default', maxAgeMs, signal });
    } catch (e) {
      if (e instanceof Error && e.cause instanceof UnmanagedStoreError) return { events: [] };
      if (signal.aborted) throw e;
      return fail('could not get secret data from provider', e as Error);
    }
    const events: Outcome['events'] = fetched.missing.map((msg) => ['Normal', 'MissingProviderSecret', msg]);
    // A failure after the fetch keeps the events gathered so far and adds its own UpdateFailed warning.
    const failWith = (message: string, error: Error, terminal = false): Outcome => {
      const failed = fail(message, error, terminal);
      return { ...failed, events: [...events, ...failed.events] };
    };
    const success = (reason: string, message: string, binding?: string): Outcome => ({
      status: {
        ready: 'True',
        reason,
        message,
        synced: { refreshTime: formatTime(start), syncedResourceVersion: currentVersion(es), ...(binding ? { binding } : {}) },
      },
      events,
      requeueAfterMs: this.requeue(es, intervalMs, start, start) ?? -1,
    });
    const deletion = es.spec?.target?.deletionPolicy ?? 'Retain';

    if (Object.keys(fetched.data).length === 0) {
      if (deletion === 'Delete') {
        if (policy !== 'Owner') return failWith('could not delete secret', new Error(`unable to delete secret ${name}: creationPolicy=${policy} is not Owner`), true);
        if (existing) {
          try {
            await kube.deleteSecret(namespace, name, { signal, ...(existing.metadata?.uid ? { uid: existing.metadata.uid } : {}) });
          } catch (e) {
            return failWith('could not delete secret', e as Error);
          }
          events.push(['Normal', 'Deleted', 'secret deleted due to DeletionPolicy=Delete']);
        }
        return success('SecretDeleted', 'secret deleted due to DeletionPolicy=Delete');
      }
      if (deletion === 'Retain') return success('SecretSynced', 'secret retained due to DeletionPolicy=Retain');
    }

    let applied;
    for (let adopting = false; ; adopting = true) {
      let desired: V1Secret;
      try {
        desired = await renderSecret({ es, existing, data: fetched.data, kube, signal });
        checkImmutableChange(existing, desired);
      } catch (e) {
        if (!(e instanceof RenderError)) throw e;
        // Ownership conflicts and immutable targets cannot heal by retrying; template errors are retried like ESO.
        return failWith(e.conditionMessage, e, e.conditionMessage !== 'could not update secret');
      }
      try {
        const owned = (createdBy: string) => this.deps.reader.createdSecrets(namespace, createdBy, { signal });
        applied = await applySecret(es, existing, desired, { kube, owned, events: { record: (_o, t, r, msg) => events.push([t, r, msg]) }, signal });
        break;
      } catch (e) {
        if (e instanceof AlreadyExistsError && !existing && !adopting) {
          // The cache missed an unlabelled Secret of that name: render again onto it as the API has it.
          existing = await kube.getSecret(namespace, name, { signal });
          continue;
        }
        if (e instanceof ConflictError || e instanceof AlreadyExistsError || signal.aborted) {
          this.flushEvents(es, events);
          throw e; // someone else wrote the Secret: retry on fresh state
        }
        return failWith('could not update secret', e as Error);
      }
    }
    if (applied === 'missing') {
      return {
        status: { ready: 'True', reason: 'SecretMissing', message: 'secret will not be created due to CreationPolicy=Merge' },
        events,
        requeueAfterMs: intervalMs > 0 ? intervalMs : -1,
      };
    }
    return success('SecretSynced', 'secret synced', applied === 'skipped' ? undefined : name);
  }

  private flushEvents(es: ExternalSecret, events: Outcome['events']): void {
    for (const [type, reason, message] of events) this.deps.events.record(es, type, reason, message);
  }

  /** The single place where an outcome becomes status, Events, metrics and the queue's next step. */
  private async finish(es: ExternalSecret, outcome: Outcome, start: number, signal: AbortSignal): Promise<ReconcileResult> {
    const name = es.metadata.name!;
    const namespace = es.metadata.namespace!;
    this.flushEvents(es, outcome.events);
    if (outcome.status) {
      await writeExternalSecretStatus(this.deps.kube, es, outcome.status, { now: formatTime(start), signal });
      this.deps.metrics?.setReady(this.deps.metrics.esCondition, name, namespace, outcome.status.ready);
    }
    if (outcome.error) {
      this.deps.metrics?.syncErrors.inc({ name, namespace });
      this.deps.logger.info({ externalSecret: `${namespace}/${name}`, error: outcome.error.message }, 'sync failed');
      if (outcome.terminal) throw new TerminalError(outcome.error.message, { cause: outcome.error });
      throw outcome.error;
    }
    return outcome.requeueAfterMs !== undefined && outcome.requeueAfterMs >= 0 ? { requeueAfterMs: outcome.requeueAfterMs } : {};
  }
}
