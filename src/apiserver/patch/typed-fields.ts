// Field sets of typed values, as structured-merge-diff computes them: the set an applied configuration owns
// (ToFieldSet) and what changed between two versions of an object (Compare). Which nodes count follows SMD: leaves,
// list items and map entries are members; a struct field is a member only when empty; a node that appears or
// disappears (a map created by an update) is a member of `added`/`removed`, hence the `".": {}` of Update entries.
import { FieldSet, renderPath, type FieldPath } from './field-set.js';
import { isJsonObject, jsonEqual, ownValue } from './json-value.js';
import { memberType, type TypeDef } from './type-schema.js';

const UNTYPED: TypeDef = { kind: 'untyped' };

/** The FieldsV1 segment of a list item: `v:<json>` for sets, `k:{<key fields, sorted>}` for associative lists. */
export function itemSegment(item: unknown, def: Extract<TypeDef, { kind: 'list' }>): string | undefined {
  if (def.listType === 'set') return `v:${JSON.stringify(item)}`;
  if (def.listType === 'map') {
    if (!isJsonObject(item)) return undefined;
    const key: Record<string, unknown> = {};
    for (const k of [...def.keys].sort()) {
      if (!Object.hasOwn(item, k)) return undefined;
      key[k] = item[k];
    }
    return `k:${JSON.stringify(key)}`;
  }
  return undefined;
}

function isObjectType(def: TypeDef): boolean {
  return def.kind === 'struct' || def.kind === 'map';
}

/**
 * The set an applied configuration owns, and the schema errors that make kube refuse it (`.foo: field not declared in
 * schema`). The configuration is taken literally: an empty map or a null is owned as a leaf.
 */
export function fieldSetOf(value: unknown, def: TypeDef): { set: FieldSet; errors: string[] } {
  const set = FieldSet.empty();
  const errors: string[] = [];
  const error = (path: FieldPath, message: string) => errors.push(path.length > 0 ? `${renderPath(path)}: ${message}` : message);

  const walk = (v: unknown, d: TypeDef, path: string[]): void => {
    if (v === null || v === undefined) {
      set.insert(path);
      return;
    }
    if (d.kind === 'scalar') {
      if (typeof v === 'object') error(path, `expected scalar, got ${Array.isArray(v) ? 'list' : 'map'}`);
      set.insert(path);
      return;
    }
    if (d.kind === 'list') {
      if (!Array.isArray(v)) {
        error(path, `expected list, got ${isJsonObject(v) ? 'map' : 'scalar'}`);
        return;
      }
      if (d.listType === 'atomic') {
        set.insert(path);
        return;
      }
      const seen = new Set<string>();
      v.forEach((item, i) => {
        const seg = itemSegment(item, d);
        if (seg === undefined) {
          const missing = d.listType === 'map' ? d.keys.find((k) => !isJsonObject(item) || !Object.hasOwn(item, k)) : undefined;
          error(path, `element ${i}: associative list with keys has an element that omits key field ${JSON.stringify(missing ?? '')}`);
          return;
        }
        if (seen.has(seg)) {
          error(path, `duplicate entries for key ${renderPath([seg])}`);
          return;
        }
        seen.add(seg);
        const itemPath = [...path, seg];
        if (d.listType === 'map' && d.items.kind === 'struct' && !d.items.atomic) walk(item, d.items, itemPath);
        set.insert(itemPath);
      });
      return;
    }
    if (d.kind === 'untyped' && !isJsonObject(v)) {
      set.insert(path); // scalars and lists without a schema are atomic
      return;
    }
    if (!isJsonObject(v)) {
      error(path, `expected map, got ${Array.isArray(v) ? 'list' : 'scalar'}`);
      return;
    }
    if (d.kind === 'struct' && d.atomic) {
      set.insert(path);
      return;
    }
    for (const [key, child] of Object.entries(v)) {
      const childDef = memberType(d, key);
      const childPath = [...path, `f:${key}`];
      if (childDef === undefined) {
        error(childPath, 'field not declared in schema');
        continue;
      }
      walk(child, childDef, childPath);
      const declared = d.kind === 'struct' && Object.hasOwn(d.fields, key);
      const empty = child === null || (isJsonObject(child) && Object.keys(child).length === 0);
      if (empty || !declared) set.insert(childPath);
    }
  };
  walk(value, def, []);
  return { set, errors };
}

