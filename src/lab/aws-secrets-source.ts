// The External Secrets row with AWS Secrets Manager as the source: the canaries live only in Secrets Manager (the AWS
// test double, its own process, "AWS" being the secret store's machine); a Secret holding an access key pair, a
// SecretStore (`aws` provider, `service: SecretsManager`, `auth.secretRef`, ESO's documented static-credentials
// setup) and one ExternalSecret per canary are applied through the API; `coffer controller` syncs them. The
// kms-server take-over is full control of Secrets Manager: every secret read as its administrator.
import type { ChildProcess } from 'node:child_process';
import { CreateSecretCommand, GetSecretValueCommand, ListSecretsCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { secretPath, type ApiClient } from './api-client.js';
import { LAB_AWS_REGION, startLabAws, type LabAws } from './aws-process.js';
import type { Canary } from './canary.js';
import { stopChild } from './cleanup.js';
import { applyCanaryExternalSecrets, ESO_GROUP_VERSION, kvKeyOf, SECRET_STORE_NAME } from './external-secrets-source.js';
import { emptyLoot, type Loot } from './loot.js';

export const AWS_CREDENTIALS_SECRET = 'aws-credentials';

export interface LabSecretsManager {
  aws: LabAws;
  describe: string;
  /** The controller's environment: ESO's endpoint variables pointing its aws provider at the double. */
  controllerEnv: Record<string, string>;
  takeOver(signal: AbortSignal): Promise<Loot>;
  stop(): Promise<void>;
}

const client = (aws: LabAws, credentials: { accessKeyId: string; secretAccessKey: string }) =>
  new SecretsManagerClient({ region: LAB_AWS_REGION, endpoint: aws.endpoint, credentials, maxAttempts: 1 });

export async function startLabSecretsManager(dir: string, onChild?: (c: ChildProcess) => void): Promise<LabSecretsManager> {
  const aws = await startLabAws(dir, onChild);
  return {
    aws,
    describe: `AWS Secrets Manager (the AWS test double at ${aws.endpoint}, not AWS; the ExternalSecrets' source)`,
    controllerEnv: { AWS_SECRETSMANAGER_ENDPOINT: aws.endpoint, AWS_STS_ENDPOINT: aws.endpoint },
    async takeOver(signal) {
      const loot = emptyLoot();
      const sm = client(aws, await aws.adminCredentials());
      let names: string[] = [];
      for (let token: string | undefined, first = true; first || token; first = false) {
        const page = await sm.send(new ListSecretsCommand({ ...(token ? { NextToken: token } : {}) }), { abortSignal: signal });
        names = [...names, ...(page.SecretList ?? []).map((s) => s.Name!).filter(Boolean)];
        token = page.NextToken;
      }
      for (const name of names) {
        const out = await sm.send(new GetSecretValueCommand({ SecretId: name }), { abortSignal: signal }).catch(() => undefined);
        const bytes = out?.SecretString !== undefined ? Buffer.from(out.SecretString, 'utf8') : out?.SecretBinary ? Buffer.from(out.SecretBinary) : undefined;
        if (bytes) loot.blobs.push({ label: `kms-server: GetSecretValue ${name} as the Secrets Manager administrator`, bytes });
      }
      loot.notes.push(`Secrets Manager: ${names.length} secret(s) listed and read as its administrator`);
      return loot;
    },
    stop: () => stopChild(aws.child),
  };
}

/** Secrets Manager's side, as its administrator sets it up: each canary as a JSON secret `lab/canary-N`. */
export async function provisionSecretsManagerSource(sm: LabSecretsManager, canaries: readonly Canary[], signal: AbortSignal): Promise<void> {
  const admin = client(sm.aws, await sm.aws.adminCredentials());
  for (const c of canaries) {
    await admin.send(new CreateSecretCommand({ Name: kvKeyOf(c), SecretString: JSON.stringify({ [c.dataKey]: c.value.toString('latin1') }) }), { abortSignal: signal });
  }
}

/**
 * The cluster's side, through the API: the access key pair in a Secret, the SecretStore, one ExternalSecret per canary.
 * The double has one user, so the store's key pair is its administrator's (a real setup would use a read-only IAM user).
 */
export async function applyAwsExternalSecrets(client: ApiClient, sm: LabSecretsManager, canaries: readonly Canary[], namespace: string, signal: AbortSignal): Promise<Buffer[]> {
  const { accessKeyId, secretAccessKey } = await sm.aws.adminCredentials();
  await client.must('POST', secretPath(namespace), {
    body: {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: AWS_CREDENTIALS_SECRET, namespace },
      type: 'Opaque',
      data: { 'access-key-id': Buffer.from(accessKeyId).toString('base64'), 'secret-access-key': Buffer.from(secretAccessKey).toString('base64') },
    },
    signal,
  });
  const ref = (key: string) => ({ name: AWS_CREDENTIALS_SECRET, key });
  await client.must('POST', `/apis/${ESO_GROUP_VERSION}/namespaces/${namespace}/secretstores`, {
    body: {
      apiVersion: ESO_GROUP_VERSION,
      kind: 'SecretStore',
      metadata: { name: SECRET_STORE_NAME, namespace },
      spec: { provider: { aws: { service: 'SecretsManager', region: LAB_AWS_REGION, auth: { secretRef: { accessKeyIDSecretRef: ref('access-key-id'), secretAccessKeySecretRef: ref('secret-access-key') } } } } },
    },
    signal,
  });
  await applyCanaryExternalSecrets(client, canaries, namespace, signal);
  return [Buffer.from(accessKeyId, 'latin1'), Buffer.from(secretAccessKey, 'latin1')];
}
