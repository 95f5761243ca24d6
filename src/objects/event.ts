// core/v1 Event in the JSON API shape, and its protobuf form as kube-apiserver stores it (api core/v1
// generated.proto: 1 metadata, 2 involvedObject, 3 reason, 4 message, 5 source, 6 firstTimestamp, 7 lastTimestamp,
// 8 count, 9 type, 10 eventTime, 11 series, 12 action, 13 related, 14 reportingComponent, 15 reportingInstance;
// ObjectReference 1 kind, 2 namespace, 3 name, 4 uid, 5 apiVersion, 6 resourceVersion, 7 fieldPath; EventSource
// 1 component, 2 host; EventSeries 1 count, 2 lastObservedTime; MicroTime 1 seconds, 2 nanos). As Go's marshaller
// does, non-pointer fields are always written (empty strings, zero count, empty time messages).
import { InvalidError } from '../lib/errors.js';
import { asOptionalInt64, asRecord, asString, expectedType } from './k8s-protobuf.js';
import { readObjectMeta, readTime, timeSeconds, writeObjectMeta, writeTime, type KubeObject, type ObjectMeta } from './object-meta.js';
import type { ProtoReader, ProtoWriter } from '../lib/go/protobuf-wire.js';

export interface ObjectReference {
  kind?: string;
  namespace?: string;
  name?: string;
  uid?: string;
  apiVersion?: string;
  resourceVersion?: string;
  fieldPath?: string;
}

export interface CoreEvent extends KubeObject {
  apiVersion: 'v1';
  kind: 'Event';
  metadata: ObjectMeta;
  involvedObject: ObjectReference;
  reason?: string;
  message?: string;
  source: { component?: string; host?: string };
  firstTimestamp: string | null;
  lastTimestamp: string | null;
  count?: number;
  type?: string;
  eventTime: string | null;
  series?: { count?: number; lastObservedTime: string | null };
  action?: string;
  related?: ObjectReference;
  reportingComponent: string;
  reportingInstance: string;
}

const REFERENCE_FIELDS = ['kind', 'namespace', 'name', 'uid', 'apiVersion', 'resourceVersion', 'fieldPath'] as const;
const MICRO_TIME = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/;

/** A MicroTime as seconds and nanoseconds (kept to microseconds, as Go's MicroTime keeps them). */
export function microTimeParts(value: unknown, path: string): { seconds: number; nanos: number } | undefined {
  if (value == null || value === '') return undefined;
  if (typeof value !== 'string') throw expectedType(path, 'an RFC 3339 time string');
  const m = MICRO_TIME.exec(value);
  const ms = m ? Date.parse(`${m[1]}${m[3]}`) : NaN;
  if (!m || Number.isNaN(ms)) throw new InvalidError('must be an RFC 3339 time such as "2023-09-01T15:56:49.123456Z"', { field: path });
  const micros = Number((m[2] ?? '').padEnd(6, '0').slice(0, 6));
  return { seconds: Math.floor(ms / 1000), nanos: micros * 1000 };
}

/** Go's MicroTime JSON form: `2006-01-02T15:04:05.000000Z` in UTC. */
export function formatMicroTime(seconds: number, nanos: number): string {
  const base = new Date(seconds * 1000).toISOString().slice(0, 19);
  return `${base}.${String(Math.floor(nanos / 1000)).padStart(6, '0')}Z`;
}

function writeMicroTime(w: ProtoWriter, field: number, value: unknown, path: string): void {
  const parts = microTimeParts(value, path);
  const start = w.beginLen(field);
  if (parts) {
    w.int64(1, parts.seconds);
    w.int64(2, parts.nanos);
  }
  w.endLen(start);
}

function readMicroTime(r: ProtoReader, wireType: number, field: string): string | null {
  const outer = r.enter(wireType, field);
  let seconds = 0;
  let nanos = 0;
  let any = false;
  while (r.more()) {
    const tag = r.tag();
    const f = tag >>> 3;
    any = true;
    if (f === 1) seconds = r.int64(tag & 7, 'seconds');
    else if (f === 2) nanos = r.int64(tag & 7, 'nanos');
    else r.skip(tag & 7, f);
  }
  r.leave(outer);
  return any ? formatMicroTime(seconds, nanos) : null;
}

function writeReference(w: ProtoWriter, field: number, value: unknown, path: string): void {
  const ref = asRecord(value, path) ?? {};
  const start = w.beginLen(field);
  REFERENCE_FIELDS.forEach((name, i) => w.string(i + 1, asString(ref[name], `${path}.${name}`)));
  w.endLen(start);
}

function readReference(r: ProtoReader, wireType: number, field: string): ObjectReference {
  const outer = r.enter(wireType, field);
  const values: Record<string, string> = {};
  while (r.more()) {
    const tag = r.tag();
    const f = tag >>> 3;
    const name = REFERENCE_FIELDS[f - 1];
    if (name) values[name] = r.string(tag & 7, name);
    else r.skip(tag & 7, f);
  }
  r.leave(outer);
  const out: ObjectReference = {};
  for (const name of REFERENCE_FIELDS) if (values[name]) out[name] = values[name];
  return out;
}

