// metadata.managedFields (k8s.io/apimachinery pkg/util/managedfields/internal) as kube's field manager keeps it:
// entries decoded into per-manager field sets, the `Update` bookkeeping of create/PUT/non-apply PATCH (the writer takes
// what it added or changed, everyone loses what changed or disappeared), at most 10 Update entries, and entries encoded
// back in kube's order and JSON shape.
import { marshalJson } from '../../lib/go/json.js';
import type { KubeObject, ManagedFieldsEntry } from '../../objects/object-meta.js';
import { goQuote } from '../registry/field-errors.js';
import { apiVersionOf, type ResourceInfo } from '../resource-info.js';
import { FieldSet } from './field-set.js';
import { cloneJson, isJsonObject } from './json-value.js';
import { compareTyped } from './typed-fields.js';
import { kindSchema, type KindSchema } from './type-schema.js';

export type Operation = 'Apply' | 'Update';

/** One manager's entry while it is being worked on. */
export interface ManagerState {
  manager: string;
  operation: Operation;
  apiVersion: string;
  subresource: string;
  /** RFC 3339, whole seconds; absent when kube would write none (an Apply that changed nothing). */
  time: string | undefined;
  set: FieldSet;
}

/** Keyed by manager identity (managerIdentity). */
export type ManagedFields = Map<string, ManagerState>;

export const MAX_UPDATE_MANAGERS = 10;
const ANCIENT_CHANGES = 'ancient-changes';
export const BEFORE_FIRST_APPLY = 'before-first-apply';

/** metav1.Time in JSON: UTC, whole seconds. */
export function rfc3339Seconds(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}

/**
 * What makes two entries the same manager: kube's JSON of the entry without time and fields, and without apiVersion
 * for Apply entries (an applier keeps its entry across versions). Sorting by it orders conflict messages as kube does.
 */
export function managerIdentity(e: { manager: string; operation: Operation; apiVersion: string; subresource: string }): string {
  const id: Record<string, string> = {};
  if (e.manager) id.manager = e.manager;
  id.operation = e.operation;
  if (e.operation === 'Update' && e.apiVersion) id.apiVersion = e.apiVersion;
  if (e.subresource) id.subresource = e.subresource;
  // Go marshals struct fields in declaration order, which the insertion order above follows.
  return `{${Object.entries(id).map(([k, v]) => `"${k}":${marshalJson(v)}`).join(',')}}`;
}

/** A manager as conflict messages name it: `"kubectl"`, `"kubectl-create" using v1`, `... with subresource "status"`. */
export function describeManager(m: ManagerState): string {
  let text = goQuote(m.manager);
  if (m.subresource) text += ` with subresource ${goQuote(m.subresource)}`;
  if (m.operation === 'Update') text += ` using ${m.apiVersion}`;
  return text;
}

/** `managedFields: [{}]` (any number of empty entries): how a client asks for the list to be cleared. */
export function isResetManagedFields(entries: unknown): boolean {
  return Array.isArray(entries) && entries.length > 0 && entries.every((e) => isJsonObject(e) && Object.keys(e).length === 0);
}

/** Decodes entries as kube's DecodeManagedFields does; throws an Error with kube's text for an invalid entry. */
export function decodeManagedFields(entries: unknown): ManagedFields {
  const out: ManagedFields = new Map();
  if (!Array.isArray(entries)) return out;
  entries.forEach((raw, i) => {
    const e = (isJsonObject(raw) ? raw : {}) as ManagedFieldsEntry;
    if (e.operation !== 'Apply' && e.operation !== 'Update') throw new Error('operation must be `Apply` or `Update`');
    if (!e.apiVersion) throw new Error('apiVersion must not be empty');
    if (!e.fieldsType) throw new Error(`missing fieldsType in managed fields entry ${i}`);
    if (e.fieldsType !== 'FieldsV1') throw new Error(`invalid fieldsType ${goQuote(String(e.fieldsType))} in managed fields entry ${i}`);
    const state: ManagerState = {
      manager: e.manager ?? '',
      operation: e.operation,
      apiVersion: e.apiVersion,
      subresource: e.subresource ?? '',
      time: e.time ?? undefined,
      set: FieldSet.fromFieldsV1(e.fieldsV1),
    };
    out.set(managerIdentity(state), state); // a later duplicate wins, as in kube's map
  });
  return out;
}

