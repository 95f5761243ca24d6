// Stage 3 of the pipeline: make the cluster hold the desired Secret, by creationPolicy (createSecret / updateSecret in
// external-secrets pkg/controllers/externalsecret/externalsecret_controller.go): None
// writes nothing, Merge only updates an existing Secret, Owner first removes Secrets it created under an old target
// name, and an unchanged Secret is never rewritten. Every write carries the ExternalSecret's field manager.
import type { V1Secret } from '@kubernetes/client-node';
import type { KubeApi } from '../kube-api.js';
import type { EventRecorder } from '../event-recorder.js';
import type { ExternalSecret } from './external-secret-types.js';
import { fieldManagerName } from './owned-fields.js';
import { createdByLabel, targetName } from './render-secret.js';

export type ApplyResult = 'created' | 'updated' | 'unchanged' | 'skipped' | 'missing';

/** JSON with object keys sorted at every level: the API's answer and a locally built object list keys differently. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined);
    return `{${entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, x]) => `${JSON.stringify(k)}:${canonical(x)}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

function comparable(s: V1Secret): string {
  const m = s.metadata ?? {};
  return canonical([m.labels ?? {}, m.annotations ?? {}, m.ownerReferences ?? [], m.finalizers ?? [], s.type ?? 'Opaque', s.immutable ?? false, s.data ?? {}]);
}

export interface ApplyContext {
  kube: KubeApi;
  /** The Secrets carrying this created-by label (from the managed-Secret cache in production). */
  owned: (createdBy: string) => Promise<V1Secret[]>;
  events: EventRecorder;
  signal: AbortSignal;
}

export async function applySecret(es: ExternalSecret, existing: V1Secret | undefined, desired: V1Secret, ctx: ApplyContext): Promise<ApplyResult> {
  const policy = es.spec?.target?.creationPolicy ?? 'Owner';
  const fieldManager = fieldManagerName(es.metadata.name!);
  if (policy === 'None') return 'skipped';
  if (policy === 'Merge' && !existing) return 'missing';
  if (policy === 'Owner') await deleteOrphanedSecrets(es, ctx);
  if (!existing) {
    await ctx.kube.createSecret(desired, { signal: ctx.signal, fieldManager });
    ctx.events.record(es, 'Normal', 'Created', 'secret created');
    return 'created';
  }
  if (comparable(existing) === comparable(desired)) return 'unchanged';
  await ctx.kube.replaceSecret(desired, { signal: ctx.signal, fieldManager });
  ctx.events.record(es, 'Normal', 'Updated', 'secret updated');
  return 'updated';
}

/** Secrets this ExternalSecret created under another name (target.name changed) are deleted, as ESO does. */
async function deleteOrphanedSecrets(es: ExternalSecret, ctx: ApplyContext): Promise<void> {
  const ns = es.metadata.namespace!;
  for (const s of await ctx.owned(createdByLabel(es))) {
    if (s.metadata?.name === targetName(es)) continue;
    await ctx.kube.deleteSecret(ns, s.metadata!.name!, { signal: ctx.signal, ...(s.metadata?.uid ? { uid: s.metadata.uid } : {}) });
    ctx.events.record(es, 'Normal', 'Deleted', 'secret deleted because it was orphaned');
  }
}
