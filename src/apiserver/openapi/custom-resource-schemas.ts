// OpenAPI definitions of custom resources, built as kube's CRD OpenAPI builder does (apiextensions-apiserver
// pkg/controller/openapi/builder): named by reversed group + version + kind (`io.external-secrets.v1.ExternalSecret`),
// the version's schema with apiVersion/kind/metadata replaced by the standard ones, a List definition, and
// x-kubernetes-group-version-kind so kubectl finds them (apply's validation check, explain).
import type { ResourceInfo } from '../resource-info.js';
import { API_VERSION, DEFINITIONS, KIND, LIST_METADATA, OBJECT_METADATA, type SchemaNode } from './schemas.js';

/** `external-secrets.io` + `v1` + `ExternalSecret` → `io.external-secrets.v1.ExternalSecret`. */
export function customResourceDefinitionName(r: Pick<ResourceInfo, 'group' | 'version'>, kind: string): string {
  return `${r.group.split('.').reverse().join('.')}.${r.version}.${kind}`;
}

function definitionsOf(r: ResourceInfo): Record<string, SchemaNode> {
  const schema = r.customResource!.schema;
  const gvk = (kind: string) => ({ 'x-kubernetes-group-version-kind': [{ group: r.group, kind, version: r.version }] });
  const properties: Record<string, SchemaNode> = { apiVersion: API_VERSION, kind: KIND, metadata: OBJECT_METADATA };
  for (const [name, prop] of Object.entries(schema.properties ?? {})) {
    if (name in properties) continue;
    properties[name] = { raw: prop as unknown as Record<string, unknown> };
  }
  const name = customResourceDefinitionName(r, r.kind);
  return {
    [name]: {
      type: 'object',
      ...(schema.description ? { description: schema.description } : {}),
      ...(schema.required?.length ? { required: [...schema.required] } : {}),
      properties,
      extensions: gvk(r.kind),
    },
    [customResourceDefinitionName(r, r.listKind)]: {
      type: 'object',
      description: `${r.kind}List is a list of ${r.kind}`,
      required: ['items'],
      properties: {
        apiVersion: API_VERSION,
        items: { type: 'array', description: `List of ${r.plural}. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md`, items: { ref: name } },
        kind: KIND,
        metadata: LIST_METADATA,
      },
      extensions: gvk(r.listKind),
    },
  };
}

/** The built-in definitions plus those of the custom resources among `resources`. */
export function withCustomResourceDefinitions(resources: readonly ResourceInfo[]): Readonly<Record<string, SchemaNode>> {
  const custom = resources.filter((r) => r.customResource);
  if (custom.length === 0) return DEFINITIONS;
  return Object.assign({}, DEFINITIONS, ...custom.map(definitionsOf)) as Record<string, SchemaNode>;
}
