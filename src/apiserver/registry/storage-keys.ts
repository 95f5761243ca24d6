// Where kube-apiserver keeps each object (k8s.io/apiserver pkg/storage/etcd3/store.go, NamespaceKeyFunc in
// pkg/registry/generic/registry/store.go): `/registry/<resource>/<namespace>/<name>`
// for namespaced resources, `/registry/<resource>/<name>` for cluster-scoped ones, with `<group>/<resource>` for
// custom resources. The key is also the AAD of every
// encrypting provider, so it must be byte-identical to upstream's for stored data to be portable.
import type { ResourceInfo } from '../resource-info.js';

export const REGISTRY_PREFIX = '/registry/';

export class StorageKeys {
  readonly resourcePrefix: string;

  constructor(
    private readonly info: ResourceInfo,
    root = REGISTRY_PREFIX,
  ) {
    // Custom resources live under their group (kube's apiextensions server: /registry/<group>/<plural>/...).
    this.resourcePrefix = info.customResource ? `${root}${info.group}/${info.plural}/` : `${root}${info.plural}/`;
  }

  key(namespace: string | undefined, name: string): string {
    return this.info.namespaced ? `${this.resourcePrefix}${namespace ?? ''}/${name}` : `${this.resourcePrefix}${name}`;
  }

  /** The prefix a list or watch reads: one namespace, or every object of the resource. */
  listPrefix(namespace: string | undefined): string {
    return this.info.namespaced && namespace !== undefined ? `${this.resourcePrefix}${namespace}/` : this.resourcePrefix;
  }

  /** Namespace and name of a key under resourcePrefix (namespace undefined for cluster-scoped resources). */
  parse(key: string): { namespace: string | undefined; name: string } {
    const rest = key.slice(this.resourcePrefix.length);
    if (!this.info.namespaced) return { namespace: undefined, name: rest };
    const slash = rest.indexOf('/');
    return { namespace: rest.slice(0, slash), name: rest.slice(slash + 1) };
  }
}
