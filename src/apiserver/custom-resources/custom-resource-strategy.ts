// The registry strategy of a custom resource version (apiextensions-apiserver pkg/registry/customresource
// strategy.go, status_strategy.go, validator.go): the structural schema prunes, defaults and validates; with the
// status subresource, the main resource never writes status and /status writes nothing else; metadata.generation
// starts at 1 and grows with every change outside metadata (and status).
import type { FieldError } from '../api-status.js';
import type { KubeObject, ObjectMeta } from '../../objects/object-meta.js';
import { META, DEFINITIONS } from '../openapi/schemas.js';
import { nameIsDnsSubdomain } from '../../lib/go/name-validation.js';
import { validateObjectMeta, validateObjectMetaUpdate } from '../registry/object-meta-validation.js';
import { recordOf, type Strategy, type Subresource } from '../registry/strategy.js';
import type { ResourceInfo } from '../resource-info.js';
import { evaluateJsonPath, jsonPathText, parseJsonPath } from './kubectl-jsonpath.js';
import { applySchemaDefaults, pruneUnknownFields, validateAgainstSchema } from './structural-schema.js';

const OBJECT_META_FIELDS = new Set(Object.keys(DEFINITIONS[`${META}.ObjectMeta`]!.properties!));
const OWNER_REFERENCE_FIELDS = new Set(Object.keys(DEFINITIONS[`${META}.OwnerReference`]!.properties!));

/** metadata is typed ObjectMeta even inside a custom resource: fields it does not have are dropped. */
function pruneObjectMeta(obj: KubeObject): void {
  const meta = recordOf(obj.metadata);
  if (!meta) return;
  for (const k of Object.keys(meta)) if (!OBJECT_META_FIELDS.has(k)) delete meta[k];
  const refs = meta.ownerReferences;
  if (Array.isArray(refs)) {
    for (const ref of refs) {
      const r = recordOf(ref);
      if (r) for (const k of Object.keys(r)) if (!OWNER_REFERENCE_FIELDS.has(k)) delete r[k];
    }
  }
}

/** Everything but metadata (and, with the status subresource, status): what a generation counts. */
function generationContent(obj: KubeObject): string {
  const { metadata: _m, apiVersion: _a, kind: _k, ...rest } = obj;
  return JSON.stringify(rest, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, (v as Record<string, unknown>)[k]]))
      : v,
  );
}

/** Prunes unknown fields and applies the schema's defaults; also used on objects read back from storage. */
export function normalizeCustomResource(info: ResourceInfo, obj: KubeObject): KubeObject {
  const cr = info.customResource!;
  pruneUnknownFields(obj, cr.schema);
  pruneObjectMeta(obj);
  applySchemaDefaults(obj, cr.schema);
  return obj;
}

export function customResourceStrategy(info: ResourceInfo): Strategy {
  const cr = info.customResource;
  if (!cr) throw new Error(`${info.plural} is not a custom resource`);
  const selectable = cr.selectableFields.map((path) => ({ label: path.replace(/^\./, ''), steps: parseJsonPath(path) }));
  const labels = new Set(['metadata.name', 'metadata.namespace', ...selectable.map((s) => s.label)]);
  const validate = (obj: KubeObject): FieldError[] => [
    ...validateObjectMeta(obj.metadata ?? {}, { namespaced: info.namespaced, nameFn: nameIsDnsSubdomain }),
    ...validateAgainstSchema(obj, cr.schema),
  ];

  return {
    groupKind: { group: info.group, kind: info.kind },
    resetFields: cr.statusSubresource ? ['status'] : [],

    applyDefaults: (obj) => normalizeCustomResource(info, obj),

    prepareForCreate(obj) {
      if (cr.statusSubresource) delete obj.status;
      obj.metadata = { ...obj.metadata, generation: 1 };
      return obj;
    },

    prepareForUpdate(obj: KubeObject, old: KubeObject, subresource?: Subresource): KubeObject {
      if (subresource === 'status') {
        // Only status (and the managedFields just computed for this write) come from the request.
        const next = structuredClone(old);
        const meta: ObjectMeta = { ...next.metadata };
        if (obj.metadata?.managedFields) meta.managedFields = obj.metadata.managedFields;
        else delete meta.managedFields;
        next.metadata = meta;
        if (obj.status !== undefined) next.status = obj.status;
        else delete next.status;
        next.apiVersion = obj.apiVersion;
        return next;
      }
      if (cr.statusSubresource) {
        if (old.status !== undefined) obj.status = structuredClone(old.status);
        else delete obj.status;
      }
      if (generationContent(obj) !== generationContent(old)) obj.metadata = { ...obj.metadata, generation: (old.metadata?.generation ?? 0) + 1 };
      return obj;
    },

    validate,

    validateUpdate(obj: KubeObject, old: KubeObject): FieldError[] {
      return [...validateObjectMetaUpdate(obj.metadata ?? {}, old.metadata ?? {}), ...validateAgainstSchema(obj, cr.schema)];
    },

    fieldLabelError(label: string): string | undefined {
      if (labels.has(label)) return undefined;
      // CRDs with selectableFields get their own conversion function; without, kube's default one answers.
      return selectable.length > 0
        ? `field label not supported: ${label}`
        : `"${label}" is not a known field selector: only "metadata.name", "metadata.namespace"`;
    },

    selectableFields(obj: KubeObject): Record<string, string> {
      const out: Record<string, string> = { 'metadata.name': obj.metadata?.name ?? '', 'metadata.namespace': obj.metadata?.namespace ?? '' };
      for (const s of selectable) {
        const found = evaluateJsonPath(s.steps, obj);
        out[s.label] = found.length > 0 && found[0] !== null && typeof found[0] !== 'object' ? jsonPathText(found[0]) : '';
      }
      return out;
    },
  };
}
