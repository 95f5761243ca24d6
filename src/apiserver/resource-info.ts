// What the API server knows about each resource it serves: enough for URLs, discovery, storage keys and messages.
import type { JsonSchemaProps } from './custom-resources/json-schema-props.js';

/** A CRD's additionalPrinterColumns entry (apiextensions.k8s.io/v1 CustomResourceColumnDefinition). */
export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  jsonPath: string;
  format?: string;
  description?: string;
  priority?: number;
}

/** What a custom resource version adds: kube serves these from the CustomResourceDefinition. */
export interface CustomResourceVersionInfo {
  /** The version objects are stored in (`v1`): other served versions are converted with strategy None. */
  storageVersion: string;
  /** The version's openAPIV3Schema (structural): pruning, defaulting, validation and the published OpenAPI. */
  schema: JsonSchemaProps;
  statusSubresource: boolean;
  printerColumns: readonly PrinterColumn[];
  /** selectableFields JSON paths (`.spec.target.name`), usable in field selectors without the leading dot. */
  selectableFields: readonly string[];
  /** The Warning header kube sends for every request to a deprecated version. */
  deprecationWarning?: string;
}

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
  /** `kubectl get <category>` expands to every resource in it. */
  categories?: string[];
  customResource?: CustomResourceVersionInfo;
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

export const EVENTS: ResourceInfo = {
  group: '',
  version: 'v1',
  kind: 'Event',
  listKind: 'EventList',
  plural: 'events',
  singular: 'event',
  namespaced: true,
  shortNames: ['ev'],
  verbs: ALL_VERBS,
};

export function apiVersionOf(r: ResourceInfo): string {
  return r.group ? `${r.group}/${r.version}` : r.version;
}
