// resourceVersion = the Store revision of an object's last write (etcd's ModRevision), rendered as a decimal string
// and never stored (k8s.io/apiserver pkg/storage/api_object_versioner.go). Parsing and the errors kube gives for bad or
// too-new values.
import { ApiStatusError, badRequest } from '../api-status.js';

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