/** Encodes in kube's order (Apply before Update, then oldest first, then manager, apiVersion, subresource). */
export function encodeManagedFields(managed: ManagedFields): ManagedFieldsEntry[] | undefined {
  const entries = [...managed.values()]
    .filter((m) => !m.set.isEmpty())
    .sort((a, b) => {
      const keys: [string, string][] = [
        [a.operation, b.operation],
        [a.time ?? '', b.time ?? ''],
        [a.manager, b.manager],
        [a.apiVersion, b.apiVersion],
        [a.subresource, b.subresource],
      ];
      for (const [x, y] of keys) if (x !== y) return x < y ? -1 : 1;
      return 0;
    })
    .map((m) => {
      const e: ManagedFieldsEntry = {};
      if (m.manager) e.manager = m.manager;
      e.operation = m.operation;
      e.apiVersion = m.apiVersion;
      if (m.time !== undefined) e.time = m.time;
      e.fieldsType = 'FieldsV1';
      e.fieldsV1 = m.set.toFieldsV1();
      if (m.subresource) e.subresource = m.subresource;
      return e;
    });
  return entries.length > 0 ? entries : undefined;
}

/** Paths kube never tracks (stripmeta.go): type and identity metadata the server owns. */
const STRIPPED: readonly (readonly string[])[] = [
  ['f:apiVersion'],
  ['f:kind'],
  ['f:metadata'],
  ...['name', 'namespace', 'creationTimestamp', 'selfLink', 'uid', 'clusterName', 'generation', 'managedFields', 'resourceVersion'].map(
    (f) => ['f:metadata', `f:${f}`],
  ),
];

/** Removes what no manager may own: the stripped metadata paths and the kind's reset fields (with their subtrees). */
export function trackable(set: FieldSet, schema: KindSchema): FieldSet {
  let out = set.difference(FieldSet.of(STRIPPED));
  for (const f of schema.resetFields) out = out.withoutSubtree([`f:${f}`]);
  return out;
}

/** Changes between two objects that count for ownership: reset fields excluded, managedFields ignored. */
export function trackedChanges(before: KubeObject, after: KubeObject, schema: KindSchema) {
  const c = compareTyped(withoutManagedFields(before), withoutManagedFields(after), schema.root);
  const exclude = (s: FieldSet) => schema.resetFields.reduce((acc, f) => acc.withoutSubtree([`f:${f}`]), s);
  return { added: exclude(c.added), modified: exclude(c.modified), removed: exclude(c.removed) };
}

export function withoutManagedFields(obj: KubeObject): KubeObject {
  if (!obj.metadata || !('managedFields' in obj.metadata)) return obj;
  const { managedFields: _m, ...meta } = obj.metadata;
  return { ...obj, metadata: meta };
}

export function emptyObjectLike(obj: { apiVersion: string; kind: string }): KubeObject {
  return { apiVersion: obj.apiVersion, kind: obj.kind, metadata: {} };
}

/**
 * kube's Update bookkeeping (structured-merge-diff Updater.Update, forced): every manager loses what this write added,
 * changed or removed; the writer's entry gains what it added or changed and gets `now`, or is left alone (time
 * included) when the write only removed fields.
 */
export function recordUpdate(
  managed: ManagedFields,
  before: KubeObject,
  after: KubeObject,
  opts: { manager: string; apiVersion: string; now: string; schema: KindSchema },
): void {
  const c = trackedChanges(before, after, opts.schema);
  const changed = c.added.union(c.modified);
  for (const m of managed.values()) m.set = m.set.difference(changed).difference(c.removed);
  const taken = trackable(changed, opts.schema);
  if (!taken.isEmpty()) {
    const mine: ManagerState = { manager: opts.manager, operation: 'Update', apiVersion: opts.apiVersion, subresource: '', time: opts.now, set: taken };
    const id = managerIdentity(mine);
    const previous = managed.get(id);
    if (previous) mine.set = previous.set.union(taken);
    managed.set(id, mine);
  }
  for (const [id, m] of managed) if (m.set.isEmpty()) managed.delete(id);
  capUpdateManagers(managed);
}

