// resourceVersion = the Store revision of an object's last write (etcd's ModRevision), rendered as a decimal string
// and never stored (k8s.io/apiserver pkg/storage/api_object_versioner.go). Parsing and the errors kube gives for bad or
// too-new values.
import type { KubeObject, ObjectMeta } from '../../objects/object-meta.js';
import { ApiStatusError, badRequest } from '../api-status.js';

// Go's ObjectMeta field order, so objects serialise the way kube's do.
const META_ORDER: readonly (keyof ObjectMeta)[] = [
  'name', 'generateName', 'namespace', 'selfLink', 'uid', 'resourceVersion', 'generation', 'creationTimestamp',
  'deletionTimestamp', 'deletionGracePeriodSeconds', 'labels', 'annotations', 'ownerReferences', 'finalizers', 'managedFields',
];

/** A copy of obj whose metadata.resourceVersion is rv (removed when undefined), in Go's field order. */
export function withResourceVersion(obj: KubeObject, rv: number | string | undefined): KubeObject {
  const meta = (obj.metadata ?? {}) as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k of META_ORDER) {
    if (k === 'resourceVersion') {
      if (rv !== undefined) out.resourceVersion = String(rv);
    } else if (meta[k] !== undefined) out[k] = meta[k];
  }
  return { ...obj, metadata: out };
}

const DECIMAL = /^\d+$/;

/**
 * "" and "0" are 0 (no particular version); anything else must be an unsigned decimal. The message is kube's
 * (`invalid resource version: resourceVersion: Invalid value: "x": strconv.ParseUint: parsing "x": invalid syntax`).
 */
export function parseResourceVersion(rv: string | undefined): number {
  if (rv === undefined || rv === '' || rv === '0') return 0;
  const quoted = JSON.stringify(rv);
  if (!DECIMAL.test(rv)) {
    throw badRequest(`invalid resource version: resourceVersion: Invalid value: ${quoted}: strconv.ParseUint: parsing ${quoted}: invalid syntax`);
  }
  const n = Number(rv);
  if (!Number.isSafeInteger(n)) {
    throw badRequest(`invalid resource version: resourceVersion: Invalid value: ${quoted}: strconv.ParseUint: parsing ${quoted}: value out of range`);
  }
  return n;
}

/** 504 Timeout that client-go retries: the client asked for a version the store has not reached. */
export function tooLargeResourceVersion(requested: number, current: number): ApiStatusError {
  return new ApiStatusError(504, 'Timeout', `Timeout: Too large resource version: ${requested}, current: ${current}`, {
    causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }],
    retryAfterSeconds: 1,
  });
}
