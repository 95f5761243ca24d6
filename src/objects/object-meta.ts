// meta/v1 ObjectMeta in the Kubernetes JSON API shape (what kubectl sends and receives), and its protobuf form as
// kube-apiserver stores it (apimachinery pkg/apis/meta/v1/generated.proto; presence rules of generated.pb.go).
import { InvalidError } from '../lib/errors.js';
import {
  asArray,
  asOptionalBool,
  asOptionalInt64,
  asRecord,
  asString,
  expectedType,
  readMapEntry,
  writeStringMap,
} from './k8s-protobuf.js';
import type { ProtoReader, ProtoWriter } from '../lib/go/protobuf-wire.js';

/** Any Kubernetes object in its JSON shape. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata?: ObjectMeta;
  [field: string]: unknown;
}

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  /** Never stored; not set since Kubernetes 1.20. */
  selfLink?: string;
  uid?: string;
  /** Never stored: the store revision (etcd ModRevision) is put here on read. */
  resourceVersion?: string;
  generation?: number;
  /** RFC 3339, whole seconds, UTC ("2023-09-01T15:56:49Z"). Go clients send null when unset. */
  creationTimestamp?: string | null;
  deletionTimestamp?: string | null;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  finalizers?: string[];
  managedFields?: ManagedFieldsEntry[];
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ManagedFieldsEntry {
  manager?: string;
  operation?: string;
  apiVersion?: string;
  time?: string;
  fieldsType?: string;
  /** The FieldsV1 trie as JSON; stored as its raw JSON bytes. */
  fieldsV1?: Record<string, unknown>;
  subresource?: string;
}

// ---- meta/v1 Time: RFC 3339 in JSON, Timestamp{seconds, nanos} in protobuf, whole seconds everywhere ----

/** Go's zero time.Time (0001-01-01T00:00:00Z); upstream treats it as "unset". */
const ZERO_TIME_SECONDS = -62135596800;
const MIN_FORMATTABLE_SECONDS = -62167219200; // 0000-01-01T00:00:00Z
const MAX_FORMATTABLE_SECONDS = 253402300799; // 9999-12-31T23:59:59Z
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(?:Z|([+-])(\d{2}):(\d{2}))$/;
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/**
 * Unix seconds of an RFC 3339 time as Go's time.Parse(time.RFC3339) reads it; fractions are dropped because
 * metav1.Time keeps whole seconds. undefined when the text is not a valid RFC 3339 time.
 */
export function rfc3339ToUnixSeconds(text: string): number | undefined {
  // The last time parsed, as unixSecondsToRfc3339 keeps the last formatted: a create's two stamps of "now" and an
  // update's unchanged times are the same text again (a regular expression and nine Numbers otherwise).
  if (text === lastParsedText) return lastParsedSeconds;
  const seconds = parseRfc3339(text);
  lastParsedText = text;
  lastParsedSeconds = seconds;
  return seconds;
}

let lastParsedText: string | undefined;
let lastParsedSeconds: number | undefined;

function parseRfc3339(text: string): number | undefined {
  const m = RFC3339.exec(text);
  if (m === null) return undefined;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  const hour = Number(m[4]);
  const minute = Number(m[5]);
  const second = Number(m[6]);
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  if (month < 1 || month > 12 || day < 1 || day > (month === 2 && leap ? 29 : DAYS_IN_MONTH[month - 1]!)) return undefined;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  let offset = 0;
  if (m[7] !== undefined) {
    const oh = Number(m[8]);
    const om = Number(m[9]);
    if (oh > 23 || om > 59) return undefined;
    offset = (m[7] === '-' ? -1 : 1) * (oh * 3600 + om * 60);
  }
  return daysFromCivil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second - offset;
}

// The last time formatted: a create stamps "now" twice (creationTimestamp, managedFields) and every decode formats the
// same few times again, so most calls ask for the second asked before (a Date and its ISO string each time otherwise).
let lastSeconds = NaN;
let lastText = '';

/** The JSON form of a metav1.Time: UTC, whole seconds. undefined outside years 0000-9999. */
export function unixSecondsToRfc3339(seconds: number): string | undefined {
  if (seconds === lastSeconds) return lastText;
  if (seconds < MIN_FORMATTABLE_SECONDS || seconds > MAX_FORMATTABLE_SECONDS) return undefined;
  const text = `${new Date(seconds * 1000).toISOString().slice(0, 19)}Z`;
  lastSeconds = seconds;
  lastText = text;
  return text;
}

