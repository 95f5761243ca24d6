// ESO's aws provider end to end: `coffer up` (the API server), `coffer controller` (pointed at the AWS test double
// with ESO's AWS_SECRETSMANAGER_ENDPOINT / AWS_SSM_ENDPOINT / AWS_STS_ENDPOINT) and kubectl. The stores and
// ExternalSecrets are those of ESO's documentation (docs/snippets/aws-sm-store.yaml, aws-sm-external-secret.yaml,
// aws-parameter-store.yaml, with the docs' JSON secret), and each resulting Secret is compared field by field. The
// credentials are an access key pair in a Secret (auth.secretRef), with `role` assumed through STS; auth.jwt needs the
// TokenRequest API, which `coffer up` does not serve, so it is covered by src/controller/providers/aws-provider.test.ts.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startAwsTestServer, type AwsTestServer, type Identity } from '../src/lab/aws-test-server/aws-test-server.js';
import { kubeReader, type KubeReader } from './support/kube-api.js';
import { freePort, runWithInput, startCoffer, type CofferChild } from './support/processes.js';

interface KubeObject {
  metadata: { name: string; uid: string; ownerReferences?: { kind: string; name: string; controller?: boolean }[]; labels?: Record<string, string> };
  type?: string;
  data?: Record<string, string>;
  status?: { conditions?: { type: string; status: string; reason?: string; message?: string }[] };
}

const ROLE = 'arn:aws:iam::123456789012:role/external-secrets';
// The JSON secret of ESO's Secrets Manager page ("my-json-secret").
const MY_JSON_SECRET = { name: { first: 'Tom', last: 'Anderson' }, friends: [{ first: 'Dale', last: 'Murphy' }, { first: 'Roger', last: 'Craig' }, { first: 'Jane', last: 'Murphy' }] };

