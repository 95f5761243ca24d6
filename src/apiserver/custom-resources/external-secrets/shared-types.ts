// Types the external-secrets.io schemas share (external-secrets apis/meta/v1/types.go, apis/externalsecrets/v1): name
// patterns, Secret and ServiceAccount selectors, CA providers, label selectors, Ready conditions.
import { DNS1123_LABEL_FMT, DNS1123_SUBDOMAIN_FMT } from '../../../lib/go/name-validation.js';
import { arrayOf, enumOf, obj, str, stringMap, type JsonSchemaProps } from '../json-schema-props.js';

export const SUBDOMAIN_PATTERN = `^${DNS1123_SUBDOMAIN_FMT}$`;
export const LABEL_PATTERN = `^${DNS1123_LABEL_FMT}$`;
export const SECRET_KEY_PATTERN = '^[-._a-zA-Z0-9]+$';

/** An object name (DNS-1123 subdomain, 1..253). */
export const objectName = (description?: string): JsonSchemaProps => str(description, { maxLength: 253, minLength: 1, pattern: SUBDOMAIN_PATTERN });
/** A namespace name (DNS-1123 label, 1..63). */
export const namespaceName = (description?: string, extra: { default?: string } = {}): JsonSchemaProps =>
  str(description, { maxLength: 63, minLength: 1, pattern: LABEL_PATTERN, ...extra });
/** A Secret data key. */
export const secretKey = (description?: string): JsonSchemaProps => str(description, { maxLength: 253, minLength: 1, pattern: SECRET_KEY_PATTERN });

export const SECRET_KEY_SELECTOR = obj(
  {
    key: secretKey('The key of the entry in the Secret resource\'s `data` field to be used.'),
    name: objectName('The name of the Secret resource being referred to.'),
    namespace: namespaceName('The namespace of the Secret resource being referred to. Ignored if referent is not cluster-scoped.'),
  },
  { description: 'A reference to a specific \'key\' within a Secret resource.' },
);

export const SERVICE_ACCOUNT_SELECTOR = obj(
  {
    audiences: arrayOf(str(), 'Audience specifies the `aud` claim for the service account token.'),
    name: objectName('The name of the ServiceAccount resource being referred to.'),
    namespace: namespaceName('Namespace of the resource being referred to. Ignored if referent is not cluster-scoped.'),
  },
  { description: 'A reference to a ServiceAccount resource.', required: ['name'] },
);

export const CA_PROVIDER = obj(
  {
    key: secretKey('The key where the CA certificate can be found in the Secret or ConfigMap.'),
    name: objectName('The name of the object located at the provider type.'),
    namespace: namespaceName('The namespace the Provider type is in. Can only be defined when used in a ClusterSecretStore.'),
    type: enumOf(['Secret', 'ConfigMap'], 'The type of provider to use such as "Secret", or "ConfigMap".'),
  },
  { description: 'Used to provide custom certificate authority (CA) certificates for a secret store.', required: ['name', 'type'] },
);

export const LABEL_SELECTOR = obj(
  {
    matchExpressions: arrayOf(
      obj(
        {
          key: str('key is the label key that the selector applies to.'),
          operator: str("operator represents a key's relationship to a set of values. Valid operators are In, NotIn, Exists and DoesNotExist."),
          values: arrayOf(str(), 'values is an array of string values.', { 'x-kubernetes-list-type': 'atomic' }),
        },
        { required: ['key', 'operator'] },
      ),
      'matchExpressions is a list of label selector requirements. The requirements are ANDed.',
      { 'x-kubernetes-list-type': 'atomic' },
    ),
    matchLabels: stringMap('matchLabels is a map of {key,value} pairs.'),
  },
  { description: 'A label query over a set of resources.', 'x-kubernetes-map-type': 'atomic' },
);

/** A status condition as the store kinds write it. */
export const STORE_CONDITION = obj(
  {
    lastTransitionTime: str(undefined, { format: 'date-time' }),
    message: str(),
    reason: str(),
    status: str(),
    type: str(),
  },
  { required: ['status', 'type'] },
);
