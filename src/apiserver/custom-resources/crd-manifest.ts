// The apiextensions.k8s.io/v1 CustomResourceDefinition object of a CRD Coffer serves: what deploy/crds/ ships for
// real clusters, built from the same definitions the API server uses so the two cannot drift (a test compares them;
// `node --import tsx src/apiserver/custom-resources/write-crd-manifests.ts` rewrites the files).
import { stringify } from 'yaml';
import type { CustomResourceDefinitionSpec } from './custom-resource-definition.js';

export function crdObject(crd: CustomResourceDefinitionSpec): Record<string, unknown> {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${crd.names.plural}.${crd.group}`, ...(crd.labels ? { labels: crd.labels } : {}) },
    spec: {
      group: crd.group,
      names: {
        categories: crd.names.categories,
        kind: crd.names.kind,
        listKind: crd.names.listKind,
        plural: crd.names.plural,
        shortNames: crd.names.shortNames,
        singular: crd.names.singular,
      },
      scope: crd.scope,
      versions: crd.versions.map((v) => ({
        ...(v.additionalPrinterColumns?.length ? { additionalPrinterColumns: v.additionalPrinterColumns } : {}),
        ...(v.deprecated ? { deprecated: true } : {}),
        name: v.name,
        schema: { openAPIV3Schema: v.schema },
        ...(v.selectableFields?.length ? { selectableFields: v.selectableFields } : {}),
        served: v.served,
        storage: v.storage,
        ...(v.subresources ? { subresources: v.subresources } : {}),
      })),
    },
  };
}

/** The file deploy/crds/<group>_<plural>.yaml holds. */
export function crdManifestFileName(crd: CustomResourceDefinitionSpec): string {
  return `${crd.group}_${crd.names.plural}.yaml`;
}

export function crdManifestYaml(crd: CustomResourceDefinitionSpec): string {
  const header = '# Generated from src/apiserver/custom-resources (the schemas Coffer serves); do not edit by hand.\n';
  return `${header}---\n${stringify(crdObject(crd), { lineWidth: 0, aliasDuplicateObjects: false })}`;
}