export function timeSeconds(value: unknown, path: string): number | undefined {
  if (value == null) return undefined;
  if (typeof value !== 'string') throw expectedType(path, 'an RFC 3339 time string');
  const seconds = rfc3339ToUnixSeconds(value);
  if (seconds === undefined) throw new InvalidError('must be an RFC 3339 time such as "2023-09-01T15:56:49Z"', { field: path });
  return seconds;
}

/** Time.Marshal writes nothing for the zero time; otherwise seconds and nanos are both always present, nanos 0. */
export function writeTime(w: ProtoWriter, field: number, seconds: number | undefined): void {
  const start = w.beginLen(field);
  if (seconds !== undefined && seconds !== ZERO_TIME_SECONDS) {
    w.int64(1, seconds);
    w.int64(2, 0);
  }
  w.endLen(start);
}

/** Nanos are ignored on read, as upstream's Time.Unmarshal does; an empty message is the zero time (unset). */
export function readTime(r: ProtoReader, wireType: number, field: string): string | undefined {
  const outer = r.enter(wireType, field);
  const empty = !r.more();
  const where = r.where;
  r.where = field;
  let seconds = 0;
  while (r.more()) {
    const tag = r.tag();
    const f = tag >>> 3;
    if (f === 1) seconds = r.int64(tag & 7, 'seconds');
    else if (f === 2) r.int64(tag & 7, 'nanos');
    else r.skip(tag & 7, f);
  }
  r.leave(outer);
  r.where = where;
  if (empty || seconds === ZERO_TIME_SECONDS) return undefined;
  const text = unixSecondsToRfc3339(seconds);
  if (text === undefined) r.fail('timestamp outside years 0000-9999', field);
  return text;
}

// ---- protobuf ----

/** Writes ObjectMeta as field `field`. resourceVersion and selfLink are written empty: they are never stored. */
export function writeObjectMeta(w: ProtoWriter, field: number, value: unknown): void {
  const meta = asRecord(value, 'metadata') ?? {};
  const start = w.beginLen(field);
  w.string(1, asString(meta.name, 'metadata.name'));
  w.string(2, asString(meta.generateName, 'metadata.generateName'));
  w.string(3, asString(meta.namespace, 'metadata.namespace'));
  w.string(4, '');
  w.string(5, asString(meta.uid, 'metadata.uid'));
  w.string(6, '');
  w.int64(7, asOptionalInt64(meta.generation, 'metadata.generation') ?? 0);
  writeTime(w, 8, timeSeconds(meta.creationTimestamp, 'metadata.creationTimestamp'));
  const deletion = timeSeconds(meta.deletionTimestamp, 'metadata.deletionTimestamp');
  if (deletion !== undefined) writeTime(w, 9, deletion);
  const grace = asOptionalInt64(meta.deletionGracePeriodSeconds, 'metadata.deletionGracePeriodSeconds');
  if (grace !== undefined) w.int64(10, grace);
  writeStringMap(w, 11, meta.labels, 'metadata.labels');
  writeStringMap(w, 12, meta.annotations, 'metadata.annotations');
  const owners = asArray(meta.ownerReferences, 'metadata.ownerReferences');
  if (owners !== undefined) for (let i = 0; i < owners.length; i++) writeOwnerReference(w, owners[i], i);
  const finalizers = asArray(meta.finalizers, 'metadata.finalizers');
  if (finalizers !== undefined) {
    for (let i = 0; i < finalizers.length; i++) {
      const f = finalizers[i];
      if (typeof f !== 'string') throw expectedType(`metadata.finalizers[${i}]`, 'a string');
      w.string(14, f);
    }
  }
  const managed = asArray(meta.managedFields, 'metadata.managedFields');
  if (managed !== undefined) for (let i = 0; i < managed.length; i++) writeManagedFieldsEntry(w, managed[i], i);
  w.endLen(start);
}

