// The OpenAPI v3 documents kubectl 1.32 reads (kube-openapi pkg/handler3/handler.go): `/openapi/v3` lists one document
// per group-version, each with per-kind operations and schemas. Three consumers: `apply/create/replace -f` look for the
// kind's `patch` operation with `x-kubernetes-group-version-kind` and an inline `fieldValidation` parameter (then
// validation is left to the server); client-side apply builds strategic merge patches from the schemas' patch
// extensions; `kubectl explain` prints the schemas.
import { createHash } from 'node:crypto';
import { apiVersionOf, type ResourceInfo } from '../resource-info.js';
import { withCustomResourceDefinitions } from './custom-resource-schemas.js';
import { definitionFor, definitionsClosure, type SchemaNode } from './schemas.js';

const PATCH_TYPES_CORE = [
  'application/apply-patch+yaml',
  'application/json-patch+json',
  'application/merge-patch+json',
  'application/strategic-merge-patch+json',
];
// Custom resources take no strategic merge patch (kube answers 415), so their operations must not offer it
// (k8s.io/apiextensions-apiserver pkg/controller/openapi/builder/builder.go).
const PATCH_TYPES_CUSTOM = PATCH_TYPES_CORE.filter((t) => t !== 'application/strategic-merge-patch+json');

export function v3Schema(node: SchemaNode): Record<string, unknown> {
  if (node.raw) return v3Raw(node.raw);
  if (node.ref) {
    const target = { $ref: `#/components/schemas/${node.ref}` };
    // kube wraps a described reference in a one-element allOf, which both explain and the patch builder unwrap.
    return node.description ? { allOf: [target], description: node.description } : target;
  }
  const out: Record<string, unknown> = {};
  if (node.description !== undefined) out.description = node.description;
  if (node.type) out.type = node.type;
  if (node.format) out.format = node.format;
  if (node.default !== undefined) out.default = node.default;
  if (node.enum) out.enum = node.enum;
  if (node.required) out.required = node.required;
  if (node.properties) out.properties = Object.fromEntries(Object.entries(node.properties).map(([k, v]) => [k, v3Schema(v)]));
  if (node.additionalProperties) out.additionalProperties = v3Schema(node.additionalProperties);
  if (node.items) out.items = v3Schema(node.items);
  Object.assign(out, node.extensions);
  return out;
}

/** A CRD schema as kube publishes it in v3: int-or-string fields also carry the anyOf they stand for. */
function v3Raw(node: unknown): Record<string, unknown> {
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk);
    if (v === null || typeof v !== 'object') return v;
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = k === 'enum' || k === 'default' || k === 'required' ? x : walk(x);
    if (out['x-kubernetes-int-or-string'] === true && !out.anyOf) out.anyOf = [{ type: 'integer' }, { type: 'string' }];
    return out;
  };
  return walk(node) as Record<string, unknown>;
}

const param = (name: string, description: string, type = 'string', extra: Record<string, unknown> = {}) => ({
  name,
  in: 'query',
  description,
  schema: { type, uniqueItems: true, ...extra },
});

const DRY_RUN = param('dryRun', 'When present, indicates that modifications should not be persisted. Valid values are: - All: all dry run stages will be processed');
const FIELD_MANAGER = param('fieldManager', 'fieldManager is a name associated with the actor or entity that is making these changes.');
const FIELD_VALIDATION = param(
  'fieldValidation',
  'fieldValidation instructs the server on how to handle objects in the request containing unknown or duplicate fields. Valid values are: Ignore, Warn (the default), Strict.',
);
const FORCE = param('force', 'Force is going to "force" Apply requests. It means user will re-acquire conflicting fields owned by other people. Must be unset for non-apply patch requests.', 'boolean');
const PRETTY = param('pretty', "If 'true', then the output is pretty printed.");
const GRACE_PERIOD = param('gracePeriodSeconds', 'The duration in seconds before the object should be deleted.', 'integer');
const PROPAGATION = param('propagationPolicy', 'Whether and how garbage collection will be performed: Orphan, Background or Foreground.');
const LIST_PARAMS = [
  param('allowWatchBookmarks', 'allowWatchBookmarks requests watch events with type "BOOKMARK".', 'boolean'),
  param('continue', 'The continue option should be set when retrieving more results from the server.'),
  param('fieldSelector', 'A selector to restrict the list of returned objects by their fields. Defaults to everything.'),
  param('labelSelector', 'A selector to restrict the list of returned objects by their labels. Defaults to everything.'),
  param('limit', 'limit is a maximum number of responses to return for a list call.', 'integer'),
  param('resourceVersion', 'resourceVersion sets a constraint on what resource versions a request may be served from.'),
  param('resourceVersionMatch', 'resourceVersionMatch determines how resourceVersion is applied to list calls.'),
  param('timeoutSeconds', 'Timeout for the list/watch call.', 'integer'),
  param('watch', 'Watch for changes to the described resources and return them as a stream of add, update, and remove notifications.', 'boolean'),
];

