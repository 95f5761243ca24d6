// Server-side field validation (k8s.io/apiserver pkg/endpoints/handlers/rest.go): unknown fields in a body are an error
// with fieldValidation=Strict (what kubectl sends), a `Warning` header with Warn (the default), and dropped silently
// with Ignore. Fields are checked against the same schemas the OpenAPI documents publish, at every depth
// (`metadata.lables`, `status.phse`, `metadata.ownerReferences[0].foo`), so a typo is never stored as if it meant
// something.
import type { KubeObject } from '../../objects/object-meta.js';
import { badRequest, invalid } from '../api-status.js';
import { goQuote } from '../registry/field-errors.js';
import { unknownSchemaFields } from '../custom-resources/structural-schema.js';
import { DEFINITIONS, definitionFor, META, type SchemaNode } from '../openapi/schemas.js';
import type { ResourceInfo } from '../resource-info.js';
import type { FieldValidation } from './request-options.js';

function resolve(node: SchemaNode): SchemaNode {
  let n = node;
  for (let i = 0; n.ref && i < 10; i++) n = DEFINITIONS[n.ref] ?? {};
  return n;
}

function walk(node: SchemaNode, value: unknown, path: string, out: string[]): void {
  const s = resolve(node);
  if (value === null || value === undefined) return;
  if (Array.isArray(value)) {
    if (s.items) for (let i = 0; i < value.length; i++) if (isWalkable(value[i])) walk(s.items, value[i], `${path}[${i}]`, out);
    return;
  }
  if (typeof value !== 'object') return;
  const obj = value as Record<string, unknown>;
  if (s.properties) {
    for (const k in obj) {
      if (!Object.hasOwn(obj, k)) continue;
      const child = s.properties[k];
      if (!child) out.push(path ? `${path}.${k}` : k);
      else if (isWalkable(obj[k])) walk(child, obj[k], path ? `${path}.${k}` : k, out);
    }
  } else if (s.additionalProperties) {
    for (const k in obj) {
      if (Object.hasOwn(obj, k) && isWalkable(obj[k])) walk(s.additionalProperties, obj[k], path ? `${path}.${k}` : k, out);
    }
  }
  // An object schema with neither (FieldsV1) holds free-form content.
}

/** Only objects and arrays can hold an unknown field: a scalar's path is never built (a Secret's data is all scalars). */
function isWalkable(value: unknown): boolean {
  return typeof value === 'object' && value !== null;
}

/**
 * The OpenAPI definition of a built-in kind, looked up once per kind: definitionFor scans every definition, which
 * field validation did twice per create and update. Built-in definitions are constants; custom resources never ask.
 */
const definitions = new Map<string, string | undefined>();
function definitionOf(info: ResourceInfo): string | undefined {
  const key = `${info.group}/${info.version}/${info.kind}`;
  if (definitions.has(key)) return definitions.get(key);
  const found = definitionFor({ group: info.group, version: info.version, kind: info.kind });
  definitions.set(key, found);
  return found;
}

/** The paths of fields the kind's schema does not know, in document order. Kinds without a schema are not checked. */
export function unknownFields(info: ResourceInfo, obj: unknown): string[] {
  if (info.customResource) {
    // metadata is ObjectMeta in every kind; the rest is the CRD's structural schema.
    const out: string[] = [];
    const metadata = (obj as { metadata?: unknown } | null)?.metadata;
    walk({ ref: `${META}.ObjectMeta` }, metadata, 'metadata', out);
    return [...out, ...unknownSchemaFields(obj, info.customResource.schema)];
  }
  const definition = definitionOf(info);
  if (!definition) return [];
  const out: string[] = [];
  walk({ ref: definition }, obj, '', out);
  return out;
}

/** Go's name of the type a schema node decodes into, as encoding/json's UnmarshalTypeError prints it. */
function goTypeName(node: SchemaNode): string {
  if (node.ref) return `v1.${node.ref.slice(node.ref.lastIndexOf('.') + 1)}`;
  const s = node;
  switch (s.type) {
    case 'string':
      return s.format === 'byte' ? '[]uint8' : 'string';
    case 'integer':
      return s.format === 'int32' ? 'int32' : 'int64';
    case 'number':
      return 'float64';
    case 'boolean':
      return 'bool';
    case 'array':
      return `[]${s.items ? goTypeName(s.items) : 'interface {}'}`;
    default:
      return s.additionalProperties ? `map[string]${goTypeName(s.additionalProperties)}` : 'map[string]interface {}';
  }
}

function jsonKind(value: unknown): string {
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'boolean') return 'bool';
  return typeof value;
}

/**
 * The first value whose JSON type the kind's Go struct cannot take, in encoding/json's words (`json: cannot unmarshal
 * object into Go struct field ObjectMeta.metadata.labels of type string`): kube decodes every body and every patched
 * document into typed structs, so a label holding an object never reaches validation. Depth is bounded by the body's.
 */