export interface Comparison {
  added: FieldSet;
  modified: FieldSet;
  removed: FieldSet;
}

/**
 * What Go's JSON encoding of a typed object would not show: null, an empty string in a struct field (omitempty) and
 * an empty map or list in a struct field. Stored objects never hold them; request bodies may.
 */
function present(value: unknown, def: TypeDef, inStruct: boolean): unknown {
  if (value === null || value === undefined) return undefined;
  if (!inStruct) return value;
  if (value === '') return undefined;
  if ((def.kind === 'map' || def.kind === 'list') && (Array.isArray(value) ? value.length === 0 : isJsonObject(value) && Object.keys(value).length === 0)) {
    return undefined;
  }
  return value;
}

/** Structured-merge-diff's Compare of two versions of a typed object. */
export function compareTyped(before: unknown, after: unknown, def: TypeDef): Comparison {
  const out: Comparison = { added: FieldSet.empty(), modified: FieldSet.empty(), removed: FieldSet.empty() };

  const leaf = (l: unknown, r: unknown, path: string[]) => {
    if (l === undefined) out.added.insert(path);
    else if (r === undefined) out.removed.insert(path);
    else if (!jsonEqual(l, r)) out.modified.insert(path);
  };

  const walk = (lRaw: unknown, rRaw: unknown, d: TypeDef, path: string[], inStruct: boolean, isItem: boolean): void => {
    const l = present(lRaw, d, inStruct);
    const r = present(rRaw, d, inStruct);
    if (l === undefined && r === undefined) return;
    const granularList = d.kind === 'list' && d.listType !== 'atomic';
    const granularObject = (isObjectType(d) && !(d.kind === 'struct' && d.atomic)) || d.kind === 'untyped';
    const shapeOk = (v: unknown) => v === undefined || (granularList ? Array.isArray(v) : isJsonObject(v));
    if (!(granularList || granularObject) || !shapeOk(l) || !shapeOk(r)) {
      leaf(l, r, path);
      return;
    }
    // A struct-typed field is always there in Go (a value, not a pointer): it never appears or disappears itself.
    if (path.length > 0 && (isItem || d.kind !== 'struct')) {
      if (l === undefined) out.added.insert(path);
      if (r === undefined) out.removed.insert(path);
    }
    if (granularObject) {
      const lo = (l ?? {}) as Record<string, unknown>;
      const ro = (r ?? {}) as Record<string, unknown>;
      const keys = new Set([...Object.keys(lo), ...Object.keys(ro)]);
      for (const key of keys) {
        const childDef = memberType(d, key) ?? UNTYPED;
        walk(ownValue(lo, key), ownValue(ro, key), childDef, [...path, `f:${key}`], d.kind === 'struct', false);
      }
      return;
    }
    const listDef = d as Extract<TypeDef, { kind: 'list' }>;
    const index = (list: unknown) => {
      const m = new Map<string, unknown>();
      for (const item of (list ?? []) as unknown[]) {
        const seg = itemSegment(item, listDef);
        if (seg !== undefined && !m.has(seg)) m.set(seg, item);
      }
      return m;
    };
    const li = index(l);
    const ri = index(r);
    for (const seg of new Set([...li.keys(), ...ri.keys()])) {
      const itemDef = listDef.listType === 'map' ? listDef.items : ({ kind: 'scalar' } as const);
      walk(li.get(seg), ri.get(seg), itemDef, [...path, seg], false, true);
    }
  };
  walk(before, after, def, [], false, false);
  return out;
}
