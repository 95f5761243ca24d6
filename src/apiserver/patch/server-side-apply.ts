// Server-side apply (`application/apply-patch+yaml`, k8s.io/apimachinery
// pkg/util/managedfields/internal/structuredmerge.go) as kube's field manager runs it on one object:
// the applied configuration is merged into the live object by the kind's schema; fields this manager applied before
// and no longer applies are removed unless someone else owns them; a change to a field another manager owns is a 409
// conflict unless forced; the manager's Apply entry becomes exactly the configuration's field set. Also kube's two
// client-side-apply bridges: conflicts with fields kubectl's last-applied annotation proves are the applier's are
// taken over, and that annotation follows `kubectl` server-side applies.
import { parse as parseYaml } from 'yaml';
import { marshalJson } from '../../lib/go/json.js';
import type { KubeObject } from '../../objects/object-meta.js';
import { ApiStatusError, badRequest, conflict } from '../api-status.js';
import { apiVersionOf, type ResourceInfo } from '../resource-info.js';
import { FieldSet, renderPath, type FieldPath } from './field-set.js';
import { cloneJson, isJsonObject, jsonEqual, ownValue, parseJson, setOwn, type JsonObject } from './json-value.js';
import {
  BEFORE_FIRST_APPLY,
  capUpdateManagers,
  decodeManagedFields,
  describeManager,
  emptyObjectLike,
  encodeManagedFields,
  managerIdentity,
  recordUpdate,
  rfc3339Seconds,
  trackable,
  trackedChanges,
  withoutManagedFields,
  type ManagedFields,
  type ManagerState,
} from './managed-fields.js';
import { patchBadRequest, plainServerError } from './patch-errors.js';
import { fieldSetOf, itemSegment } from './typed-fields.js';
import { kindSchema, memberType, type KindSchema, type TypeDef } from './type-schema.js';

export const LAST_APPLIED_ANNOTATION = 'kubectl.kubernetes.io/last-applied-configuration';

const UNTYPED: TypeDef = { kind: 'untyped' };

export interface ServerSideApplyOptions {
  info: ResourceInfo;
  fieldManager: string;
  force: boolean;
  now: Date;
}

interface Conflict {
  identity: string;
  manager: ManagerState;
  path: FieldPath;
}

class ApplyConflicts extends Error {
  constructor(readonly conflicts: Conflict[]) {
    super('apply conflicts');
  }
}

// ---- decoding and the checks kube makes before merging ----

function jsonKind(v: unknown): string {
  return Array.isArray(v) ? 'array' : typeof v === 'boolean' ? 'bool' : typeof v;
}

/** The body as sigs.k8s.io/yaml reads it (JSON is YAML), with kube's `error decoding YAML: ...` texts. */
function decodeApplyBody(body: Buffer): JsonObject {
  let value: unknown;
  const json = parseJson(body);
  if (json) value = json.value;
  else {
    try {
      value = parseYaml(body.toString('utf8'), { uniqueKeys: false, logLevel: 'error' });
    } catch (e) {
      const reason = e instanceof Error ? e.message.split('\n')[0] : 'invalid YAML';
      throw badRequest(`error decoding YAML: error converting YAML to JSON: yaml: ${reason}`);
    }
  }
  if (value === null || value === undefined) return {};
  if (!isJsonObject(value)) {
    throw badRequest(
      `error decoding YAML: error unmarshaling JSON: while decoding JSON: json: cannot unmarshal ${jsonKind(value)} into Go value of type map[string]interface {}`,
    );
  }
  return value;
}

/** schema.GroupVersionKind's text as Go prints it: `/v1, Kind=Secret`, `apps/v1, Kind=Deployment`. */
function gvkText(obj: JsonObject): string {
  const apiVersion = typeof obj.apiVersion === 'string' ? obj.apiVersion : '';
  const kind = typeof obj.kind === 'string' ? obj.kind : '';
  const parts = apiVersion.split('/');
  if (parts.length > 2) return `/, Kind=${kind}`; // not a group/version: kube keeps only the kind
  const [group, version] = parts.length === 2 ? parts : ['', parts[0]];
  return `${group}/${version}, Kind=${kind}`;
}

