// Strategic merge patch as kube-apiserver applies it to built-in kinds (apimachinery pkg/util/strategicpatch; the
// strategic-merge-patch.md design in kubernetes/community): a JSON merge patch whose lists follow per-field strategies
// (type-schema.ts), plus the directives `$patch` (replace | delete, in maps and list items), `$retainKeys`,
// `$setElementOrder/<field>` and `$deleteFromPrimitiveList/<field>`. Malformed directives answer with the texts of
// apimachinery's mergepatch errors.
import { badRequest } from '../api-status.js';
import { cloneJson, isJsonObject, jsonEqual, ownValue, parseJson, setOwn, type JsonObject } from './json-value.js';
import { goJsonObjectDecodeError, patchBadRequest } from './patch-errors.js';
import { memberType, type TypeDef } from './type-schema.js';

const DIRECTIVE = '$patch';
const RETAIN_KEYS = '$retainKeys';
const SET_ELEMENT_ORDER = '$setElementOrder/';
const DELETE_FROM_PRIMITIVE_LIST = '$deleteFromPrimitiveList/';

const UNTYPED: TypeDef = { kind: 'untyped' };

function isScalar(v: unknown): boolean {
  return v === null || typeof v !== 'object';
}

/** A `{"$patch": ...}` element or map: kube accepts only these two values. */
function directiveOf(patch: JsonObject): 'replace' | 'delete' | undefined {
  const d = ownValue(patch, DIRECTIVE);
  if (d === undefined) return undefined;
  if (d === 'replace' || d === 'delete') return d;
  throw patchBadRequest(`unknown patch type: ${typeof d === 'string' ? d : JSON.stringify(d)} in map`);
}

function applyRetainKeys(original: JsonObject, patch: JsonObject): void {
  const retain = ownValue(patch, RETAIN_KEYS);
  if (retain === undefined) return;
  if (!Array.isArray(retain) || !retain.every((k) => typeof k === 'string')) {
    throw badRequest('invalid patch format of retainKeys');
  }
  const keep = new Set(retain);
  for (const [k, v] of Object.entries(patch)) {
    if (k === RETAIN_KEYS || v === null || k.startsWith(SET_ELEMENT_ORDER) || k.startsWith(DELETE_FROM_PRIMITIVE_LIST)) continue;
    if (!keep.has(k)) throw badRequest('invalid patch format of retainKeys'); // the patch sets a field it does not retain
  }
  for (const k of Object.keys(original)) if (!keep.has(k)) delete original[k];
}

/** Merges `patch` into a copy of `original` (a missing original is an empty map). */
export function strategicMergeMap(original: JsonObject | undefined, patch: JsonObject, def: TypeDef): JsonObject {
  const directive = directiveOf(patch);
  if (directive === 'delete') return {};
  if (directive === 'replace') {
    // The map is replaced by the patch itself; its own nested directives are still honoured on an empty original.
    const { [DIRECTIVE]: _d, ...rest } = patch;
    return strategicMergeMap(undefined, rest, def);
  }
  const out: JsonObject = original ? { ...original } : {};
  applyRetainKeys(out, patch);

  const orders: [string, unknown][] = [];
  for (const [key, value] of Object.entries(patch)) {
    if (key === RETAIN_KEYS) continue;
    if (key.startsWith(SET_ELEMENT_ORDER)) {
      orders.push([key.slice(SET_ELEMENT_ORDER.length), value]);
      continue;
    }
    if (key.startsWith(DELETE_FROM_PRIMITIVE_LIST)) {
      const field = key.slice(DELETE_FROM_PRIMITIVE_LIST.length);
      if (!Array.isArray(value) || !value.every(isScalar)) throw badRequest('invalid patch format of primitive list');
      const current = ownValue(out, field);
      if (Array.isArray(current)) setOwn(out, field, current.filter((x) => !value.some((d) => jsonEqual(d, x))));
      continue;
    }
    if (value === null) {
      delete out[key];
      continue;
    }
    const fieldDef = memberType(def, key) ?? UNTYPED;
    const merged = mergeValue(ownValue(out, key), value, fieldDef);
    if (merged === undefined) delete out[key];
    else setOwn(out, key, merged);
  }
  for (const [field, order] of orders) {
    const current = ownValue(out, field);
    const fieldDef = memberType(def, field) ?? UNTYPED;
    const mergeKey = fieldDef.kind === 'list' && fieldDef.listType === 'map' ? fieldDef.keys[0] : undefined;
    const sorted = applyElementOrder(Array.isArray(current) ? current : [], order, mergeKey);
    if (Array.isArray(current)) setOwn(out, field, sorted);
  }
  return out;
}

