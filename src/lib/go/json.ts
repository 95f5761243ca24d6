// Go's encoding/json text, the one encoder for every place whose output a Go program would have written: the API
// server's JSON storage encoding and server-side apply's last-applied annotation (k8s.io/apimachinery
// pkg/runtime/serializer/json), ESO's whole-secret JSON for vault (json.Marshal of a map) and sprig's toJson family.
// Where it differs from JSON.stringify (Go's encoding/json encode.go, appendString):
//   - `<`, `>` and `&` are written as \u003c, \u003e, \u0026 unless HTML escaping is off (json.Encoder.SetEscapeHTML);
//   - U+2028 and U+2029 are always written as \u2028 and \u2029, even with HTML escaping off;
//   - a lone surrogate (invalid UTF-8 to Go) is written as \ufffd, where JSON.stringify keeps it as \udXXX;
//   - map keys are sorted bytewise (UTF-8 order), unless the object stands for a Go struct (fields in their order);
//   - -0 is "-0" and a byte array ([]byte) is its standard base64 text.
import { sortedKeys } from './string-order.js';

export interface MarshalOptions {
  /** false: json.Encoder with SetEscapeHTML(false) (sprig's toRawJson). Default true, as json.Marshal. */
  escapeHTML?: boolean;
  /** Objects stand for Go structs: fields are written in the order given instead of sorted like a map's keys. */
  structOrder?: boolean;
  /** json.MarshalIndent's indent (prefix ""), as sprig's toPrettyJson uses "  ". */
  indent?: string;
}

// Strings with none of these are written the same by JSON.stringify and by Go (the common, fast case).
const GO_DIFFERS_HTML = /[<>&\u2028\u2029\ud800-\udfff]/;
const GO_DIFFERS_RAW = /[\u2028\u2029\ud800-\udfff]/;

function goString(s: string, escapeHTML: boolean): string {
  if (!(escapeHTML ? GO_DIFFERS_HTML : GO_DIFFERS_RAW).test(s)) return JSON.stringify(s);
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22) out += '\\"';
    else if (c === 0x5c) out += '\\\\';
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x0d) out += '\\r';
    else if (c === 0x09) out += '\\t';
    else if (c === 0x08) out += '\\b';
    else if (c === 0x0c) out += '\\f';
    else if (c < 0x20 || c === 0x2028 || c === 0x2029 || (escapeHTML && (c === 0x3c || c === 0x3e || c === 0x26))) {
      out += `\\u${c.toString(16).padStart(4, '0')}`;
    } else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && s.charCodeAt(i + 1) >= 0xdc00 && s.charCodeAt(i + 1) <= 0xdfff) {
      out += s[i]! + s[i + 1]!;
      i++;
    } else if (c >= 0xd800 && c <= 0xdfff) {
      out += '\\ufffd'; // a lone surrogate is invalid UTF-8 to Go
    } else out += s[i]!;
  }
  return `${out}"`;
}

/**
 * The JSON text Go writes for `value` (json.Marshal; no trailing newline, which json.Encoder adds). Non-finite numbers
 * are written as null, as JSON.stringify does (Go would refuse them; no caller hands one over). `undefined` object
 * members are left out.
 */
export function marshalJson(value: unknown, opts: MarshalOptions = {}): string {
  const escapeHTML = opts.escapeHTML ?? true;
  const indent = opts.indent ?? '';
  const encode = (v: unknown, depth: number): string => {
    if (v === null || v === undefined) return 'null';
    if (typeof v === 'string') return goString(v, escapeHTML);
    if (typeof v === 'number') return Number.isFinite(v) ? (Object.is(v, -0) ? '-0' : String(v)) : 'null';
    if (typeof v === 'boolean') return String(v);
    if (v instanceof Uint8Array) return `"${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64')}"`;
    const inner = indent ? `\n${indent.repeat(depth + 1)}` : '';
    const close = indent ? `\n${indent.repeat(depth)}` : '';
    const colon = indent ? ': ' : ':';
    if (Array.isArray(v)) {
      if (v.length === 0) return '[]';
      return `[${inner}${v.map((e) => encode(e, depth + 1)).join(`,${inner}`)}${close}]`;
    }
    const obj = v as Record<string, unknown>;
    const members: string[] = [];
    for (const k of opts.structOrder ? Object.keys(obj) : sortedKeys(obj)) {
      if (obj[k] !== undefined) members.push(`${goString(k, escapeHTML)}${colon}${encode(obj[k], depth + 1)}`);
    }
    if (members.length === 0) return '{}';
    return `{${inner}${members.join(`,${inner}`)}${close}}`;
  };
  return encode(value, 0);
}