const json = (ref: string) => {
  const schema = { $ref: `#/components/schemas/${ref}` };
  return { 'application/json': { schema }, 'application/yaml': { schema } };
};

const capitalize = (w: string) => w.charAt(0).toUpperCase() + w.slice(1);

function operationsFor(r: ResourceInfo, definition: string, listDefinition: string) {
  const gvk = { group: r.group, version: r.version, kind: r.kind };
  // kube's operation ids: readCoreV1NamespacedSecret, listCoreV1SecretForAllNamespaces, patchCoreV1Namespace, ...
  const gv = (r.group ? r.group.split(/[.-]/).map(capitalize).join('') : 'Core') + capitalize(r.version);
  const scoped = (r.namespaced ? 'Namespaced' : '') + r.kind;
  const op = (action: string, operationId: string, extra: Record<string, unknown>) => ({
    description: `${action} ${r.kind}`,
    operationId,
    'x-kubernetes-action': action,
    'x-kubernetes-group-version-kind': gvk,
    ...extra,
  });
  const ok = (ref: string) => ({ description: 'OK', content: json(ref) });
  const created = { description: 'Created', content: json(definition) };
  const body = (types: string[], ref: string) => ({
    content: Object.fromEntries(types.map((t) => [t, { schema: { $ref: `#/components/schemas/${ref}` } }])),
    required: true,
  });
  const status = ok('io.k8s.apimachinery.pkg.apis.meta.v1.Status');
  const item = {
    get: op('get', `read${gv}${scoped}`, { parameters: [PRETTY], responses: { '200': ok(definition) } }),
    put: op('put', `replace${gv}${scoped}`, {
      parameters: [DRY_RUN, FIELD_MANAGER, FIELD_VALIDATION, PRETTY],
      requestBody: body(['*/*'], definition),
      responses: { '200': ok(definition), '201': created },
    }),
    // What `kubectl apply/create/replace -f` look for before leaving validation to the server.
    patch: op('patch', `patch${gv}${scoped}`, {
      parameters: [DRY_RUN, FIELD_MANAGER, FIELD_VALIDATION, FORCE, PRETTY],
      requestBody: body(r.group === '' ? PATCH_TYPES_CORE : PATCH_TYPES_CUSTOM, 'io.k8s.apimachinery.pkg.apis.meta.v1.Patch'),
      responses: { '200': ok(definition), '201': created },
    }),
    delete: op('delete', `delete${gv}${scoped}`, { parameters: [DRY_RUN, GRACE_PERIOD, PROPAGATION, PRETTY], responses: { '200': status } }),
  };
  const collection: Record<string, unknown> = {
    get: op('list', `list${gv}${scoped}`, { parameters: [...LIST_PARAMS, PRETTY], responses: { '200': ok(listDefinition) } }),
    post: op('post', `create${gv}${scoped}`, {
      parameters: [DRY_RUN, FIELD_MANAGER, FIELD_VALIDATION, PRETTY],
      requestBody: body(['*/*'], definition),
      responses: { '200': ok(definition), '201': created },
    }),
  };
  if (r.verbs.includes('deletecollection')) {
    collection.delete = op('deletecollection', `delete${gv}Collection${scoped}`, {
      parameters: [...LIST_PARAMS, DRY_RUN, GRACE_PERIOD, PROPAGATION, PRETTY],
      responses: { '200': status },
    });
  }
  const allNamespaces = {
    get: op('list', `list${gv}${r.kind}ForAllNamespaces`, { parameters: [...LIST_PARAMS, PRETTY], responses: { '200': ok(listDefinition) } }),
  };
  return { item, collection, allNamespaces };
}

