// Long: the function table of the template engine, one short entry per sprig/ESO function.
// The template functions Coffer implements, with sprig's argument order (the piped value comes last) and sprig's
// quirks where users rely on them (b64dec returns the error text instead of failing; toJson does not HTML-escape
// like json.Marshal does... see each function). The list is in docs/external-secrets.md; anything else is a parse
// error naming the function, never a silent empty string.
import { createHash } from 'node:crypto';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { decodeBase32Std, decodeBase64Std, decodeHex, encodeBase32Std, GoDecodeError } from '../../lib/go/encoding.js';
import { marshalJson } from '../../lib/go/json.js';
import { decodePem, encodePem } from '../../lib/go/pem.js';
import { GoRegexp, quoteMeta } from '../../lib/go/regexp.js';
import {
  certSANs, filterCertChain, fullPemToPkcs12Pass, jwkPrivateKeyPem, jwkPublicKeyPem, pemToPkcs12Pass, pemTruststoreToPkcs12Pass, pkcs12certPass,
  pkcs12keyPass, rsaDecrypt,
} from './eso-crypto-functions.js';
import { formatUrl, hostname, parseUrl, userinfoString } from './go-url.js';
import { formatGoTime, goTimeString } from './go-time.js';
import { parseConstraints, parseVersion, satisfies } from './semver.js';
import { sprigCryptoFunctions } from './sprig-crypto-functions.js';
import { sprigFunctions } from './sprig-functions.js';

/** The largest string or list a function builds from a count (repeat, until, seq...), as the output limit. */
export const MAX_BUILT_VALUE_BYTES = 1024 * 1024;

/** Functions whose cost is fixed and high (key generation, bcrypt, scrypt): bounded by count, not by the time limit. */
export const FIXED_COST_FUNCTIONS: ReadonlySet<string> = new Set([
  'bcrypt', 'htpasswd', 'derivePassword', 'genPrivateKey', 'genCA', 'genCAWithKey', 'genSelfSignedCert',
  'genSelfSignedCertWithKey', 'genSignedCert', 'genSignedCertWithKey', 'pemToPkcs12', 'pemToPkcs12Pass', 'fullPemToPkcs12',
  'fullPemToPkcs12Pass', 'pemTruststoreToPKCS12', 'pemTruststoreToPKCS12Pass',
]);
export const MAX_FIXED_COST_CALLS = 8;

/** Template data: text, bytes, numbers, booleans, nil, lists, maps, and time values (sprig's now, as Go's time.Time). */
export type TemplateValue = string | Buffer | number | boolean | null | Date | TemplateValue[] | { [key: string]: TemplateValue };
export type TemplateFunction = (...args: TemplateValue[]) => TemplateValue;

/** Bytes become a string when they are UTF-8 (so string functions work); otherwise they stay bytes. */
export function bytesToValue(bytes: Uint8Array): string | Buffer {
  const buf = Buffer.from(bytes);
  const text = buf.toString('utf8');
  return Buffer.from(text, 'utf8').equals(buf) ? text : buf;
}

/** How Go prints a value into template output (fmt %v), as bytes. */
export function formatValue(v: TemplateValue): Buffer {
  return Buffer.isBuffer(v) ? v : Buffer.from(formatText(v));
}

function formatText(v: TemplateValue): string {
  if (v === null) return '<no value>';
  if (typeof v === 'string') return v;
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  if (typeof v === 'number') return formatNumber(v);
  if (typeof v === 'boolean') return String(v);
  if (v instanceof Date) return goTimeString(v);
  if (Array.isArray(v)) return `[${v.map(formatText).join(' ')}]`;
  return `map[${Object.keys(v).sort().map((k) => `${k}:${formatText(v[k]!)}`).join(' ')}]`;
}

/** Go's %v of a float64: shortest representation, exponent form from 1e21 (strconv 'g' with large exponent). */
function formatNumber(n: number): string {
  if (Number.isInteger(n) && Math.abs(n) < 1e21) return String(n);
  return String(n).replace(/e\+?(-?)(\d)$/, 'e+$10$2').replace('e+-', 'e-');
}

