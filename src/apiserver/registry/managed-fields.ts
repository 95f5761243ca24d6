// The `Update` side of metadata.managedFields (spec §7.6), as kube's field manager records a create/PUT/non-apply patch:
// the acting manager gains the fields the write added or changed, every other manager loses them, removed fields leave
// every set. Sets are encoded as FieldsV1 (`f:<field>`, `v:<set value>`, `k:{"uid":...}`, `.` = the node itself).
// Server-side apply computes its own entries (the patch layer); this only keeps Update entries honest. Not done: the
// 10-entry cap with `ancient-changes`, and per-version schemas beyond the three core kinds served here.
import type { KubeObject, ManagedFieldsEntry, ObjectMeta } from '../../objects/object-meta.js';
import { recordOf } from './strategy.js';

type PathSet = Set<string>;
const SEP = '\u0000';

/** metadata fields upstream strips before tracking (stripmeta.go), plus deletion fields only the server sets. */
const STRIPPED_META = new Set([
  'name', 'namespace', 'creationTimestamp', 'selfLink', 'uid', 'generation', 'managedFields', 'resourceVersion',
  'deletionTimestamp', 'deletionGracePeriodSeconds',
]);
/** Map-typed fields: entries are tracked even when their value is "" (a struct field "" is omitted, as omitempty does). */
const MAP_FIELDS = new Set(['f:metadata/f:labels', 'f:metadata/f:annotations', 'f:data', 'f:binaryData', 'f:stringData']);
/** Non-pointer structs Go always serialises, so they exist in the empty object a create is compared with. */
const ALWAYS_PRESENT = new Set(['f:spec', 'f:status']);

interface Collected {
  /** Path key -> leaf value (JSON) or null for a node with children. */
  paths: Map<string, string | null>;
}

function collectValue(value: unknown, path: string[], out: Collected, inMap: boolean): void {
  if (value === undefined || value === null) return;
  const key = path.join(SEP);
  const where = path.join('/');
  if (Array.isArray(value)) {
    if (value.length === 0 && !inMap) return;
    if (where === 'f:metadata/f:finalizers') {
      out.paths.set(key, null);
      for (const v of value) out.paths.set([...path, `v:${JSON.stringify(v)}`].join(SEP), JSON.stringify(v));
      return;
    }
    if (where === 'f:metadata/f:ownerReferences') {
      out.paths.set(key, null);
      // A map keyed by uid whose items are atomic structs (OwnerReference is +structType=atomic): each a leaf.
      for (const ref of value) {
        const r = recordOf(ref) ?? {};
        out.paths.set([...path, `k:${JSON.stringify({ uid: r.uid ?? '' })}`].join(SEP), JSON.stringify(r));
      }
      return;
    }
    // Every other list of these kinds is atomic: owned as one leaf.
    out.paths.set(key, JSON.stringify(value));
    return;
  }
  const obj = recordOf(value);
  if (obj) {
    const keys = Object.keys(obj);
    if (keys.length === 0 && !inMap && !ALWAYS_PRESENT.has(where)) return;
    out.paths.set(key, null);
    const childrenInMap = MAP_FIELDS.has(where);
    for (const k of keys) collectValue(obj[k], [...path, `f:${k}`], out, childrenInMap);
    return;
  }
  if (value === '' && !inMap) return;
  out.paths.set(key, JSON.stringify(value));
}

function collect(obj: KubeObject, ignoredTop: readonly string[]): Collected {
  const out: Collected = { paths: new Map() };
  for (const [k, v] of Object.entries(obj)) {
    if (k === 'apiVersion' || k === 'kind' || ignoredTop.includes(k)) continue;
    if (k === 'metadata') {
      // The metadata node itself is stripped upstream, so it never carries ".".
      for (const [mk, mv] of Object.entries(recordOf(v) ?? {})) {
        if (!STRIPPED_META.has(mk)) collectValue(mv, ['f:metadata', `f:${mk}`], out, false);
      }
      continue;
    }
    collectValue(v, [`f:${k}`], out, false);
  }
  return out;
}