function metaOf(obj: JsonObject): JsonObject {
  return isJsonObject(obj.metadata) ? obj.metadata : {};
}

function checkConfig(config: JsonObject, info: ResourceInfo, schema: KindSchema): FieldSet {
  // kube's version check compares the whole group/version/kind, so a wrong apiVersion reports the kind too.
  if (config.apiVersion !== apiVersionOf(info) || config.kind !== info.kind) {
    throw badRequest(`invalid object type: ${gvkText(config)}`);
  }
  const meta = metaOf(config);
  if (Object.hasOwn(meta, 'managedFields') && meta.managedFields !== null) {
    throw badRequest('metadata.managedFields must be nil');
  }
  const { set, errors } = fieldSetOf(config, schema.root);
  if (errors.length > 0) {
    const text = (v: unknown) => (typeof v === 'string' ? v : '');
    const where = `${text(meta.namespace)}/${text(meta.name)}; ${gvkText(config)}`;
    const detail = errors.length === 1 ? errors[0]! : ['errors:', ...errors.map((e) => `  ${e}`)].join('\n');
    throw patchBadRequest(`failed to create typed patch object (${where}): ${detail}`);
  }
  return trackable(set, schema);
}

// ---- merging the configuration into the live object ----

/** structured-merge-diff's merge with the configuration winning; a null in the configuration removes the field. */
function mergeApplied(live: unknown, config: unknown, def: TypeDef): unknown {
  if (config === undefined) return cloneJson(live);
  if (config === null) return undefined;
  const granularObject = (def.kind === 'struct' && !def.atomic) || def.kind === 'map' || def.kind === 'untyped';
  if (granularObject && isJsonObject(config)) {
    const out: JsonObject = isJsonObject(live) ? cloneJson(live) : {};
    for (const [key, value] of Object.entries(config)) {
      const merged = mergeApplied(ownValue(out, key), value, memberType(def, key) ?? UNTYPED);
      if (merged === undefined) delete out[key];
      else setOwn(out, key, merged);
    }
    return out;
  }
  if (def.kind === 'list' && def.listType !== 'atomic' && Array.isArray(config)) {
    return mergeList(Array.isArray(live) ? live : [], config, def);
  }
  return cloneJson(config);
}

/**
 * Items of both lists merged by identity. Items the configuration lists come in its order; live-only items stay where
 * they were relative to the items around them.
 */
function mergeList(live: unknown[], config: unknown[], def: Extract<TypeDef, { kind: 'list' }>): unknown[] {
  const itemDef = def.listType === 'map' ? def.items : UNTYPED;
  const liveBySeg = new Map<string, unknown>();
  for (const item of live) {
    const seg = itemSegment(item, def);
    if (seg !== undefined && !liveBySeg.has(seg)) liveBySeg.set(seg, item);
  }
  const configSegs = config.map((item) => itemSegment(item, def)!);
  const out: unknown[] = [];
  const emitted = new Set<string>();
  let next = 0;
  const emitConfigThrough = (last: number) => {
    for (; next <= last; next++) {
      const seg = configSegs[next]!;
      if (emitted.has(seg)) continue;
      emitted.add(seg);
      const merged = def.listType === 'map' ? mergeApplied(liveBySeg.get(seg), config[next], itemDef) : cloneJson(config[next]);
      out.push(merged);
    }
  };
  for (const item of live) {
    const seg = itemSegment(item, def);
    const at = seg === undefined ? -1 : configSegs.indexOf(seg);
    if (at >= 0) emitConfigThrough(at);
    else if (seg === undefined || !emitted.has(seg)) {
      if (seg !== undefined) emitted.add(seg);
      out.push(cloneJson(item));
    }
  }
  emitConfigThrough(config.length - 1);
  return out;
}

function isEmptyContainer(v: unknown): boolean {
  return Array.isArray(v) ? v.length === 0 : isJsonObject(v) && Object.keys(v).length === 0;
}