export function isTruthy(v: TemplateValue): boolean {
  if (v instanceof Date) return true; // a struct is never empty in text/template
  if (v === null || v === false || v === 0 || v === '') return false;
  if (Buffer.isBuffer(v)) return v.length > 0;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object') return Object.keys(v).length > 0;
  return true;
}

function str(v: TemplateValue | undefined): string {
  if (v === undefined || v === null) return '';
  return formatText(v);
}

function bytes(v: TemplateValue | undefined): Buffer {
  return Buffer.isBuffer(v) ? v : Buffer.from(str(v));
}

/** Go's int conversion of sprig's toInt: whole numbers only. */
function int(v: TemplateValue | undefined): number {
  return Math.trunc(num(v));
}

function num(v: TemplateValue | undefined): number {
  const n = typeof v === 'number' ? v : Number(str(v));
  return Number.isFinite(n) ? n : 0;
}

function arity(name: string, args: TemplateValue[], n: number): void {
  if (args.length !== n) throw new Error(`wrong number of args for ${name}: want ${n} got ${args.length}`);
}

/** JSON without Go's HTML escaping (sprig's toJson uses json.Marshal, which escapes; mustToRawJson does not). */
function toJsonValue(v: TemplateValue): unknown {
  if (v instanceof Date) return formatGoTime(v, '2006-01-02T15:04:05.999999999Z07:00', 'UTC'); // time.Time's MarshalJSON
  if (Buffer.isBuffer(v)) return v.toString('base64'); // json.Marshal of []byte
  if (Array.isArray(v)) return v.map(toJsonValue);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) out[k] = toJsonValue(v[k]!);
    return out;
  }
  return v;
}

function fromJsonValue(v: unknown): TemplateValue {
  if (Array.isArray(v)) return v.map(fromJsonValue);
  if (v && typeof v === 'object') {
    const out: Record<string, TemplateValue> = {};
    for (const [k, e] of Object.entries(v)) out[k] = fromJsonValue(e);
    return out;
  }
  return v as TemplateValue;
}

function compare(a: TemplateValue, b: TemplateValue): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  const sa = str(a);
  const sb = str(b);
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}

function equal(a: TemplateValue, b: TemplateValue): boolean {
  if (Buffer.isBuffer(a) || Buffer.isBuffer(b)) return bytes(a).equals(bytes(b));
  return typeof a === 'object' || typeof b === 'object' ? JSON.stringify(a) === JSON.stringify(b) : a === b;
}

