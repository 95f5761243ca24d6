// The external-secrets.io/v1 resources as the controller reads them (ESO v2.9.0 field names). Only fields the
// controller acts on are typed; everything else passes through untouched.
import type { V1ObjectMeta } from '@kubernetes/client-node';

export const GROUP = 'external-secrets.io';
export const VERSION = 'v1';
export const API_VERSION = `${GROUP}/${VERSION}`;

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}

export interface StoreRef {
  name: string;
  kind?: string;
}

export interface RemoteRef {
  key: string;
  property?: string;
  version?: string;
  metadataPolicy?: string;
  conversionStrategy?: string;
  decodingStrategy?: string;
  nullBytePolicy?: string;
}

export interface FindRef {
  path?: string;
  name?: { regexp?: string };
  tags?: Record<string, string>;
  conversionStrategy?: string;
  decodingStrategy?: string;
  nullBytePolicy?: string;
}

export interface Rewrite {
  regexp?: { source: string; target: string };
  transform?: { template: string };
  merge?: unknown;
}

export interface SourceRef {
  storeRef?: StoreRef;
  generatorRef?: { apiVersion?: string; kind?: string; name?: string };
}

export interface ExternalSecretTemplate {
  type?: string;
  engineVersion?: string;
  mergePolicy?: string;
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string>; finalizers?: string[] };
  data?: Record<string, string>;
  templateFrom?: {
    configMap?: { name: string; items: { key: string; templateAs?: string }[] };
    secret?: { name: string; items: { key: string; templateAs?: string }[] };
    literal?: string;
    target?: string;
  }[];
}

export interface ExternalSecretSpec {
  secretStoreRef?: StoreRef;
  refreshPolicy?: string;
  refreshInterval?: string;
  target?: {
    name?: string;
    creationPolicy?: string;
    deletionPolicy?: string;
    immutable?: boolean;
    template?: ExternalSecretTemplate;
    manifest?: { apiVersion: string; kind: string };
  };
  data?: { secretKey: string; remoteRef: RemoteRef; sourceRef?: SourceRef }[];
  dataFrom?: { extract?: RemoteRef; find?: FindRef; rewrite?: Rewrite[]; sourceRef?: SourceRef }[];
}

export interface ExternalSecret {
  apiVersion?: string;
  kind?: string;
  metadata: V1ObjectMeta;
  spec?: ExternalSecretSpec;
  status?: {
    refreshTime?: string | null;
    syncedResourceVersion?: string;
    binding?: { name?: string };
    conditions?: Condition[];
  };
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

export interface SecretStore {
  apiVersion?: string;
  kind?: string;
  metadata: V1ObjectMeta;
  spec?: {
    controller?: string;
    provider?: Record<string, unknown>;
    refreshInterval?: string | number;
    retrySettings?: { maxRetries?: number; retryInterval?: string };
    conditions?: { namespaceSelector?: LabelSelector; namespaces?: string[]; namespaceRegexes?: string[] }[];
  };
  status?: { capabilities?: string; conditions?: Condition[] };
}

export interface ClusterExternalSecret {
  apiVersion?: string;
  kind?: string;
  metadata: V1ObjectMeta;
  spec?: {
    externalSecretSpec?: ExternalSecretSpec;
    externalSecretName?: string;
    externalSecretMetadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
    namespaceSelectors?: LabelSelector[];
    namespaceSelector?: LabelSelector;
    namespaces?: string[];
    refreshTime?: string;
  };
  status?: {
    externalSecretName?: string;
    provisionedNamespaces?: string[];
    failedNamespaces?: { namespace: string; reason?: string }[];
    conditions?: { type: string; status: string; message?: string }[];
  };
}

// Labels and annotations ESO writes on managed Secrets (external-secrets
// apis/externalsecrets/v1/externalsecret_types.go); the same names let Coffer take over.
export const LABEL_MANAGED = 'reconcile.external-secrets.io/managed';
export const LABEL_CREATED_BY = 'reconcile.external-secrets.io/created-by';
export const ANNOTATION_DATA_HASH = 'reconcile.external-secrets.io/data-hash';
export const ANNOTATION_FORCE_SYNC = 'external-secrets.io/force-sync';
