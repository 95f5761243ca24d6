// The SecretStore / ClusterSecretStore schema (external-secrets apis/externalsecrets/v1/secretstore*.go): spec
// and status shared by both kinds. The fake, kubernetes and vault providers are modelled field by field; every other
// provider key ESO knows is accepted as a free-form object, so YAML written for them still applies (the controller
// reports them unsupported).
import { arrayOf, bool, enumOf, freeForm, int32, int64, obj, str, stringMap, type JsonSchemaProps } from '../json-schema-props.js';
import { CA_PROVIDER, LABEL_SELECTOR, namespaceName, SECRET_KEY_SELECTOR, SERVICE_ACCOUNT_SELECTOR, STORE_CONDITION } from './shared-types.js';

const FAKE = obj(
  {
    data: arrayOf(obj({ key: str(), value: str(), version: str() }, { required: ['key', 'value'] })),
    validationResult: int32('Forces the store state: 0 Ready, 1 Unknown, 2 Error.'),
  },
  { description: 'Fake configures a store with static key/value pairs', required: ['data'] },
);

const KUBERNETES = obj(
  {
    auth: obj(
      {
        cert: obj({ clientCert: SECRET_KEY_SELECTOR, clientKey: SECRET_KEY_SELECTOR }, { required: ['clientCert', 'clientKey'] }),
        serviceAccount: SERVICE_ACCOUNT_SELECTOR,
        token: obj({ bearerToken: SECRET_KEY_SELECTOR }, { required: ['bearerToken'] }),
      },
      { description: 'Auth configures how secret-manager authenticates with a Kubernetes instance.', maxProperties: 1, minProperties: 1 },
    ),
    authRef: SECRET_KEY_SELECTOR,
    remoteNamespace: namespaceName('Remote namespace to fetch the secrets from', { default: 'default' }),
    server: obj(
      {
        caBundle: str('CABundle is a base64-encoded CA certificate', { format: 'byte' }),
        caProvider: CA_PROVIDER,
        url: str('configures the Kubernetes server Address.', { default: 'kubernetes.default' }),
      },
      { description: 'configures the Kubernetes server Address.' },
    ),
  },
  { description: 'Kubernetes configures this store to sync secrets using a Kubernetes cluster provider' },
);

const authPath = (def: string) => str('Path where the auth method is mounted.', { default: def });

const VAULT_AUTH = obj({
  appRole: obj({ path: authPath('approle'), roleId: str(), roleRef: SECRET_KEY_SELECTOR, secretRef: SECRET_KEY_SELECTOR }, { required: ['path', 'secretRef'] }),
  cert: obj({ clientCert: SECRET_KEY_SELECTOR, path: authPath('cert'), secretRef: SECRET_KEY_SELECTOR, vaultRole: str() }),
  gcp: obj(
    {
      location: str(),
      path: authPath('gcp'),
      projectID: str(),
      role: str(),
      secretRef: obj({ secretAccessKeySecretRef: SECRET_KEY_SELECTOR }),
      serviceAccountRef: SERVICE_ACCOUNT_SELECTOR,
      workloadIdentity: obj(
        { clusterLocation: str(), clusterName: str(), clusterProjectID: str(), serviceAccountRef: SERVICE_ACCOUNT_SELECTOR },
        { required: ['serviceAccountRef'] },
      ),
    },
    { required: ['role'] },
  ),
  iam: obj(
    {
      externalID: str(),
      jwt: obj({ serviceAccountRef: SERVICE_ACCOUNT_SELECTOR }),
      path: str(),
      region: str(),
      role: str(),
      secretRef: obj({ accessKeyIDSecretRef: SECRET_KEY_SELECTOR, secretAccessKeySecretRef: SECRET_KEY_SELECTOR, sessionTokenSecretRef: SECRET_KEY_SELECTOR }),
      vaultAwsIamServerID: str(),
      vaultRole: str(),
    },
    { required: ['vaultRole'] },
  ),
  jwt: obj(
    {
      kubernetesServiceAccountToken: obj(
        { audiences: arrayOf(str()), expirationSeconds: int64(), serviceAccountRef: SERVICE_ACCOUNT_SELECTOR },
        { required: ['serviceAccountRef'] },
      ),
      path: authPath('jwt'),
      role: str(),
      secretRef: SECRET_KEY_SELECTOR,
    },
    { required: ['path'] },
  ),
  kubernetes: obj(
    { mountPath: authPath('kubernetes'), role: str(), secretRef: SECRET_KEY_SELECTOR, serviceAccountRef: SERVICE_ACCOUNT_SELECTOR },
    { required: ['mountPath', 'role'] },
  ),
  ldap: obj({ path: authPath('ldap'), secretRef: SECRET_KEY_SELECTOR, username: str() }, { required: ['path', 'username'] }),
  namespace: str('Name of the vault namespace to authenticate to.'),
  tokenSecretRef: SECRET_KEY_SELECTOR,
  userPass: obj({ path: authPath('userpass'), secretRef: SECRET_KEY_SELECTOR, username: str() }, { required: ['path', 'username'] }),
});