/** FieldsV1 JSON -> set of path keys. */
export function decodeFieldsV1(fields: Record<string, unknown> | undefined): PathSet {
  const set: PathSet = new Set();
  const walk = (node: Record<string, unknown>, path: string[]) => {
    for (const [k, child] of Object.entries(node)) {
      if (k === '.') {
        set.add(path.join(SEP));
        continue;
      }
      const c = recordOf(child) ?? {};
      const p = [...path, k];
      if (Object.keys(c).length === 0) set.add(p.join(SEP));
      else walk(c, p);
    }
  };
  walk(fields ?? {}, []);
  return set;
}

const ORDER: Record<string, number> = { f: 0, k: 1, v: 2, i: 3 };
function compareSegments(a: string, b: string): number {
  const ka = ORDER[a[0]!] ?? 9;
  const kb = ORDER[b[0]!] ?? 9;
  if (ka !== kb) return ka - kb;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Set of path keys -> FieldsV1 JSON, children sorted as upstream serialises them, "." first. */
export function encodeFieldsV1(set: PathSet): Record<string, unknown> {
  interface Node { member: boolean; children: Map<string, Node> }
  const root: Node = { member: false, children: new Map() };
  for (const key of set) {
    let node = root;
    for (const seg of key.split(SEP)) {
      let next = node.children.get(seg);
      if (!next) node.children.set(seg, (next = { member: false, children: new Map() }));
      node = next;
    }
    node.member = true;
  }
  const emit = (node: Node): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    if (node.member && node.children.size > 0) out['.'] = {};
    for (const seg of [...node.children.keys()].sort(compareSegments)) out[seg] = emit(node.children.get(seg)!);
    return out;
  };
  return emit(root);
}

function setsEqual(a: PathSet, b: PathSet): boolean {
  return a.size === b.size && [...a].every((x) => b.has(x));
}

/** Entries whose every field is empty (`managedFields: [{}]`): upstream's way for a client to reset the list. */
function isReset(entries: unknown): boolean {
  return Array.isArray(entries) && entries.length > 0 && entries.every((e) => Object.keys(recordOf(e) ?? {}).length === 0);
}

export interface RecordUpdateOptions {
  manager: string | undefined;
  apiVersion: string;
  /** RFC 3339 whole seconds. */
  now: string;
  /** Top-level fields the main resource does not own (the strategy's reset fields). */
  ignoredTop: readonly string[];
  /** The empty object a create is compared with (e.g. a Namespace's always-present spec). */
  template: KubeObject;
}

/**
 * Returns the managedFields the written object should carry: a valid list sent by the client replaces the stored one
 * (kube lets clients rewrite it), an absent or empty one keeps the stored list, `[{}]` clears it; then the manager's
 * Update entry is recorded (without a manager, the base list is kept as is).
 */
