// Which store an ExternalSecret entry reads from, and whether it may (external-secrets
// pkg/controllers/secretstore/client_manager.go): the store must exist, be processed by this controller class, allow
// the ExternalSecret's namespace (ClusterSecretStore conditions, regexes unanchored as in RE2) and be Ready (ESO's
// flood gate).
import { InvalidError } from '../../lib/errors.js';
import type { ExternalSecret, SecretStore, StoreRef } from './external-secret-types.js';
import { GoRegexp } from '../../lib/go/regexp.js';
import { matchesLabelSelector } from './label-selector-match.js';
import type { ObjectReader } from './object-reader.js';

export interface ResolvedStore {
  store: SecretStore;
  kind: 'SecretStore' | 'ClusterSecretStore';
}

/** Thrown when the store belongs to another controller class: the ExternalSecret is skipped silently. */
export class UnmanagedStoreError extends InvalidError {}

export async function storeAllowsNamespace(store: SecretStore, namespace: string, reader: ObjectReader, signal: AbortSignal): Promise<boolean> {
  const conditions = store.spec?.conditions ?? [];
  if (conditions.length === 0) return true;
  let labels: Record<string, string> | undefined;
  const nsLabels = async () => (labels ??= (await reader.namespace(namespace, { signal }))?.metadata?.labels ?? {});
  for (const c of conditions) {
    if (c.namespaces?.includes(namespace)) return true;
    if (c.namespaceRegexes?.some((r) => GoRegexp.compile(r).test(namespace))) return true;
    if (c.namespaceSelector && matchesLabelSelector(c.namespaceSelector, await nsLabels())) return true;
  }
  return false;
}

export function isStoreReady(store: SecretStore): boolean {
  return store.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

export async function resolveStore(
  es: ExternalSecret,
  ref: StoreRef | undefined,
  reader: ObjectReader,
  opts: { signal: AbortSignal; controllerClass: string },
): Promise<ResolvedStore> {
  const r = ref ?? es.spec?.secretStoreRef;
  if (!r?.name) throw new InvalidError('no store referenced: set spec.secretStoreRef or a sourceRef.storeRef');
  const namespace = es.metadata.namespace!;
  const cluster = r.kind === 'ClusterSecretStore';
  const store = cluster ? await reader.clusterSecretStore(r.name, opts) : await reader.secretStore(namespace, r.name, opts);
  if (!store) {
    throw new InvalidError(cluster ? `could not get ClusterSecretStore "${r.name}", not found` : `could not get SecretStore "${r.name}", not found`);
  }
  const cls = store.spec?.controller ?? '';
  if (cls !== '' && cls !== opts.controllerClass) throw new UnmanagedStoreError('can not reference unmanaged store');
  if (cluster && !(await storeAllowsNamespace(store, namespace, reader, opts.signal))) {
    throw new InvalidError(`using cluster store "${r.name}" is not allowed from namespace "${namespace}": denied by spec.condition`);
  }
  if (!isStoreReady(store)) throw new InvalidError(`${cluster ? 'ClusterSecretStore' : 'SecretStore'} "${r.name}" is not ready`);
  return { store, kind: cluster ? 'ClusterSecretStore' : 'SecretStore' };
}
