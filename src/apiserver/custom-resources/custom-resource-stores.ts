// Registry stores for CustomResourceDefinitions: one GenericStore per served version, all over the same storage
// (/registry/<group>/<plural>/, JSON, through the encryption engine as kube stores custom resources). Versions
// convert with strategy None: only apiVersion changes, and objects read back are pruned and defaulted by the
// schema of the version served, as kube's apiextensions server does.
import type { KubeObject } from '../../objects/object-meta.js';
import { GenericStore, type GenericStoreOptions } from '../registry/generic-store.js';
import type { ResourceInfo } from '../resource-info.js';
import { servedVersionsOf, type CustomResourceDefinitionSpec } from './custom-resource-definition.js';
import { customResourceStrategy, normalizeCustomResource } from './custom-resource-strategy.js';

export type CommonStoreOptions = Omit<GenericStoreOptions, 'info' | 'strategy' | 'mediaType' | 'conversion'>;

export interface CustomResourceStores {
  /** Every served version, preferred version first within each resource. */
  served: GenericStore[];
  /** One store per resource, in its storage version: what the garbage collector and namespace deletion use. */
  storage: GenericStore[];
}

function versionStore(info: ResourceInfo, common: CommonStoreOptions): GenericStore {
  const storageApiVersion = `${info.group}/${info.customResource!.storageVersion}`;
  const servedApiVersion = `${info.group}/${info.version}`;
  return new GenericStore({
    ...common,
    info,
    strategy: customResourceStrategy(info),
    mediaType: 'json',
    conversion: {
      toStorage: (obj: KubeObject) => ({ ...obj, apiVersion: storageApiVersion }),
      fromStorage: (obj: KubeObject) => normalizeCustomResource(info, { ...obj, apiVersion: servedApiVersion }),
    },
  });
}

export function createCustomResourceStores(crds: readonly CustomResourceDefinitionSpec[], common: CommonStoreOptions): CustomResourceStores {
  const served: GenericStore[] = [];
  const storage: GenericStore[] = [];
  for (const crd of crds) {
    for (const info of servedVersionsOf(crd)) {
      const store = versionStore(info, common);
      served.push(store);
      if (info.version === info.customResource!.storageVersion) storage.push(store);
    }
  }
  return { served, storage };
}
