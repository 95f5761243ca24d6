// What kube-apiserver does with a custom resource and its structural schema (apiextensions-apiserver
// pkg/apiserver/schema/{pruning,defaulting} and pkg/apiserver/validation over kube-openapi's validator): unknown
// fields are found and pruned, non-nullable nulls dropped, defaults applied top-down, then every value validated.
// Messages are kube-openapi's as kube turns them into field errors (k8s.io/apiextensions-apiserver
// pkg/apiserver/validation/validation.go).
import type { FieldError } from '../api-status.js';
import { invalidValue, notSupported, required, type FieldValue } from '../registry/field-errors.js';
import type { JsonSchemaProps } from './json-schema-props.js';

type Json = unknown;

const isObject = (v: Json): v is Record<string, Json> => v !== null && typeof v === 'object' && !Array.isArray(v);
const join = (path: string, key: string) => (path ? `${path}.${key}` : key);
// The root's apiVersion, kind and metadata are the API machinery's, whatever the schema says.
const ROOT_META = new Set(['apiVersion', 'kind', 'metadata']);

/** Paths of fields the schema does not declare (kube's pruning), without changing the value. */
export function unknownSchemaFields(value: Json, schema: JsonSchemaProps): string[] {
  const out: string[] = [];
  walkUnknown(value, schema, '', out, false, true);
  return out;
}

/** Removes the fields the schema does not declare, in place (kube prunes before defaulting and validation). */
export function pruneUnknownFields(value: Json, schema: JsonSchemaProps): void {
  walkUnknown(value, schema, '', [], true, true);
}

function walkUnknown(value: Json, schema: JsonSchemaProps, path: string, out: string[], remove: boolean, root: boolean): void {
  if (Array.isArray(value)) {
    if (schema.items) value.forEach((v, i) => walkUnknown(v, schema.items!, `${path}[${i}]`, out, remove, false));
    return;
  }
  if (!isObject(value)) return;
  const preserve = schema['x-kubernetes-preserve-unknown-fields'] === true;
  for (const key of Object.keys(value)) {
    if (root && ROOT_META.has(key)) continue;
    const child = schema.properties?.[key] ?? schema.additionalProperties;
    if (child) walkUnknown(value[key], child, join(path, key), out, remove, false);
    else if (!preserve) {
      out.push(join(path, key));
      if (remove) delete value[key];
    }
  }
}

/**
 * Drops nulls a field may not hold (kube: PruneNonNullableNullsWithoutDefaults), then applies `default`s top-down,
 * also inside defaulted values (kube: structuraldefaulting.Default). In place.
 */
export function applySchemaDefaults(value: Json, schema: JsonSchemaProps): void {
  if (Array.isArray(value)) {
    if (schema.items) for (const item of value) applySchemaDefaults(item, schema.items);
    return;
  }
  if (!isObject(value)) return;
  for (const [key, child] of Object.entries(schema.properties ?? {})) {
    const present = Object.hasOwn(value, key);
    if (present && value[key] === null && !child.nullable) {
      if (child.default !== undefined) value[key] = structuredClone(child.default);
      else delete value[key];
    } else if (!present && child.default !== undefined) {
      value[key] = structuredClone(child.default);
    }
  }
  for (const key of Object.keys(value)) {
    const child = schema.properties?.[key] ?? schema.additionalProperties;
    if (child) applySchemaDefaults(value[key], child);
  }
}

/** kube-openapi's name for the JSON type of a value, as its type errors print it. */
function jsonTypeOf(v: Json): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v === 'object' ? 'object' : typeof v;
}

