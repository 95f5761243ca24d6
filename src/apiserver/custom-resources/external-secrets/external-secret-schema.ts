// The ExternalSecret schema (ESO v2.9.0 v1, external-secrets apis/externalsecrets/v1/externalsecret_types.go). Its spec
// is also the ClusterExternalSecret's spec.externalSecretSpec.
import { arrayOf, bool, enumOf, obj, str, stringMap, type JsonSchemaProps } from '../json-schema-props.js';
import { objectName, SECRET_KEY_PATTERN, secretKey, SUBDOMAIN_PATTERN } from './shared-types.js';

const DECODING = ['Auto', 'Base64', 'Base64URL', 'None'];
const NULL_BYTE_POLICY = ['Ignore', 'Fail'];
const CONVERSION = ['Default', 'Unicode'];

const REMOTE_REF = obj(
  {
    conversionStrategy: enumOf(CONVERSION, 'Used to define a conversion Strategy'),
    decodingStrategy: enumOf(DECODING, 'Used to define a decoding Strategy'),
    key: str('Key is the key used in the Provider, mandatory'),
    metadataPolicy: enumOf(['None', 'Fetch'], 'Policy for fetching tags/labels from provider secrets, possible options are Fetch, None. Defaults to None'),
    nullBytePolicy: enumOf(NULL_BYTE_POLICY, 'Controls how fetched secret values containing NUL bytes are handled.'),
    property: str('Used to select a specific property of the Provider value (if a map), if supported'),
    version: str('Used to select a specific version of the Provider value, if supported'),
  },
  { description: 'ExternalSecretDataRemoteRef defines Provider data location.', required: ['key'] },
);

const STORE_REF = obj(
  {
    kind: enumOf(['SecretStore', 'ClusterSecretStore'], 'Kind of the SecretStore resource (SecretStore or ClusterSecretStore)'),
    name: objectName('Name of the SecretStore resource'),
  },
  { description: 'SecretStoreRef defines which SecretStore to fetch the ExternalSecret data.' },
);

const GENERATOR_KINDS = [
  'ACRAccessToken', 'BeyondtrustWorkloadCredentialsDynamicSecret', 'ClusterGenerator', 'CloudsmithAccessToken', 'ECRAuthorizationToken',
  'Fake', 'GCRAccessToken', 'GithubAccessToken', 'GitlabDeployToken', 'QuayAccessToken', 'Password', 'SSHKey', 'STSSessionToken',
  'UUID', 'VaultDynamicSecret', 'Webhook', 'Grafana', 'MFA',
];

const GENERATOR_REF = obj(
  {
    apiVersion: str('Specify the apiVersion of the generator resource', { default: 'generators.external-secrets.io/v1alpha1' }),
    kind: enumOf(GENERATOR_KINDS, 'Specify the Kind of the generator resource'),
    name: objectName('Specify the name of the generator resource'),
  },
  { description: 'GeneratorRef points to a generator custom resource.', required: ['kind', 'name'] },
);

const sourceRef = (description: string): JsonSchemaProps =>
  obj({ generatorRef: GENERATOR_REF, storeRef: STORE_REF }, { description, maxProperties: 1, minProperties: 1 });

const REWRITE = obj(
  {
    merge: obj({
      conflictPolicy: enumOf(['Ignore', 'Error'], 'Used to define the policy to use when a conflict happens.', { default: 'Error' }),
      into: str('Used to define the target key of the merge operation. Required if strategy is JSON.', { default: '' }),
      priority: arrayOf(str(), 'Used to define key priority in conflict resolution.'),
      priorityPolicy: enumOf(['IgnoreNotFound', 'Strict'], 'Used to define the policy when a key in the priority list does not exist in the input.', { default: 'Strict' }),
      strategy: enumOf(['Extract', 'JSON'], 'Used to define the strategy to use in the merge operation.', { default: 'Extract' }),
    }),
    regexp: obj(
      { source: str('Used to define the regular expression of a re.Compiler.'), target: str('Used to define the target pattern of a ReplaceAll operation.') },
      { required: ['source', 'target'] },
    ),
    transform: obj({ template: str('Used to define the template to apply on the secret name.') }, { required: ['template'] }),
  },
  { maxProperties: 1, minProperties: 1 },
);

