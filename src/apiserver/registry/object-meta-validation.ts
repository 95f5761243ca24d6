// ObjectMeta validation as kube-apiserver runs it for core kinds (apimachinery pkg/api/validation/objectmeta.go):
// apimachinery's ValidateObjectMetaAccessor / ...Update plus the core-only finalizer-name rule of
// pkg/apis/core/validation.
import type { FieldError } from '../api-status.js';
import type { ManagedFieldsEntry, ObjectMeta, OwnerReference } from '../../objects/object-meta.js';
import { forbiddenField, invalidValue, required, tooLong, type FieldValue } from './field-errors.js';
import { isQualifiedName, isValidLabelValue, nameIsDnsLabel, type NameValidator } from '../../lib/go/name-validation.js';

export const TOTAL_ANNOTATION_SIZE_LIMIT = 262144;
const FIELD_MANAGER_MAX = 128;
const STANDARD_FINALIZERS = new Set(['kubernetes', 'orphan', 'foregroundDeletion']);

export interface ObjectMetaRules {
  namespaced: boolean;
  /** The kind's name rule (DNS subdomain for Secrets/ConfigMaps, DNS label for Namespaces). */
  nameFn: NameValidator;
}

/** apimachinery ValidateObjectMetaAccessor. */
export function validateObjectMeta(meta: ObjectMeta, rules: ObjectMetaRules): FieldError[] {
  const errs: FieldError[] = [];
  if (meta.generateName) {
    for (const msg of rules.nameFn(meta.generateName, true)) errs.push(invalidValue('metadata.generateName', meta.generateName, msg));
  }
  if (!meta.name) errs.push(required('metadata.name', 'name or generateName is required'));
  else for (const msg of rules.nameFn(meta.name, false)) errs.push(invalidValue('metadata.name', meta.name, msg));
  if (rules.namespaced) {
    if (!meta.namespace) errs.push(required('metadata.namespace'));
    else for (const msg of nameIsDnsLabel(meta.namespace, false)) errs.push(invalidValue('metadata.namespace', meta.namespace, msg));
  } else if (meta.namespace) {
    errs.push(forbiddenField('metadata.namespace', 'not allowed on this type'));
  }
  if ((meta.generation ?? 0) < 0) errs.push(invalidValue('metadata.generation', meta.generation!, 'must be greater than or equal to 0'));
  // Each rule finds nothing in an absent field: only present ones are walked (five arrays and spreads per write else).
  if (meta.labels != null) errs.push(...validateLabels(meta.labels, 'metadata.labels'));
  if (meta.annotations != null) errs.push(...validateAnnotations(meta.annotations, 'metadata.annotations'));
  if (meta.ownerReferences != null) errs.push(...validateOwnerReferences(meta.ownerReferences, 'metadata.ownerReferences'));
  if (meta.finalizers != null) errs.push(...validateFinalizers(meta.finalizers, 'metadata.finalizers'));
  if (meta.managedFields != null) errs.push(...validateManagedFields(meta.managedFields, 'metadata.managedFields'));
  return errs;
}

/** pkg/apis/core/validation ValidateObjectMeta: the generic rules plus finalizer names core kinds accept. */
export function validateCoreObjectMeta(meta: ObjectMeta, rules: ObjectMetaRules): FieldError[] {
  const errs = validateObjectMeta(meta, rules);
  meta.finalizers?.forEach((f, i) => errs.push(...validateKubeFinalizerName(f, `metadata.finalizers[${i}]`)));
  return errs;
}

/**
 * Core ValidateObjectMetaUpdate (k8s.io/kubernetes pkg/apis/core/validation): the generic rules, and finalizer names as
 * core kinds accept them.
 */
export function validateCoreObjectMetaUpdate(meta: ObjectMeta, old: ObjectMeta): FieldError[] {
  const errs = validateObjectMetaUpdate(meta, old);
  (meta.finalizers ?? []).forEach((f, i) => errs.push(...validateKubeFinalizerName(f, `metadata.finalizers[${i}]`)));
  return errs;
}

