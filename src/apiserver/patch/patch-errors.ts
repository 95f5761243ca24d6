// The Status errors patch handling produces beyond api-status.ts's helpers, shaped as kube-apiserver shapes them
// (k8s.io/apiserver pkg/endpoints/handlers/patch.go). None of them quotes a value from the object or the patch: a
// Secret's data must never reach an error message or a log.
import { ApiStatusError } from '../api-status.js';
import { goJsonObjectError } from '../registry/go-json-errors.js';

/**
 * kube's NewGenericServerResponse(422): the reason is Invalid and the underlying error text is dropped, which is what
 * kubectl shows for a failed JSON patch operation (`The request is invalid: the server rejected our request ...`).
 */
export function rejectedPatch(): ApiStatusError {
  return new ApiStatusError(422, 'Invalid', 'the server rejected our request due to an error in our request', {});
}

/**
 * Where kube lets a plain Go error about the patch escape as a 500 (an unknown `$patch`, a list item without its
 * merge key, an apply configuration outside the schema), Coffer answers 400 with the same text: the fault is the
 * request's, and no bad input may produce a 5xx (issue 11).
 */
export function patchBadRequest(message: string): ApiStatusError {
  return new ApiStatusError(400, 'BadRequest', message);
}

/**
 * An error that is not an API status in kube (a plain Go error) becomes a 500 whose reason is empty and whose message
 * is the error text; kubectl prints it as `Error from server: <text>`.
 */
export function plainServerError(message: string): ApiStatusError {
  return new ApiStatusError(500, '', message);
}

/** Go's json.Unmarshal text for a body that is not a JSON object (syntax error or another top-level type). */
export function goJsonObjectDecodeError(body: Buffer): string {
  return goJsonObjectError(body) ?? 'unexpected end of JSON input';
}
