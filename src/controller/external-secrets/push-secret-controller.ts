// external-secrets.io/v1alpha1 PushSecret, as ESO's pkg/controllers/pushsecret reconciles it: the keys of a Secret are
// written to every store the PushSecret names (updatePolicy Replace, or IfNotExists to leave existing remote secrets
// alone); with deletionPolicy Delete a finalizer removes what was pushed when the PushSecret goes, and entries dropped
// from spec.data are removed from the stores. Status: a Ready condition (Synced / Errored, ESO's texts) and
// syncedPushSecrets ("<Kind>/<store>" → "<remoteKey>[/<property>]" → the data entry).
//
// Providers are built per reconcile from the store (no pool): PushSecrets refresh rarely (default 1h).
import { createHash } from 'node:crypto';
import { CustomObjectsApi, type KubeConfig, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { Clock } from '../../lib/clock.js';
import { KubeEventRecorder } from '../event-recorder.js';
import { startInformer } from '../informer.js';
import type { KubeApi } from '../kube-api.js';
import { runReconcileLoop } from '../reconcile-loop.js';
import { formatKey, type ObjectKey, type ReconcileResult, type Reconciler } from '../reconciler.js';
import { createProvider } from '../providers/provider-factory.js';
import type { ProviderCallRecorder, PushRemoteRef, PushSource, SecretsProvider } from '../providers/secrets-provider.js';
import { WorkQueue } from '../work-queue.js';
import type { Condition, SecretStore } from './external-secret-types.js';
import { matchesLabelSelector } from './label-selector-match.js';
import { parseGoDuration } from './go-time.js';
import { applyPushTemplate, type PushTemplate } from './push-template.js';
import { readTemplateSource } from './template-from.js';

const GROUP = 'external-secrets.io';
const VERSION = 'v1alpha1';
const PLURAL = 'pushsecrets';
export const PUSH_SECRET_FINALIZER = 'pushsecret.externalsecrets.io/finalizer';
const DEFAULT_REFRESH_MS = 3_600_000;

export interface PushSecretData {
  match: { secretKey?: string; remoteRef: PushRemoteRef };
  conversionStrategy?: string;
  metadata?: unknown;
}

type StoreKind = 'SecretStore' | 'ClusterSecretStore';

export interface PushSecret extends KubernetesObject {
  metadata: NonNullable<KubernetesObject['metadata']> & { name: string; namespace: string };
  spec?: {
    deletionPolicy?: 'Delete' | 'None';
    updatePolicy?: 'Replace' | 'IfNotExists';
    refreshInterval?: string;
    secretStoreRefs?: { name?: string; kind?: StoreKind; labelSelector?: { matchLabels?: Record<string, string> } }[];
    selector?: { secret?: { name?: string } };
    data?: PushSecretData[];
    template?: PushTemplate;
  };
  status?: {
    conditions?: Condition[];
    refreshTime?: string | null;
    syncedResourceVersion?: string;
    syncedPushSecrets?: SyncedPushSecrets;
  };
}

/** "<Kind>/<store name>" → "<remoteKey>[/<property>]" → the data entry pushed there. */
export type SyncedPushSecrets = Record<string, Record<string, PushSecretData>>;

const statusRef = (d: PushSecretData) => (d.match.remoteRef.property ? `${d.match.remoteRef.remoteKey}/${d.match.remoteRef.property}` : d.match.remoteRef.remoteKey);

/** A failure whose message is the Ready condition's, as ESO words it. */
class PushFailure extends Error {
  constructor(
    message: string,
    readonly synced?: SyncedPushSecrets,
  ) {
    super(message);
  }
}

export interface PushSecretReconcilerOptions {
  kube: KubeApi;
  custom: Pick<CustomObjectsApi, 'getNamespacedCustomObject' | 'replaceNamespacedCustomObject' | 'replaceNamespacedCustomObjectStatus'>;
  record: ProviderCallRecorder;
  clock: Clock;
  logger: Logger;
}

export class PushSecretReconciler implements Reconciler {
  private readonly events: KubeEventRecorder;

  constructor(private readonly opts: PushSecretReconcilerOptions) {
    this.events = new KubeEventRecorder(opts.kube, { component: 'pushsecret', clock: opts.clock, logger: opts.logger });
  }

  async reconcile(key: ObjectKey, { signal }: { signal: AbortSignal }): Promise<ReconcileResult> {
    const { custom } = this.opts;
    let ps: PushSecret;
    try {
      ps = (await custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: key.namespace, plural: PLURAL, name: key.name })) as PushSecret;
    } catch (e) {
      if ((e as { code?: number }).code === 404) return {};
      throw e;
    }
    const spec = ps.spec ?? {};
    const finalizers = ps.metadata.finalizers ?? [];
    const deleting = !!ps.metadata.deletionTimestamp;
    const providers = new Map<string, SecretsProvider>();
    try {
      if (spec.deletionPolicy === 'Delete' && !deleting && !finalizers.includes(PUSH_SECRET_FINALIZER)) {
        await this.replace({ ...ps, metadata: { ...ps.metadata, finalizers: [...finalizers, PUSH_SECRET_FINALIZER] } });
        return {};
      }
      if (deleting) {
        if (!finalizers.includes(PUSH_SECRET_FINALIZER)) return {};
        if (spec.deletionPolicy === 'Delete') {
          try {
            await this.deleteStale(ps, {}, providers, signal);
          } catch (e) {
            return await this.fail(ps, `Failed to Delete Secrets from Provider: ${(e as Error).message}`, e instanceof PushFailure ? e.synced : undefined);
          }
        }
        await this.replace({ ...ps, metadata: { ...ps.metadata, finalizers: finalizers.filter((f) => f !== PUSH_SECRET_FINALIZER) } });
        return {};
      }

      const secretName = spec.selector?.secret?.name ?? '';
      const secret = secretName ? await this.opts.kube.getSecret(ps.metadata.namespace, secretName, { signal }) : undefined;
      if (!secret) return await this.fail(ps, 'could not get source secret');
      const stores = await this.stores(ps, signal).catch((e: Error) => e);
      if (stores instanceof Error) return await this.fail(ps, stores.message);

      const data: Record<string, Buffer> = {};
      for (const [k, v] of Object.entries(secret.data ?? {})) data[k] = Buffer.from(v, 'base64');
      let source: PushSource = { data, ...(secret.type ? { type: secret.type } : {}), labels: secret.metadata?.labels ?? {}, annotations: secret.metadata?.annotations ?? {} };
      if (spec.template) {
        try {
          source = await applyPushTemplate(spec.template, source, (kind, name) => readTemplateSource(this.opts.kube, ps.metadata.namespace, kind, name, signal));
        } catch (e) {
          return await this.fail(ps, `could not apply template: ${(e as Error).message}`);
        }
      }
      const synced: SyncedPushSecrets = {};
      try {
        for (const { kind, store } of stores) await this.pushToStore(ps, kind, store, source, synced, providers, signal);
      } catch (e) {
        const merged = mergeSynced(synced, ps.status?.syncedPushSecrets ?? {});
        return await this.fail(ps, `set secret failed: ${(e as Error).message}`, merged);
      }
      if (spec.deletionPolicy === 'Delete') {
        try {
          await this.deleteStale(ps, synced, providers, signal);
        } catch (e) {
          return await this.fail(ps, `Failed to Delete Secrets from Provider: ${(e as Error).message}`, e instanceof PushFailure ? e.synced : undefined);
        }
      }
      let message = 'PushSecret synced successfully';
      if (spec.updatePolicy === 'IfNotExists') message += '. Existing secrets in providers unchanged.';
      await this.writeStatus(ps, { type: 'Ready', status: 'True', reason: 'Synced', message }, synced);
      this.events.record(ps, 'Normal', 'Synced', message);
      return { requeueAfterMs: refreshMs(ps) };
    } finally {
      for (const p of providers.values()) await p.close?.({ signal: AbortSignal.timeout(5000) }).catch(() => undefined);
    }
  }

  private async replace(ps: PushSecret): Promise<void> {
    await this.opts.custom.replaceNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ps.metadata.namespace, plural: PLURAL, name: ps.metadata.name, body: ps });
  }

  /** Marks the PushSecret failed (status, Warning event) and throws so the work queue retries with backoff. */
  private async fail(ps: PushSecret, message: string, synced?: SyncedPushSecrets): Promise<never> {
    await this.writeStatus(ps, { type: 'Ready', status: 'False', reason: 'Errored', message }, synced).catch(() => undefined);
    this.events.record(ps, 'Warning', 'Errored', message);
    throw new Error(message);
  }

  private async writeStatus(ps: PushSecret, condition: Omit<Condition, 'lastTransitionTime'>, synced: SyncedPushSecrets | undefined): Promise<void> {
    const now = new Date(this.opts.clock.now()).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const previous = ps.status?.conditions?.find((c) => c.type === condition.type);
    const cond = { ...condition, lastTransitionTime: previous && previous.status === condition.status ? previous.lastTransitionTime : now };
    const status = {
      ...ps.status,
      conditions: [...(ps.status?.conditions ?? []).filter((c) => c.type !== condition.type), cond],
      refreshTime: now,
      syncedResourceVersion: syncedResourceVersion(ps),
      ...(synced ? { syncedPushSecrets: synced } : {}),
    };
    await this.opts.custom.replaceNamespacedCustomObjectStatus({ group: GROUP, version: VERSION, namespace: ps.metadata.namespace, plural: PLURAL, name: ps.metadata.name, body: { ...ps, status } });
  }

  /** The stores the refs name (by name, or every store matching a label selector), ESO's GetSecretStores. */
  private async stores(ps: PushSecret, signal: AbortSignal): Promise<{ kind: StoreKind; store: SecretStore }[]> {
    const out = new Map<string, { kind: StoreKind; store: SecretStore }>();
    for (const ref of ps.spec?.secretStoreRefs ?? []) {
      const kind: StoreKind = ref.kind === 'ClusterSecretStore' ? 'ClusterSecretStore' : 'SecretStore';
      const resource = kind === 'ClusterSecretStore' ? 'clustersecretstores' : 'secretstores';
      const ns = kind === 'ClusterSecretStore' ? undefined : ps.metadata.namespace;
      if (ref.labelSelector) {
        for (const store of await this.opts.kube.listCustom<SecretStore>(resource, ns, { signal })) {
          if (matchesLabelSelector(ref.labelSelector, store.metadata.labels)) out.set(`${kind}/${store.metadata.name}`, { kind, store });
        }
        continue;
      }
      if (!ref.name) throw new Error('refStore Name must be provided');
      const store = await this.opts.kube.getCustom<SecretStore>(resource, ns, ref.name, { signal });
      if (!store) throw new Error(`could not get ${kind} ${JSON.stringify(ref.name)}, ${resource}.${GROUP} ${JSON.stringify(ref.name)} not found`);
      out.set(`${kind}/${ref.name}`, { kind, store });
    }
    return [...out.values()];
  }

  private provider(ps: PushSecret, storeKey: string, kind: StoreKind, store: SecretStore, providers: Map<string, SecretsProvider>): SecretsProvider {
    let p = providers.get(storeKey);
    if (!p) {
      const scope = kind === 'SecretStore' ? { kind, storeNamespace: ps.metadata.namespace, referentNamespace: ps.metadata.namespace } : { kind, referentNamespace: ps.metadata.namespace };
      p = createProvider(store, scope, { kube: this.opts.kube, record: this.opts.record });
      providers.set(storeKey, p);
    }
    if (!p.pushSecret || !p.deleteSecret || !p.secretExists) throw new Error(`store ${store.metadata.name} does not support PushSecret in Coffer (vault and kubernetes only)`);
    return p;
  }

  /** ESO's handlePushSecretDataForStore. */
  private async pushToStore(ps: PushSecret, kind: StoreKind, store: SecretStore, source: PushSource, synced: SyncedPushSecrets, providers: Map<string, SecretsProvider>, signal: AbortSignal): Promise<void> {
    const storeKey = `${kind}/${store.metadata.name}`;
    const entries: Record<string, PushSecretData> = {};
    synced[storeKey] = entries;
    const provider = this.provider(ps, storeKey, kind, store, providers);
    const data = source.data;
    for (const d of ps.spec?.data ?? []) {
      if (d.conversionStrategy && d.conversionStrategy !== 'None') throw new Error(`could not apply conversion strategy to keys: ${d.conversionStrategy} is not supported by Coffer`);
      const key = d.match.secretKey ?? '';
      if (key !== '' && !Object.hasOwn(data, key)) throw new Error(`secret key ${key} does not exist`);
      if (ps.spec?.updatePolicy === 'IfNotExists') {
        let exists: boolean;
        try {
          exists = await provider.secretExists!(d.match.remoteRef, { signal });
        } catch (e) {
          throw new Error(`could not verify if secret exists in store: ${(e as Error).message}`);
        }
        if (exists) {
          entries[statusRef(d)] = d;
          continue;
        }
      }
      // Without a secretKey the whole Secret goes, as a JSON object of its values as strings (ESO's vault provider).
      const value = key !== '' ? data[key]! : Buffer.from(JSON.stringify(Object.fromEntries(Object.entries(data).map(([k, v]) => [k, v.toString('utf8')]))));
      try {
        await provider.pushSecret!(value, d.match.remoteRef, { signal }, { ...source, ...(key !== '' ? { secretKey: key } : {}), ...(d.metadata !== undefined ? { metadata: d.metadata } : {}) });
      } catch (e) {
        throw new Error(`could not write remote ref ${key} to target secretstore ${store.metadata.name}: ${(e as Error).message}`);
      }
      entries[statusRef(d)] = d;
    }
  }

  /** ESO's DeleteSecretFromProviders: what was synced before and is not in `current` is deleted from its store. */
  private async deleteStale(ps: PushSecret, current: SyncedPushSecrets, providers: Map<string, SecretsProvider>, signal: AbortSignal): Promise<void> {
    const out = mergeSynced(current, ps.status?.syncedPushSecrets ?? {});
    for (const [storeKey, old] of Object.entries(ps.status?.syncedPushSecrets ?? {})) {
      const [kind, name] = storeKey.split('/') as [StoreKind, string];
      const stale = Object.entries(old).filter(([ref]) => !current[storeKey]?.[ref]);
      if (stale.length === 0) continue;
      const resource = kind === 'ClusterSecretStore' ? 'clustersecretstores' : 'secretstores';
      const store = await this.opts.kube.getCustom<SecretStore>(resource, kind === 'ClusterSecretStore' ? undefined : ps.metadata.namespace, name, { signal });
      if (!store) throw new PushFailure(`could not get secrets client for store ${storeKey}: not found`, out);
      const provider = this.provider(ps, storeKey, kind, store, providers);
      for (const [ref, d] of stale) {
        await provider.deleteSecret!(d.match.remoteRef, { signal });
        delete out[storeKey]![ref];
      }
      if (!current[storeKey]) delete out[storeKey];
    }
  }
}

