// kube-apiserver's protobuf storage format (apimachinery runtime/serializer/protobuf): the magic `k8s\0` followed by a
// runtime.Unknown {1 typeMeta {1 apiVersion, 2 kind}, 2 raw, 3 contentEncoding, 4 contentType}, plus the conventions
// the gogo-generated marshallers of the API types follow, shared by the per-kind codecs.
import { InvalidError } from '../lib/errors.js';
import { sortedKeys } from '../lib/go/string-order.js';
import { goBase64ErrorOffset, illegalBase64Message } from './go-base64.js';
import type { ProtoReader, ProtoWriter } from '../lib/go/protobuf-wire.js';

/** "k8s" and encoding style 0x00, the only style defined upstream. */
export const K8S_PROTOBUF_MAGIC: readonly number[] = [0x6b, 0x38, 0x73, 0x00];

export function hasK8sProtobufMagic(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x6b && bytes[1] === 0x38 && bytes[2] === 0x73 && bytes[3] === 0x00;
}

/** Writes the magic, typeMeta and the start of raw; the caller writes the object's own message, then ends it. */
export function beginK8sEnvelope(w: ProtoWriter, apiVersion: string, kind: string): number {
  w.raw(K8S_PROTOBUF_MAGIC);
  const typeMeta = w.beginLen(1);
  w.string(1, apiVersion);
  w.string(2, kind);
  w.endLen(typeMeta);
  return w.beginLen(2);
}

/** contentEncoding and contentType are proto2 strings the Go marshaller always emits, empty. */
export function endK8sEnvelope(w: ProtoWriter, rawStart: number): void {
  w.endLen(rawStart);
  w.string(3, '');
  w.string(4, '');
}

export interface K8sEnvelope {
  apiVersion: string;
  kind: string;
  /** Offsets of the object's own message inside the reader's buffer. */
  rawStart: number;
  rawEnd: number;
}

/** Reads runtime.Unknown after the magic. contentEncoding/contentType are ignored, as upstream's decoder does. */
export function readK8sEnvelope(r: ProtoReader): K8sEnvelope {
  r.where = 'runtime.Unknown';
  let apiVersion = '';
  let kind = '';
  let rawStart = r.pos;
  let rawEnd = r.pos;
  while (r.more()) {
    const tag = r.tag();
    const wt = tag & 7;
    switch (tag >>> 3) {
      case 1: {
        const outer = r.enter(wt, 'typeMeta');
        r.where = 'runtime.Unknown.typeMeta';
        while (r.more()) {
          const t = r.tag();
          const f = t >>> 3;
          if (f === 1) apiVersion = r.string(t & 7, 'apiVersion');
          else if (f === 2) kind = r.string(t & 7, 'kind');
          else r.skip(t & 7, f);
        }
        r.leave(outer);
        r.where = 'runtime.Unknown';
        break;
      }
      case 2:
        rawEnd = r.lengthDelimited(wt, 'raw');
        rawStart = r.pos;
        r.pos = rawEnd;
        break;
      case 3:
        r.string(wt, 'contentEncoding');
        break;
      case 4:
        r.string(wt, 'contentType');
        break;
      default:
        r.skip(wt, tag >>> 3);
    }
  }
  if (kind === '') r.fail('typeMeta has no kind');
  if (apiVersion === '') r.fail('typeMeta has no apiVersion');
  return { apiVersion, kind, rawStart, rawEnd };
}

// ---- conventions shared by the per-kind codecs ----
// Inputs are JSON API shapes that may come straight from a request body or a JSON-stored value, so every field is
// type-checked here; `null` means absent, as it does for Go's JSON decoder. Errors name the field, never the value.

export function expectedType(path: string, what: string): InvalidError {
  return new InvalidError(`must be ${what}`, { field: path });
}

export function asString(value: unknown, path: string): string {
  if (value == null) return '';
  if (typeof value !== 'string') throw expectedType(path, 'a string');
  return value;
}

export function asOptionalBool(value: unknown, path: string): boolean | undefined {
  if (value == null) return undefined;
  if (typeof value !== 'boolean') throw expectedType(path, 'a boolean');
  return value;
}

export function asOptionalInt64(value: unknown, path: string): number | undefined {
  if (value == null) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw expectedType(path, 'an integer within ±2^53');
  return value;
}

export function asRecord(value: unknown, path: string): Record<string, unknown> | undefined {
  if (value == null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) throw expectedType(path, 'an object');
  return value as Record<string, unknown>;
}

export function asArray(value: unknown, path: string): readonly unknown[] | undefined {
  if (value == null) return undefined;
  if (!Array.isArray(value)) throw expectedType(path, 'an array');
  return value as unknown[];
}

/** map<string,string>: each entry {1 key, 2 value}, both always written. */
export function writeStringMap(w: ProtoWriter, field: number, value: unknown, path: string): void {
  const map = asRecord(value, path);
  if (map === undefined) return;
  for (const key of sortedKeys(map)) {
    const v = map[key];
    if (typeof v !== 'string') throw expectedType(`${path}[${key}]`, 'a string');
    const entry = w.beginLen(field);
    w.string(1, key);
    w.string(2, v);
    w.endLen(entry);
  }
}

/**
 * map<string,bytes> from base64 JSON values. The value is written even when empty: a JSON "" decodes to a non-nil
 * empty Go slice, which gogo emits (it omits only nil).
 */
export function writeBase64Map(w: ProtoWriter, field: number, value: unknown, path: string): void {
  const map = asRecord(value, path);
  if (map === undefined) return;
  for (const key of sortedKeys(map)) {
    const v = map[key];
    if (typeof v !== 'string') throw expectedType(`${path}[${key}]`, 'a base64 string');
    const entry = w.beginLen(field);
    w.string(1, key);
    // Fast path: plain padded base64. Otherwise Go's decoder decides: CR and LF are skipped, anything else is its
    // CorruptInputError, which kube answers without naming the field (`illegal base64 data at input byte 4`).
    if (!w.bytesFromBase64(2, v)) {
      const offset = goBase64ErrorOffset(v);
      if (offset !== undefined) throw new InvalidError(illegalBase64Message(offset));
      if (!w.bytesFromBase64(2, v.replace(/[\r\n]/g, ''))) throw expectedType(`${path}[${key}]`, 'standard base64 with padding');
    }
    w.endLen(entry);
  }
}

/** Assigns without ever touching a prototype, since keys come from stored data (`__proto__` is a valid label key). */
export function setOwn(target: Record<string, string>, key: string, value: string): void {
  if (key === '__proto__') Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

/**
 * Reads one map entry message into target. A missing key or value reads as empty, as the gogo unmarshallers do
 * (a bytes value starts as an empty slice).
 */
export function readMapEntry(
  r: ProtoReader,
  wireType: number,
  field: string,
  entryWhere: string,
  bytesValues: boolean,
  target: Record<string, string>,
): void {
  const outer = r.enter(wireType, field);
  const where = r.where;
  r.where = entryWhere;
  let key = '';
  let value = '';
  while (r.more()) {
    const tag = r.tag();
    const f = tag >>> 3;
    if (f === 1) key = r.string(tag & 7, 'key');
    else if (f === 2) value = bytesValues ? r.base64(tag & 7, 'value') : r.string(tag & 7, 'value');
    else r.skip(tag & 7, f);
  }
  r.leave(outer);
  r.where = where;
  setOwn(target, key, value);
}
