// Server-side field validation (spec §3.6): unknown fields in a JSON/YAML body are an error with
// fieldValidation=Strict (what kubectl sends), a Warning header by default, and ignored with Ignore. Coffer checks the
// object's own fields and ObjectMeta's, where a typo (`sepc`, `metadata.lables`) would otherwise be dropped silently.
import type { KubeObject } from '../../objects/object-meta.js';
import { badRequest } from '../api-status.js';
import type { ResourceInfo } from '../resource-info.js';

const COMMON = ['apiVersion', 'kind', 'metadata'];
const FIELDS: Record<string, string[]> = {
  Secret: [...COMMON, 'data', 'stringData', 'type', 'immutable'],
  ConfigMap: [...COMMON, 'data', 'binaryData', 'immutable'],
  Namespace: [...COMMON, 'spec', 'status'],
};
const METADATA = [
  'name', 'generateName', 'namespace', 'selfLink', 'uid', 'resourceVersion', 'generation', 'creationTimestamp',
  'deletionTimestamp', 'deletionGracePeriodSeconds', 'labels', 'annotations', 'ownerReferences', 'finalizers',
  'managedFields',
];

export function unknownFields(info: ResourceInfo, obj: KubeObject): string[] {
  const known = FIELDS[info.kind];
  if (!known) return [];
  const unknown = Object.keys(obj).filter((k) => !known.includes(k));
  const meta = obj.metadata;
  if (meta && typeof meta === 'object') {
    unknown.push(...Object.keys(meta).filter((k) => !METADATA.includes(k)).map((k) => `metadata.${k}`));
  }
  return unknown.map((f) => `unknown field ${JSON.stringify(f)}`);
}

/**
 * Applies the request's fieldValidation to a decoded body: throws the Strict error, or returns the warnings to send
 * as `Warning: 299 - "..."` headers (none for Ignore).
 */
export function checkFields(info: ResourceInfo, obj: KubeObject, mode: string | null): string[] {
  if (mode === 'Ignore') return [];
  const problems = unknownFields(info, obj);
  if (problems.length > 0 && mode === 'Strict') {
    throw badRequest(`${info.kind} in version "${info.version}" cannot be handled as a ${info.kind}: strict decoding error: ${problems.join(', ')}`);
  }
  return problems;
}

export function warningHeader(text: string): string {
  return `299 - ${JSON.stringify(text)}`;
}