/** Removes the field or item at `path`; maps and lists left empty go too (Go's omitempty would drop them). */
function removePath(container: unknown, path: FieldPath, def: TypeDef): void {
  const [seg, ...rest] = path;
  if (seg === undefined) return;
  if (seg.startsWith('f:')) {
    if (!isJsonObject(container)) return;
    const key = seg.slice(2);
    if (!Object.hasOwn(container, key)) return;
    const childDef = memberType(def, key) ?? UNTYPED;
    if (rest.length === 0) {
      delete container[key];
      return;
    }
    removePath(container[key], rest, childDef);
    if ((childDef.kind === 'map' || childDef.kind === 'list') && isEmptyContainer(container[key])) delete container[key];
    return;
  }
  if (!Array.isArray(container) || def.kind !== 'list') return;
  const i = container.findIndex((item) => itemSegment(item, def) === seg);
  if (i < 0) return;
  if (rest.length === 0) container.splice(i, 1);
  else removePath(container[i], rest, def.listType === 'map' ? def.items : UNTYPED);
}

// ---- ownership ----

interface ApplyResult {
  object: KubeObject;
  managed: ManagedFields;
  changed: boolean;
}

function applyOnce(live: KubeObject, config: JsonObject, configSet: FieldSet, start: ManagedFields, force: boolean, o: {
  applierId: string;
  applier: ManagerState;
  schema: KindSchema;
}): ApplyResult {
  const managed: ManagedFields = new Map([...start].map(([id, m]) => [id, { ...m }]));
  const previous = managed.get(o.applierId);
  const merged = mergeApplied(live, config, o.schema.root) as KubeObject;

  if (previous) {
    const others = [...managed].filter(([id]) => id !== o.applierId).reduce((acc, [, m]) => acc.union(m.set), FieldSet.empty());
    for (const path of previous.set.paths()) {
      if (configSet.hasAtOrBelow(path) || others.hasAtOrBelow(path)) continue; // still applied, or someone else's
      removePath(merged, path, o.schema.root);
    }
  }

  const changes = trackedChanges(live, merged, o.schema);
  const touched = changes.added.union(changes.modified);
  const conflicts: Conflict[] = [];
  for (const [identity, m] of managed) {
    if (identity === o.applierId) continue;
    for (const path of m.set.intersection(touched).paths()) conflicts.push({ identity, manager: m, path });
  }
  if (conflicts.length > 0 && !force) throw new ApplyConflicts(conflicts);

  for (const [id, m] of managed) {
    if (id !== o.applierId) m.set = m.set.difference(touched).difference(changes.removed);
  }
  managed.set(o.applierId, { ...o.applier, time: previous?.time, set: configSet });
  for (const [id, m] of managed) if (m.set.isEmpty()) managed.delete(id);
  capUpdateManagers(managed);
  return { object: merged, managed, changed: !jsonEqual(live, merged) };
}

/**
 * Fields the live object's last-applied annotation holds with the values the object still has: a `kubectl`
 * server-side apply may take them from other managers without force (kube's lastAppliedManager), which is what lets
 * `kubectl apply --server-side` follow a client-side `kubectl apply` of an older version of the file.
 */
function lastAppliedFields(live: KubeObject, schema: KindSchema): FieldSet | undefined {
  const text = live.metadata?.annotations?.[LAST_APPLIED_ANNOTATION];
  if (!text) return undefined;
  const parsed = parseJson(Buffer.from(text, 'utf8'));
  if (!parsed || !isJsonObject(parsed.value)) return undefined;
  const { set, errors } = fieldSetOf(parsed.value, schema.root);
  if (errors.length > 0) return undefined;
  const c = trackedChanges(parsed.value as KubeObject, live, schema);
  return set.difference(c.modified).difference(c.added).difference(c.removed);
}

