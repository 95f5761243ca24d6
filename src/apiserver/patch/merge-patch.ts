// RFC 7386 JSON Merge Patch: objects merge recursively, `null` deletes a member, anything else (arrays included)
// replaces. Decoding errors carry the texts kube-apiserver answers with (400; k8s.io/apiserver
// pkg/endpoints/handlers/patch.go).
import { badRequest } from '../api-status.js';
import { cloneJson, isJsonObject, ownValue, parseJson, setOwn, type JsonObject } from './json-value.js';
import { goJsonObjectDecodeError } from './patch-errors.js';

/** RFC 7386 section 2 MergePatch(Target, Patch), without changing either input. */
export function mergePatchValue(target: unknown, patch: unknown): unknown {
  if (!isJsonObject(patch)) return cloneJson(patch);
  const out: JsonObject = isJsonObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else setOwn(out, key, mergePatchValue(ownValue(out, key), value));
  }
  return out;
}

/**
 * Decodes a merge patch body as kube does with its default field validation: Go's decoder text for anything that is not
 * a JSON object, and json-patch's `Invalid JSON Patch` for a bare `null`.
 */
export function decodeMergePatch(body: Buffer): JsonObject {
  const parsed = parseJson(body);
  if (!parsed || (parsed.value !== null && !isJsonObject(parsed.value))) {
    throw badRequest(`error decoding patch: ${goJsonObjectDecodeError(body)}`);
  }
  if (parsed.value === null) throw badRequest('Invalid JSON Patch');
  return parsed.value;
}

export function applyMergePatch(document: unknown, body: Buffer): unknown {
  return mergePatchValue(document, decodeMergePatch(body));
}