function writeOwnerReference(w: ProtoWriter, value: unknown, i: number): void {
  const path = `metadata.ownerReferences[${i}]`;
  const ref = asRecord(value, path) ?? {};
  const start = w.beginLen(13);
  w.string(1, asString(ref.kind, `${path}.kind`));
  w.string(3, asString(ref.name, `${path}.name`));
  w.string(4, asString(ref.uid, `${path}.uid`));
  w.string(5, asString(ref.apiVersion, `${path}.apiVersion`));
  const controller = asOptionalBool(ref.controller, `${path}.controller`);
  if (controller !== undefined) w.bool(6, controller);
  const block = asOptionalBool(ref.blockOwnerDeletion, `${path}.blockOwnerDeletion`);
  if (block !== undefined) w.bool(7, block);
  w.endLen(start);
}

function writeManagedFieldsEntry(w: ProtoWriter, value: unknown, i: number): void {
  const path = `metadata.managedFields[${i}]`;
  const entry = asRecord(value, path) ?? {};
  const start = w.beginLen(17);
  w.string(1, asString(entry.manager, `${path}.manager`));
  w.string(2, asString(entry.operation, `${path}.operation`));
  w.string(3, asString(entry.apiVersion, `${path}.apiVersion`));
  const time = timeSeconds(entry.time, `${path}.time`);
  if (time !== undefined) writeTime(w, 4, time);
  w.string(6, asString(entry.fieldsType, `${path}.fieldsType`));
  const fields = asRecord(entry.fieldsV1, `${path}.fieldsV1`);
  if (fields !== undefined) {
    const f = w.beginLen(7);
    w.string(1, JSON.stringify(fields));
    w.endLen(f);
  }
  w.string(8, asString(entry.subresource, `${path}.subresource`));
  w.endLen(start);
}

/**
 * Reads an ObjectMeta field. Properties appear in Go's JSON field order and only when Go's JSON encoding would emit
 * them (omitempty), so a decoded object serialises like upstream's. resourceVersion and selfLink are dropped.
 */
export function readObjectMeta(r: ProtoReader, wireType: number): ObjectMeta {
  const outer = r.enter(wireType, 'metadata');
  const where = r.where;
  r.where = 'ObjectMeta';
  let name = '';
  let generateName = '';
  let namespace = '';
  let uid = '';
  let generation = 0;
  let creationTimestamp: string | undefined;
  let deletionTimestamp: string | undefined;
  let deletionGracePeriodSeconds: number | undefined;
  let labels: Record<string, string> | undefined;
  let annotations: Record<string, string> | undefined;
  let ownerReferences: OwnerReference[] | undefined;
  let finalizers: string[] | undefined;
  let managedFields: ManagedFieldsEntry[] | undefined;
  while (r.more()) {
    const tag = r.tag();
    const wt = tag & 7;
    switch (tag >>> 3) {
      case 1: name = r.string(wt, 'name'); break;
      case 2: generateName = r.string(wt, 'generateName'); break;
      case 3: namespace = r.string(wt, 'namespace'); break;
      case 4: r.string(wt, 'selfLink'); break;
      case 5: uid = r.string(wt, 'uid'); break;
      case 6: r.string(wt, 'resourceVersion'); break;
      case 7: generation = r.int64(wt, 'generation'); break;
      case 8: creationTimestamp = readTime(r, wt, 'creationTimestamp'); break;
      case 9: deletionTimestamp = readTime(r, wt, 'deletionTimestamp'); break;
      case 10: deletionGracePeriodSeconds = r.int64(wt, 'deletionGracePeriodSeconds'); break;
      case 11: readMapEntry(r, wt, 'labels', 'ObjectMeta.labels', false, (labels ??= {})); break;
      case 12: readMapEntry(r, wt, 'annotations', 'ObjectMeta.annotations', false, (annotations ??= {})); break;
      case 13: (ownerReferences ??= []).push(readOwnerReference(r, wt)); break;
      case 14: (finalizers ??= []).push(r.string(wt, 'finalizers')); break;
      case 17: (managedFields ??= []).push(readManagedFieldsEntry(r, wt)); break;
      default: r.skip(wt, tag >>> 3);
    }
  }
  r.leave(outer);
  r.where = where;
  const meta: ObjectMeta = {};
  if (name !== '') meta.name = name;
  if (generateName !== '') meta.generateName = generateName;
  if (namespace !== '') meta.namespace = namespace;
  if (uid !== '') meta.uid = uid;
  if (generation !== 0) meta.generation = generation;
  if (creationTimestamp !== undefined) meta.creationTimestamp = creationTimestamp;
  if (deletionTimestamp !== undefined) meta.deletionTimestamp = deletionTimestamp;
  if (deletionGracePeriodSeconds !== undefined) meta.deletionGracePeriodSeconds = deletionGracePeriodSeconds;
  if (labels !== undefined) meta.labels = labels;
  if (annotations !== undefined) meta.annotations = annotations;
  if (ownerReferences !== undefined) meta.ownerReferences = ownerReferences;
  if (finalizers !== undefined) meta.finalizers = finalizers;
  if (managedFields !== undefined) meta.managedFields = managedFields;
  return meta;
}