const VAULT = obj(
  {
    auth: VAULT_AUTH,
    caBundle: str('PEM encoded CA bundle used to validate Vault server certificate.', { format: 'byte' }),
    caProvider: CA_PROVIDER,
    checkAndSet: obj({ required: bool() }),
    forwardInconsistent: bool(),
    headers: stringMap('Headers to be added in Vault request'),
    namespace: str('Name of the vault namespace.'),
    path: str('Path is the mount path of the Vault KV backend endpoint, e.g: "secret".'),
    readYourWrites: bool(),
    server: str('Server is the connection address for the Vault server, e.g: "https://vault.example.com:8200".'),
    tls: obj({ certSecretRef: SECRET_KEY_SELECTOR, keySecretRef: SECRET_KEY_SELECTOR }),
    version: enumOf(['v1', 'v2'], 'Version is the Vault KV secret engine version.', { default: 'v2' }),
  },
  { description: 'Vault configures this store to sync secrets using Hashi provider', required: ['server'] },
);

/** ESO v2.9.0's v1 provider keys (SecretStoreProvider in apis/externalsecrets/v1/secretstore_types.go). */
export const PROVIDER_KEYS = [
  'akeyless', 'aws', 'azurekv', 'barbican', 'beyondtrust', 'beyondtrustworkloadcredentials', 'bitwardensecretsmanager', 'chef',
  'cloudrusm', 'conjur', 'crd', 'delinea', 'doppler', 'dvls', 'fake', 'fortanix', 'gcpsm', 'github', 'gitlab', 'ibm',
  'infisical', 'keepersecurity', 'kubernetes', 'nebiusmysterybox', 'ngrok', 'onboardbase', 'onepassword', 'onepasswordSDK',
  'openBao', 'oracle', 'ovh', 'passbolt', 'passworddepot', 'previder', 'pulumi', 'scaleway', 'secretserver', 'senhasegura',
  'vault', 'volcengine', 'webhook', 'yandexcertificatemanager', 'yandexlockbox',
] as const;

const MODELLED: Record<string, JsonSchemaProps> = { fake: FAKE, kubernetes: KUBERNETES, vault: VAULT };

const PROVIDER = obj(
  Object.fromEntries(PROVIDER_KEYS.map((k) => [k, MODELLED[k] ?? freeForm(`${k} provider configuration.`)])),
  { description: 'Used to configure the provider. Only one provider may be set', maxProperties: 1, minProperties: 1 },
);

export function secretStoreSchema(kind: 'SecretStore' | 'ClusterSecretStore'): JsonSchemaProps {
  return obj(
    {
      apiVersion: str(),
      kind: str(),
      metadata: { type: 'object' },
      spec: obj(
        {
          conditions: arrayOf(
            obj({
              namespaceRegexes: arrayOf(str(), 'Choose namespaces by using regex matching'),
              namespaceSelector: LABEL_SELECTOR,
              namespaces: arrayOf(namespaceName(), 'Choose namespaces by name'),
            }),
            'Used to constrain a ClusterSecretStore to specific namespaces. Relevant only to ClusterSecretStore.',
          ),
          controller: str('Used to select the correct ESO controller (think: ingress.ingressClassName).'),
          provider: PROVIDER,
          refreshInterval: {
            description: 'Used to configure store refresh interval: an integer (seconds) or a duration such as "1h".',
            'x-kubernetes-int-or-string': true,
          },
          retrySettings: obj({ maxRetries: int32(), retryInterval: str() }, { description: 'Used to configure http retries if failed' }),
        },
        { description: `${kind}Spec defines the desired state of ${kind}.`, required: ['provider'] },
      ),
      status: obj(
        {
          capabilities: str('SecretStoreCapabilities defines the possible operations a SecretStore can do.'),
          conditions: arrayOf(STORE_CONDITION),
        },
        { description: `${kind}Status defines the observed state of the ${kind}.` },
      ),
    },
    { description: kind === 'SecretStore' ? 'SecretStore represents a secure external location for storing secrets.' : 'ClusterSecretStore represents a secure external location for storing secrets, usable from any namespace.' },
  );
}

export const SECRET_STORE_COLUMNS = [
  { jsonPath: '.metadata.creationTimestamp', name: 'AGE', type: 'date' as const },
  { jsonPath: '.status.conditions[?(@.type=="Ready")].reason', name: 'Status', type: 'string' as const },
  { jsonPath: '.status.capabilities', name: 'Capabilities', type: 'string' as const },
  { jsonPath: '.status.conditions[?(@.type=="Ready")].status', name: 'Ready', type: 'string' as const },
];