/** apimachinery ValidateObjectMetaUpdate: immutable identity, no new finalizers while deleting, then the value rules. */
export function validateObjectMetaUpdate(meta: ObjectMeta, old: ObjectMeta): FieldError[] {
  const errs: FieldError[] = [];
  errs.push(...validateFinalizers(meta.finalizers ?? [], 'metadata.finalizers'));
  if (old.deletionTimestamp) {
    const before = new Set(old.finalizers ?? []);
    const added = [...new Set((meta.finalizers ?? []).filter((f) => !before.has(f)))].sort();
    if (added.length > 0) {
      errs.push(forbiddenField('metadata.finalizers', `no new finalizers can be added if the object is being deleted, found new finalizers ${goStrings(added)}`));
    }
  }
  if ((meta.generation ?? 0) < (old.generation ?? 0)) {
    errs.push(invalidValue('metadata.generation', meta.generation ?? 0, 'must not be decremented'));
  }
  const immutable: [keyof ObjectMeta, FieldValue | undefined, FieldValue | undefined][] = [
    ['name', meta.name ?? '', old.name ?? ''],
    ['namespace', meta.namespace ?? '', old.namespace ?? ''],
    ['uid', meta.uid ?? '', old.uid ?? ''],
    ['creationTimestamp', meta.creationTimestamp ?? null, old.creationTimestamp ?? null],
    ['deletionTimestamp', meta.deletionTimestamp ?? null, old.deletionTimestamp ?? null],
    ['deletionGracePeriodSeconds', meta.deletionGracePeriodSeconds ?? null, old.deletionGracePeriodSeconds ?? null],
  ];
  for (const [field, now, before] of immutable) {
    if (now !== before) errs.push(invalidValue(`metadata.${field}`, now ?? null, 'field is immutable'));
  }
  errs.push(...validateLabels(meta.labels, 'metadata.labels'));
  errs.push(...validateAnnotations(meta.annotations, 'metadata.annotations'));
  errs.push(...validateOwnerReferences(meta.ownerReferences ?? [], 'metadata.ownerReferences'));
  errs.push(...validateManagedFields(meta.managedFields ?? [], 'metadata.managedFields'));
  return errs;
}

export function validateLabels(labels: Record<string, string> | undefined, path: string): FieldError[] {
  const errs: FieldError[] = [];
  for (const key of Object.keys(labels ?? {}).sort()) {
    for (const msg of isQualifiedName(key)) errs.push(invalidValue(path, key, msg));
    const value = labels![key]!;
    for (const msg of isValidLabelValue(value)) errs.push(invalidValue(path, value, msg));
  }
  return errs;
}

export function validateAnnotations(annotations: Record<string, string> | undefined, path: string): FieldError[] {
  const errs: FieldError[] = [];
  let total = 0;
  for (const key of Object.keys(annotations ?? {}).sort()) {
    // Upstream: a qualified name except that case does not matter.
    for (const msg of isQualifiedName(key.toLowerCase())) errs.push(invalidValue(path, key, msg));
    total += Buffer.byteLength(key) + Buffer.byteLength(annotations![key]!);
  }
  if (total > TOTAL_ANNOTATION_SIZE_LIMIT) errs.push(tooLong(path, TOTAL_ANNOTATION_SIZE_LIMIT));
  return errs;
}

function versionOf(apiVersion: string): string {
  const parts = apiVersion.split('/');
  if (parts.length === 1) return parts[0]!;
  return parts.length === 2 ? parts[1]! : '';
}

