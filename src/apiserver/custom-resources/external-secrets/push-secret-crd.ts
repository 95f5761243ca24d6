// external-secrets.io/v1alpha1 PushSecret (ESO's apis/externalsecrets/v1alpha1/pushsecret_types.go): pushes keys of a
// Secret to the stores it names. Served and stored as v1alpha1 only, as ESO serves it.
import type { CustomResourceDefinitionSpec } from '../custom-resource-definition.js';
import { arrayOf, enumOf, freeForm, obj, str, type JsonSchemaProps } from '../json-schema-props.js';
import { LABEL_SELECTOR, STORE_CONDITION } from './shared-types.js';

const REMOTE_REF = obj(
  {
    property: str('Name of the property in the resulting secret'),
    remoteKey: str('Name of the resulting provider secret.'),
  },
  { description: 'Remote Refs to push to providers.', required: ['remoteKey'] },
);

const PUSH_SECRET_DATA = obj(
  {
    conversionStrategy: { ...enumOf(['None', 'ReverseUnicode'], 'Used to define a conversion Strategy for the secret keys'), default: 'None' },
    match: obj(
      {
        remoteRef: REMOTE_REF,
        secretKey: str('Secret Key to be pushed'),
      },
      { description: 'Match a given Secret Key to be pushed to the provider.', required: ['remoteRef'] },
    ),
    metadata: freeForm('Metadata is metadata attached to the secret. The structure of metadata is provider specific, please look it up in the provider documentation.'),
  },
  { required: ['match'] },
);

const PUSH_SECRET_SPEC: JsonSchemaProps = obj(
  {
    data: arrayOf(PUSH_SECRET_DATA, 'Secret Data that should be pushed to providers'),
    deletionPolicy: { ...enumOf(['Delete', 'None'], 'Deletion Policy to handle Secrets in the provider.'), default: 'None' },
    refreshInterval: { ...str('The Interval to which External Secrets will try to push a secret definition'), default: '1h' },
    secretStoreRefs: arrayOf(
      obj({
        kind: { ...enumOf(['SecretStore', 'ClusterSecretStore'], 'Kind of the SecretStore resource (SecretStore or ClusterSecretStore)'), default: 'SecretStore' },
        labelSelector: LABEL_SELECTOR,
        name: str('Optionally, sync to the SecretStore of the given name'),
      }),
    ),
    selector: obj(
      {
        secret: obj({ name: str('Name of the Secret. The Secret must exist in the same namespace as the PushSecret manifest.') }, { description: 'Select a Secret to Push.', required: ['name'] }),
      },
      { description: 'The Secret Selector (k8s source) for the Push Secret' },
    ),
    template: freeForm('Template defines a blueprint for the created Secret resource.'),
    updatePolicy: { ...enumOf(['Replace', 'IfNotExists'], 'UpdatePolicy to handle Secrets in the provider.'), default: 'Replace' },
  },
  { description: 'PushSecretSpec configures the behavior of the PushSecret.', required: ['secretStoreRefs', 'selector'] },
);

const PUSH_SECRET_STATUS: JsonSchemaProps = obj(
  {
    conditions: arrayOf(STORE_CONDITION),
    refreshTime: str('refreshTime is the time and date the external secret was fetched and the target secret updated', { format: 'date-time', nullable: true }),
    syncedPushSecrets: {
      description: 'Synced PushSecrets, including secrets that already exist in provider. Matches secret stores to PushSecretData that was stored to that secret store.',
      type: 'object',
      additionalProperties: { type: 'object', additionalProperties: PUSH_SECRET_DATA },
    },
    syncedResourceVersion: str('SyncedResourceVersion keeps track of the last synced version.'),
  },
  { description: 'PushSecretStatus indicates the history of the status of PushSecret.' },
);

export const PUSH_SECRET_CRD: CustomResourceDefinitionSpec = {
  group: 'external-secrets.io',
  names: { plural: 'pushsecrets', singular: 'pushsecret', kind: 'PushSecret', listKind: 'PushSecretList', categories: ['external-secrets', 'pushsecrets'] },
  scope: 'Namespaced',
  labels: { 'external-secrets.io/component': 'controller' },
  versions: [
    {
      name: 'v1alpha1',
      served: true,
      storage: true,
      subresources: { status: {} },
      additionalPrinterColumns: [
        { jsonPath: '.metadata.creationTimestamp', name: 'AGE', type: 'date' },
        { jsonPath: '.status.conditions[?(@.type=="Ready")].reason', name: 'Status', type: 'string' },
      ],
      schema: obj({ apiVersion: str(), kind: str(), metadata: { type: 'object' }, spec: PUSH_SECRET_SPEC, status: PUSH_SECRET_STATUS }),
    },
  ],
};