const NAME_PARAM = { name: 'name', in: 'path', description: 'name of the resource', required: true, schema: { type: 'string', uniqueItems: true } };
const NAMESPACE_PARAM = { name: 'namespace', in: 'path', description: 'object name and auth scope, such as for teams and projects', required: true, schema: { type: 'string', uniqueItems: true } };

/** The document of one group-version (`/openapi/v3/api/v1`, `/openapi/v3/apis/<group>/<version>`). */
export function openApiV3Document(resources: readonly ResourceInfo[]): Record<string, unknown> {
  const paths: Record<string, unknown> = {};
  const roots: string[] = [];
  const defs = withCustomResourceDefinitions(resources);
  for (const r of resources) {
    const definition = definitionFor({ group: r.group, version: r.version, kind: r.kind }, defs);
    if (!definition) continue;
    const listDefinition = definitionFor({ group: r.group, version: r.version, kind: r.listKind }, defs);
    roots.push(definition, ...(listDefinition ? [listDefinition] : []));
    const prefix = r.group ? `/apis/${r.group}/${r.version}` : `/api/${r.version}`;
    const ops = operationsFor(r, definition, listDefinition ?? definition);
    if (r.namespaced) {
      paths[`${prefix}/namespaces/{namespace}/${r.plural}`] = { parameters: [NAMESPACE_PARAM], ...ops.collection };
      paths[`${prefix}/namespaces/{namespace}/${r.plural}/{name}`] = { parameters: [NAME_PARAM, NAMESPACE_PARAM], ...ops.item };
      paths[`${prefix}/${r.plural}`] = ops.allNamespaces;
    } else {
      paths[`${prefix}/${r.plural}`] = ops.collection;
      paths[`${prefix}/${r.plural}/{name}`] = { parameters: [NAME_PARAM], ...ops.item };
    }
  }
  roots.push('io.k8s.apimachinery.pkg.apis.meta.v1.Status', 'io.k8s.apimachinery.pkg.apis.meta.v1.Patch');
  const schemas = Object.fromEntries(definitionsClosure(roots, defs).map((name) => [name, v3Schema(defs[name]!)]));
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version: 'v1.32.0' },
    paths,
    components: {
      schemas,
      securitySchemes: { BearerToken: { type: 'apiKey', description: 'Bearer Token authentication', name: 'authorization', in: 'header' } },
    },
    security: [{ BearerToken: [] }],
  };
}

/** A served document and its content hash (kube: upper-case hex SHA-512), for `?hash=` URLs and ETags. */
export interface HashedDocument {
  body: string;
  hash: string;
}

export function hashDocument(doc: unknown): HashedDocument {
  const body = JSON.stringify(doc);
  return { body, hash: createHash('sha512').update(body).digest('hex').toUpperCase() };
}

/** The path of a group-version's document under /openapi/v3, without a leading slash: `api/v1`, `apis/g/v`. */
export function v3PathOf(r: Pick<ResourceInfo, 'group' | 'version'>): string {
  return r.group ? `apis/${r.group}/${r.version}` : `api/${r.version}`;
}

/** `/openapi/v3`: where each group-version document is, with its hash so clients can cache it forever. */
export function openApiV3Index(docs: ReadonlyMap<string, HashedDocument>): Record<string, unknown> {
  return {
    paths: Object.fromEntries(
      [...docs].map(([path, d]) => [path, { serverRelativeURL: `/openapi/v3/${path}?hash=${d.hash}` }]),
    ),
  };
}

/** The group-versions of a set of resources, each with its resources, in the order first seen. */
export function groupVersions(resources: readonly ResourceInfo[]): Map<string, ResourceInfo[]> {
  const out = new Map<string, ResourceInfo[]>();
  for (const r of resources) {
    const key = apiVersionOf(r);
    out.set(key, [...(out.get(key) ?? []), r]);
  }
  return out;
}
