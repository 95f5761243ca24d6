// ClusterExternalSecret: one ExternalSecret per namespace matched by namespaceSelectors (or the deprecated
// namespaceSelector/namespaces), owned by the ClusterExternalSecret (controller reference), and removed from
// namespaces that stop matching (external-secrets pkg/controllers/clusterexternalsecret). Namespace finalizers are not
// used: ownerReferences garbage collection removes generated ExternalSecrets when the ClusterExternalSecret goes.
import type { Logger } from 'pino';
import { parseGoDuration } from '../../encryption/go-duration.js';
import type { Clock } from '../../lib/clock.js';
import type { KubeApi } from '../kube-api.js';
import type { ObjectKey, ReconcileResult, Reconciler } from '../reconciler.js';
import { API_VERSION, ANNOTATION_FORCE_SYNC, type ClusterExternalSecret, type ExternalSecret } from './external-secret-types.js';
import type { ExternalSecretsMetrics } from './external-secrets-metrics.js';
import { matchesLabelSelector } from './label-selector-match.js';
import type { ObjectReader } from './object-reader.js';

export interface ClusterExternalSecretReconcilerDeps {
  kube: KubeApi;
  reader: ObjectReader;
  clock: Clock;
  logger: Logger;
  metrics?: ExternalSecretsMetrics;
}

function controlledBy(es: ExternalSecret, ces: ClusterExternalSecret): boolean {
  return (es.metadata.ownerReferences ?? []).some((r) => r.controller && r.kind === 'ClusterExternalSecret' && r.uid === ces.metadata.uid);
}

export class ClusterExternalSecretReconciler implements Reconciler {
  constructor(private readonly deps: ClusterExternalSecretReconcilerDeps) {}

  async reconcile(key: ObjectKey, opts: { signal: AbortSignal }): Promise<ReconcileResult> {
    const start = this.deps.clock.now();
    const { kube, reader } = this.deps;
    const ces = await reader.clusterExternalSecret(key.name, opts);
    if (!ces) {
      this.deps.metrics?.cesCondition.remove({ name: key.name, namespace: '', condition: 'Ready', status: 'True' });
      this.deps.metrics?.cesCondition.remove({ name: key.name, namespace: '', condition: 'Ready', status: 'False' });
      this.deps.metrics?.cesDuration.remove({ name: key.name, namespace: '' });
      return {};
    }
    if (ces.metadata.deletionTimestamp) return {};
    const spec = ces.spec ?? {};
    const esName = spec.externalSecretName || ces.metadata.name!;
    const failed: { namespace: string; reason: string }[] = [];
    const provisioned: string[] = [];
    const previous = ces.status?.provisionedNamespaces ?? [];

    // Renamed: remove the old-named ExternalSecrets we control.
    const oldName = ces.status?.externalSecretName;
    if (oldName && oldName !== esName) {
      for (const ns of previous) await this.deleteIfControlled(ns, oldName, ces, opts.signal, failed);
    }

    const selectors = [
      ...(spec.namespaces ?? []).map((n) => ({ matchLabels: { 'kubernetes.io/metadata.name': n } })),
      ...(spec.namespaceSelector ? [spec.namespaceSelector] : []),
      ...(spec.namespaceSelectors ?? []),
    ];
    const targets: string[] = [];
    for (const ns of await reader.namespaces(opts)) {
      const labels = { 'kubernetes.io/metadata.name': ns.metadata!.name!, ...(ns.metadata?.labels ?? {}) };
      if (ns.status?.phase === 'Terminating') continue;
      if (selectors.some((s) => matchesLabelSelector(s, labels))) targets.push(ns.metadata!.name!);
    }
    for (const ns of previous) if (!targets.includes(ns)) await this.deleteIfControlled(ns, esName, ces, opts.signal, failed);

    for (const ns of targets) {
      try {
        const existing = await kube.getCustom<ExternalSecret>('externalsecrets', ns, esName, opts);
        if (existing && !controlledBy(existing, ces)) {
          failed.push({ namespace: ns, reason: 'external secret already exists in namespace' });
          continue;
        }
        const annotations = { ...(spec.externalSecretMetadata?.annotations ?? {}) };
        const force = ces.metadata.annotations?.[ANNOTATION_FORCE_SYNC];
        if (force !== undefined) annotations[ANNOTATION_FORCE_SYNC] = force;
        const desired: ExternalSecret = {
          apiVersion: API_VERSION,
          kind: 'ExternalSecret',
          metadata: {
            name: esName,
            namespace: ns,
            labels: { ...(spec.externalSecretMetadata?.labels ?? {}) },
            annotations,
            ownerReferences: [{ apiVersion: API_VERSION, kind: 'ClusterExternalSecret', name: ces.metadata.name!, uid: ces.metadata.uid!, controller: true, blockOwnerDeletion: true }],
            ...(existing?.metadata.resourceVersion ? { resourceVersion: existing.metadata.resourceVersion } : {}),
          },
          spec: structuredClone(spec.externalSecretSpec ?? {}),
        };
        if (!existing) await kube.createCustom('externalsecrets', desired, opts);
        else {
          const same = JSON.stringify([existing.metadata.labels ?? {}, existing.metadata.annotations ?? {}, existing.spec ?? {}]) === JSON.stringify([desired.metadata.labels, desired.metadata.annotations, desired.spec]);
          if (!same) await kube.replaceCustom('externalsecrets', { ...existing, metadata: { ...existing.metadata, labels: desired.metadata.labels, annotations: desired.metadata.annotations, ownerReferences: desired.metadata.ownerReferences }, spec: desired.spec }, opts);
        }
        provisioned.push(ns);
      } catch (e) {
        if (opts.signal.aborted) throw e;
        failed.push({ namespace: ns, reason: e instanceof Error ? e.message : String(e) });
      }
    }

    const status: NonNullable<ClusterExternalSecret['status']> = {
      externalSecretName: esName,
      provisionedNamespaces: provisioned.sort(),
      ...(failed.length ? { failedNamespaces: failed.sort((a, b) => a.namespace.localeCompare(b.namespace)) } : {}),
      conditions: [failed.length ? { type: 'Ready', status: 'False', message: 'one or more namespaces failed' } : { type: 'Ready', status: 'True' }],
    };
    if (JSON.stringify(status) !== JSON.stringify(ces.status ?? {})) await kube.replaceCustomStatus('clusterexternalsecrets', { ...ces, status }, opts);
    if (!failed.length) this.deps.metrics?.setReady(this.deps.metrics.cesCondition, key.name, '', 'True');
    this.deps.metrics?.cesDuration.set({ name: key.name, namespace: '' }, (this.deps.clock.now() - start) * 1e6);
    let refresh = 3_600_000;
    if (spec.refreshTime) {
      try {
        refresh = parseGoDuration(spec.refreshTime) / 1e6 || refresh;
      } catch {
        // an unparseable refreshTime falls back to the default, as a missing one does
      }
    }
    return { requeueAfterMs: refresh };
  }

  private async deleteIfControlled(ns: string, name: string, ces: ClusterExternalSecret, signal: AbortSignal, failed: { namespace: string; reason: string }[]): Promise<void> {
    try {
      const es = await this.deps.kube.getCustom<ExternalSecret>('externalsecrets', ns, name, { signal });
      if (es && controlledBy(es, ces)) await this.deps.kube.deleteCustom('externalsecrets', ns, name, { signal });
    } catch (e) {
      failed.push({ namespace: ns, reason: e instanceof Error ? e.message : String(e) });
    }
  }
}
