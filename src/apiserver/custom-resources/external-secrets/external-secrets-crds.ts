// The four external-secrets.io CustomResourceDefinitions Coffer serves (external-secrets config/crds/bases/):
// v1 served and stored, v1beta1 served too (deprecated, conversion strategy None: v1 is a superset of
// apis/externalsecrets/v1beta1). deploy/crds/ holds the same definitions as YAML for real clusters (crd-manifest.ts; a
// test keeps them equal).
import type { CustomResourceDefinitionSpec, CustomResourceDefinitionVersion } from '../custom-resource-definition.js';
import { arrayOf, bool, enumOf, obj, str, stringMap, type JsonSchemaProps } from '../json-schema-props.js';
import { EXTERNAL_SECRET_COLUMNS, EXTERNAL_SECRET_SCHEMA, EXTERNAL_SECRET_SELECTABLE_FIELDS, EXTERNAL_SECRET_SPEC } from './external-secret-schema.js';
import { SECRET_STORE_COLUMNS, secretStoreSchema } from './secret-store-schema.js';
import { LABEL_SELECTOR, namespaceName, objectName } from './shared-types.js';
import { PUSH_SECRET_CRD } from './push-secret-crd.js';

export const EXTERNAL_SECRETS_GROUP = 'external-secrets.io';
const LABELS = { 'external-secrets.io/component': 'controller' };
const CATEGORIES = ['external-secrets'];

/** v1 (served, storage) and v1beta1 (served, deprecated) with the same schema and columns. */
function versions(
  schema: JsonSchemaProps,
  extra: Pick<CustomResourceDefinitionVersion, 'additionalPrinterColumns' | 'selectableFields'>,
): CustomResourceDefinitionVersion[] {
  const common = { schema, subresources: { status: {} }, ...extra };
  const { selectableFields: _s, ...beta } = common;
  return [
    { name: 'v1', served: true, storage: true, ...common },
    { name: 'v1beta1', served: true, storage: false, deprecated: true, ...beta },
  ];
}

export const SECRET_STORE_CRD: CustomResourceDefinitionSpec = {
  group: EXTERNAL_SECRETS_GROUP,
  names: { plural: 'secretstores', singular: 'secretstore', kind: 'SecretStore', listKind: 'SecretStoreList', shortNames: ['ss'], categories: CATEGORIES },
  scope: 'Namespaced',
  labels: LABELS,
  versions: versions(secretStoreSchema('SecretStore'), { additionalPrinterColumns: SECRET_STORE_COLUMNS }),
};

export const CLUSTER_SECRET_STORE_CRD: CustomResourceDefinitionSpec = {
  group: EXTERNAL_SECRETS_GROUP,
  names: {
    plural: 'clustersecretstores',
    singular: 'clustersecretstore',
    kind: 'ClusterSecretStore',
    listKind: 'ClusterSecretStoreList',
    shortNames: ['css'],
    categories: CATEGORIES,
  },
  scope: 'Cluster',
  labels: LABELS,
  versions: versions(secretStoreSchema('ClusterSecretStore'), { additionalPrinterColumns: SECRET_STORE_COLUMNS }),
};

export const EXTERNAL_SECRET_CRD: CustomResourceDefinitionSpec = {
  group: EXTERNAL_SECRETS_GROUP,
  names: { plural: 'externalsecrets', singular: 'externalsecret', kind: 'ExternalSecret', listKind: 'ExternalSecretList', shortNames: ['es'], categories: CATEGORIES },
  scope: 'Namespaced',
  labels: LABELS,
  versions: versions(EXTERNAL_SECRET_SCHEMA, { additionalPrinterColumns: EXTERNAL_SECRET_COLUMNS, selectableFields: EXTERNAL_SECRET_SELECTABLE_FIELDS }),
};

const CLUSTER_EXTERNAL_SECRET_SCHEMA = obj(
  {
    apiVersion: str(),
    kind: str(),
    metadata: { type: 'object' },
    spec: obj(
      {
        externalSecretMetadata: obj(
          { annotations: stringMap(), labels: stringMap() },
          { description: 'The metadata of the external secrets to be created' },
        ),
        externalSecretName: objectName('The name of the external secrets to be created. Defaults to the name of the ClusterExternalSecret'),
        externalSecretSpec: { ...EXTERNAL_SECRET_SPEC, description: 'The spec for the ExternalSecrets to be created' },
        namespaceSelector: { ...LABEL_SELECTOR, description: 'The labels to select by to find the Namespaces to create the ExternalSecrets in. Deprecated: use namespaceSelectors.' },
        namespaceSelectors: arrayOf(LABEL_SELECTOR, 'A list of labels to select by to find the Namespaces to create the ExternalSecrets in. The selectors are ORed.'),
        namespaces: arrayOf(namespaceName(), 'Choose namespaces by name. Deprecated: use namespaceSelectors.'),
        refreshTime: str('The time in which the controller should reconcile its objects and recheck namespaces for labels.'),
      },
      { description: 'ClusterExternalSecretSpec defines the desired state of ClusterExternalSecret.', required: ['externalSecretSpec'] },
    ),
    status: obj({
      conditions: arrayOf(obj({ message: str(), status: str(), type: str() }, { required: ['status', 'type'] })),
      externalSecretName: str('ExternalSecretName is the name of the ExternalSecrets created by the ClusterExternalSecret'),
      failedNamespaces: arrayOf(
        obj({ namespace: str('Namespace is the namespace that failed when trying to apply an ExternalSecret'), reason: str() }, { required: ['namespace'] }),
        'Failed namespaces are the namespaces that failed to apply an ExternalSecret',
      ),
      provisionedNamespaces: arrayOf(str(), 'ProvisionedNamespaces are the namespaces where the ClusterExternalSecret has secrets'),
    }),
  },
  { description: 'ClusterExternalSecret is the Schema for the clusterexternalsecrets API.' },
);

