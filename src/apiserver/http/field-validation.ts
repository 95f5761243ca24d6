// Server-side field validation (spec §3.6): unknown fields in a body are an error with fieldValidation=Strict (what
// kubectl sends), a `Warning` header with Warn (the default), and dropped silently with Ignore. Fields are checked
// against the same schemas the OpenAPI documents publish, at every depth (`metadata.lables`, `status.phse`,
// `metadata.ownerReferences[0].foo`), so a typo is never stored as if it meant something.
import type { KubeObject } from '../../objects/object-meta.js';
import { badRequest, invalid } from '../api-status.js';
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
    if (s.items) value.forEach((v, i) => walk(s.items!, v, `${path}[${i}]`, out));
    return;
  }
  if (typeof value !== 'object') return;
  const obj = value as Record<string, unknown>;
  if (s.properties) {
    for (const [k, v] of Object.entries(obj)) {
      const child = s.properties[k];
      const at = path ? `${path}.${k}` : k;
      if (!child) out.push(at);
      else walk(child, v, at, out);
    }
  } else if (s.additionalProperties) {
    for (const [k, v] of Object.entries(obj)) walk(s.additionalProperties, v, path ? `${path}.${k}` : k, out);
  }
  // An object schema with neither (FieldsV1) holds free-form content.
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
  const definition = definitionFor({ group: info.group, version: info.version, kind: info.kind });
  if (!definition) return [];
  const out: string[] = [];
  walk({ ref: definition }, obj, '', out);
  return out;
}

const describe = (fields: string[]) => fields.map((f) => `unknown field ${JSON.stringify(f)}`);

/**
 * Applies fieldValidation to a decoded create/update body: throws kube's Strict error (400), or returns the warnings
 * to send (Warn), or nothing (Ignore).
 */
export function checkBodyFields(info: ResourceInfo, obj: KubeObject, mode: FieldValidation): string[] {
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

/** `Warning: 299 - "<text>"`, with the text quoted as kube quotes it. */
export function warningHeader(text: string): string {
  return `299 - ${JSON.stringify(text)}`;
}