const TEMPLATE_REF_ITEMS = arrayOf(
  obj(
    {
      key: secretKey('A key in the configmap/secret'),
      templateAs: enumOf(['Values', 'KeysAndValues'], undefined, { default: 'Values' }),
    },
    { required: ['key'] },
  ),
  'A list of keys in the ConfigMap/Secret to use as templates for Secret data',
);

const templateRef = (what: string) =>
  obj({ items: TEMPLATE_REF_ITEMS, name: objectName(`The name of the ${what} resource`) }, { required: ['items', 'name'] });

const TEMPLATE = obj(
  {
    data: stringMap(),
    engineVersion: enumOf(['v2'], 'EngineVersion specifies the template engine version that should be used to compile/execute the template specified in .data and .templateFrom[].', { default: 'v2' }),
    mergePolicy: enumOf(['Replace', 'Merge'], undefined, { default: 'Replace' }),
    metadata: obj(
      { annotations: stringMap(), finalizers: arrayOf(str()), labels: stringMap() },
      { description: 'ExternalSecretTemplateMetadata defines metadata fields for the Secret blueprint.' },
    ),
    templateFrom: arrayOf(
      obj({
        configMap: templateRef('ConfigMap'),
        literal: str(),
        secret: templateRef('Secret'),
        target: str('Target specifies where to place the template result.', { default: 'Data' }),
        valuesDecodingStrategy: enumOf(DECODING, 'ValuesDecodingStrategy specifies how rendered values are decoded.'),
      }),
    ),
    type: str(),
  },
  { description: 'Template defines a blueprint for the created Secret resource.' },
);

const SYNC_WINDOWS = obj(
  {
    kind: enumOf(['allow', 'deny'], 'Kind of the window: allow syncs only inside the windows, deny never syncs inside them.'),
    windows: arrayOf(
      obj(
        {
          duration: str('Duration of the window (Go duration string).'),
          schedule: str('Cron schedule (5 fields, UTC) or descriptor at which the window opens.', {
            minLength: 1,
            pattern: '^(@(annually|yearly|monthly|weekly|daily|midnight|hourly)|@every [^\\s]+.*|[^\\s]+( [^\\s]+){4})$',
          }),
        },
        { required: ['duration', 'schedule'] },
      ),
      undefined,
      { minItems: 1 },
    ),
  },
  { description: 'SyncWindows restricts when the ExternalSecret may sync.', required: ['kind', 'windows'] },
);