function typeMatches(type: string, v: Json): boolean {
  switch (type) {
    case 'object':
      return isObject(v);
    case 'array':
      return Array.isArray(v);
    case 'string':
      return typeof v === 'string';
    case 'boolean':
      return typeof v === 'boolean';
    case 'integer':
      return typeof v === 'number' && Number.isInteger(v);
    case 'number':
      return typeof v === 'number';
    default:
      return true;
  }
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function formatMatches(format: string, v: string): boolean {
  if (format === 'date-time') return RFC3339.test(v) && !Number.isNaN(Date.parse(v.replace(' ', 'T')));
  if (format === 'byte') return BASE64.test(v);
  return true;
}

function fieldValue(v: Json): FieldValue {
  if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  return { goSyntax: Array.isArray(v) ? `[]interface {}{...}` : `map[string]interface {}{...}` };
}

const typeInvalid = (path: string, actual: string, expected: string): FieldError => ({
  type: 'FieldValueTypeInvalid',
  field: path,
  message: `Invalid value: "${actual}": ${path} in body must be of type ${expected}: "${actual}"`,
});

/** Every schema violation of `value`, as kube reports them for a custom resource (422 Invalid causes). */
export function validateAgainstSchema(value: Json, schema: JsonSchemaProps, path = ''): FieldError[] {
  const errs: FieldError[] = [];
  validateNode(value, schema, path, errs, true);
  return errs;
}

function validateNode(v: Json, s: JsonSchemaProps, path: string, errs: FieldError[], root = false): void {
  if (v === null) {
    if (!s.nullable && (s.type || s['x-kubernetes-int-or-string'])) errs.push(typeInvalid(path, 'null', s.type ?? 'integer,string'));
    return;
  }
  if (s['x-kubernetes-int-or-string']) {
    if (!(typeof v === 'string' || (typeof v === 'number' && Number.isInteger(v)))) {
      errs.push(typeInvalid(path, jsonTypeOf(v), 'integer,string'));
      return;
    }
  } else if (s.type && !typeMatches(s.type, v)) {
    errs.push(typeInvalid(path, jsonTypeOf(v), s.type));
    return;
  }
  if (s.enum && !s.enum.some((e) => e === v)) {
    errs.push(notSupported(path, fieldValue(v), s.enum.map((e) => (typeof e === 'string' ? e : JSON.stringify(e)))));
  }
  if (typeof v === 'string') {
    const length = [...v].length;
    if (s.maxLength !== undefined && length > s.maxLength) {
      errs.push({ type: 'FieldValueTooLong', field: path, message: `Too long: may not be more than ${s.maxLength} bytes` });
    }
    if (s.minLength !== undefined && length < s.minLength) {
      errs.push(invalidValue(path, v, `${path} in body should be at least ${s.minLength} chars long`));
    }
    if (s.pattern !== undefined && !new RegExp(s.pattern, 'u').test(v)) {
      errs.push(invalidValue(path, v, `${path} in body should match '${s.pattern}'`));
    }
    if (s.format && !formatMatches(s.format, v)) errs.push(typeInvalid(path, v, s.format));
  }
  if (typeof v === 'number') {
    if (s.minimum !== undefined && v < s.minimum) errs.push(invalidValue(path, v, `${path} in body should be greater than or equal to ${s.minimum}`));
    if (s.maximum !== undefined && v > s.maximum) errs.push(invalidValue(path, v, `${path} in body should be less than or equal to ${s.maximum}`));
  }
  if (Array.isArray(v)) {
    if (s.minItems !== undefined && v.length < s.minItems) errs.push(invalidValue(path, v.length, `${path} in body should have at least ${s.minItems} items`));
    if (s.maxItems !== undefined && v.length > s.maxItems) {
      errs.push({ type: 'FieldValueTooMany', field: path, message: `Too many: ${v.length}: must have at most ${s.maxItems} items` });
    }
    if (s.items) v.forEach((item, i) => validateNode(item, s.items!, `${path}[${i}]`, errs));
    return;
  }
  if (!isObject(v)) return;
  const count = Object.keys(v).length;
  if (s.minProperties !== undefined && count < s.minProperties) {
    errs.push(invalidValue(path, count, `${path} in body should have at least ${s.minProperties} properties`));
  }
  if (s.maxProperties !== undefined && count > s.maxProperties) {
    errs.push({ type: 'FieldValueTooMany', field: path, message: `Too many: ${count}: must have at most ${s.maxProperties} items` });
  }
  for (const key of s.required ?? []) if (!Object.hasOwn(v, key)) errs.push(required(join(path, key)));
  for (const key of Object.keys(v).sort()) {
    if (root && ROOT_META.has(key)) continue;
    const child = s.properties?.[key] ?? s.additionalProperties;
    if (child) validateNode(v[key], child, join(path, key), errs);
  }
}