function validateOwnerReferences(refs: OwnerReference[], path: string): FieldError[] {
  const errs: FieldError[] = [];
  let controller = '';
  for (const ref of refs) {
    const version = versionOf(ref.apiVersion ?? '');
    if (!version) errs.push(invalidValue(`${path}.apiVersion`, ref.apiVersion ?? '', 'version must not be empty'));
    if (!ref.kind) errs.push(invalidValue(`${path}.kind`, ref.kind ?? '', 'kind must not be empty'));
    if (!ref.name) errs.push(invalidValue(`${path}.name`, ref.name ?? '', 'name must not be empty'));
    if (!ref.uid) errs.push(invalidValue(`${path}.uid`, ref.uid ?? '', 'uid must not be empty'));
    if (ref.apiVersion === 'v1' && ref.kind === 'Event') {
      errs.push(invalidValue(path, { goSyntax: goOwnerReference(ref) }, '/v1, Kind=Event is disallowed from being an owner'));
    }
    if (ref.controller === true) {
      const current = `${ref.kind}/${ref.name}`;
      if (controller) {
        errs.push(
          invalidValue(
            path,
            { goSyntax: `[]v1.OwnerReference{${refs.map(goOwnerReference).join(', ')}}` },
            `Only one reference can have Controller set to true. Found "true" in references for ${controller} and ${current}`,
          ),
        );
      } else controller = current;
    }
  }
  return errs;
}

function goOwnerReference(ref: OwnerReference): string {
  const ptr = (b: boolean | undefined) => (b === undefined ? '(*bool)(nil)' : `(*bool)(${b})`);
  return `v1.OwnerReference{APIVersion:${JSON.stringify(ref.apiVersion)}, Kind:${JSON.stringify(ref.kind)}, Name:${JSON.stringify(ref.name)}, UID:${JSON.stringify(ref.uid)}, Controller:${ptr(ref.controller)}, BlockOwnerDeletion:${ptr(ref.blockOwnerDeletion)}}`;
}

export function validateFinalizers(finalizers: string[], path: string): FieldError[] {
  const errs: FieldError[] = [];
  for (const f of finalizers) for (const msg of isQualifiedName(f)) errs.push(invalidValue(path, f, msg));
  if (finalizers.includes('orphan') && finalizers.includes('foregroundDeletion')) {
    errs.push(invalidValue(path, finalizers, 'finalizer orphan and foregroundDeletion cannot be both set'));
  }
  return errs;
}

/** Core kinds refuse a finalizer without a '/' unless it is a standard one (CRs only warn). */
export function validateKubeFinalizerName(name: string, path: string): FieldError[] {
  const errs = isQualifiedName(name).map((msg) => invalidValue(path, name, msg));
  if (!name.includes('/') && !STANDARD_FINALIZERS.has(name)) {
    errs.push(invalidValue(path, name, 'name is neither a standard finalizer name nor is it fully qualified'));
  }
  return errs;
}

function validateManagedFields(entries: ManagedFieldsEntry[], path: string): FieldError[] {
  const errs: FieldError[] = [];
  entries.forEach((e, i) => {
    const at = `${path}[${i}]`;
    if (e.operation !== 'Apply' && e.operation !== 'Update') {
      errs.push(invalidValue(`${at}.operation`, e.operation ?? '', 'must be `Apply` or `Update`'));
    }
    if (e.fieldsType && e.fieldsType !== 'FieldsV1') errs.push(invalidValue(`${at}.fieldsType`, e.fieldsType, 'must be `FieldsV1`'));
    errs.push(...validateFieldManager(e.manager ?? '', `${at}.manager`));
  });
  return errs;
}

export function validateFieldManager(manager: string, path: string): FieldError[] {
  const errs: FieldError[] = [];
  if (Buffer.byteLength(manager) > FIELD_MANAGER_MAX) errs.push(tooLong(path, FIELD_MANAGER_MAX));
  let i = 0;
  for (const ch of manager) {
    const cp = ch.codePointAt(0)!;
    if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) {
      const hex = cp.toString(16).toUpperCase().padStart(4, '0');
      errs.push(invalidValue(path, manager, `invalid character U+${hex} (at position ${i})`));
    }
    i += Buffer.byteLength(ch);
  }
  return errs;
}

function goStrings(values: readonly string[]): string {
  return `[]string{${values.map((v) => JSON.stringify(v)).join(', ')}}`;
}