function mergeSynced(current: SyncedPushSecrets, old: SyncedPushSecrets): SyncedPushSecrets {
  const out: SyncedPushSecrets = structuredClone(current);
  for (const [store, entries] of Object.entries(old)) out[store] = { ...entries, ...(out[store] ?? {}) };
  return out;
}

function refreshMs(ps: PushSecret): number {
  const text = ps.spec?.refreshInterval;
  if (!text) return DEFAULT_REFRESH_MS;
  const nanos = parseGoDuration(text);
  return nanos === undefined || nanos < 0 ? DEFAULT_REFRESH_MS : nanos / 1e6;
}

/** ESO's GetResourceVersion: "<generation>-<hash of labels and annotations>". */
function syncedResourceVersion(ps: PushSecret): string {
  const hash = createHash('md5').update(JSON.stringify([ps.metadata.labels ?? {}, ps.metadata.annotations ?? {}])).digest('hex');
  return `${ps.metadata.generation ?? 0}-${hash}`;
}

export interface PushSecretControllerOptions {
  kubeConfig: KubeConfig;
  kube: KubeApi;
  record: ProviderCallRecorder;
  clock: Clock;
  logger: Logger;
  signal: AbortSignal;
}

/** Watches PushSecrets and reconciles them until `signal` aborts; resolves when stopped. */
export async function runPushSecretController(opts: PushSecretControllerOptions): Promise<void> {
  const custom = opts.kubeConfig.makeApiClient(CustomObjectsApi);
  const queue = new WorkQueue(opts.clock);
  const informer = startInformer<PushSecret>(
    opts.kubeConfig,
    `/apis/${GROUP}/${VERSION}/${PLURAL}`,
    () => custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL }) as Promise<KubernetesListObject<PushSecret>>,
    { logger: opts.logger },
  );
  // Status writes must not re-trigger: only spec, metadata and deletion changes do (as for ExternalSecrets).
  const seen = new Map<string, string>();
  const fingerprint = (o: PushSecret) => JSON.stringify([o.metadata.generation, o.metadata.labels, o.metadata.annotations, o.metadata.finalizers, o.metadata.deletionTimestamp ?? null]);
  const keyOf = (o: PushSecret) => formatKey({ namespace: o.metadata.namespace, name: o.metadata.name });
  const changed = (o: PushSecret) => {
    const f = fingerprint(o);
    if (seen.get(keyOf(o)) === f) return;
    seen.set(keyOf(o), f);
    queue.add(keyOf(o));
  };
  informer.onAdd(changed);
  informer.onUpdate(changed);
  informer.onDelete((o) => seen.delete(keyOf(o)));
  await informer.start();
  const reconciler = new PushSecretReconciler({ kube: opts.kube, custom, record: opts.record, clock: opts.clock, logger: opts.logger });
  await runReconcileLoop(queue, reconciler, { name: 'pushsecret', workers: 2, signal: opts.signal, logger: opts.logger });
  await informer.stop().catch(() => undefined);
}
