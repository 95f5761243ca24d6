// apimachinery's field.Error constructors (util/validation/field/errors.go) with the exact bodies kubectl shows
// (field.Error.ErrorBody): the body never repeats the path, and values print the way Go's %q / %v / %#v print them.
import type { FieldError } from '../api-status.js';

/** A value as field.Error renders it: strings %q, numbers and bools bare, string slices `[]string{"a"}`. */
export type FieldValue = string | number | boolean | null | readonly string[] | { goSyntax: string };

export function required(field: string, detail = ''): FieldError {
  return { type: 'FieldValueRequired', field, message: detail ? `Required value: ${detail}` : 'Required value' };
}

export function invalidValue(field: string, value: FieldValue, detail = ''): FieldError {
  const body = `Invalid value: ${renderValue(value)}`;
  return { type: 'FieldValueInvalid', field, message: detail ? `${body}: ${detail}` : body };
}

export function forbiddenField(field: string, detail: string): FieldError {
  return { type: 'FieldValueForbidden', field, message: detail ? `Forbidden: ${detail}` : 'Forbidden' };
}

export function tooLong(field: string, maxBytes: number): FieldError {
  return { type: 'FieldValueTooLong', field, message: `Too long: may not be more than ${maxBytes} bytes` };
}

export function notSupported(field: string, value: FieldValue, supported: readonly string[]): FieldError {
  const list = supported.map((s) => goQuote(s)).join(', ');
  return { type: 'FieldValueNotSupported', field, message: `Unsupported value: ${renderValue(value)}: supported values: ${list}` };
}

/** `path: body`, as an aggregate message and client-side errors print a field.Error. */
export function fieldErrorText(e: FieldError): string {
  return e.field ? `${e.field}: ${e.message}` : e.message;
}

export function renderValue(value: FieldValue): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return goQuote(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return `[]string{${(value as readonly string[]).map((v) => goQuote(v)).join(', ')}}`;
  return (value as { goSyntax: string }).goSyntax;
}

const GO_ESCAPES: Record<number, string> = { 7: '\\a', 8: '\\b', 9: '\\t', 10: '\\n', 11: '\\v', 12: '\\f', 13: '\\r', 34: '\\"', 92: '\\\\' };

/** Go's strconv.Quote: printable characters kept, the usual escapes, other control characters as \x or \u. */
export function goQuote(text: string): string {
  let out = '"';
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    const escape = GO_ESCAPES[cp];
    if (escape !== undefined) out += escape;
    else if (cp < 0x20 || cp === 0x7f) out += `\\x${cp.toString(16).padStart(2, '0')}`;
    else if ((cp >= 0x80 && cp < 0xa0) || cp === 0xad || (cp >= 0xd800 && cp < 0xe000) || cp === 0xfeff) {
      out += cp >= 0xd800 && cp < 0xe000 ? '\\ufffd' : `\\u${cp.toString(16).padStart(4, '0')}`;
    } else out += ch;
  }
  return `${out}"`;
}