function int32(value: unknown, path: string): number {
  const n = asOptionalInt64(value, path) ?? 0;
  if (n < -2147483648 || n > 2147483647) throw new InvalidError('must fit in 32 bits', { field: path });
  return n;
}

export function writeEvent(w: ProtoWriter, event: Record<string, unknown>): void {
  writeObjectMeta(w, 1, event.metadata);
  writeReference(w, 2, event.involvedObject, 'involvedObject');
  w.string(3, asString(event.reason, 'reason'));
  w.string(4, asString(event.message, 'message'));
  const source = asRecord(event.source, 'source') ?? {};
  const s = w.beginLen(5);
  w.string(1, asString(source.component, 'source.component'));
  w.string(2, asString(source.host, 'source.host'));
  w.endLen(s);
  writeTime(w, 6, timeSeconds(event.firstTimestamp, 'firstTimestamp'));
  writeTime(w, 7, timeSeconds(event.lastTimestamp, 'lastTimestamp'));
  w.int64(8, int32(event.count, 'count'));
  w.string(9, asString(event.type, 'type'));
  writeMicroTime(w, 10, event.eventTime, 'eventTime');
  const series = asRecord(event.series, 'series');
  if (series !== undefined) {
    const start = w.beginLen(11);
    w.int64(1, int32(series.count, 'series.count'));
    writeMicroTime(w, 2, series.lastObservedTime, 'series.lastObservedTime');
    w.endLen(start);
  }
  w.string(12, asString(event.action, 'action'));
  if (event.related != null) writeReference(w, 13, event.related, 'related');
  w.string(14, asString(event.reportingComponent, 'reportingComponent'));
  w.string(15, asString(event.reportingInstance, 'reportingInstance'));
}

/** Reads the Event message; properties in Go's JSON order, with the nulls and empty strings Go's JSON writes. */
export function readEvent(r: ProtoReader): CoreEvent {
  r.where = 'Event';
  let metadata: ObjectMeta = {};
  let involvedObject: ObjectReference = {};
  const strings: Record<string, string> = {};
  let source: { component?: string; host?: string } = {};
  let firstTimestamp: string | null = null;
  let lastTimestamp: string | null = null;
  let count = 0;
  let eventTime: string | null = null;
  let series: CoreEvent['series'];
  let related: ObjectReference | undefined;
  while (r.more()) {
    const tag = r.tag();
    const wt = tag & 7;
    switch (tag >>> 3) {
      case 1: metadata = readObjectMeta(r, wt); break;
      case 2: involvedObject = readReference(r, wt, 'involvedObject'); break;
      case 3: strings.reason = r.string(wt, 'reason'); break;
      case 4: strings.message = r.string(wt, 'message'); break;
      case 5: {
        const outer = r.enter(wt, 'source');
        const src: { component?: string; host?: string } = {};
        while (r.more()) {
          const t = r.tag();
          if (t >>> 3 === 1) src.component = r.string(t & 7, 'component');
          else if (t >>> 3 === 2) src.host = r.string(t & 7, 'host');
          else r.skip(t & 7, t >>> 3);
        }
        r.leave(outer);
        source = { ...(src.component ? { component: src.component } : {}), ...(src.host ? { host: src.host } : {}) };
        break;
      }
      case 6: firstTimestamp = readTime(r, wt, 'firstTimestamp') ?? null; break;
      case 7: lastTimestamp = readTime(r, wt, 'lastTimestamp') ?? null; break;
      case 8: count = r.int64(wt, 'count'); break;
      case 9: strings.type = r.string(wt, 'type'); break;
      case 10: eventTime = readMicroTime(r, wt, 'eventTime'); break;
      case 11: {
        const outer = r.enter(wt, 'series');
        let c = 0;
        let last: string | null = null;
        while (r.more()) {
          const t = r.tag();
          if (t >>> 3 === 1) c = r.int64(t & 7, 'count');
          else if (t >>> 3 === 2) last = readMicroTime(r, t & 7, 'lastObservedTime');
          else r.skip(t & 7, t >>> 3);
        }
        r.leave(outer);
        series = { ...(c ? { count: c } : {}), lastObservedTime: last };
        break;
      }
      case 12: strings.action = r.string(wt, 'action'); break;
      case 13: related = readReference(r, wt, 'related'); break;
      case 14: strings.reportingComponent = r.string(wt, 'reportingComponent'); break;
      case 15: strings.reportingInstance = r.string(wt, 'reportingInstance'); break;
      default: r.skip(wt, tag >>> 3);
    }
  }
  return {
    kind: 'Event',
    apiVersion: 'v1',
    metadata,
    involvedObject,
    ...(strings.reason ? { reason: strings.reason } : {}),
    ...(strings.message ? { message: strings.message } : {}),
    source,
    firstTimestamp,
    lastTimestamp,
    ...(count ? { count } : {}),
    ...(strings.type ? { type: strings.type } : {}),
    eventTime,
    ...(series ? { series } : {}),
    ...(strings.action ? { action: strings.action } : {}),
    ...(related ? { related } : {}),
    reportingComponent: strings.reportingComponent ?? '',
    reportingInstance: strings.reportingInstance ?? '',
  };
}
