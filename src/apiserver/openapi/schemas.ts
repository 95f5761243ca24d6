// Long: a table of schemas, one entry per served kind; length is data, not logic.
// The schemas of the kinds Coffer serves, written for this project from the Kubernetes core/v1 and meta/v1 field
// tables (names, types and patch extensions as kube publishes them, descriptions in our own words). One source feeds
// the OpenAPI v3 document (`kubectl explain`, apply validation), the v2 document (kubectl's client-side validation of a
// `kind: List`, as `get -o json | replace -f -` sends) and the server's own unknown-field check.

/** A JSON schema node. `ref` names another definition; the v2 and v3 writers render it their way. */
export interface SchemaNode {
  description?: string;
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  format?: string;
  ref?: string;
  properties?: Record<string, SchemaNode>;
  additionalProperties?: SchemaNode;
  items?: SchemaNode;
  required?: string[];
  default?: unknown;
  enum?: string[];
  /** x-kubernetes-* extensions, by full name. */
  extensions?: Record<string, unknown>;
  /** A schema published as is (a CRD's openAPIV3Schema below the object's top level); holds no references. */
  raw?: Record<string, unknown>;
}

export interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

export const META = 'io.k8s.apimachinery.pkg.apis.meta.v1';
export const CORE = 'io.k8s.api.core.v1';

const str = (description: string, extra: Partial<SchemaNode> = {}): SchemaNode => ({ type: 'string', description, ...extra });
const bool = (description: string): SchemaNode => ({ type: 'boolean', description });
const int64 = (description: string): SchemaNode => ({ type: 'integer', format: 'int64', description });
const ref = (name: string, description?: string): SchemaNode => ({ ref: name, ...(description ? { description } : {}) });
const stringMap = (description: string, format?: string): SchemaNode => ({
  type: 'object',
  description,
  additionalProperties: { type: 'string', ...(format ? { format } : { default: '' }) },
});
const gvkExt = (kind: string, group = '', version = 'v1') => ({
  'x-kubernetes-group-version-kind': [{ group, kind, version }],
});

export const API_VERSION = str(
  'APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources',
);
export const KIND = str(
  'Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds',
);
export const OBJECT_METADATA = ref(
  `${META}.ObjectMeta`,
  "Standard object's metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata",
);
export const LIST_METADATA = ref(
  `${META}.ListMeta`,
  'Standard list metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds',
);

function listOf(kind: string, itemRef: string, itemsDescription: string): SchemaNode {
  return {
    type: 'object',
    description: `${kind}List is a list of ${kind} objects.`,
    required: ['items'],
    properties: {
      apiVersion: API_VERSION,
      items: { type: 'array', description: itemsDescription, items: ref(itemRef) },
      kind: KIND,
      metadata: LIST_METADATA,
    },
    extensions: gvkExt(`${kind}List`),
  };
}

const TIME: SchemaNode = {
  type: 'string',
  format: 'date-time',
  description:
    'Time is a wrapper around time.Time which supports correct marshaling to YAML and JSON. Wrappers are provided for many of the factory methods that the time package offers.',
};