export function recordUpdate(live: KubeObject | undefined, next: KubeObject, opts: RecordUpdateOptions): ManagedFieldsEntry[] | undefined {
  const sent = next.metadata?.managedFields;
  if (isReset(sent)) return undefined;
  const validSent = Array.isArray(sent) && sent.length > 0 && sent.every((e) => e?.operation === 'Apply' || e?.operation === 'Update');
  if (Array.isArray(sent) && sent.length > 0 && !validSent) return sent; // validation reports what is wrong with it
  const base: ManagedFieldsEntry[] = structuredClone(validSent ? sent : (live?.metadata?.managedFields ?? []));
  if (!opts.manager) return base.length > 0 ? base : undefined;

  const before = collect(live ?? opts.template, opts.ignoredTop).paths;
  const after = collect(next, opts.ignoredTop).paths;
  const changed: PathSet = new Set();
  const removed: PathSet = new Set();
  for (const [k, v] of after) if (!before.has(k) || (v !== null && before.get(k) !== v)) changed.add(k);
  for (const k of before.keys()) if (!after.has(k)) removed.add(k);

  const isMine = (e: ManagedFieldsEntry) =>
    e.manager === opts.manager && e.operation === 'Update' && (e.apiVersion ?? '') === opts.apiVersion && !e.subresource;
  const entries: { entry: ManagedFieldsEntry; set: PathSet; mine: boolean }[] = base.map((entry) => ({
    entry,
    set: decodeFieldsV1(entry.fieldsV1),
    mine: isMine(entry),
  }));
  let mine = entries.find((e) => e.mine);
  if (!mine) {
    mine = { entry: { manager: opts.manager, operation: 'Update', apiVersion: opts.apiVersion }, set: new Set(), mine: true };
    entries.push(mine);
  }
  for (const e of entries) {
    const previous = new Set(e.set);
    for (const k of removed) e.set.delete(k);
    if (e.mine) for (const k of changed) e.set.add(k);
    else for (const k of changed) e.set.delete(k);
    if (!setsEqual(previous, e.set) || e.mine) e.entry = { ...e.entry, fieldsV1: encodeFieldsV1(e.set) };
  }
  // The acting manager's entry is stamped with the time of the write (restored by the caller when nothing changed).
  mine.entry = { ...mine.entry, time: opts.now, fieldsType: 'FieldsV1' };
  const kept = entries.filter((e) => e.set.size > 0).map((e) => normalizeEntry(e.entry));
  return kept.length > 0 ? sortEntries(kept) : undefined;
}

/** Go's field order inside an entry, so JSON output matches kube's. */
function normalizeEntry(e: ManagedFieldsEntry): ManagedFieldsEntry {
  const out: ManagedFieldsEntry = {};
  if (e.manager !== undefined) out.manager = e.manager;
  if (e.operation !== undefined) out.operation = e.operation;
  if (e.apiVersion !== undefined) out.apiVersion = e.apiVersion;
  if (e.time !== undefined) out.time = e.time;
  if (e.fieldsType !== undefined) out.fieldsType = e.fieldsType;
  if (e.fieldsV1 !== undefined) out.fieldsV1 = e.fieldsV1;
  if (e.subresource) out.subresource = e.subresource;
  return out;
}

/** Upstream's order: Apply entries before Update ones, then oldest first, then by manager. */
function sortEntries(entries: ManagedFieldsEntry[]): ManagedFieldsEntry[] {
  return entries.sort((a, b) => {
    if (a.operation !== b.operation) return (a.operation ?? '') < (b.operation ?? '') ? -1 : 1;
    const ta = a.time ?? '';
    const tb = b.time ?? '';
    if (ta !== tb) return ta < tb ? -1 : 1;
    if (a.manager !== b.manager) return (a.manager ?? '') < (b.manager ?? '') ? -1 : 1;
    if (a.apiVersion !== b.apiVersion) return (a.apiVersion ?? '') < (b.apiVersion ?? '') ? -1 : 1;
    return (a.subresource ?? '') < (b.subresource ?? '') ? -1 : (a.subresource ?? '') > (b.subresource ?? '') ? 1 : 0;
  });
}

/** The same entries with every `time` removed: two lists that differ only in times describe the same ownership. */
export function sameIgnoringTimes(a: ManagedFieldsEntry[] | undefined, b: ManagedFieldsEntry[] | undefined): boolean {
  const strip = (l: ManagedFieldsEntry[] | undefined) => JSON.stringify((l ?? []).map(({ time: _t, ...rest }) => normalizeEntry(rest)));
  return strip(a) === strip(b);
}

export function withManagedFields(meta: ObjectMeta, managedFields: ManagedFieldsEntry[] | undefined): ObjectMeta {
  const { managedFields: _old, ...rest } = meta;
  return managedFields === undefined ? rest : { ...rest, managedFields };
}
