// A CustomResourceDefinition as Coffer serves it (the apiextensions.k8s.io/v1 spec fields that matter here), and
// the ResourceInfo of each served version. kube-apiserver's apiextensions server builds the same things from a CRD
// object: discovery entries, storage at /registry/<group>/<plural>/, the schema, printer columns and subresources.
import type { PrinterColumn, ResourceInfo } from '../resource-info.js';
import type { JsonSchemaProps } from './json-schema-props.js';

export interface CustomResourceDefinitionVersion {
  name: string;
  served: boolean;
  storage: boolean;
  deprecated?: boolean;
  schema: JsonSchemaProps;
  subresources?: { status?: Record<string, never> };
  additionalPrinterColumns?: PrinterColumn[];
  selectableFields?: { jsonPath: string }[];
}

export interface CustomResourceDefinitionSpec {
  group: string;
  names: { plural: string; singular: string; kind: string; listKind: string; shortNames?: string[]; categories?: string[] };
  scope: 'Namespaced' | 'Cluster';
  versions: CustomResourceDefinitionVersion[];
  /** metadata.labels of the CRD object itself. */
  labels?: Record<string, string>;
}

// kube lists every verb for custom resources (deletecollection included), in this order (k8s.io/apiextensions-apiserver
// pkg/apiserver/customresource_discovery_controller.go).
const CUSTOM_RESOURCE_VERBS = ['delete', 'deletecollection', 'get', 'list', 'patch', 'create', 'update', 'watch'];

export function storageVersionOf(crd: CustomResourceDefinitionSpec): string {
  const v = crd.versions.find((x) => x.storage);
  if (!v) throw new Error(`CustomResourceDefinition ${crd.names.plural}.${crd.group} has no storage version`);
  return v.name;
}

/** kube's default deprecation warning (apiextensions-apiserver defaultDeprecationWarning). */
function deprecationWarning(crd: CustomResourceDefinitionSpec, version: string): string {
  const msg = `${crd.group}/${version} ${crd.names.kind} is deprecated`;
  const newer = crd.versions.filter((v) => v.served && !v.deprecated && compareKubeVersions(version, v.name) < 0);
  if (newer.length === 0) return msg;
  newer.sort((a, b) => compareKubeVersions(b.name, a.name));
  return `${msg}; use ${crd.group}/${newer[0]!.name} ${crd.names.kind}`;
}

const KUBE_VERSION = /^v(\d+)(?:(alpha|beta)(\d+))?$/;

/** Kube-aware version priority: GA > beta > alpha, higher numbers first; others last, alphabetically. <0: a < b. */
export function compareKubeVersions(a: string, b: string): number {
  const rank = (v: string): [number, number, number] | undefined => {
    const m = KUBE_VERSION.exec(v);
    if (!m) return undefined;
    const level = m[2] === undefined ? 2 : m[2] === 'beta' ? 1 : 0;
    return [level, Number(m[1]), Number(m[3] ?? 0)];
  };
  const ra = rank(a);
  const rb = rank(b);
  if (!ra || !rb) return ra ? 1 : rb ? -1 : a < b ? 1 : a > b ? -1 : 0;
  for (let i = 0; i < 3; i++) if (ra[i] !== rb[i]) return ra[i]! - rb[i]!;
  return 0;
}

/** The ResourceInfo of each served version, in kube's version priority order (the preferred version first). */
export function servedVersionsOf(crd: CustomResourceDefinitionSpec): ResourceInfo[] {
  const storageVersion = storageVersionOf(crd);
  return crd.versions
    .filter((v) => v.served)
    .sort((a, b) => compareKubeVersions(b.name, a.name))
    .map((v) => ({
      group: crd.group,
      version: v.name,
      kind: crd.names.kind,
      listKind: crd.names.listKind,
      plural: crd.names.plural,
      singular: crd.names.singular,
      namespaced: crd.scope === 'Namespaced',
      shortNames: crd.names.shortNames ?? [],
      verbs: CUSTOM_RESOURCE_VERBS,
      ...(crd.names.categories ? { categories: crd.names.categories } : {}),
      customResource: {
        storageVersion,
        schema: v.schema,
        statusSubresource: v.subresources?.status !== undefined,
        printerColumns: v.additionalPrinterColumns ?? [],
        selectableFields: (v.selectableFields ?? []).map((f) => f.jsonPath),
        ...(v.deprecated ? { deprecationWarning: deprecationWarning(crd, v.name) } : {}),
      },
    }));
}