export const CLUSTER_EXTERNAL_SECRET_CRD: CustomResourceDefinitionSpec = {
  group: EXTERNAL_SECRETS_GROUP,
  names: {
    plural: 'clusterexternalsecrets',
    singular: 'clusterexternalsecret',
    kind: 'ClusterExternalSecret',
    listKind: 'ClusterExternalSecretList',
    shortNames: ['ces'],
    categories: CATEGORIES,
  },
  scope: 'Cluster',
  labels: LABELS,
  versions: versions(CLUSTER_EXTERNAL_SECRET_SCHEMA, {
    additionalPrinterColumns: [
      { jsonPath: '.spec.externalSecretSpec.secretStoreRef.name', name: 'Store', type: 'string' },
      { jsonPath: '.spec.refreshTime', name: 'Refresh Interval', type: 'string' },
      { jsonPath: '.status.conditions[?(@.type=="Ready")].status', name: 'Ready', type: 'string' },
    ],
  }),
};

// generators.external-secrets.io/v1alpha1 Password and UUID (ESO's apis/generators/v1alpha1), the generators Coffer runs.
export const GENERATORS_GROUP = 'generators.external-secrets.io';
const GENERATOR_CATEGORIES = ['external-secrets', 'external-secrets-generators'];

function generatorCrd(kind: string, plural: string, spec: JsonSchemaProps, description: string): CustomResourceDefinitionSpec {
  return {
    group: GENERATORS_GROUP,
    names: { plural, singular: kind.toLowerCase(), kind, listKind: `${kind}List`, categories: GENERATOR_CATEGORIES },
    scope: 'Namespaced',
    labels: LABELS,
    versions: [{ name: 'v1alpha1', served: true, storage: true, subresources: { status: {} }, schema: obj({ apiVersion: str(), kind: str(), metadata: { type: 'object' }, spec }, { description }) }],
  };
}

export const PASSWORD_CRD = generatorCrd(
  'Password',
  'passwords',
  obj(
    {
      allowRepeat: { ...bool('set AllowRepeat to true to allow repeating characters.'), default: false },
      digits: { type: 'integer', description: 'Digits specifies the number of digits in the generated password. If omitted it defaults to 25% of the length of the password' },
      encoding: { ...enumOf(['base64', 'base64url', 'base32', 'hex', 'raw'], 'Encoding specifies the encoding of the generated password.'), default: 'raw' },
      length: { type: 'integer', description: 'Length of the password to be generated. Defaults to 24', default: 24 },
      noUpper: { ...bool('Set NoUpper to disable uppercase characters'), default: false },
      secretKeys: arrayOf(str(undefined, { minLength: 1 }), 'SecretKeys defines the keys that will be populated with generated passwords. Defaults to "password" when not set.', { minItems: 1 }),
      symbolCharacters: str('SymbolCharacters specifies the special characters that should be used in the generated password.'),
      symbols: { type: 'integer', description: 'Symbols specifies the number of symbol characters in the generated password. If omitted it defaults to 25% of the length of the password' },
    },
    { description: 'PasswordSpec controls the behavior of the password generator.', required: ['allowRepeat', 'length', 'noUpper'] },
  ),
  'Password generates a random password based on the configuration parameters in spec.',
);

export const UUID_CRD = generatorCrd('UUID', 'uuids', obj({}, { description: 'UUIDSpec controls the behavior of the uuid generator.' }), 'UUID generates a version 4 UUID (e56657e6-a03e-4a9c-a7a9-d8e7d9a4a7bd).');

export const EXTERNAL_SECRETS_CRDS: readonly CustomResourceDefinitionSpec[] = [
  CLUSTER_EXTERNAL_SECRET_CRD,
  CLUSTER_SECRET_STORE_CRD,
  EXTERNAL_SECRET_CRD,
  SECRET_STORE_CRD,
  PASSWORD_CRD,
  UUID_CRD,
  PUSH_SECRET_CRD,
];