export const EXTERNAL_SECRET_SPEC: JsonSchemaProps = obj(
  {
    data: arrayOf(
      obj(
        {
          remoteRef: REMOTE_REF,
          secretKey: str('The key in the Kubernetes Secret to store the value.', { maxLength: 253, minLength: 1, pattern: SECRET_KEY_PATTERN }),
          sourceRef: sourceRef('SourceRef allows you to override the source from which the value will be pulled.'),
        },
        { description: 'ExternalSecretData defines the connection between the Kubernetes Secret key (spec.data.<key>) and the Provider data.', required: ['remoteRef', 'secretKey'] },
      ),
      'Data defines the connection between the Kubernetes Secret keys and the Provider data',
    ),
    dataFrom: arrayOf(
      obj({
        extract: REMOTE_REF,
        find: obj({
          conversionStrategy: enumOf(CONVERSION, 'Used to define a conversion Strategy'),
          decodingStrategy: enumOf(DECODING, 'Used to define a decoding Strategy'),
          name: obj({ regexp: str('Finds secrets base') }, { description: 'Finds secrets based on the name.' }),
          nullBytePolicy: enumOf(NULL_BYTE_POLICY, 'Controls how fetched secret values containing NUL bytes are handled.'),
          path: str('A root path to start the find operations.'),
          tags: stringMap('Find secrets based on tags.'),
        }, { description: 'Used to find secrets based on tags or regular expressions' }),
        rewrite: arrayOf(REWRITE, 'Used to rewrite secret Keys after getting them from the secret Provider. Multiple Rewrite operations can be provided. They are applied in a layered order (first to last)'),
        sourceRef: sourceRef('SourceRef points to a store or generator which contains secret values ready to use.'),
      }),
      'DataFrom is used to fetch all properties from a specific Provider data. If multiple entries are specified, the Secret keys are merged in the specified order',
    ),
    refreshInterval: str('RefreshInterval is the amount of time before the values are read again from the SecretStore provider, specified as Golang Duration strings. Valid time units are "ns", "us" (or "µs"), "ms", "s", "m", "h". May be set to "0" to fetch and create it once.', { default: '1h0m0s' }),
    refreshPolicy: enumOf(['CreatedOnce', 'Periodic', 'OnChange'], 'RefreshPolicy determines how the ExternalSecret should be refreshed.'),
    secretStoreRef: STORE_REF,
    syncWindows: SYNC_WINDOWS,
    target: obj(
      {
        creationPolicy: enumOf(['Owner', 'Orphan', 'Merge', 'None', 'CreateOrMerge'], 'CreationPolicy defines rules on how to create the resulting Secret. Defaults to "Owner"', { default: 'Owner' }),
        deletionPolicy: enumOf(['Delete', 'Merge', 'Retain'], 'DeletionPolicy defines rules on how to delete the resulting Secret. Defaults to "Retain"', { default: 'Retain' }),
        immutable: bool('Immutable defines if the final secret will be immutable'),
        manifest: obj(
          { apiVersion: str('APIVersion of the target resource.', { minLength: 1 }), kind: str('Kind of the target resource.', { minLength: 1 }) },
          { description: 'Manifest defines a custom Kubernetes resource to create instead of a Secret.', required: ['apiVersion', 'kind'] },
        ),
        name: str('The name of the Secret resource to be managed. Defaults to the .metadata.name of the ExternalSecret resource', {
          maxLength: 253,
          pattern: SUBDOMAIN_PATTERN,
        }),
        template: TEMPLATE,
      },
      { description: 'ExternalSecretTarget defines the Kubernetes Secret to be created.', default: { creationPolicy: 'Owner', deletionPolicy: 'Retain' } },
    ),
  },
  { description: 'ExternalSecretSpec defines the desired state of ExternalSecret.' },
);

const STATUS = obj(
  {
    binding: obj({ name: str(undefined, { default: '' }) }, { description: 'Binding represents a servicebinding.io Provisioned Service reference to the secret', 'x-kubernetes-map-type': 'atomic' }),
    conditions: arrayOf(
      obj(
        {
          lastTransitionTime: str(undefined, { format: 'date-time' }),
          message: str(),
          reason: str(),
          status: str(),
          type: enumOf(['Ready', 'Deleted']),
        },
        { required: ['status', 'type'] },
      ),
    ),
    refreshTime: str('refreshTime is the time and date the external secret was fetched and the target secret updated', { format: 'date-time', nullable: true }),
    syncedResourceVersion: str('SyncedResourceVersion keeps track of the last synced version'),
  },
);

export const EXTERNAL_SECRET_SCHEMA: JsonSchemaProps = obj(
  { apiVersion: str(), kind: str(), metadata: { type: 'object' }, spec: EXTERNAL_SECRET_SPEC, status: STATUS },
  { description: 'ExternalSecret is the Schema for the external-secrets API.' },
);

export const EXTERNAL_SECRET_COLUMNS = [
  { jsonPath: '.spec.secretStoreRef.kind', name: 'StoreType', type: 'string' as const },
  { jsonPath: '.spec.secretStoreRef.name', name: 'Store', type: 'string' as const },
  { jsonPath: '.spec.refreshInterval', name: 'Refresh Interval', type: 'string' as const },
  { jsonPath: '.status.conditions[?(@.type=="Ready")].reason', name: 'Status', type: 'string' as const },
  { jsonPath: '.status.conditions[?(@.type=="Ready")].status', name: 'Ready', type: 'string' as const },
  { jsonPath: '.status.refreshTime', name: 'Last Sync', type: 'date' as const },
];

export const EXTERNAL_SECRET_SELECTABLE_FIELDS = [
  { jsonPath: '.spec.secretStoreRef.name' },
  { jsonPath: '.spec.secretStoreRef.kind' },
  { jsonPath: '.spec.target.name' },
  { jsonPath: '.spec.refreshInterval' },
];