/** undefined = remove the field (a map deleted with `$patch: delete`). */
function mergeValue(original: unknown, patch: unknown, def: TypeDef): unknown {
  if (isJsonObject(patch)) {
    if (directiveOf(patch) === 'delete') return undefined;
    return strategicMergeMap(isJsonObject(original) ? original : undefined, patch, def);
  }
  if (Array.isArray(patch) && def.kind === 'list' && def.listType !== 'atomic') {
    const current = Array.isArray(original) ? original : [];
    return def.listType === 'set'
      ? mergePrimitiveList(current, patch)
      : mergeKeyedList(current, patch, def.keys[0]!, def.items);
  }
  return cloneJson(patch);
}

/** `[..., {"$patch": "replace"}, ...]`: the list becomes the other elements. */
function replacedList(patch: unknown[], def: TypeDef): unknown[] | undefined {
  const replace = patch.some((e) => isJsonObject(e) && directiveOf(e) === 'replace');
  if (!replace) return undefined;
  return patch
    .filter((e) => !(isJsonObject(e) && Object.hasOwn(e, DIRECTIVE)))
    .map((e) => (isJsonObject(e) ? strategicMergeMap(undefined, e, def) : cloneJson(e)));
}

/** Union keeping the existing order, new values appended (as kubectl patch shows on finalizers). */
function mergePrimitiveList(original: unknown[], patch: unknown[]): unknown[] {
  const replaced = replacedList(patch, UNTYPED);
  if (replaced) return replaced;
  const out: unknown[] = [];
  for (const v of [...original, ...patch]) {
    if (isJsonObject(v) && Object.hasOwn(v, DIRECTIVE)) throw badRequest('strategic merge patch format is not supported');
    if (!out.some((x) => jsonEqual(x, v))) out.push(cloneJson(v));
  }
  return out;
}

/** Elements matched by the merge key are merged field by field; new ones are appended; `$patch: delete` removes. */
function mergeKeyedList(original: unknown[], patch: unknown[], mergeKey: string, itemDef: TypeDef): unknown[] {
  const replaced = replacedList(patch, itemDef);
  if (replaced) return replaced;
  let out = original.map((e) => cloneJson(e));
  for (const element of patch) {
    if (!isJsonObject(element)) throw badRequest('strategic merge patch format is not supported');
    if (!Object.hasOwn(element, mergeKey)) {
      throw patchBadRequest(`map: map[...] does not contain declared merge key: ${mergeKey}`);
    }
    const keyValue = element[mergeKey];
    const matches = (e: unknown) => isJsonObject(e) && jsonEqual(ownValue(e, mergeKey), keyValue);
    if (directiveOf(element) === 'delete') {
      out = out.filter((e) => !matches(e));
      continue;
    }
    const i = out.findIndex(matches);
    if (i >= 0) out[i] = strategicMergeMap(out[i] as JsonObject, element, itemDef);
    else out.push(strategicMergeMap(undefined, element, itemDef));
  }
  return out;
}

/**
 * `$setElementOrder/<field>`: elements named in the order list come first, in its order; the others follow in their
 * current order (the 1.7 design: live items missing from the parallel list go after it).
 */
function applyElementOrder(list: unknown[], order: unknown, mergeKey: string | undefined): unknown[] {
  if (!Array.isArray(order)) throw badRequest('invalid patch format of setElementOrder list');
  const ids = (order as unknown[]).map((o): unknown => {
    if (mergeKey === undefined) {
      if (!isScalar(o)) throw badRequest('invalid patch format of setElementOrder list');
      return o;
    }
    if (!isJsonObject(o) || !Object.hasOwn(o, mergeKey)) throw badRequest('invalid patch format of setElementOrder list');
    return o[mergeKey];
  });
  const idOf = (e: unknown) => (mergeKey === undefined ? e : isJsonObject(e) ? ownValue(e, mergeKey) : undefined);
  const rank = (e: unknown) => ids.findIndex((id) => jsonEqual(id, idOf(e)));
  const ordered = list.filter((e) => rank(e) >= 0).sort((a, b) => rank(a) - rank(b));
  return [...ordered, ...list.filter((e) => rank(e) < 0)];
}

/** Decodes and applies a strategic merge patch body to a copy of `document`. */
export function applyStrategicMergePatch(document: unknown, body: Buffer, root: TypeDef): unknown {
  const parsed = parseJson(body);
  // kube decodes the body into map[string]interface{}: Go's own error text, without a prefix.
  if (!parsed || (parsed.value !== null && !isJsonObject(parsed.value))) throw badRequest(goJsonObjectDecodeError(body));
  if (parsed.value === null) return cloneJson(document);
  const original = cloneJson(document); // the result shares no structure with the caller's object
  return strategicMergeMap(isJsonObject(original) ? original : undefined, parsed.value, root);
}