function conflictError(conflicts: Conflict[]): ApiStatusError {
  const sorted = [...conflicts].sort((a, b) => (a.identity < b.identity ? -1 : a.identity > b.identity ? 1 : 0));
  const causes = sorted.map((c) => ({
    reason: 'FieldManagerConflict',
    message: `conflict with ${describeManager(c.manager)}`,
    field: renderPath(c.path),
  }));
  let message: string;
  if (sorted.length === 1) {
    const c = sorted[0]!;
    message = `Apply failed with 1 conflict: conflict with ${describeManager(c.manager)}: ${renderPath(c.path)}`;
  } else {
    const lines: string[] = [];
    let current: string | undefined;
    for (const c of sorted) {
      if (c.identity !== current) {
        current = c.identity;
        lines.push(`conflicts with ${describeManager(c.manager)}:`);
      }
      lines.push(`- ${renderPath(c.path)}`);
    }
    message = `Apply failed with ${sorted.length} conflicts: ${lines.join('\n')}`;
  }
  return new ApiStatusError(409, 'Conflict', message, { causes });
}

/** The last-applied annotation as kube rewrites it for `kubectl`: the configuration without it, Go's JSON + newline. */
function lastAppliedText(config: JsonObject): string {
  const copy = cloneJson(config);
  const annotations = metaOf(copy).annotations;
  if (isJsonObject(annotations)) delete annotations[LAST_APPLIED_ANNOTATION];
  return `${marshalJson(copy)}\n`;
}

/**
 * Applies a server-side apply body to `current` (undefined: the object does not exist and is created). Returns the
 * object to store with its managedFields. Throws ApiStatusError: 400 for undecodable or mismatched bodies, 409 for
 * conflicts, 500 (no reason, as kube) for a configuration that does not fit the kind's schema.
 */
export function serverSideApply(current: KubeObject | undefined, body: Buffer, opts: ServerSideApplyOptions): { object: KubeObject; created: boolean } {
  const { info } = opts;
  const schema = kindSchema(info.group, info.kind);
  const config = decodeApplyBody(body);
  const configSet = checkConfig(config, info, schema);
  const now = rfc3339Seconds(opts.now);
  const apiVersion = apiVersionOf(info);

  const live = current ? withoutManagedFields(cloneJson(current)) : emptyObjectLike({ apiVersion, kind: info.kind });
  let managed: ManagedFields;
  try {
    managed = decodeManagedFields(current?.metadata?.managedFields);
  } catch (e) {
    throw plainServerError(`failed to decode managed fields: ${(e as Error).message}`);
  }
  if (current && managed.size === 0) {
    // An object nobody tracked yet: what it holds belongs to a placeholder manager, so the first apply conflicts with
    // values it would change instead of silently taking them.
    recordUpdate(managed, emptyObjectLike(live), live, { manager: BEFORE_FIRST_APPLY, apiVersion, now, schema });
  }

  const applier: ManagerState = { manager: opts.fieldManager, operation: 'Apply', apiVersion, subresource: '', time: undefined, set: configSet };
  const o = { applierId: managerIdentity(applier), applier, schema };
  let result: ApplyResult;
  try {
    result = applyOnce(live, config, configSet, managed, opts.force, o);
  } catch (e) {
    if (!(e instanceof ApplyConflicts)) throw e;
    const allowed = opts.fieldManager === 'kubectl' ? lastAppliedFields(live, schema) : undefined;
    if (!allowed) throw conflictError(e.conflicts);
    const remaining = e.conflicts.filter((c) => !allowed.has(c.path));
    if (remaining.length > 0) throw conflictError(remaining);
    result = applyOnce(live, config, configSet, managed, true, o);
  }

  const object = result.object;
  const mine = result.managed.get(o.applierId);
  if (mine && result.changed) mine.time = now; // kube stamps an apply only when it changed the object
  if (opts.fieldManager === 'kubectl' && object.metadata?.annotations?.[LAST_APPLIED_ANNOTATION] !== undefined) {
    object.metadata.annotations[LAST_APPLIED_ANNOTATION] = lastAppliedText(config);
  }
  const entries = encodeManagedFields(result.managed);
  object.metadata = { ...object.metadata };
  if (entries) object.metadata.managedFields = entries;

  if (!current && object.metadata.uid) {
    throw conflict(
      { group: info.group, resource: info.plural },
      object.metadata.name ?? '',
      `uid mismatch: the provided object specified uid ${object.metadata.uid}, and no existing object was found`,
    );
  }
  return { object, created: current === undefined };
}