function typeMismatch(node: SchemaNode, value: unknown, path: string, struct: string): string | undefined {
  if (value === null || value === undefined) return undefined;
  const s = resolve(node);
  // (No closure, owner or path text per value: they are made only where they are used, once per object or on failure.)
  switch (s.type) {
    case 'string':
      return typeof value === 'string' ? undefined : wrongType(node, s, jsonKind(value), path, struct);
    case 'boolean':
      return typeof value === 'boolean' ? undefined : wrongType(node, s, jsonKind(value), path, struct);
    case 'integer':
      if (typeof value !== 'number') return wrongType(node, s, jsonKind(value), path, struct);
      return Number.isInteger(value) ? undefined : wrongType(node, s, `number ${value}`, path, struct);
    case 'number':
      return typeof value === 'number' ? undefined : wrongType(node, s, jsonKind(value), path, struct);
    case 'array': {
      if (!Array.isArray(value)) return wrongType(node, s, jsonKind(value), path, struct);
      const owner = ownerOf(node, struct);
      for (let i = 0; i < value.length && s.items; i++) {
        const found = typeMismatch(s.items, value[i], path, owner);
        if (found) return found;
      }
      return undefined;
    }
    case 'object':
    case undefined: {
      if (typeof value !== 'object' || Array.isArray(value)) return s.type ? wrongType(node, s, jsonKind(value), path, struct) : undefined;
      const owner = ownerOf(node, struct);
      const obj = value as Record<string, unknown>;
      for (const k in obj) {
        if (!Object.hasOwn(obj, k)) continue;
        // Go names struct fields in the path, not map keys or list indexes.
        const field = s.properties?.[k];
        const child = field ?? s.additionalProperties;
        if (!child) continue;
        const found = typeMismatch(child, obj[k], field ? (path ? `${path}.${k}` : k) : path, owner);
        if (found) return found;
      }
      return undefined;
    }
  }
}

/** The Go struct a node's fields belong to: its definition's name, or the enclosing struct's for an inline schema. */
function ownerOf(node: SchemaNode, struct: string): string {
  return node.ref ? node.ref.slice(node.ref.lastIndexOf('.') + 1) : struct;
}

function wrongType(node: SchemaNode, resolved: SchemaNode, what: string, path: string, struct: string): string {
  return `json: cannot unmarshal ${what} into Go struct field ${struct}.${path} of type ${goTypeName(node.ref ? node : resolved)}`;
}

/** kube's decoding error for a body or patched document of a built-in kind; undefined when Go would decode it. */
export function decodingError(info: ResourceInfo, obj: unknown): string | undefined {
  if (info.customResource) return undefined; // the structural schema's validation reports these for CRs
  const definition = definitionOf(info);
  return definition ? typeMismatch({ ref: definition }, obj, '', info.kind) : undefined;
}

// Go's %q, as sigs.k8s.io/json words it: a field name with a control character reads `"f\x7f"`, never a raw byte.
const describe = (fields: string[]) => fields.map((f) => `unknown field ${goQuote(f)}`);

/**
 * Applies fieldValidation to a decoded create/update body: throws kube's Strict error (400), or returns the warnings
 * to send (Warn), or nothing (Ignore).
 */
export function checkBodyFields(info: ResourceInfo, obj: KubeObject, mode: FieldValidation): string[] {
  const typeError = decodingError(info, obj);
  if (typeError) throw badRequest(`${info.kind} in version "${info.version}" cannot be handled as a ${info.kind}: ${typeError}`);
  if (mode === 'Ignore') return [];
  const problems = describe(unknownFields(info, obj));
  if (problems.length > 0 && mode === 'Strict') {
    throw badRequest(`${info.kind} in version "${info.version}" cannot be handled as a ${info.kind}: strict decoding error: ${problems.join(', ')}`);
  }
  return problems;
}

/**
 * The same for the result of a JSON, merge or strategic patch: kube's Strict error is then a 422 Invalid on the field
 * `patch` (kube quotes the patch there; Coffer does not echo it, it may hold Secret values).
 */
export function checkPatchedFields(info: ResourceInfo, name: string, obj: KubeObject, mode: FieldValidation): string[] {
  const typeError = decodingError(info, obj);
  // kube: a patched document that does not decode is 422 on `patch` with empty kind and name (handlers/patch.go).
  if (typeError) throw invalid({ group: '', kind: '' }, '', [{ type: 'FieldValueInvalid', field: 'patch', message: `Invalid value: "...": ${typeError}` }]);
  if (mode === 'Ignore') return [];
  const problems = describe(unknownFields(info, obj));
  if (problems.length > 0 && mode === 'Strict') {
    throw invalid({ group: info.group, kind: info.kind }, name, [
      { type: 'FieldValueInvalid', field: 'patch', message: `Invalid value: "<patch>": strict decoding error: ${problems.join(', ')}` },
    ]);
  }
  return problems;
}

/** For a server-side apply configuration: kube's Strict error text for apply patches (400). */
export function checkApplyFields(info: ResourceInfo, config: unknown, mode: FieldValidation): string[] {
  if (mode === 'Ignore') return [];
  const problems = describe(unknownFields(info, config));
  if (problems.length > 0 && mode === 'Strict') throw badRequest(`error strict decoding YAML: ${problems.join(', ')}`);
  return problems;
}

/**
 * `Warning: 299 - "<text>"` as apimachinery's NewWarningHeader writes it (RFC 7234 warn-text: a quoted-string with `\`
 * and `"` escaped). A header value may hold neither control characters (Node then refuses the whole response, after
 * the write committed) nor, through Node, non-ASCII text (Node would send each Latin-1 character as two UTF-8 bytes);
 * both are written as Go's strconv.QuoteToASCII writes them (`\x7f`, `\u20ac`, `\U0001f600`). Total: never throws.
 */
export function warningHeader(text: string): string {
  let escaped = '';
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (ch === '\\' || ch === '"') escaped += `\\${ch}`;
    else if (cp === 0x09 || (cp >= 0x20 && cp < 0x7f)) escaped += ch;
    else if (cp < 0x80) escaped += `\\x${cp.toString(16).padStart(2, '0')}`;
    else if (cp >= 0xd800 && cp < 0xe000) escaped += '\\ufffd'; // a lone surrogate is invalid UTF-8 to Go
    else if (cp <= 0xffff) escaped += `\\u${cp.toString(16).padStart(4, '0')}`;
    else escaped += `\\U${cp.toString(16).padStart(8, '0')}`;
  }
  return `299 - "${escaped}"`;
}
