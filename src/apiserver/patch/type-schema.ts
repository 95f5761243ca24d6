// The shape of the kinds Coffer serves, as far as patching needs it: which fields are structs (merged field by field),
// maps (merged per key), and how each list merges. One description serves strategic merge patch (Go struct tags
// patchStrategy/patchMergeKey) and server-side apply (x-kubernetes-list-type/-map-keys, +structType); for these kinds
// both agree: set lists merge as primitive lists, map lists by their key, everything else is replaced whole.
// Source: k8s.io/api core/v1 types.go and apimachinery meta/v1 types.go at 1.32.

export type TypeDef =
  | { readonly kind: 'scalar' }
  /** `open`: undeclared fields are untyped (custom resources) instead of schema errors. `atomic`: +structType=atomic. */
  | { readonly kind: 'struct'; readonly fields: Readonly<Record<string, TypeDef>>; readonly atomic?: boolean; readonly open?: boolean }
  | { readonly kind: 'map'; readonly values: TypeDef }
  | { readonly kind: 'list'; readonly listType: 'atomic' }
  /** A set of scalars; strategic merge treats it as a merging primitive list. */
  | { readonly kind: 'list'; readonly listType: 'set' }
  /** An associative list; strategic merge uses keys[0] as patchMergeKey. */
  | { readonly kind: 'list'; readonly listType: 'map'; readonly keys: readonly string[]; readonly items: TypeDef }
  /** Anything without a schema: objects are granular, lists atomic (structured-merge-diff's deduced type). */
  | { readonly kind: 'untyped' };

export type StructDef = Extract<TypeDef, { kind: 'struct' }>;

const SCALAR: TypeDef = { kind: 'scalar' };
const STRING_MAP: TypeDef = { kind: 'map', values: SCALAR };
const ATOMIC_LIST: TypeDef = { kind: 'list', listType: 'atomic' };
const UNTYPED: TypeDef = { kind: 'untyped' };

function scalars(...names: string[]): Record<string, TypeDef> {
  return Object.fromEntries(names.map((n) => [n, SCALAR]));
}

const OWNER_REFERENCE: TypeDef = {
  kind: 'struct',
  atomic: true,
  fields: scalars('apiVersion', 'kind', 'name', 'uid', 'controller', 'blockOwnerDeletion'),
};

export const OBJECT_META: StructDef = {
  kind: 'struct',
  fields: {
    ...scalars(
      'name', 'generateName', 'namespace', 'selfLink', 'uid', 'resourceVersion', 'generation', 'creationTimestamp',
      'deletionTimestamp', 'deletionGracePeriodSeconds',
    ),
    labels: STRING_MAP,
    annotations: STRING_MAP,
    ownerReferences: { kind: 'list', listType: 'map', keys: ['uid'], items: OWNER_REFERENCE },
    finalizers: { kind: 'list', listType: 'set' },
    managedFields: ATOMIC_LIST,
  },
};

const TYPE_META = scalars('apiVersion', 'kind');

const SECRET: StructDef = {
  kind: 'struct',
  fields: { ...TYPE_META, metadata: OBJECT_META, immutable: SCALAR, data: STRING_MAP, stringData: STRING_MAP, type: SCALAR },
};

const CONFIG_MAP: StructDef = {
  kind: 'struct',
  fields: { ...TYPE_META, metadata: OBJECT_META, immutable: SCALAR, data: STRING_MAP, binaryData: STRING_MAP },
};

const NAMESPACE: StructDef = {
  kind: 'struct',
  fields: {
    ...TYPE_META,
    metadata: OBJECT_META,
    // NamespaceSpec.finalizers has no patch strategy and is +listType=atomic.
    spec: { kind: 'struct', fields: { finalizers: ATOMIC_LIST } },
    status: {
      kind: 'struct',
      fields: {
        phase: SCALAR,
        conditions: {
          kind: 'list',
          listType: 'map',
          keys: ['type'],
          items: { kind: 'struct', fields: scalars('type', 'status', 'lastTransitionTime', 'reason', 'message') },
        },
      },
    },
  },
};

const OBJECT_REFERENCE: TypeDef = {
  kind: 'struct',
  atomic: true,
  fields: scalars('kind', 'namespace', 'name', 'uid', 'apiVersion', 'resourceVersion', 'fieldPath'),
};

const EVENT: StructDef = {
  kind: 'struct',
  fields: {
    ...TYPE_META,
    metadata: OBJECT_META,
    involvedObject: OBJECT_REFERENCE,
    related: OBJECT_REFERENCE,
    source: { kind: 'struct', fields: scalars('component', 'host') },
    series: { kind: 'struct', fields: scalars('count', 'lastObservedTime') },
    ...scalars('reason', 'message', 'firstTimestamp', 'lastTimestamp', 'count', 'type', 'eventTime', 'action', 'reportingComponent', 'reportingInstance'),
  },
};

/** A custom resource: typed metadata, everything else untyped. */
const CUSTOM_RESOURCE: StructDef = { kind: 'struct', open: true, fields: { ...TYPE_META, metadata: OBJECT_META } };

export interface KindSchema {
  readonly root: StructDef;
  /** Top-level fields the main resource does not own (kube's reset fields): never tracked, never conflicting. */
  readonly resetFields: readonly string[];
  /** Whether kube serves strategic merge patch for the kind (built-in kinds only). */
  readonly strategic: boolean;
}

/** The schema of a kind served at group `group`; unknown kinds are treated as custom resources. */
export function kindSchema(group: string, kind: string): KindSchema {
  if (group === '') {
    if (kind === 'Secret') return { root: SECRET, resetFields: [], strategic: true };
    if (kind === 'ConfigMap') return { root: CONFIG_MAP, resetFields: [], strategic: true };
    if (kind === 'Namespace') return { root: NAMESPACE, resetFields: ['status'], strategic: true };
    if (kind === 'Event') return { root: EVENT, resetFields: [], strategic: true };
  }
  return { root: CUSTOM_RESOURCE, resetFields: [], strategic: false };
}

/** The type of a member of an object-shaped value; undefined for a field a struct does not declare. */
export function memberType(def: TypeDef, name: string): TypeDef | undefined {
  switch (def.kind) {
    case 'struct':
      return Object.hasOwn(def.fields, name) ? def.fields[name] : def.open ? UNTYPED : undefined;
    case 'map':
      return def.values;
    case 'untyped':
      return UNTYPED;
    default:
      return undefined;
  }
}

/** Whether values of this type are JSON objects whose members are tracked one by one. */
export function isGranularObject(def: TypeDef): boolean {
  return (def.kind === 'struct' && !def.atomic) || def.kind === 'map' || def.kind === 'untyped';
}
