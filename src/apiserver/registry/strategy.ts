// What differs per kind in the generic registry (kube's RESTCreateStrategy / RESTUpdateStrategy and the field
// selector conversions): defaults, server-owned fields, validation, selectable fields.
import type { FieldError } from '../api-status.js';
import type { KubeObject } from '../../objects/object-meta.js';

/**
 * Namespace subresources that write through the same storage with other reset rules (k8s.io/kubernetes
 * pkg/registry/core/namespace/storage/storage.go).
 */
export type Subresource = 'status' | 'finalize';

export interface Strategy {
  /** Group and Kind for Invalid messages (`Secret "x" is invalid: ...`). */
  readonly groupKind: { group: string; kind: string };
  /**
   * What kube's decoding does before any handler sees the object (conversion and SetDefaults_*), so managedFields see
   * the defaulted object. `old` is the stored object on updates. Returns the object.
   */
  applyDefaults(obj: KubeObject, old?: KubeObject): KubeObject;
  /** Server-owned fields of a new object (kube's PrepareForCreate, after managedFields); returns the object. */
  prepareForCreate(obj: KubeObject): KubeObject;
  /** Fields an update may not change through this path are taken from `old`; returns the object. */
  prepareForUpdate(obj: KubeObject, old: KubeObject, subresource?: Subresource): KubeObject;
  validate(obj: KubeObject): FieldError[];
  validateUpdate(obj: KubeObject, old: KubeObject, subresource?: Subresource): FieldError[];
  /** undefined when the field label can be selected on; otherwise kube's 400 message. */
  fieldLabelError(label: string): string | undefined;
  /** The values field selectors match against (absent fields are ""). */
  selectableFields(obj: KubeObject): Record<string, string>;
  /** Top-level fields the main resource does not own (kube's reset fields); managedFields skip them. */
  readonly resetFields: readonly string[];
}

/** Shallow record access that tolerates anything a client may have sent. */
export function recordOf(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

/** Decoded length of a standard base64 value without decoding it. */
export function base64DecodedLength(value: unknown): number {
  if (typeof value !== 'string') return 0;
  let pad = 0;
  while (pad < 2 && value.charCodeAt(value.length - 1 - pad) === 0x3d) pad++;
  return Math.max(0, Math.floor((value.length * 3) / 4) - pad);
}

/** Go's reflect.DeepEqual of two string maps where nil and empty are told apart only by absence after decoding. */
export function sameStringMap(a: unknown, b: unknown): boolean {
  const x = recordOf(a) ?? {};
  const y = recordOf(b) ?? {};
  const kx = Object.keys(x);
  if (kx.length !== Object.keys(y).length) return false;
  return kx.every((k) => Object.hasOwn(y, k) && x[k] === y[k]);
}
