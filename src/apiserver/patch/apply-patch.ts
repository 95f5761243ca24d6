// The PATCH verb's front door (k8s.io/apiserver pkg/endpoints/handlers/patch.go): which patch type a Content-Type
// names, and applying a patch body of that type to the current object. Pure: no storage, no clock of its own. The HTTP
// layer calls applyPatch inside ResourceStore.guaranteedUpdate (or, for an apply to a missing object, before
// ResourceStore.create) and answers 201 when `created`.
import type { KubeObject } from '../../objects/object-meta.js';
import { ApiStatusError, invalid } from '../api-status.js';
import type { ResourceInfo } from '../resource-info.js';
import { isJsonObject } from './json-value.js';
import { applyJsonPatch } from './json-patch.js';
import { applyMergePatch } from './merge-patch.js';
import { validatePatchOptions } from './patch-options.js';
import { serverSideApply } from './server-side-apply.js';
import { applyStrategicMergePatch } from './strategic-merge-patch.js';
import { kindSchema } from './type-schema.js';

export type PatchType =
  | 'application/json-patch+json'
  | 'application/merge-patch+json'
  | 'application/strategic-merge-patch+json'
  | 'application/apply-patch+yaml';

/** In the order kube lists them in its 415 message. */
const ALL_PATCH_TYPES: readonly PatchType[] = [
  'application/json-patch+json',
  'application/merge-patch+json',
  'application/strategic-merge-patch+json',
  'application/apply-patch+yaml',
];

/** The patch types a resource accepts: strategic merge only for built-in kinds. */
export function acceptedPatchTypes(info?: ResourceInfo): PatchType[] {
  const strategic = info === undefined || kindSchema(info.group, info.kind).strategic;
  return ALL_PATCH_TYPES.filter((t) => strategic || t !== 'application/strategic-merge-patch+json');
}

/**
 * The patch type of a Content-Type header, or null when the resource does not accept it (the caller answers with
 * unsupportedPatchMediaType). Parameters after `;` are ignored; the rest must match exactly, as in kube.
 */
export function patchContentType(header: string | undefined, info?: ResourceInfo): PatchType | null {
  let type = header ?? '';
  const semicolon = type.indexOf(';');
  if (semicolon > 0) type = type.slice(0, semicolon);
  return (acceptedPatchTypes(info) as string[]).includes(type) ? (type as PatchType) : null;
}

export function unsupportedPatchMediaTypeMessage(info?: ResourceInfo): string {
  return `the body of the request was in an unknown format - accepted media types include: ${acceptedPatchTypes(info).join(', ')}`;
}

/** 415 UnsupportedMediaType, without details, as kube answers an unknown patch Content-Type. */
export function unsupportedPatchMediaType(info?: ResourceInfo): ApiStatusError {
  return new ApiStatusError(415, 'UnsupportedMediaType', unsupportedPatchMediaTypeMessage(info));
}

export interface ApplyPatchOptions {
  info: ResourceInfo;
  /** The `fieldManager` query parameter as sent; required for apply patches. */
  fieldManager?: string;
  /** The `force` query parameter; leave undefined when absent (kube refuses even `force=false` on other patch types). */
  force?: boolean;
  /**
   * Not used here: Update entries for non-apply patches are recorded by the store (updateManagedFields with
   * defaultFieldManager(fieldManager, userAgent)) after its defaulting, so stringData lands in data first.
   */
  userAgent?: string;
  /** The time stamped on an Apply entry; defaults to the current time. */
  now?: Date;
  dryRun?: string[];
  fieldValidation?: string;
}

/** A patched document that is not an object cannot be decoded into the kind (kube's 422 on field `patch`). */
function requireObject(value: unknown): KubeObject {
  if (isJsonObject(value)) return value as KubeObject;
  // kube quotes the whole patched document here; it may hold Secret data, so it is left out.
  throw invalid({ group: '', kind: '' }, '', [
    { type: 'FieldValueInvalid', field: 'patch', message: 'Invalid value: "...": the patched document is not a JSON object' },
  ]);
}

/**
 * Applies a PATCH body to the current object. `current` may be undefined only for apply patches (the object is then
 * created: `created` true, answer 201); for other types the caller answers 404 before calling. Non-apply patches leave
 * metadata.managedFields as the patch left them; apply patches return the object with its new managedFields (store
 * it with WriteOptions.managedFieldsSet). Throws ApiStatusError with kube's codes and texts.
 */
export function applyPatch(
  current: KubeObject | undefined,
  patch: { type: PatchType; body: Buffer },
  opts: ApplyPatchOptions,
): { object: KubeObject; created: boolean } {
  const isApply = patch.type === 'application/apply-patch+yaml';
  if (!acceptedPatchTypes(opts.info).includes(patch.type)) throw unsupportedPatchMediaType(opts.info);
  validatePatchOptions(isApply, opts);
  if (isApply) {
    return serverSideApply(current, patch.body, {
      info: opts.info,
      fieldManager: opts.fieldManager ?? '',
      force: opts.force ?? false,
      now: opts.now ?? new Date(),
    });
  }
  if (current === undefined) throw new Error(`applyPatch: a ${patch.type} patch needs the current object`);
  switch (patch.type) {
    case 'application/json-patch+json':
      return { object: requireObject(applyJsonPatch(current, patch.body)), created: false };
    case 'application/merge-patch+json':
      return { object: requireObject(applyMergePatch(current, patch.body)), created: false };
    default: {
      const schema = kindSchema(opts.info.group, opts.info.kind);
      return { object: requireObject(applyStrategicMergePatch(current, patch.body, schema.root)), created: false };
    }
  }
}
