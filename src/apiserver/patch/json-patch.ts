// RFC 6902 JSON Patch with kube-apiserver's error behaviour (k8s.io/apiserver pkg/endpoints/handlers/patch.go): an
// undecodable document is a 400 carrying Go's decoder text, more than 10000 operations a 413, and any failing operation
// (missing path, failed test, unknown op) a 422 whose text says nothing about which operation or value - so no Secret
// value can leak through it.
import { ApiStatusError, badRequest } from '../api-status.js';
import { cloneJson, isJsonObject, jsonEqual, ownValue, parseJson, setOwn, type JsonObject } from './json-value.js';
import { goJsonObjectDecodeError, rejectedPatch } from './patch-errors.js';

export const MAX_JSON_PATCH_OPERATIONS = 10000;

interface Operation {
  op?: unknown;
  path?: unknown;
  from?: unknown;
  value?: unknown;
}

/** Thrown inside evaluation; becomes kube's generic 422. */
class OperationFailed extends Error {}

function fail(): never {
  throw new OperationFailed();
}

function jsonKind(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'object') return 'object';
  return typeof v === 'boolean' ? 'bool' : typeof v;
}

/** What kube's strict decoding into []jsonPatchOp reports, as Go's encoding/json words it. */
function decodeOperations(body: Buffer): Operation[] {
  const parsed = parseJson(body);
  if (!parsed) throw badRequest(`error decoding patch: ${goJsonObjectDecodeError(body)}`);
  const doc = parsed.value;
  if (doc === null) return [];
  if (!Array.isArray(doc)) {
    throw badRequest(`error decoding patch: json: cannot unmarshal ${jsonKind(doc)} into Go value of type []handlers.jsonPatchOp`);
  }
  for (const op of doc as unknown[]) {
    if (op !== null && !isJsonObject(op)) {
      throw badRequest(`error decoding patch: json: cannot unmarshal ${jsonKind(op)} into Go value of type handlers.jsonPatchOp`);
    }
    for (const field of ['op', 'path', 'from'] as const) {
      const v = op === null ? undefined : ownValue(op, field);
      if (v !== undefined && v !== null && typeof v !== 'string') {
        throw badRequest(
          `error decoding patch: json: cannot unmarshal ${jsonKind(v)} into Go struct field jsonPatchOp.${field} of type string`,
        );
      }
    }
  }
  return (doc as unknown[]).map((op) => (op === null ? {} : (op as Operation)));
}

/** RFC 6901 JSON Pointer -> reference tokens; `~1` is `/` and `~0` is `~`, decoded in that order. */
function tokens(pointer: unknown): string[] {
  if (typeof pointer !== 'string') fail();
  if (pointer === '') return [];
  if (!pointer.startsWith('/') || /~(?![01])/.test(pointer)) fail();
  return pointer
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function arrayIndex(arr: unknown[], token: string, forInsert: boolean): number {
  if (forInsert && token === '-') return arr.length;
  if (!/^(0|[1-9][0-9]*)$/.test(token)) fail();
  const i = Number(token);
  if (i > arr.length || (!forInsert && i === arr.length)) fail();
  return i;
}

/** The container holding the last token, which must exist and be an object or array. */
function parentOf(doc: unknown, path: string[]): { parent: JsonObject | unknown[]; last: string } {
  let node = doc;
  for (const t of path.slice(0, -1)) {
    if (Array.isArray(node)) node = node[arrayIndex(node, t, false)];
    else if (isJsonObject(node) && Object.hasOwn(node, t)) node = node[t];
    else fail();
  }
  if (!Array.isArray(node) && !isJsonObject(node)) fail();
  return { parent: node, last: path[path.length - 1]! };
}

function getAt(doc: unknown, path: string[]): unknown {
  if (path.length === 0) return doc;
  const { parent, last } = parentOf(doc, path);
  if (Array.isArray(parent)) return parent[arrayIndex(parent, last, false)];
  if (!Object.hasOwn(parent, last)) fail();
  return parent[last];
}

function removeAt(doc: unknown, path: string[]): unknown {
  if (path.length === 0) fail();
  const { parent, last } = parentOf(doc, path);
  if (Array.isArray(parent)) return parent.splice(arrayIndex(parent, last, false), 1)[0];
  if (!Object.hasOwn(parent, last)) fail();
  const old = parent[last];
  delete parent[last];
  return old;
}

/** Returns the new document (a new root when the path is the whole document). */
function addAt(doc: unknown, path: string[], value: unknown): unknown {
  if (path.length === 0) return value;
  const { parent, last } = parentOf(doc, path);
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, last, true), 0, value);
  else setOwn(parent, last, value);
  return doc;
}

function requireValue(op: Operation): unknown {
  if (!Object.hasOwn(op, 'value')) fail();
  return cloneJson(op.value);
}

function isProperPrefix(prefix: string[], path: string[]): boolean {
  return prefix.length < path.length && prefix.every((t, i) => t === path[i]);
}

function applyOperation(doc: unknown, op: Operation): unknown {
  const path = tokens(op.path);
  switch (op.op) {
    case 'add':
      return addAt(doc, path, requireValue(op));
    case 'remove':
      removeAt(doc, path);
      return doc;
    case 'replace': {
      const value = requireValue(op);
      if (path.length === 0) return value;
      getAt(doc, path); // the target must exist
      const { parent, last } = parentOf(doc, path);
      if (Array.isArray(parent)) parent[arrayIndex(parent, last, false)] = value;
      else setOwn(parent, last, value);
      return doc;
    }
    case 'move': {
      const from = tokens(op.from);
      if (isProperPrefix(from, path)) fail(); // RFC 6902 section 4.4: a location cannot move into one of its children
      if (from.length === path.length && from.every((t, i) => t === path[i])) {
        getAt(doc, from);
        return doc;
      }
      return addAt(doc, path, removeAt(doc, from));
    }
    case 'copy':
      return addAt(doc, path, cloneJson(getAt(doc, tokens(op.from))));
    case 'test':
      if (!jsonEqual(getAt(doc, path), requireValue(op))) fail();
      return doc;
    default:
      return fail();
  }
}

/** Applies an RFC 6902 patch body to a copy of `document`. Throws ApiStatusError (400, 413, 422). */
export function applyJsonPatch(document: unknown, body: Buffer): unknown {
  const ops = decodeOperations(body);
  if (ops.length > MAX_JSON_PATCH_OPERATIONS) {
    throw new ApiStatusError(
      413,
      'RequestEntityTooLarge',
      `Request entity too large: The allowed maximum operations in a JSON patch is ${MAX_JSON_PATCH_OPERATIONS}, got ${ops.length}`,
    );
  }
  let doc = cloneJson(document);
  try {
    for (const op of ops) doc = applyOperation(doc, op);
  } catch (e) {
    if (e instanceof OperationFailed) throw rejectedPatch();
    throw e;
  }
  return doc;
}