function readOwnerReference(r: ProtoReader, wireType: number): OwnerReference {
  const outer = r.enter(wireType, 'ownerReferences');
  const where = r.where;
  r.where = 'OwnerReference';
  let kind = '';
  let name = '';
  let uid = '';
  let apiVersion = '';
  let controller: boolean | undefined;
  let blockOwnerDeletion: boolean | undefined;
  while (r.more()) {
    const tag = r.tag();
    const wt = tag & 7;
    switch (tag >>> 3) {
      case 1: kind = r.string(wt, 'kind'); break;
      case 3: name = r.string(wt, 'name'); break;
      case 4: uid = r.string(wt, 'uid'); break;
      case 5: apiVersion = r.string(wt, 'apiVersion'); break;
      case 6: controller = r.bool(wt, 'controller'); break;
      case 7: blockOwnerDeletion = r.bool(wt, 'blockOwnerDeletion'); break;
      default: r.skip(wt, tag >>> 3);
    }
  }
  r.leave(outer);
  r.where = where;
  // Go's JSON always emits these four (no omitempty).
  const ref: OwnerReference = { apiVersion, kind, name, uid };
  if (controller !== undefined) ref.controller = controller;
  if (blockOwnerDeletion !== undefined) ref.blockOwnerDeletion = blockOwnerDeletion;
  return ref;
}

function readManagedFieldsEntry(r: ProtoReader, wireType: number): ManagedFieldsEntry {
  const outer = r.enter(wireType, 'managedFields');
  const where = r.where;
  r.where = 'ManagedFieldsEntry';
  let manager = '';
  let operation = '';
  let apiVersion = '';
  let time: string | undefined;
  let fieldsType = '';
  let fieldsV1: Record<string, unknown> | undefined;
  let subresource = '';
  while (r.more()) {
    const tag = r.tag();
    const wt = tag & 7;
    switch (tag >>> 3) {
      case 1: manager = r.string(wt, 'manager'); break;
      case 2: operation = r.string(wt, 'operation'); break;
      case 3: apiVersion = r.string(wt, 'apiVersion'); break;
      case 4: time = readTime(r, wt, 'time'); break;
      case 6: fieldsType = r.string(wt, 'fieldsType'); break;
      case 7: fieldsV1 = readFieldsV1(r, wt); break;
      case 8: subresource = r.string(wt, 'subresource'); break;
      default: r.skip(wt, tag >>> 3);
    }
  }
  r.leave(outer);
  r.where = where;
  const entry: ManagedFieldsEntry = {};
  if (manager !== '') entry.manager = manager;
  if (operation !== '') entry.operation = operation;
  if (apiVersion !== '') entry.apiVersion = apiVersion;
  if (time !== undefined) entry.time = time;
  if (fieldsType !== '') entry.fieldsType = fieldsType;
  if (fieldsV1 !== undefined) entry.fieldsV1 = fieldsV1;
  if (subresource !== '') entry.subresource = subresource;
  return entry;
}

function readFieldsV1(r: ProtoReader, wireType: number): Record<string, unknown> | undefined {
  const outer = r.enter(wireType, 'fieldsV1');
  let raw = '';
  while (r.more()) {
    const tag = r.tag();
    if (tag >>> 3 === 1) raw = r.string(tag & 7, 'fieldsV1.raw');
    else r.skip(tag & 7, tag >>> 3);
  }
  r.leave(outer);
  if (raw === '') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    r.fail('raw is not valid JSON', 'fieldsV1');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) r.fail('raw is not a JSON object', 'fieldsV1');
  return parsed as Record<string, unknown>;
}

// resourceVersion is the store revision of the object's last write, never stored (k8s.io/apiserver
// pkg/storage/api_object_versioner.go). Go's ObjectMeta field order, so objects serialise the way kube's do.
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