function sprintf(format: string, args: TemplateValue[]): string {
  let i = 0;
  return format.replace(/%([-+# 0]*\d*(?:\.\d+)?)([vsdqxXtf%])/g, (_all, _flags: string, verb: string) => {
    if (verb === '%') return '%';
    const a = args[i++];
    if (a === undefined) return `%!${verb}(MISSING)`;
    switch (verb) {
      case 'd':
        return String(Math.trunc(num(a)));
      case 'q':
        return JSON.stringify(str(a));
      case 'x':
        return bytes(a).toString('hex');
      case 'X':
        return bytes(a).toString('hex').toUpperCase();
      case 'f':
        return num(a).toFixed(6);
      default:
        return str(a);
    }
  });
}

const fns: Record<string, TemplateFunction> = {
  // encoding
  b64enc: (...a) => (arity('b64enc', a, 1), bytes(a[0]).toString('base64')),
  // sprig prints the decoder's error text into the value instead of failing; templates are written for that.
  b64dec: (...a) => (arity('b64dec', a, 1), goDecodeOrText(() => decodeBase64Std(str(a[0])))),
  b32enc: (...a) => (arity('b32enc', a, 1), encodeBase32Std(bytes(a[0]))),
  b32dec: (...a) => (arity('b32dec', a, 1), goDecodeOrText(() => decodeBase32Std(str(a[0])))),
  hexdec: (...a) => (arity('hexdec', a, 1), goDecodeOrText(() => decodeHex(str(a[0])))),
  // strings
  upper: (...a) => (arity('upper', a, 1), str(a[0]).toUpperCase()),
  lower: (...a) => (arity('lower', a, 1), str(a[0]).toLowerCase()),
  title: (...a) => (arity('title', a, 1), str(a[0]).replace(/(^|[^\p{L}\p{N}_'])(\p{L})/gu, (_, p: string, c: string) => p + c.toUpperCase())),
  trim: (...a) => (arity('trim', a, 1), str(a[0]).trim()),
  trimAll: (...a) => (arity('trimAll', a, 2), trimChars(str(a[1]), str(a[0]))),
  trimall: (...a) => (arity('trimall', a, 2), trimChars(str(a[1]), str(a[0]))),
  trimPrefix: (...a) => (arity('trimPrefix', a, 2), str(a[1]).startsWith(str(a[0])) ? str(a[1]).slice(str(a[0]).length) : str(a[1])),
  trimSuffix: (...a) => (arity('trimSuffix', a, 2), str(a[0]) !== '' && str(a[1]).endsWith(str(a[0])) ? str(a[1]).slice(0, -str(a[0]).length) : str(a[1])),
  nospace: (...a) => (arity('nospace', a, 1), str(a[0]).replace(/\s/g, '')),
  quote: (...a) => a.filter((v) => v !== null).map((v) => JSON.stringify(str(v))).join(' '),
  squote: (...a) => a.filter((v) => v !== null).map((v) => `'${str(v)}'`).join(' '),
  cat: (...a) => a.filter((v) => v !== null).map(str).join(' '),
  replace: (...a) => (arity('replace', a, 3), str(a[2]).split(str(a[0])).join(str(a[1]))),
  repeat: (...a) => {
    arity('repeat', a, 2);
    const count = Math.max(0, int(a[0]));
    const s = str(a[1]);
    // Refused before building: the executor's size check only sees values that exist.
    if (s.length * count > MAX_BUILT_VALUE_BYTES) throw new Error(`repeat would build ${s.length * count} bytes, the limit is ${MAX_BUILT_VALUE_BYTES}`);
    return s.repeat(count);
  },
  substr: (...a) => {
    arity('substr', a, 3);
    const s = str(a[2]);
    const start = num(a[0]);
    const end = num(a[1]);
    return start < 0 ? s.slice(0, end) : end < 0 || end > s.length ? s.slice(start) : s.slice(start, end);
  },
  trunc: (...a) => (arity('trunc', a, 2), num(a[0]) >= 0 ? str(a[1]).slice(0, num(a[0])) : str(a[1]).slice(num(a[0]))),
  contains: (...a) => (arity('contains', a, 2), str(a[1]).includes(str(a[0]))),
  hasPrefix: (...a) => (arity('hasPrefix', a, 2), str(a[1]).startsWith(str(a[0]))),
  hasSuffix: (...a) => (arity('hasSuffix', a, 2), str(a[1]).endsWith(str(a[0]))),
  indent: (...a) => (arity('indent', a, 2), indent(num(a[0]), str(a[1]))),
  nindent: (...a) => (arity('nindent', a, 2), '\n' + indent(num(a[0]), str(a[1]))),
  split: (...a) => {
    arity('split', a, 2);
    const out: Record<string, TemplateValue> = {};
    str(a[1]).split(str(a[0])).forEach((p, i) => (out[`_${i}`] = p));
    return out;
  },
  splitList: (...a) => (arity('splitList', a, 2), str(a[1]).split(str(a[0]))),
  join: (...a) => {
    arity('join', a, 2);
    const l = a[1]!;
    return (Array.isArray(l) ? (l) : [l]).map(str).join(str(a[0]));
  },
  // hashes
  sha1sum: (...a) => (arity('sha1sum', a, 1), createHash('sha1').update(bytes(a[0])).digest('hex')),
  sha256sum: (...a) => (arity('sha256sum', a, 1), createHash('sha256').update(bytes(a[0])).digest('hex')),
  sha512sum: (...a) => (arity('sha512sum', a, 1), createHash('sha512').update(bytes(a[0])).digest('hex')),
  // defaults and JSON/YAML
  default: (...a) => {
    if (a.length < 1 || a.length > 2) throw new Error(`wrong number of args for default: want 1 or 2 got ${a.length}`);
    return a.length === 2 && isTruthy(a[1]!) ? a[1]! : a[0]!;
  },
  empty: (...a) => (arity('empty', a, 1), !isTruthy(a[0]!)),
  coalesce: (...a) => a.find(isTruthy) ?? null,
  ternary: (...a) => (arity('ternary', a, 3), isTruthy(a[2]!) ? a[0]! : a[1]!),
  toJson: (...a) => (arity('toJson', a, 1), marshalJson(toJsonValue(a[0]!))),
  toRawJson: (...a) => (arity('toRawJson', a, 1), marshalJson(toJsonValue(a[0]!), { escapeHTML: false })),
  toPrettyJson: (...a) => (arity('toPrettyJson', a, 1), marshalJson(toJsonValue(a[0]!), { indent: '  ' })),
  fromJson: (...a) => {
    arity('fromJson', a, 1);
    try {
      return fromJsonValue(JSON.parse(str(a[0])));
    } catch {
      return {}; // sprig's fromJson swallows errors; mustFromJson reports them
    }
  },
  mustFromJson: (...a) => (arity('mustFromJson', a, 1), fromJsonValue(JSON.parse(str(a[0])))),
  toYaml: (...a) => (arity('toYaml', a, 1), stringifyYaml(toJsonValue(a[0]!)).replace(/\n$/, '')),
  fromYaml: (...a) => {
    arity('fromYaml', a, 1);
    try {
      return fromJsonValue(parseYaml(str(a[0])));
    } catch (e) {
      return { Error: (e as Error).message };
    }
  },
  // lists and dicts
  list: (...a) => a,
  dict: (...a) => {
    const out: Record<string, TemplateValue> = {};
    for (let i = 0; i < a.length; i += 2) out[str(a[i])] = a[i + 1] ?? '';
    return out;
  },
  get: (...a) => (arity('get', a, 2), objectOf(a[0])[str(a[1])] ?? ''),
  hasKey: (...a) => (arity('hasKey', a, 2), Object.hasOwn(objectOf(a[0]), str(a[1]))),
  keys: (...a) => a.flatMap((d) => Object.keys(objectOf(d))).sort(),
  values: (...a) => (arity('values', a, 1), Object.values(objectOf(a[0]))),
  first: (...a) => {
    arity('first', a, 1);
    const l = a[0];
    return Array.isArray(l) ? (l)[0] ?? null : null;
  },
  last: (...a) => {
    arity('last', a, 1);
    const l = a[0];
    return Array.isArray(l) ? (l)[l.length - 1] ?? null : null;
  },
  // text/template builtins
  index: (...a) => {
    let v = a[0] ?? null;
    for (const k of a.slice(1)) {
      if (Array.isArray(v)) v = v[num(k)] ?? null;
      else if (v && typeof v === 'object' && !Buffer.isBuffer(v) && !(v instanceof Date)) {
        // index on a map with a missing key yields the zero value; ESO templates use it for keys with dashes.
        v = Object.hasOwn(v, str(k)) ? v[str(k)]! : null;
      } else throw new Error(`can't index item of type ${typeof v}`);
    }
    return v;
  },
  len: (...a) => {
    arity('len', a, 1);
    const v = a[0]!;
    if (typeof v === 'string') return Buffer.byteLength(v);
    if (Buffer.isBuffer(v) || Array.isArray(v)) return v.length;
    if (v && typeof v === 'object') return Object.keys(v).length;
    throw new Error(`len of type ${typeof v}`);
  },
  print: (...a) => a.map(str).join(''),
  println: (...a) => a.map(str).join(' ') + '\n',
  printf: (...a) => sprintf(str(a[0]), a.slice(1)),
  not: (...a) => (arity('not', a, 1), !isTruthy(a[0]!)),
  and: (...a) => a.find((v) => !isTruthy(v)) ?? a[a.length - 1] ?? null,
  or: (...a) => a.find(isTruthy) ?? a[a.length - 1] ?? null,
  eq: (...a) => a.slice(1).some((b) => equal(a[0]!, b)),
  ne: (...a) => (arity('ne', a, 2), !equal(a[0]!, a[1]!)),
  lt: (...a) => (arity('lt', a, 2), compare(a[0]!, a[1]!) < 0),
  le: (...a) => (arity('le', a, 2), compare(a[0]!, a[1]!) <= 0),
  gt: (...a) => (arity('gt', a, 2), compare(a[0]!, a[1]!) > 0),
  ge: (...a) => (arity('ge', a, 2), compare(a[0]!, a[1]!) >= 0),
  urlquery: (...a) => encodeURIComponent(a.map(str).join('')).replace(/%20/g, '+'),
  // regex: Go's regexp on RE2 (linear time), with sprig's error behaviour: regexMatch answers false for a bad
  // pattern, the others fail as regexp.MustCompile's panic does, and the must* forms return the error.
  regexMatch: (...a) => (arity('regexMatch', a, 2), safeCompile(a[0])?.test(str(a[1])) ?? false),
  mustRegexMatch: (...a) => (arity('mustRegexMatch', a, 2), GoRegexp.compile(str(a[0])).test(str(a[1]))),
  regexFind: (...a) => (arity('regexFind', a, 2), mustCompile(a[0]).findString(str(a[1]))),
  mustRegexFind: (...a) => (arity('mustRegexFind', a, 2), GoRegexp.compile(str(a[0])).findString(str(a[1]))),
  regexFindAll: (...a) => (arity('regexFindAll', a, 3), mustCompile(a[0]).findAllString(str(a[1]), int(a[2]))),
  mustRegexFindAll: (...a) => (arity('mustRegexFindAll', a, 3), GoRegexp.compile(str(a[0])).findAllString(str(a[1]), int(a[2]))),
  regexReplaceAll: (...a) => (arity('regexReplaceAll', a, 3), mustCompile(a[0]).replaceAllString(str(a[1]), str(a[2]))),
  mustRegexReplaceAll: (...a) => (arity('mustRegexReplaceAll', a, 3), GoRegexp.compile(str(a[0])).replaceAllString(str(a[1]), str(a[2]))),
  regexReplaceAllLiteral: (...a) => (arity('regexReplaceAllLiteral', a, 3), mustCompile(a[0]).replaceAllLiteralString(str(a[1]), str(a[2]))),
  mustRegexReplaceAllLiteral: (...a) => (arity('mustRegexReplaceAllLiteral', a, 3), GoRegexp.compile(str(a[0])).replaceAllLiteralString(str(a[1]), str(a[2]))),
  regexSplit: (...a) => (arity('regexSplit', a, 3), mustCompile(a[0]).split(str(a[1]), int(a[2]))),
  mustRegexSplit: (...a) => (arity('mustRegexSplit', a, 3), GoRegexp.compile(str(a[0])).split(str(a[1]), int(a[2]))),
  regexQuoteMeta: (...a) => (arity('regexQuoteMeta', a, 1), quoteMeta(str(a[0]))),
  // numbers
  add: (...a) => a.reduce<number>((s, v) => s + num(v), 0),
  add1: (...a) => (arity('add1', a, 1), num(a[0]) + 1),
  sub: (...a) => (arity('sub', a, 2), num(a[0]) - num(a[1])),
  mul: (...a) => a.reduce<number>((s, v) => s * num(v), 1),
  atoi: (...a) => (arity('atoi', a, 1), Math.trunc(num(a[0]))),
  int: (...a) => (arity('int', a, 1), Math.trunc(num(a[0]))),
  // PEM (ESO's runtime/template/v2/pem.go)
  filterPEM: (...a) => (arity('filterPEM', a, 2), filterPem(str(a[0]), str(a[1]))),
  filterCertChain: (...a) => (arity('filterCertChain', a, 2), filterCertChain(str(a[0]), str(a[1]))),
  certSANs: (...a) => (arity('certSANs', a, 1), certSANs(str(a[0]))),
  // keys (ESO's pkcs12.go, jwk.go, decrypt.go)
  pkcs12key: (...a) => (arity('pkcs12key', a, 1), pkcs12keyPass('', bytes(a[0]))),
  pkcs12keyPass: (...a) => (arity('pkcs12keyPass', a, 2), pkcs12keyPass(str(a[0]), bytes(a[1]))),
  pkcs12cert: (...a) => (arity('pkcs12cert', a, 1), pkcs12certPass('', bytes(a[0]))),
  pkcs12certPass: (...a) => (arity('pkcs12certPass', a, 2), pkcs12certPass(str(a[0]), bytes(a[1]))),
  jwkPublicKeyPem: (...a) => (arity('jwkPublicKeyPem', a, 1), jwkPublicKeyPem(str(a[0]))),
  jwkPrivateKeyPem: (...a) => (arity('jwkPrivateKeyPem', a, 1), jwkPrivateKeyPem(str(a[0]))),
  rsaDecrypt: (...a) => (arity('rsaDecrypt', a, 4), bytesToValue(rsaDecrypt(str(a[0]), str(a[1]), bytes(a[2]), str(a[3])))),
  pemToPkcs12: (...a) => (arity('pemToPkcs12', a, 2), pemToPkcs12Pass(str(a[0]), str(a[1]), '')),
  pemToPkcs12Pass: (...a) => (arity('pemToPkcs12Pass', a, 3), pemToPkcs12Pass(str(a[0]), str(a[1]), str(a[2]))),
  fullPemToPkcs12: (...a) => (arity('fullPemToPkcs12', a, 2), fullPemToPkcs12Pass(str(a[0]), str(a[1]), '')),
  fullPemToPkcs12Pass: (...a) => (arity('fullPemToPkcs12Pass', a, 3), fullPemToPkcs12Pass(str(a[0]), str(a[1]), str(a[2]))),
  pemTruststoreToPKCS12: (...a) => (arity('pemTruststoreToPKCS12', a, 1), pemTruststoreToPkcs12Pass(str(a[0]), '')),
  pemTruststoreToPKCS12Pass: (...a) => (arity('pemTruststoreToPKCS12Pass', a, 2), pemTruststoreToPkcs12Pass(str(a[0]), str(a[1]))),
  // semver (Masterminds/semver v3 through sprig's semver.go, with ESO's error texts). A version is a map of what
  // its methods return ($v.Major, $v.Prerelease...): Coffer's templates read fields, they do not call methods.
  semver: (...a) => {
    arity('semver', a, 1);
    const v = parseVersion(str(a[0]));
    if (!v) throw new Error('invalid version');
    return { Major: v.major, Minor: v.minor, Patch: v.patch, Prerelease: v.pre, Metadata: v.metadata, Original: v.original, String: `${v.major}.${v.minor}.${v.patch}${v.pre ? `-${v.pre}` : ''}${v.metadata ? `+${v.metadata}` : ''}` };
  },
  semverCompare: (...a) => {
    arity('semverCompare', a, 2);
    let constraints: ReturnType<typeof parseConstraints>;
    try {
      constraints = parseConstraints(str(a[0]));
    } catch {
      throw new Error('invalid version constraint');
    }
    const v = parseVersion(str(a[1]));
    if (!v) throw new Error('invalid version');
    return satisfies(v, constraints);
  },
  // URLs (sprig's url.go): urlParse panics on a bad URL, urlJoin on a non-string part; both become the call's error.
  urlParse: (...a) => {
    arity('urlParse', a, 1);
    let u: ReturnType<typeof parseUrl>;
    try {
      u = parseUrl(str(a[0]));
    } catch {
      throw new Error('unable to parse url');
    }
    return { scheme: u.scheme, host: u.host, hostname: hostname(u), path: u.path, query: u.rawQuery, opaque: u.opaque, fragment: u.fragment, userinfo: userinfoString(u) };
  },
  urlJoin: (...a) => {
    arity('urlJoin', a, 1);
    const d = objectOf(a[0]);
    const part = (k: string) => {
      const v = d[k];
      if (v === undefined) return '';
      if (typeof v !== 'string') throw new Error('unable to parse dictionary value: expected string');
      return v;
    };
    const url = { scheme: part('scheme'), host: part('host'), path: part('path'), rawQuery: part('query'), opaque: part('opaque'), fragment: part('fragment'), forceQuery: false };
    const userinfo = part('userinfo');
    if (userinfo === '') return formatUrl(url);
    let user: ReturnType<typeof parseUrl>;
    try {
      user = parseUrl(`proto://${userinfo}@host`);
    } catch {
      throw new Error('unable to parse url userinfo');
    }
    return formatUrl({ ...url, ...(user.username !== undefined ? { username: user.username } : {}), ...(user.password !== undefined ? { password: user.password } : {}) });
  },
};

// Declared apart: as a literal member, `toString` is typed against Object.prototype.toString.
fns['toString'] = (...a: TemplateValue[]) => (arity('toString', a, 1), str(a[0]));

Object.assign(fns, sprigFunctions({ str, num, isTruthy, equal, arity, maxBuilt: MAX_BUILT_VALUE_BYTES }));
Object.assign(fns, sprigCryptoFunctions({ str, num, arity, bytesToValue }));

export const TEMPLATE_FUNCTIONS: Readonly<Record<string, TemplateFunction>> = fns;

function goDecodeOrText(decode: () => Buffer): TemplateValue {
  try {
    return bytesToValue(decode());
  } catch (e) {
    if (e instanceof GoDecodeError) return e.message;
    throw e;
  }
}

/** ESO's trimJunk: what pem.Decode skipped before Go 1.26 (golang/go#76124), text before the first BEGIN. */
function trimJunk(input: string): string {
  const at = input.indexOf('-----BEGIN');
  return at < 0 ? input : input.slice(at);
}

/** ESO's filterPEM: the blocks of one type, decoded and encoded again; junk where no block of it was found fails. */
function filterPem(type: string, input: string): string {
  let data = trimJunk(input);
  let out = '';
  for (;;) {
    const { block, rest } = decodePem(data);
    data = rest;
    if (!block) break;
    if (block.type.toLowerCase() === type.toLowerCase()) out += encodePem(block);
  }
  if (out === '' && data.length !== 0) throw new Error('error filtering pem: found junk');
  return out;
}

function safeCompile(pattern: TemplateValue | undefined): GoRegexp | undefined {
  try {
    return GoRegexp.compile(str(pattern));
  } catch {
    return undefined;
  }
}

/** regexp.MustCompile: its panic text, which text/template turns into the call's error. */
function mustCompile(pattern: TemplateValue | undefined): GoRegexp {
  try {
    return GoRegexp.compile(str(pattern));
  } catch (e) {
    throw new Error(`regexp: Compile(${goQuote(str(pattern))}): ${(e as Error).message}`);
  }
}

/** Go's regexp quote(): backquoted when strconv.CanBackquote, else strconv.Quote (approximated by JSON). */
function goQuote(s: string): string {
  const canBackquote = [...s].every((c) => c !== '`' && c !== '\ufeff' && c !== '\x7f' && (c === '\t' || c >= ' '));
  return canBackquote ? `\`${s}\`` : JSON.stringify(s);
}

function objectOf(v: TemplateValue | undefined): Record<string, TemplateValue> {
  if (v && typeof v === 'object' && !Buffer.isBuffer(v) && !Array.isArray(v) && !(v instanceof Date)) return v;
  throw new Error(`expected a map, got ${v === null ? 'nil' : typeof v}`);
}

function trimChars(s: string, cut: string): string {
  const set = new Set(cut);
  const chars = [...s];
  let a = 0;
  let b = chars.length;
  while (a < b && set.has(chars[a]!)) a++;
  while (b > a && set.has(chars[b - 1]!)) b--;
  return chars.slice(a, b).join('');
}

function indent(n: number, s: string): string {
  const pad = ' '.repeat(Math.max(0, n));
  return pad + s.replace(/\n/g, `\n${pad}`);
}