const OBJECT_META: SchemaNode = {
  type: 'object',
  description: 'ObjectMeta is metadata that all persisted resources must have, which includes all objects users must create.',
  properties: {
    annotations: stringMap(
      'Annotations is an unstructured key value map stored with a resource that may be set by external tools to store and retrieve arbitrary metadata. They are not queryable and should be preserved when modifying objects. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/annotations',
    ),
    creationTimestamp: ref(
      `${META}.Time`,
      'CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists.',
    ),
    deletionGracePeriodSeconds: int64(
      'Number of seconds allowed for this object to gracefully terminate before it will be removed from the system. Only set when deletionTimestamp is also set. May only be shortened. Read-only.',
    ),
    deletionTimestamp: ref(
      `${META}.Time`,
      'DeletionTimestamp is RFC 3339 date and time at which this resource will be deleted. This field is set by the server when a graceful deletion is requested by the user, and is not directly settable by a client. The resource is expected to be deleted (no longer visible from resource lists, and not reachable by name) after the time in this field, once the finalizers list is empty.\n\nPopulated by the system when a graceful deletion is requested. Read-only.',
    ),
    finalizers: {
      type: 'array',
      description:
        'Must be empty before the object is deleted from the registry. Each entry is an identifier for the responsible component that will remove the entry from the list. If the deletionTimestamp of the object is non-nil, entries in this list can only be removed. Finalizers may be processed and removed in any order.',
      items: { type: 'string', default: '' },
      extensions: { 'x-kubernetes-list-type': 'set', 'x-kubernetes-patch-strategy': 'merge' },
    },
    generateName: str(
      'GenerateName is an optional prefix, used by the server, to generate a unique name ONLY IF the Name field has not been provided. If this field is used, the name returned to the client will be different than the name passed. The value will be combined with a unique suffix.',
    ),
    generation: int64('A sequence number representing a specific generation of the desired state. Populated by the system. Read-only.'),
    labels: stringMap(
      'Map of string keys and values that can be used to organize and categorize (scope and select) objects. May match selectors of replication controllers and services. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels',
    ),
    managedFields: {
      type: 'array',
      description:
        "ManagedFields maps workflow-id and version to the set of fields that are managed by that workflow. This is mostly for internal housekeeping, and users typically shouldn't need to set or understand this field.",
      items: ref(`${META}.ManagedFieldsEntry`),
      extensions: { 'x-kubernetes-list-type': 'atomic' },
    },
    name: str(
      'Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names',
    ),
    namespace: str(
      'Namespace defines the space within which each name must be unique. An empty namespace is equivalent to the "default" namespace, but "default" is the canonical representation. Not all objects are required to be scoped to a namespace - the value of this field for those objects will be empty.\n\nMust be a DNS_LABEL. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/namespaces',
    ),
    ownerReferences: {
      type: 'array',
      description:
        'List of objects depended by this object. If ALL objects in the list have been deleted, this object will be garbage collected. If this object is managed by a controller, then an entry in this list will point to this controller, with the controller field set to true. There cannot be more than one managing controller.',
      items: ref(`${META}.OwnerReference`),
      extensions: {
        'x-kubernetes-list-map-keys': ['uid'],
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-patch-merge-key': 'uid',
        'x-kubernetes-patch-strategy': 'merge',
      },
    },
    resourceVersion: str(
      'An opaque value that represents the internal version of this object that can be used by clients to determine when objects have changed. May be used for optimistic concurrency, change detection, and the watch operation on a resource or set of resources. Clients must treat these values as opaque and passed unmodified back to the server.\n\nPopulated by the system. Read-only. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#concurrency-control-and-consistency',
    ),
    selfLink: str('Deprecated: selfLink is a legacy read-only field that is no longer populated by the system.'),
    uid: str(
      'UID is the unique in time and space value for this object. It is typically generated by the server on successful creation of a resource and is not allowed to change on PUT operations.\n\nPopulated by the system. Read-only. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#uids',
    ),
  },
};

const SECRET_DATA =
  'Data contains the secret data. Each key must consist of alphanumeric characters, \'-\', \'_\' or \'.\'. The serialized form of the secret data is a base64 encoded string, representing the arbitrary (possibly non-string) data value here. Described in https://tools.ietf.org/html/rfc4648#section-4';