/** More than 10 Update entries: the oldest are merged into an `ancient-changes` entry per apiVersion. */
export function capUpdateManagers(managed: ManagedFields, max = MAX_UPDATE_MANAGERS): void {
  const updaters = () => [...managed.entries()].filter(([, m]) => m.operation === 'Update');
  if (updaters().length <= max) return;
  const oldestFirst = updaters()
    .filter(([, m]) => m.manager !== ANCIENT_CHANGES)
    .sort(([ia, a], [ib, b]) => ((a.time ?? '') !== (b.time ?? '') ? ((a.time ?? '') < (b.time ?? '') ? -1 : 1) : ia < ib ? -1 : 1));
  for (const [id, m] of oldestFirst) {
    if (updaters().length <= max) break;
    const bucketState: ManagerState = { manager: ANCIENT_CHANGES, operation: 'Update', apiVersion: m.apiVersion, subresource: '', time: m.time, set: m.set };
    const bucketId = managerIdentity(bucketState);
    const bucket = managed.get(bucketId);
    managed.delete(id);
    managed.set(bucketId, bucket ? { ...bucket, time: m.time, set: bucket.set.union(m.set) } : bucketState);
  }
}

export interface UpdateManagedFieldsOptions {
  /** The acting manager: the fieldManager parameter, else defaultFieldManager(userAgent); none records nothing. */
  manager: string | undefined;
  now: Date;
  /** The resource written; without it the kind and apiVersion of `next` are used. */
  info?: ResourceInfo;
}

function schemaOf(obj: KubeObject, info: ResourceInfo | undefined): { schema: KindSchema; apiVersion: string } {
  if (info) return { schema: kindSchema(info.group, info.kind), apiVersion: apiVersionOf(info) };
  const slash = obj.apiVersion.indexOf('/');
  return { schema: kindSchema(slash >= 0 ? obj.apiVersion.slice(0, slash) : '', obj.kind), apiVersion: obj.apiVersion };
}

/**
 * The managedFields kube stores after a create (previous undefined), PUT or non-apply PATCH by `opts.manager`.
 * Entries the client sent replace the stored ones when they decode (how kubectl migrates client-side apply ownership);
 * `[{}]` strips the list entirely, with no entry for this write (kube's documented reset); entries that do not decode
 * are ignored for the stored ones, as kube's field manager does. Without a manager the base list is kept as it is.
 */
export function updatedManagedFields(previous: KubeObject | undefined, next: KubeObject, opts: UpdateManagedFieldsOptions): ManagedFieldsEntry[] | undefined {
  const sent = next.metadata?.managedFields;
  if (isResetManagedFields(sent)) return undefined;
  const stored = previous?.metadata?.managedFields;
  // Nothing sent and no manager to record: the stored list as it is (the lines below would decode both for that).
  if (sent === undefined && !opts.manager) return stored?.length ? stored : undefined;
  let managed = decodeOrEmpty(sent);
  let base = sent;
  if (managed.size === 0) {
    managed = decodeOrEmpty(stored);
    base = stored;
  }
  if (!opts.manager) return base?.length ? base : undefined;
  const { schema, apiVersion } = schemaOf(next, opts.info);
  recordUpdate(managed, previous ?? emptyObjectLike(next), next, { manager: opts.manager, apiVersion, now: rfc3339Seconds(opts.now), schema });
  return encodeManagedFields(managed);
}

function decodeOrEmpty(entries: unknown): ManagedFields {
  try {
    return decodeManagedFields(entries);
  } catch {
    return new Map();
  }
}

/** `next` carrying updatedManagedFields. */
export function updateManagedFields(previous: KubeObject | undefined, next: KubeObject, opts: UpdateManagedFieldsOptions): KubeObject {
  const out = cloneJson(withoutManagedFields(next));
  const entries = updatedManagedFields(previous, next, opts);
  if (entries) out.metadata = { ...out.metadata, managedFields: entries };
  return out;
}

/** The same entries with every `time` removed: two lists that differ only in times describe the same ownership. */
export function sameIgnoringTimes(a: ManagedFieldsEntry[] | undefined, b: ManagedFieldsEntry[] | undefined): boolean {
  const strip = (l: ManagedFieldsEntry[] | undefined) => JSON.stringify((l ?? []).map(({ time: _t, ...rest }) => rest));
  return strip(a) === strip(b);
}
