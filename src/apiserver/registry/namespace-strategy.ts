// Namespace rules (k/k pkg/registry/core/namespace/strategy.go, ValidateNamespace*): phase Active and the
// `kubernetes` finalizer on create, the metadata.name label always forced, spec.finalizers and status owned by the
// /finalize and /status subresources rather than the main resource.
import type { FieldError } from '../api-status.js';
import type { KubeObject } from '../../objects/object-meta.js';
import type { Namespace } from '../../objects/namespace.js';
import { invalidValue } from './field-errors.js';
import { nameIsDnsLabel } from '../../lib/go/name-validation.js';
import { validateCoreObjectMeta, validateCoreObjectMetaUpdate, validateKubeFinalizerName } from './object-meta-validation.js';
import type { Strategy, Subresource } from './strategy.js';

export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';
export const FINALIZER_KUBERNETES = 'kubernetes';

function forceNameLabel(ns: Namespace): void {
  const name = ns.metadata?.name;
  if (!name) return;
  ns.metadata = { ...ns.metadata, labels: { ...ns.metadata.labels, [NAMESPACE_NAME_LABEL]: name } };
}

function validateSpecFinalizers(ns: Namespace): FieldError[] {
  return (ns.spec?.finalizers ?? []).flatMap((f) => validateKubeFinalizerName(f, 'spec.finalizers'));
}

export const NAMESPACE_STRATEGY: Strategy = {
  groupKind: { group: '', kind: 'Namespace' },
  // The main resource never owns status (kube's reset fields), so managedFields do not track it.
  resetFields: ['status'],

  applyDefaults(obj: KubeObject): KubeObject {
    forceNameLabel(obj as Namespace);
    return obj;
  },

  prepareForCreate(obj: KubeObject): KubeObject {
    const ns = obj as Namespace;
    const finalizers = [...(ns.spec?.finalizers ?? [])];
    if (!finalizers.includes(FINALIZER_KUBERNETES)) finalizers.push(FINALIZER_KUBERNETES);
    ns.spec = { ...ns.spec, finalizers };
    ns.status = { phase: 'Active' };
    forceNameLabel(ns);
    return ns;
  },

  prepareForUpdate(obj: KubeObject, old: KubeObject, subresource?: Subresource): KubeObject {
    const ns = obj as Namespace;
    const before = old as Namespace;
    if (subresource !== 'status') ns.status = structuredClone(before.status ?? {});
    if (subresource === undefined || subresource === 'status') ns.spec = structuredClone(before.spec ?? {});
    forceNameLabel(ns);
    return ns;
  },

  validate(obj: KubeObject): FieldError[] {
    const ns = obj as Namespace;
    return [...validateCoreObjectMeta(ns.metadata ?? {}, { namespaced: false, nameFn: nameIsDnsLabel }), ...validateSpecFinalizers(ns)];
  },

  validateUpdate(obj: KubeObject, old: KubeObject, subresource?: Subresource): FieldError[] {
    const ns = obj as Namespace;
    const errs = validateCoreObjectMetaUpdate(ns.metadata ?? {}, old.metadata ?? {});
    if (subresource === 'finalize') errs.push(...validateSpecFinalizers(ns));
    if (subresource === 'status') {
      const phase = ns.status?.phase ?? '';
      if (ns.metadata?.deletionTimestamp) {
        if (phase !== 'Terminating') {
          errs.push(invalidValue('status.Phase', phase, "may only be 'Terminating' if `deletionTimestamp` is not empty"));
        }
      } else if (phase !== 'Active') {
        errs.push(invalidValue('status.Phase', phase, "may only be 'Active' if `deletionTimestamp` is empty"));
      }
    }
    return errs;
  },

  fieldLabelError(label: string): string | undefined {
    return label === 'metadata.name' || label === 'status.phase' ? undefined : `field label not supported: ${label}`;
  },

  selectableFields(obj: KubeObject): Record<string, string> {
    return { 'metadata.name': obj.metadata?.name ?? '', 'status.phase': (obj as Namespace).status?.phase ?? '' };
  },
};
