// The Swagger 2.0 document at /openapi/v2. kubectl 1.32 still needs it in one place: validating a `kind: List` (what
// `kubectl get -A -o json | kubectl replace -f -` sends, the re-encryption path kube documents) is done client-side
// against the v2 schemas, and without the document kubectl refuses unless given --validate=false. kubectl asks for
// the gnostic protobuf form (openapi-v2-protobuf.ts); JSON is served too, as kube does.
import type { ResourceInfo } from '../resource-info.js';
import { withCustomResourceDefinitions } from './custom-resource-schemas.js';
import { definitionFor, definitionsClosure, type SchemaNode } from './schemas.js';

export type JsonObject = Record<string, unknown>;

export function v2Schema(node: SchemaNode): JsonObject {
  if (node.raw) return v2Raw(node.raw) as JsonObject;
  if (node.ref) return { $ref: `#/definitions/${node.ref}`, ...(node.description ? { description: node.description } : {}) };
  const out: JsonObject = {};
  if (node.description !== undefined) out.description = node.description;
  if (node.type) out.type = node.type;
  if (node.format) out.format = node.format;
  if (node.default !== undefined) out.default = node.default;
  if (node.enum) out.enum = node.enum;
  if (node.required) out.required = node.required;
  if (node.properties) out.properties = Object.fromEntries(Object.entries(node.properties).map(([k, v]) => [k, v2Schema(v)]));
  if (node.additionalProperties) out.additionalProperties = v2Schema(node.additionalProperties);
  if (node.items) out.items = v2Schema(node.items);
  Object.assign(out, node.extensions);
  return out;
}

/** Swagger 2.0 has no nullable: kube's v2 publication of CRD schemas drops it (and keeps the rest). */
function v2Raw(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(v2Raw);
  if (v === null || typeof v !== 'object') return v;
  return Object.fromEntries(
    Object.entries(v)
      .filter(([k]) => k !== 'nullable')
      .map(([k, x]) => [k, k === 'enum' || k === 'default' || k === 'required' ? x : v2Raw(x)]),
  );
}

const query = (name: string, type = 'string') => ({ name, in: 'query', type, uniqueItems: true });
const pathParam = (name: string) => ({ name, in: 'path', required: true, type: 'string', uniqueItems: true });

/** The v2 document for these resources: a patch operation per kind (as the v2 query-param verifier reads) and schemas. */
export function openApiV2Document(resources: readonly ResourceInfo[]): JsonObject {
  const paths: JsonObject = {};
  const roots: string[] = [];
  const defs = withCustomResourceDefinitions(resources);
  for (const r of resources) {
    const definition = definitionFor({ group: r.group, version: r.version, kind: r.kind }, defs);
    if (!definition) continue;
    const listDefinition = definitionFor({ group: r.group, version: r.version, kind: r.listKind }, defs);
    roots.push(definition, ...(listDefinition ? [listDefinition] : []));
    const gvk = { group: r.group, version: r.version, kind: r.kind };
    const prefix = r.group ? `/apis/${r.group}/${r.version}` : `/api/${r.version}`;
    const item = r.namespaced ? `${prefix}/namespaces/{namespace}/${r.plural}/{name}` : `${prefix}/${r.plural}/{name}`;
    const ok = { description: 'OK', schema: { $ref: `#/definitions/${definition}` } };
    paths[item] = {
      parameters: r.namespaced ? [pathParam('name'), pathParam('namespace')] : [pathParam('name')],
      get: { operationId: `read${r.kind}`, produces: ['application/json', 'application/yaml'], responses: { '200': ok }, 'x-kubernetes-action': 'get', 'x-kubernetes-group-version-kind': gvk },
      patch: {
        operationId: `patch${r.kind}`,
        consumes: ['application/json-patch+json', 'application/merge-patch+json', 'application/apply-patch+yaml', ...(r.group === '' ? ['application/strategic-merge-patch+json'] : [])],
        produces: ['application/json', 'application/yaml'],
        parameters: [
          { name: 'body', in: 'body', required: true, schema: { $ref: '#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.Patch' } },
          query('dryRun'),
          query('fieldManager'),
          query('fieldValidation'),
          query('force', 'boolean'),
        ],
        responses: { '200': ok },
        'x-kubernetes-action': 'patch',
        'x-kubernetes-group-version-kind': gvk,
      },
    };
  }
  roots.push('io.k8s.apimachinery.pkg.apis.meta.v1.Patch', 'io.k8s.apimachinery.pkg.apis.meta.v1.Status');
  return {
    swagger: '2.0',
    info: { title: 'Kubernetes', version: 'v1.32.0' },
    paths,
    definitions: Object.fromEntries(definitionsClosure(roots, defs).map((name) => [name, v2Schema(defs[name]!)])),
  };
}