void describe('External Secrets end to end: the aws provider against the AWS test server', () => {
  let dir: string;
  let aws: AwsTestServer;
  let eso: Identity;
  const children: CofferChild[] = [];
  const kubeArgs = () => ['--kubeconfig', join(dir, 'data', 'kubeconfig'), '--cache-dir', join(dir, 'kube-cache')];
  const apply = (yaml: string) => runWithInput('kubectl', [...kubeArgs(), 'apply', '-f', '-'], yaml);
  // Reads (most of them polls) go to the API server directly (test/support/kube-api.ts): a kubectl process per poll
  // cost more than the scenarios. Writes stay with kubectl.
  let kube: KubeReader;
  const get = (ns: string, kind: string, name: string) => kube.get<KubeObject>(kind, ns, name);
  const dataOf = (s: KubeObject | undefined) => s && Object.fromEntries(Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]));
  async function waitFor<T>(what: string, check: () => Promise<T | undefined | false>, ms = 20_000): Promise<T> {
    const start = Date.now();
    for (;;) {
      const v = await check();
      if (v !== undefined && v !== false) return v;
      if (Date.now() - start > ms) throw new Error(`timed out waiting for ${what}; controller log:\n${children[1]?.out().split('\n').slice(-15).join('\n')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const ready = async (ns: string, kind: string, name: string) => (await get(ns, kind, name))?.status?.conditions?.find((c) => c.type === 'Ready');

  /** A namespace, the docs' awssm-secret with the key pair, and a store of `service`. */
  const storeYaml = (ns: string, service: string, extra = '') => `apiVersion: v1
kind: Namespace
metadata: {name: ${ns}}
---
apiVersion: v1
kind: Secret
metadata: {name: awssm-secret, namespace: ${ns}}
stringData:
  access-key: ${eso.accessKeyId}
  secret-access-key: ${eso.secretAccessKey}
---
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {name: secretstore-sample, namespace: ${ns}}
spec:
  provider:
    aws:
      service: ${service}
      role: ${ROLE}
      region: eu-central-1${extra}
      auth:
        secretRef:
          accessKeyIDSecretRef: {name: awssm-secret, key: access-key}
          secretAccessKeySecretRef: {name: awssm-secret, key: secret-access-key}
`;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'coffer-e2e-eso-aws-'));
    aws = await startAwsTestServer({ region: 'eu-central-1' });
    eso = aws.addUser('external-secrets');
    aws.roles.set(ROLE, { principals: [eso.arn] });
    const port = await freePort();
    children.push((await startCoffer(['up', '--data-dir', join(dir, 'data'), '--listen', `127.0.0.1:${port}`, '--encryption', 'aesgcm', '--no-controller'], /export KUBECONFIG=/, 'coffer up')).child);
    kube = kubeReader(join(dir, 'data', 'kubeconfig'));
    // The controller reads ESO's endpoint variables from its environment, as ESO does.
    const saved = { ...process.env };
    Object.assign(process.env, { AWS_SECRETSMANAGER_ENDPOINT: aws.endpoint, AWS_SSM_ENDPOINT: aws.endpoint, AWS_STS_ENDPOINT: aws.endpoint });
    try {
      children.push((await startCoffer(['controller', '--kubeconfig', join(dir, 'data', 'kubeconfig')], /external-secrets controller started/, 'coffer controller')).child);
    } finally {
      for (const k of ['AWS_SECRETSMANAGER_ENDPOINT', 'AWS_SSM_ENDPOINT', 'AWS_STS_ENDPOINT']) if (saved[k] === undefined) delete process.env[k];
    }
  });
  after(async () => {
    kube?.close();
    for (const c of children.reverse()) await c.stop();
    await aws?.close();
    await rm(dir, { recursive: true, force: true });
  });

  void it("SecretsManager (docs' store and ExternalSecret): properties of my-json-secret land in the Secret, and follow changes", async () => {
    aws.secretsManager.handle('CreateSecret', { Name: 'my-json-secret', SecretString: JSON.stringify(MY_JSON_SECRET) });
    await apply(`${storeYaml('aws-sm', 'SecretsManager')}---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: example, namespace: aws-sm}
spec:
  refreshInterval: 2s
  secretStoreRef: {name: secretstore-sample, kind: SecretStore}
  target: {name: secret-to-be-created, creationPolicy: Owner}
  data:
  - secretKey: firstname
    remoteRef: {key: my-json-secret, property: name.first}
  - secretKey: first_friend
    remoteRef: {key: my-json-secret, property: friends.1.first}
`);
    await waitFor('SecretStore Ready', async () => (await ready('aws-sm', 'secretstore', 'secretstore-sample'))?.status === 'True');
    const secret = await waitFor('secret-to-be-created', () => get('aws-sm', 'secret', 'secret-to-be-created'));
    assert.deepEqual(dataOf(secret), { firstname: 'Tom', first_friend: 'Roger' });
    assert.equal(secret.type, 'Opaque');
    assert.deepEqual(secret.metadata.ownerReferences?.map((o) => [o.kind, o.name, o.controller]), [['ExternalSecret', 'example', true]]);
    assert.equal(secret.metadata.labels?.['reconcile.external-secrets.io/managed'], 'true');
    // The controller writes the Secret, then the ExternalSecret's status (as ESO does): a read right after the Secret
    // appears can still see the condition of the attempt made before the store was Ready, so wait for it.
    const synced = await waitFor('ExternalSecret example SecretSynced', async () => {
      const c = await ready('aws-sm', 'externalsecret', 'example');
      return c?.reason === 'SecretSynced' ? c : undefined;
    });
    assert.equal(synced.status, 'True');
    // The calls were made by the assumed role, not the key pair's user.
    assert.ok(aws.calls.some((c) => c.action === 'secretsmanager:GetSecretValue' && c.principal === 'arn:aws:sts::123456789012:assumed-role/external-secrets/external-secrets-provider-aws'));
    aws.secretsManager.handle('PutSecretValue', { SecretId: 'my-json-secret', SecretString: JSON.stringify({ ...MY_JSON_SECRET, name: { first: 'Thomas' } }) });
    await waitFor('the new value', async () => dataOf(await get('aws-sm', 'secret', 'secret-to-be-created'))?.firstname === 'Thomas');
  });

  void it('SecretsManager: extract, find by tags, a binary secret and a pinned version', async () => {
    const first = aws.secretsManager.handle('CreateSecret', { Name: 'app/db', SecretString: '{"username":"admin","password":"v1"}', Tags: [{ Key: 'team', Value: 'payments' }] }).VersionId as string;
    aws.secretsManager.handle('PutSecretValue', { SecretId: 'app/db', SecretString: '{"username":"admin","password":"v2"}' });
    aws.secretsManager.handle('CreateSecret', { Name: 'app/api-key', SecretString: 'k-123', Tags: [{ Key: 'team', Value: 'payments' }] });
    aws.secretsManager.handle('CreateSecret', { Name: 'app/keystore', SecretBinary: Buffer.from([0xca, 0xfe, 0x00, 0x01]).toString('base64') });
    await apply(`${storeYaml('aws-sm2', 'SecretsManager')}---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: bundle, namespace: aws-sm2}
spec:
  refreshInterval: 1h
  secretStoreRef: {name: secretstore-sample, kind: SecretStore}
  data:
  - secretKey: previous-password
    remoteRef: {key: app/db, property: password, version: uuid/${first}}
  - secretKey: keystore
    remoteRef: {key: app/keystore}
  dataFrom:
  - extract: {key: app/db}
  - find:
      tags: {team: payments}
    rewrite:
    - regexp: {source: "app/(.*)", target: "team-$1"}
`);
    const secret = await waitFor('bundle', () => get('aws-sm2', 'secret', 'bundle'));
    assert.deepEqual(dataOf(secret), { 'previous-password': 'v1', keystore: Buffer.from([0xca, 0xfe, 0x00, 0x01]).toString(), username: 'admin', password: 'v2', 'team-db': '{"username":"admin","password":"v2"}', 'team-api-key': 'k-123' });
    assert.deepEqual(Buffer.from(secret.data!.keystore!, 'base64'), Buffer.from([0xca, 0xfe, 0x00, 0x01]));
  });

  void it('ParameterStore: SecureString, String with property, StringList, a version, and find by path', async () => {
    const ssm = aws.ssm;
    ssm.handle('PutParameter', { Name: '/prod/db/password', Value: 'pw-old', Type: 'SecureString' });
    ssm.handle('PutParameter', { Name: '/prod/db/password', Value: 'pw-new', Type: 'SecureString', Overwrite: true });
    ssm.handle('PutParameter', { Name: '/prod/db/config', Value: '{"host":"db.internal","port":5432}', Type: 'String' });
    ssm.handle('PutParameter', { Name: '/prod/hosts', Value: 'a.internal,b.internal', Type: 'StringList' });
    await apply(`${storeYaml('aws-ps', 'ParameterStore')}---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: params, namespace: aws-ps}
