// Request fields decoded the way Vault's framework does (mapstructure WeakDecode): "5" is an int, 1 is true, a
// comma string is a list, a duration is seconds or a Go duration string. Errors name the field and the value, except
// for fields that may hold secret material, whose values are never echoed.
import { parseGoDuration } from '../encryption/go-duration.js';
import { isJsonObject, JsonNumber, type JsonValue } from './lossless-json.js';
import { badRequest } from './vault-error.js';

export type RequestData = { [key: string]: JsonValue };

function invalid(name: string, value: JsonValue, want: string): never {
  throw badRequest(`invalid value ${describe(value)} for field "${name}": want ${want}`);
}

/** A short rendering of a value for an error message (only used for non-secret fields). */
function describe(value: JsonValue): string {
  if (value instanceof JsonNumber) return value.text;
  const text = JSON.stringify(value) ?? 'null';
  return text.length > 64 ? `${text.slice(0, 61)}...` : text;
}

export function has(data: RequestData, name: string): boolean {
  return Object.prototype.hasOwnProperty.call(data, name) && data[name] !== null;
}

export function optString(data: RequestData, name: string): string | undefined {
  if (!has(data, name)) return undefined;
  const v = data[name]!;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || v instanceof JsonNumber) return String(v instanceof JsonNumber ? v.text : v);
  throw badRequest(`invalid value for field "${name}": want a string, got ${Array.isArray(v) ? 'an array' : 'an object'}`);
}

export function optInt(data: RequestData, name: string): number | undefined {
  if (!has(data, name)) return undefined;
  const v = data[name]!;
  const n = v instanceof JsonNumber ? Number(v.text) : typeof v === 'number' ? v : typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v.trim()) : NaN;
  if (!Number.isSafeInteger(n)) invalid(name, v, 'an integer');
  return n;
}

export function optBool(data: RequestData, name: string): boolean | undefined {
  if (!has(data, name)) return undefined;
  const v = data[name]!;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number' || v instanceof JsonNumber) return Number(v) !== 0;
  if (typeof v === 'string') {
    const parsed = parseBoolText(v);
    if (parsed !== undefined) return parsed;
  }
  return invalid(name, v, 'a boolean');
}

/** Go's strconv.ParseBool, which Vault uses for query flags such as ?list=true. */
export function parseBoolText(v: string): boolean | undefined {
  if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'false', 'FALSE', 'False', ''].includes(v)) return v === '' ? undefined : false;
  return undefined;
}

/** A duration field in whole seconds: an integer, a numeric string, or a Go duration string ("1h", "768h"). */
export function optDurationSeconds(data: RequestData, name: string): number | undefined {
  if (!has(data, name)) return undefined;
  const v = data[name]!;
  if (typeof v === 'number' || v instanceof JsonNumber) {
    const n = Number(v);
    if (!Number.isSafeInteger(n)) invalid(name, v, 'a whole number of seconds or a duration such as "1h"');
    return n;
  }
  if (typeof v === 'string') {
    const t = v.trim();
    if (t === '') return 0;
    if (/^-?\d+$/.test(t)) return Number(t);
    try {
      return Math.trunc(parseGoDuration(t) / 1e9);
    } catch {
      invalid(name, v, 'a whole number of seconds or a duration such as "1h"');
    }
  }
  return invalid(name, v, 'a whole number of seconds or a duration such as "1h"');
}

/** A list of strings: a JSON array, or a comma-separated string (Vault's TypeCommaStringSlice). */
export function optStringList(data: RequestData, name: string): string[] | undefined {
  if (!has(data, name)) return undefined;
  const v = data[name]!;
  const items = Array.isArray(v) ? v : typeof v === 'string' ? v.split(',') : invalid(name, v, 'a list of strings');
  return items
    .map((item) => {
      if (typeof item !== 'string') invalid(name, v, 'a list of strings');
      return item.trim();
    })
    .filter((s) => s !== '');
}

/** A list of integers: a JSON array, or a comma-separated string (Vault's TypeCommaIntSlice). */
export function optIntList(data: RequestData, name: string): number[] | undefined {
  if (!has(data, name)) return undefined;
  const v = data[name]!;
  const items: JsonValue[] = Array.isArray(v) ? v : typeof v === 'string' ? v.split(',').filter((s) => s.trim() !== '') : [v];
  return items.map((item) => {
    const n = typeof item === 'string' ? (/^\s*-?\d+\s*$/.test(item) ? Number(item) : NaN) : Number(item);
    if (!Number.isSafeInteger(n)) invalid(name, v, 'a list of integers');
    return n;
  });
}

/** A map of string to string (Vault's TypeKVPairs): values that are numbers or booleans become their text. */
export function optStringMap(data: RequestData, name: string): Record<string, string> | undefined {
  if (!has(data, name)) return undefined;
  const v = data[name]!;
  if (!isJsonObject(v)) invalid(name, v, 'an object of strings');
  const out: Record<string, string> = {};
  for (const [k, item] of Object.entries(v)) {
    if (item === null) continue;
    if (typeof item === 'object' && !(item instanceof JsonNumber)) invalid(`${name}.${k}`, item, 'a string');
    out[k] = item instanceof JsonNumber ? item.text : String(item);
  }
  return out;
}

/** Rejects fields this key server does not implement, so a request never silently means less than it says. */
export function rejectUnsupported(data: RequestData, names: readonly string[]): void {
  for (const name of names) {
    if (has(data, name) && data[name] !== false && data[name] !== '' && data[name] !== 0) {
      throw badRequest(`field "${name}" is not supported by this key server`);
    }
  }
}
