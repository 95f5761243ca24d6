import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startAwsTestServer, type AwsTestServer } from '../aws-test-server/aws-test-server.js';
import type { StoredValue } from '../decrypt-trial.js';
import { emptyLoot } from '../loot.js';
import { replaySecretStoreTokens } from './secret-store-tokens.js';

const stored = (key: string, obj: unknown, value?: Buffer): StoredValue => ({ key, value: value ?? Buffer.from(JSON.stringify(obj)), source: 'test' });
const b64 = (s: string) => Buffer.from(s).toString('base64');

void describe('replaying an aws SecretStore key pair found in the datastore', () => {
  let aws: AwsTestServer;
  let objects: StoredValue[];
  let secrets: (stored: boolean) => StoredValue[];
  before(async () => {
    aws = await startAwsTestServer();
    const user = aws.addUser('eso');
    aws.secretsManager.handle('CreateSecret', { Name: 'lab/canary-1', SecretString: '{"value":"cc-one"}' });
    const ref = (key: string) => ({ name: 'aws-credentials', key });
    objects = [
      stored('/registry/external-secrets.io/secretstores/ns/aws', {
        apiVersion: 'external-secrets.io/v1',
        kind: 'SecretStore',
        metadata: { name: 'aws', namespace: 'ns' },
        spec: { provider: { aws: { service: 'SecretsManager', region: aws.region, auth: { secretRef: { accessKeyIDSecretRef: ref('id'), secretAccessKeySecretRef: ref('secret') } } } } },
      }),
      stored('/registry/external-secrets.io/externalsecrets/ns/one', {
        apiVersion: 'external-secrets.io/v1',
        kind: 'ExternalSecret',
        metadata: { name: 'one', namespace: 'ns' },
        spec: { secretStoreRef: { name: 'aws', kind: 'SecretStore' }, data: [{ remoteRef: { key: 'lab/canary-1' } }, { remoteRef: { key: 'lab/absent' } }] },
      }),
    ];
    const credentials = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'aws-credentials', namespace: 'ns' }, data: { id: b64(user.accessKeyId), secret: b64(user.secretAccessKey) } };
    secrets = (clear) => [stored('/registry/secrets/ns/aws-credentials', credentials, clear ? undefined : Buffer.from('k8s:enc:aescbc:v1:key1:opaque'))];
  });
  after(async () => aws.close());

  void it('reads the keys its ExternalSecrets name with the key pair stored in the clear', async () => {
    const loot = emptyLoot();
    await replaySecretStoreTokens(objects, secrets(true), 'disk', loot, AbortSignal.timeout(30_000), aws.endpoint);
    assert.equal(loot.blobs.length, 1);
    assert.equal(loot.blobs[0]!.credentialReuse, true);
    assert.match(loot.blobs[0]!.label, /GetSecretValue lab\/canary-1$/);
    assert.ok(loot.blobs[0]!.bytes.toString().includes('cc-one'));
    assert.match(loot.notes.join('\n'), /replayed for the 2 key\(s\) its ExternalSecrets name: 1 read, 1 refused or unreachable/);
  });

  void it('does not replay a key pair stored encrypted, and says so', async () => {
    const loot = emptyLoot();
    await replaySecretStoreTokens(objects, secrets(false), 'etcd', loot, AbortSignal.timeout(30_000), aws.endpoint);
    assert.equal(loot.blobs.length, 0);
    assert.match(loot.notes.join('\n'), /access key ID Secret ns\/aws-credentials is stored encrypted \(aescbc\); not replayed/);
  });
});
