// The kubernetes provider's PushSecretMetadata (ESO providers/v1/kubernetes/metadata.go, parsed as
// runtime/esutils/metadata/metadata.go ParseMetadataParameters does): labels and annotations for the remote Secret,
// how they join the source Secret's own (sourceMergePolicy) and the remote Secret's (targetMergePolicy), and a
// remoteNamespace override (ClusterSecretStore only).
import { InvalidError } from '../../lib/errors.js';

export const PUSH_METADATA_API_VERSION = 'kubernetes.external-secrets.io/v1alpha1';
export const PUSH_METADATA_KIND = 'PushSecretMetadata';

export interface KubernetesPushMetadata {
  targetMergePolicy?: string;
  sourceMergePolicy?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  remoteNamespace?: string;
}

const TYPE = 'metadata.PushSecretMetadata[kubernetes.PushSecretMetadataSpec]';
const SPEC_FIELDS = new Set(['targetMergePolicy', 'sourceMergePolicy', 'labels', 'annotations', 'remoteNamespace']);

const goType = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v === 'object' ? 'object' : typeof v === 'boolean' ? 'bool' : typeof v);
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** ParseMetadataParameters with DisallowUnknownFields; undefined when the entry has no metadata. */
export function parsePushMetadata(raw: unknown): KubernetesPushMetadata | undefined {
  if (raw === undefined || raw === null) return undefined;
  const fail = (detail: string) => new InvalidError(`unable to parse metadata parameters: failed to parse ${PUSH_METADATA_API_VERSION} ${PUSH_METADATA_KIND}: ${detail}`);
  if (!isObject(raw)) throw fail(`error unmarshaling JSON: json: cannot unmarshal ${goType(raw)} into Go value of type ${TYPE}`);
  for (const k of Object.keys(raw)) if (!['apiVersion', 'kind', 'spec'].includes(k)) throw fail(`error unmarshaling JSON: json: unknown field "${k}"`);
  const spec = raw.spec ?? {};
  if (!isObject(spec)) throw fail(`error unmarshaling JSON: json: cannot unmarshal ${goType(spec)} into Go struct field ${TYPE}.spec`);
  for (const [k, v] of Object.entries(spec)) {
    if (!SPEC_FIELDS.has(k)) throw fail(`error unmarshaling JSON: json: unknown field "${k}"`);
    const isMap = k === 'labels' || k === 'annotations';
    const field = `Go struct field PushSecretMetadataSpec.spec.${k}`;
    if (v === null) continue;
    if (isMap && !isObject(v)) throw fail(`error unmarshaling JSON: json: cannot unmarshal ${goType(v)} into ${field} of type map[string]string`);
    const bad: unknown = isMap ? Object.values(v as object).find((x: unknown) => typeof x !== 'string') : typeof v === 'string' ? undefined : v;
    if (bad !== undefined) throw fail(`error unmarshaling JSON: json: cannot unmarshal ${goType(bad)} into ${field} of type string`);
  }
  if ((raw.apiVersion ?? '') !== PUSH_METADATA_API_VERSION) {
    throw new InvalidError(`unable to parse metadata parameters: unexpected apiVersion ${JSON.stringify(raw.apiVersion ?? '')}, expected "${PUSH_METADATA_API_VERSION}"`);
  }
  if ((raw.kind ?? '') !== PUSH_METADATA_KIND) throw new InvalidError(`unable to parse metadata parameters: unexpected kind ${JSON.stringify(raw.kind ?? '')}, expected "${PUSH_METADATA_KIND}"`);
  return spec;
}

type StringMap = Record<string, string>;

/**
 * mergeSourceMetadata then mergeTargetMetadata: the labels and annotations the remote Secret gets. Without metadata
 * the source Secret's are merged into the remote's.
 */
export function mergePushMetadata(
  meta: KubernetesPushMetadata | undefined,
  source: { labels?: StringMap; annotations?: StringMap },
  remote: { labels?: StringMap; annotations?: StringMap },
): { labels: StringMap; annotations: StringMap } {
  let labels: StringMap = { ...source.labels };
  let annotations: StringMap = { ...source.annotations };
  switch (meta?.sourceMergePolicy ?? '') {
    case '':
    case 'Merge':
      Object.assign(labels, meta?.labels);
      Object.assign(annotations, meta?.annotations);
      break;
    case 'Replace':
      labels = { ...meta?.labels };
      annotations = { ...meta?.annotations };
      break;
    default:
      throw new InvalidError(`failed to merge source metadata: unexpected source merge policy ${JSON.stringify(meta?.sourceMergePolicy)}`);
  }
  switch (meta?.targetMergePolicy ?? '') {
    case '':
    case 'Merge':
      return { labels: { ...remote.labels, ...labels }, annotations: { ...remote.annotations, ...annotations } };
    case 'Replace':
      return { labels, annotations };
    case 'Ignore':
      return { labels: { ...remote.labels }, annotations: { ...remote.annotations } };
    default:
      throw new InvalidError(`failed to merge target metadata: unexpected target merge policy ${JSON.stringify(meta?.targetMergePolicy)}`);
  }
}