spec:
  refreshInterval: 1h
  secretStoreRef: {name: secretstore-sample, kind: SecretStore}
  data:
  - secretKey: password
    remoteRef: {key: /prod/db/password}
  - secretKey: old-password
    remoteRef: {key: /prod/db/password, version: "1"}
  - secretKey: host
    remoteRef: {key: /prod/db/config, property: host}
  - secretKey: hosts
    remoteRef: {key: /prod/hosts}
  dataFrom:
  - find:
      path: /prod/db
      name: {regexp: ".*"}
    rewrite:
    - regexp: {source: "/prod/db/(.*)", target: "db-$1"}
`);
    const secret = await waitFor('params', () => get('aws-ps', 'secret', 'params'));
    assert.deepEqual(dataOf(secret), { password: 'pw-new', 'old-password': 'pw-old', host: 'db.internal', hosts: 'a.internal,b.internal', 'db-password': 'pw-new', 'db-config': '{"host":"db.internal","port":5432}' });
  });

  void it("a missing secret: Ready=False SecretSyncedError with AWS's reason, and no Secret", async () => {
    await apply(`${storeYaml('aws-missing', 'SecretsManager')}---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: missing, namespace: aws-missing}
spec:
  refreshInterval: 1h
  secretStoreRef: {name: secretstore-sample, kind: SecretStore}
  data:
  - secretKey: x
    remoteRef: {key: does/not/exist}
`);
    // Store and ExternalSecret arrive together, so the first Ready=False may say the store is not ready yet (as ESO
    // does); the controller retries when the store turns Ready, and the condition then carries AWS's reason.
    const cond = await waitFor("Ready=False with AWS's reason", async () => {
      const c = await ready('aws-missing', 'externalsecret', 'missing');
      return c?.status === 'False' && c.message?.includes('ResourceNotFoundException') ? c : undefined;
    });
    assert.equal(cond.reason, 'SecretSyncedError');
    assert.match(cond.message ?? '', /could not get secret data from provider: .*ResourceNotFoundException: Secrets Manager can't find the specified secret\./);
    assert.equal(await get('aws-missing', 'secret', 'missing'), undefined);
  });

  void it('logs no AWS secret key and no secret value', () => {
    const logs = children.map((c) => c.out()).join('');
    for (const s of [eso.secretAccessKey, 's3cr3t', 'pw-new', 'k-123']) assert.ok(!logs.includes(s), 'a secret in the logs');
  });
});
