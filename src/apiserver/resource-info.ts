// What the API server knows about each resource it serves: enough for URLs, discovery, storage keys and messages.

export interface ResourceInfo {
  group: string; // "" for core
  version: string; // "v1"
  kind: string; // "Secret"
  listKind: string; // "SecretList"
  plural: string; // "secrets": the URL segment and the storage key segment (/registry/secrets/<ns>/<name>)
  singular: string; // "secret"
  namespaced: boolean;
  shortNames: string[];
  verbs: string[]; // as discovery lists them
}

const ALL_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

export const SECRETS: ResourceInfo = {
  group: '',
  version: 'v1',
  kind: 'Secret',
  listKind: 'SecretList',
  plural: 'secrets',
  singular: 'secret',
  namespaced: true,
  shortNames: [],
  verbs: ALL_VERBS,
};

export const CONFIG_MAPS: ResourceInfo = {
  group: '',
  version: 'v1',
  kind: 'ConfigMap',
  listKind: 'ConfigMapList',
  plural: 'configmaps',
  singular: 'configmap',
  namespaced: true,
  shortNames: ['cm'],
  verbs: ALL_VERBS,
};

export const NAMESPACES: ResourceInfo = {
  group: '',
  version: 'v1',
  kind: 'Namespace',
  listKind: 'NamespaceList',
  plural: 'namespaces',
  singular: 'namespace',
  namespaced: false,
  shortNames: ['ns'],
  verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
};

export function apiVersionOf(r: ResourceInfo): string {
  return r.group ? `${r.group}/${r.version}` : r.version;
}