/** Every definition, by kube's definition name. */
export const DEFINITIONS: Readonly<Record<string, SchemaNode>> = {
  [`${CORE}.Secret`]: {
    type: 'object',
    description: 'Secret holds secret data of a certain type. The total bytes of the values in the Data field must be less than MaxSecretSize bytes.',
    properties: {
      apiVersion: API_VERSION,
      data: stringMap(SECRET_DATA, 'byte'),
      immutable: bool(
        'Immutable, if set to true, ensures that data stored in the Secret cannot be updated (only object metadata can be modified). If not set to true, the field can be modified at any time. Defaulted to nil.',
      ),
      kind: KIND,
      metadata: OBJECT_METADATA,
      stringData: stringMap(
        'stringData allows specifying non-binary secret data in string form. It is provided as a write-only input field for convenience. All keys and values are merged into the data field on write, overwriting any existing values. The stringData field is never output when reading from the API.',
      ),
      type: str(
        'Used to facilitate programmatic handling of secret data. More info: https://kubernetes.io/docs/concepts/configuration/secret/#secret-types',
      ),
    },
    extensions: gvkExt('Secret'),
  },
  [`${CORE}.SecretList`]: listOf('Secret', `${CORE}.Secret`, 'Items is a list of secret objects. More info: https://kubernetes.io/docs/concepts/configuration/secret'),
  [`${CORE}.ConfigMap`]: {
    type: 'object',
    description: 'ConfigMap holds configuration data for pods to consume.',
    properties: {
      apiVersion: API_VERSION,
      binaryData: stringMap(
        "BinaryData contains the binary data. Each key must consist of alphanumeric characters, '-', '_' or '.'. BinaryData can contain byte sequences that are not in the UTF-8 range. The keys stored in BinaryData must not overlap with the ones in the Data field, this is enforced during validation process.",
        'byte',
      ),
      data: stringMap(
        "Data contains the configuration data. Each key must consist of alphanumeric characters, '-', '_' or '.'. Values with non-UTF-8 byte sequences must use the BinaryData field. The keys stored in Data must not overlap with the keys in the BinaryData field, this is enforced during validation process.",
      ),
      immutable: bool(
        'Immutable, if set to true, ensures that data stored in the ConfigMap cannot be updated (only object metadata can be modified). If not set to true, the field can be modified at any time. Defaulted to nil.',
      ),
      kind: KIND,
      metadata: OBJECT_METADATA,
    },
    extensions: gvkExt('ConfigMap'),
  },
  [`${CORE}.ConfigMapList`]: listOf('ConfigMap', `${CORE}.ConfigMap`, 'Items is the list of ConfigMaps.'),
  [`${CORE}.Namespace`]: {
    type: 'object',
    description: 'Namespace provides a scope for Names. Use of multiple namespaces is optional.',
    properties: {
      apiVersion: API_VERSION,
      kind: KIND,
      metadata: OBJECT_METADATA,
      spec: ref(
        `${CORE}.NamespaceSpec`,
        'Spec defines the behavior of the Namespace. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#spec-and-status',
      ),
      status: ref(
        `${CORE}.NamespaceStatus`,
        'Status describes the current status of a Namespace. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#spec-and-status',
      ),
    },
    extensions: gvkExt('Namespace'),
  },
  [`${CORE}.NamespaceList`]: listOf(
    'Namespace',
    `${CORE}.Namespace`,
    'Items is the list of Namespace objects in the list. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/namespaces/',
  ),
  [`${CORE}.NamespaceSpec`]: {
    type: 'object',
    description: 'NamespaceSpec describes the attributes on a Namespace.',
    properties: {
      finalizers: {
        type: 'array',
        description:
          'Finalizers is an opaque list of values that must be empty to permanently remove object from storage. More info: https://kubernetes.io/docs/tasks/administer-cluster/namespaces/',
        items: { type: 'string', default: '' },
        extensions: { 'x-kubernetes-list-type': 'atomic' },
      },
    },
  },
  [`${CORE}.NamespaceStatus`]: {
    type: 'object',
    description: 'NamespaceStatus is information about the current status of a Namespace.',
    properties: {
      conditions: {
        type: 'array',
        description: "Represents the latest available observations of a namespace's current state.",
        items: ref(`${CORE}.NamespaceCondition`),
        extensions: {
          'x-kubernetes-list-map-keys': ['type'],
          'x-kubernetes-list-type': 'map',
          'x-kubernetes-patch-merge-key': 'type',
          'x-kubernetes-patch-strategy': 'merge',
        },
      },
      phase: str(
        'Phase is the current lifecycle phase of the namespace. More info: https://kubernetes.io/docs/tasks/administer-cluster/namespaces/\n\nPossible enum values:\n - `"Active"` means the namespace is available for use in the system\n - `"Terminating"` means the namespace is undergoing graceful termination',
        { enum: ['Active', 'Terminating'] },
      ),
    },
  },
  [`${CORE}.NamespaceCondition`]: {
    type: 'object',
    description: 'NamespaceCondition contains details about state of namespace.',
    required: ['type', 'status'],
    properties: {
      lastTransitionTime: ref(`${META}.Time`, 'Last time the condition transitioned from one status to another.'),
      message: str('Human-readable message indicating details about last transition.'),
      reason: str("Unique, one-word, CamelCase reason for the condition's last transition."),
      status: str('Status of the condition, one of True, False, Unknown.', { default: '' }),
      type: str('Type of namespace controller condition.', { default: '' }),
    },
  },
  [`${CORE}.Event`]: {
    type: 'object',
    description: 'Event is a report of an event somewhere in the cluster. Events have a limited retention time and triggers and messages may evolve with time.',
    required: ['metadata', 'involvedObject'],
    properties: {
      action: str('What action was taken/failed regarding to the Regarding object.'),
      apiVersion: API_VERSION,
      count: { type: 'integer', format: 'int32', description: 'The number of times this event has occurred.' },
      eventTime: ref(`${META}.MicroTime`, 'Time when this Event was first observed.'),
      firstTimestamp: ref(`${META}.Time`, 'The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)'),
      involvedObject: ref(`${CORE}.ObjectReference`, 'The object that this event is about.'),
      kind: KIND,
      lastTimestamp: ref(`${META}.Time`, 'The time at which the most recent occurrence of this event was recorded.'),
      message: str('A human-readable description of the status of this operation.'),
      metadata: OBJECT_METADATA,
      reason: str("This should be a short, machine understandable string that gives the reason for the transition into the object's current status."),
      related: ref(`${CORE}.ObjectReference`, 'Optional secondary object for more complex actions.'),
      reportingComponent: str('Name of the controller that emitted this Event, e.g. `kubernetes.io/kubelet`.', { default: '' }),
      reportingInstance: str('ID of the controller instance, e.g. `kubelet-xyzf`.', { default: '' }),
      series: ref(`${CORE}.EventSeries`, 'Data about the Event series this event represents or nil if it\'s a singleton Event.'),
      source: ref(`${CORE}.EventSource`, 'The component reporting this event. Should be a short machine understandable string.'),
      type: str('Type of this event (Normal, Warning), new types could be added in the future'),
    },
    extensions: gvkExt('Event'),
  },
  [`${CORE}.EventList`]: listOf('Event', `${CORE}.Event`, 'List of events'),
  [`${CORE}.EventSeries`]: {
    type: 'object',
    description: 'EventSeries contain information on series of events, i.e. thing that was/is happening continuously for some time.',
    properties: {
      count: { type: 'integer', format: 'int32', description: 'Number of occurrences in this series up to the last heartbeat time' },
      lastObservedTime: ref(`${META}.MicroTime`, 'Time of the last occurrence observed'),
    },
  },
  [`${CORE}.EventSource`]: {
    type: 'object',
    description: 'EventSource contains information for an event.',
    properties: { component: str('Component from which the event is generated.'), host: str('Node name on which the event is generated.') },
  },
  [`${CORE}.ObjectReference`]: {
    type: 'object',
    description: 'ObjectReference contains enough information to let you inspect or modify the referred object.',
    properties: {
      apiVersion: str('API version of the referent.'),
      fieldPath: str('If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement, such as desiredState.manifest.containers[2].'),
      kind: str('Kind of the referent.'),
      name: str('Name of the referent.'),
      namespace: str('Namespace of the referent.'),
      resourceVersion: str('Specific resourceVersion to which this reference is made, if any.'),
      uid: str('UID of the referent.'),
    },
    extensions: { 'x-kubernetes-map-type': 'atomic' },
  },
  [`${META}.MicroTime`]: { type: 'string', format: 'date-time', description: 'MicroTime is version of Time with microsecond level precision.' },
  [`${META}.ObjectMeta`]: OBJECT_META,
  [`${META}.ListMeta`]: {
    type: 'object',
    description: 'ListMeta describes metadata that synthetic resources must have, including lists and various status objects.',
    properties: {
      continue: str(
        'continue may be set if the user set a limit on the number of items returned, and indicates that the server has more data available. The value is opaque and may be used to issue another request to the endpoint that served this list to retrieve the next set of available objects.',
      ),
      remainingItemCount: int64(
        'remainingItemCount is the number of subsequent items in the list which are not included in this list response. It is only set when the list has a limit and no label or field selector.',
      ),
      resourceVersion: str(
        "String that identifies the server's internal version of this object that can be used by clients to determine when objects have changed. Value must be treated as opaque by clients and passed unmodified back to the server.",
      ),
      selfLink: str('Deprecated: selfLink is a legacy read-only field that is no longer populated by the system.'),
    },
  },
  [`${META}.OwnerReference`]: {
    type: 'object',
    description:
      'OwnerReference contains enough information to let you identify an owning object. An owning object must be in the same namespace as the dependent, or be cluster-scoped, so there is no namespace field.',
    required: ['apiVersion', 'kind', 'name', 'uid'],
    properties: {
      apiVersion: str('API version of the referent.', { default: '' }),
      blockOwnerDeletion: bool(
        'If true, AND if the owner has the "foregroundDeletion" finalizer, then the owner cannot be deleted from the key-value store until this reference is removed. Defaults to false.',
      ),
      controller: bool('If true, this reference points to the managing controller.'),
      kind: str('Kind of the referent. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds', { default: '' }),
      name: str('Name of the referent. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names', { default: '' }),
      uid: str('UID of the referent. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#uids', { default: '' }),
    },
    extensions: { 'x-kubernetes-map-type': 'atomic' },
  },
  [`${META}.ManagedFieldsEntry`]: {
    type: 'object',
    description: 'ManagedFieldsEntry is a workflow-id, a FieldSet and the group version of the resource that the fieldset applies to.',
    properties: {
      apiVersion: str('APIVersion defines the version of this resource that this field set applies to.'),
      fieldsType: str('FieldsType is the discriminator for the different fields format and version. There is currently only one possible value: "FieldsV1"'),
      fieldsV1: ref(`${META}.FieldsV1`, 'FieldsV1 holds the first JSON version format as described in the "FieldsV1" type.'),
      manager: str('Manager is an identifier of the workflow managing these fields.'),
      operation: str("Operation is the type of operation which lead to this ManagedFieldsEntry being created. The only valid values for this field are 'Apply' and 'Update'."),
      subresource: str('Subresource is the name of the subresource used to update that object, or empty string if the object was updated through the main resource.'),
      time: ref(`${META}.Time`, "Time is the timestamp of when the ManagedFields entry was added. The timestamp will also be updated if a field is added, the manager changes any of the owned fields value or removes a field."),
    },
  },
  [`${META}.FieldsV1`]: {
    type: 'object',
    description:
      "FieldsV1 stores a set of fields in a data structure like a Trie, in JSON format.\n\nEach key is either a '.' representing the field itself, and will always map to an empty set, or a string representing a sub-field or item. The string will follow one of these four formats: 'f:<name>', 'v:<value>', 'k:<keys>' or 'i:<index>'.",
  },
  [`${META}.Time`]: TIME,
  [`${META}.Patch`]: {
    type: 'object',
    description: 'Patch is provided to give a concrete name and type to the Kubernetes PATCH request body.',
  },
  [`${META}.Status`]: {
    type: 'object',
    description: 'Status is a return value for calls that don\'t return other objects.',
    properties: {
      apiVersion: API_VERSION,
      code: { type: 'integer', format: 'int32', description: 'Suggested HTTP return code for this status, 0 if not set.' },
      details: ref(`${META}.StatusDetails`, 'Extended data associated with the reason.'),
      kind: KIND,
      message: str('A human-readable description of the status of this operation.'),
      metadata: LIST_METADATA,
      reason: str('A machine-readable description of why this operation is in the "Failure" status.'),
      status: str('Status of the operation. One of: "Success" or "Failure".'),
    },
    extensions: gvkExt('Status'),
  },
  [`${META}.StatusDetails`]: {
    type: 'object',
    description: 'StatusDetails is a set of additional properties that MAY be set by the server to provide additional information about a response.',
    properties: {
      causes: {
        type: 'array',
        description: 'The Causes array includes more details associated with the StatusReason failure.',
        items: ref(`${META}.StatusCause`),
        extensions: { 'x-kubernetes-list-type': 'atomic' },
      },
      group: str('The group attribute of the resource associated with the status StatusReason.'),
      kind: str('The kind attribute of the resource associated with the status StatusReason.'),
      name: str('The name attribute of the resource associated with the status StatusReason (when there is a single name which can be described).'),
      retryAfterSeconds: { type: 'integer', format: 'int32', description: 'If specified, the time in seconds before the operation should be retried.' },
      uid: str('UID of the resource.'),
    },
  },
  [`${META}.StatusCause`]: {
    type: 'object',
    description: 'StatusCause provides more information about an api.Status failure, including cases when multiple errors are encountered.',
    properties: {
      field: str('The field of the resource that has caused this error, as named by its JSON serialization.'),
      message: str('A human-readable description of the cause of the error.'),
      reason: str('A machine-readable description of the cause of the error.'),
    },
  },
};

/** The definition name whose x-kubernetes-group-version-kind names this kind. */
export function definitionFor(gvk: GroupVersionKind, defs: Readonly<Record<string, SchemaNode>> = DEFINITIONS): string | undefined {
  for (const [name, node] of Object.entries(defs)) {
    const list = node.extensions?.['x-kubernetes-group-version-kind'] as GroupVersionKind[] | undefined;
    if (list?.some((g) => g.group === gvk.group && g.version === gvk.version && g.kind === gvk.kind)) return name;
  }
  return undefined;
}

/** The definitions a document for these kinds needs: each kind, its List, and everything they reference. */
export function definitionsClosure(roots: readonly string[], defs: Readonly<Record<string, SchemaNode>> = DEFINITIONS): string[] {
  const seen = new Set<string>();
  const visit = (node: SchemaNode | undefined): void => {
    if (!node) return;
    if (node.ref && !seen.has(node.ref)) {
      seen.add(node.ref);
      visit(defs[node.ref]);
    }
    for (const p of Object.values(node.properties ?? {})) visit(p);
    visit(node.items);
    visit(node.additionalProperties);
  };
  for (const r of roots) visit({ ref: r });
  return [...seen].sort();
}
