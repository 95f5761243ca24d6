// ESO's aws provider with the real AWS SDK against the AWS test double (SigV4 checked): Secrets Manager and Parameter
// Store reads as ESO's tables describe them (versions, properties, binary, extract, find by name and tags across pages),
// each auth style (secretRef, jwt -> AssumeRoleWithWebIdentity, role chaining with externalID and session tags), and
// AWS's own reason in the "no secret" error.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startAwsTestServer, type AwsTestServer, type Identity } from '../../lab/aws-test-server/aws-test-server.js';
import { FakeKubeApi } from '../testing/fake-kube-api.js';
import { createAwsProvider, type AwsProviderSpec } from './aws-provider.js';
import type { StoreScope } from './credential-secrets.js';
import { NoSecretError, type SecretsProvider } from './secrets-provider.js';

const ACCOUNT = '123456789012';
const ROLE = `arn:aws:iam::${ACCOUNT}:role/eso-reader`;
const signal = () => ({ signal: AbortSignal.timeout(10_000) });
const text = (m: Record<string, Buffer>) => Object.fromEntries(Object.entries(m).map(([k, v]) => [k, v.toString()]));

void describe('aws provider (real SDK v3 against the AWS test server)', () => {
  let aws: AwsTestServer;
  let reader: Identity;
  let kube: FakeKubeApi;
  const calls: string[] = [];
  const scope: StoreScope = { kind: 'SecretStore', storeNamespace: 'team-a' };
  let firstVersion: string;

  before(async () => {
    aws = await startAwsTestServer();
    reader = aws.addUser('eso');
    kube = new FakeKubeApi();
    const b64 = (s: string) => Buffer.from(s).toString('base64');
    kube.put('secrets', { metadata: { name: 'awssm-secret', namespace: 'team-a' }, data: { 'access-key': b64(reader.accessKeyId), 'secret-access-key': b64(reader.secretAccessKey) } });
    Object.assign(kube, {
      // TokenRequest: a JWT whose subject is the ServiceAccount, as the API server issues it (unsigned here; the test
      // server checks subject and audience only).
      createServiceAccountToken: async (ns: string, name: string, o: { audiences?: string[] }) => ({
        token: `e30.${Buffer.from(JSON.stringify({ sub: `system:serviceaccount:${ns}:${name}`, aud: o.audiences })).toString('base64url')}.sig`,
      }),
    });
    const sm = aws.secretsManager;
    const put = (action: string, input: Record<string, unknown>) => sm.handle(action, input);
    firstVersion = put('CreateSecret', { Name: 'prod/db', SecretString: JSON.stringify({ username: 'admin', password: 'old-pw', 'tls.crt': 'CERT', port: 5432, nested: { a: 'b' } }), Tags: [{ Key: 'team', Value: 'a' }] }).VersionId as string;
    put('PutSecretValue', { SecretId: 'prod/db', SecretString: JSON.stringify({ username: 'admin', password: 's3cr3t', 'tls.crt': 'CERT', port: 5432, nested: { a: 'b' } }) });
    put('CreateSecret', { Name: 'prod/blob', SecretBinary: Buffer.from([0, 1, 2, 255]).toString('base64') });
    for (let i = 0; i < 120; i++) put('CreateSecret', { Name: `bulk/item-${String(i).padStart(3, '0')}`, SecretString: `v${i}`, Tags: [{ Key: 'env', Value: i % 2 ? 'production' : 'prod' }] });
    const ssm = aws.ssm;
    ssm.handle('PutParameter', { Name: '/app/db/password', Value: 'pw-1', Type: 'SecureString', Tags: [{ Key: 'env', Value: 'prod' }] });
    ssm.handle('PutParameter', { Name: '/app/db/password', Value: 'pw-2', Type: 'SecureString', Overwrite: true });
    ssm.handle('PutParameter', { Name: '/app/db/config', Value: JSON.stringify({ host: 'db.internal', port: 5432 }), Type: 'String', Tags: [{ Key: 'env', Value: 'prod' }] });
    ssm.handle('PutParameter', { Name: '/app/hosts', Value: 'a.internal,b.internal', Type: 'StringList' });
    for (let i = 0; i < 25; i++) ssm.handle('PutParameter', { Name: `/bulk/p${String(i).padStart(2, '0')}`, Value: `p${i}`, Type: 'String' });
    aws.roles.set(ROLE, { principals: [reader.arn], externalId: 'eso-ext', webIdentity: { subjects: ['system:serviceaccount:team-a:eso-sa'], audience: 'sts.amazonaws.com' } });
  });
  after(() => aws.close());

  const make = (over: Partial<AwsProviderSpec> = {}): SecretsProvider =>
    createAwsProvider(
      {
        service: 'SecretsManager',
        region: 'us-east-1',
        auth: { secretRef: { accessKeyIDSecretRef: { name: 'awssm-secret', key: 'access-key' }, secretAccessKeySecretRef: { name: 'awssm-secret', key: 'secret-access-key' } } },
        ...over,
      },
      { kube, scope, record: (p, c, ok) => calls.push(`${p} ${c} ${ok}`), endpoints: { secretsmanager: aws.endpoint, ssm: aws.endpoint, sts: aws.endpoint } },
    );

  void it('refuses a spec ESO would refuse, naming the field', () => {
    assert.throws(() => make({ service: 'Vault' }), /aws\.service must be SecretsManager or ParameterStore, got "Vault"/);
    assert.throws(() => make({ region: 'nowhere' }), /aws\.region must be an AWS region/);
    assert.throws(() => make({ role: 'eso-reader' }), /aws\.role must be an IAM role ARN, got "eso-reader"/);
  });

  void it('SecretsManager: whole secret, property (also a key with dots), versions by stage and uuid, binary', async () => {
    const p = make();
    assert.equal((await p.getSecret({ key: 'prod/db', property: 'password' }, signal())).toString(), 's3cr3t');
    assert.equal((await p.getSecret({ key: 'prod/db', property: 'tls.crt' }, signal())).toString(), 'CERT');
    assert.equal((await p.getSecret({ key: 'prod/db', property: 'port' }, signal())).toString(), '5432');
    assert.equal((await p.getSecret({ key: 'prod/db', property: 'nested' }, signal())).toString(), '{"a":"b"}');
    assert.equal((await p.getSecret({ key: 'prod/db', property: 'password', version: 'AWSPREVIOUS' }, signal())).toString(), 'old-pw');
    assert.equal((await p.getSecret({ key: 'prod/db', property: 'password', version: `uuid/${firstVersion}` }, signal())).toString(), 'old-pw');
    assert.deepEqual(await p.getSecret({ key: 'prod/blob' }, signal()), Buffer.from([0, 1, 2, 255]));
    await assert.rejects(p.getSecret({ key: 'prod/db', property: 'nope' }, signal()), /key nope does not exist in secret prod\/db/);
    const arn = [...aws.secretsManager.secrets.values()].find((s) => s.name === 'prod/db')!.arn;
    assert.equal((await p.getSecret({ key: arn, property: 'username' }, signal())).toString(), 'admin');
  });

  void it('SecretsManager: a missing secret is NoSecretError carrying AWS\'s reason', async () => {
    const e = await make().getSecret({ key: 'prod/missing' }, signal()).catch((x: unknown) => x);
    assert.ok(e instanceof NoSecretError);
    assert.match(e.message, /prod\/missing: ResourceNotFoundException: Secrets Manager can't find the specified secret\./);
    assert.ok(calls.includes('AWS/SecretsManager GetSecretValue false'));
  });

  void it('SecretsManager: extract, and find by name regexp and by exact tags across ListSecrets pages', async () => {
    const p = make();
    assert.deepEqual(text(await p.getSecretMap({ key: 'prod/db' }, signal())), { username: 'admin', password: 's3cr3t', 'tls.crt': 'CERT', port: '5432', nested: '{"a":"b"}' });
    const byName = await p.getAllSecrets({ name: { regexp: '^bulk/item-1[01][0-9]$' } }, signal());
    assert.equal(Object.keys(byName).length, 20);
    assert.equal(byName['bulk/item-105']!.toString(), 'v105');
    const before = aws.calls.filter((c) => c.action === 'secretsmanager:ListSecrets').length;
    const byTag = await p.getAllSecrets({ tags: { env: 'prod' } }, signal());
    assert.equal(Object.keys(byTag).length, 60, 'exact tag value: "production" does not match "prod"');
    assert.equal(aws.calls.filter((c) => c.action === 'secretsmanager:ListSecrets').length - before, 2, 'two pages of 100');
    assert.deepEqual(Object.keys(await p.getAllSecrets({ path: 'prod/', name: { regexp: '.*' } }, signal())).sort(), ['prod/blob', 'prod/db']);
  });

  void it('ParameterStore: SecureString decrypted, versions, property, StringList, missing parameter', async () => {
    const p = make({ service: 'ParameterStore' });
    assert.equal((await p.getSecret({ key: '/app/db/password' }, signal())).toString(), 'pw-2');
    assert.equal((await p.getSecret({ key: '/app/db/password', version: '1' }, signal())).toString(), 'pw-1');
    assert.equal((await p.getSecret({ key: '/app/db/config', property: 'host' }, signal())).toString(), 'db.internal');
    assert.equal((await p.getSecret({ key: '/app/hosts' }, signal())).toString(), 'a.internal,b.internal');
    assert.deepEqual(text(await p.getSecretMap({ key: '/app/db/config' }, signal())), { host: 'db.internal', port: '5432' });
    const e = await p.getSecret({ key: '/app/none' }, signal()).catch((x: unknown) => x);
    assert.ok(e instanceof NoSecretError);
    assert.match(e.message, /ParameterNotFound: Parameter \/app\/none not found\./);
  });

  void it('ParameterStore: find by path + name across pages, by tags, and the DescribeParameters fallback', async () => {
    const p = make({ service: 'ParameterStore' });
    const bulk = await p.getAllSecrets({ path: '/bulk', name: { regexp: 'p1[0-9]$' } }, signal());
    assert.deepEqual(Object.keys(bulk).sort(), Array.from({ length: 10 }, (_, i) => `/bulk/p1${i}`));
    assert.deepEqual(text(await p.getAllSecrets({ tags: { env: 'prod' } }, signal())), { '/app/db/config': '{"host":"db.internal","port":5432}', '/app/db/password': 'pw-2' });
    aws.deny(reader.arn, 'ssm:GetParametersByPath');
    assert.deepEqual(Object.keys(await p.getAllSecrets({ path: '/app/db', name: { regexp: 'pass' } }, signal())), ['/app/db/password']);
  });

  void it('auth.jwt: a ServiceAccount token exchanged with AssumeRoleWithWebIdentity', async () => {
    const p = make({ role: ROLE, auth: { jwt: { serviceAccountRef: { name: 'eso-sa' } } } });
    assert.equal(await p.validate(signal()), 'Ready');
    assert.equal((await p.getSecret({ key: 'prod/db', property: 'username' }, signal())).toString(), 'admin');
    assert.ok(aws.calls.some((c) => c.action === 'secretsmanager:GetSecretValue' && c.principal === `arn:aws:sts::${ACCOUNT}:assumed-role/eso-reader/external-secrets-provider-aws`));
    await assert.rejects(make({ role: ROLE, auth: { jwt: { serviceAccountRef: { name: 'other-sa' } } } }).getSecret({ key: 'prod/db' }, signal()), /AccessDenied/);
  });

  void it('role with externalID and sessionTags, after additionalRoles (role chaining)', async () => {
    const hop = `arn:aws:iam::${ACCOUNT}:role/hop`;
    aws.roles.set(hop, { principals: [reader.arn] });
    aws.roles.set(ROLE, { ...aws.roles.get(ROLE)!, principals: [reader.arn, hop] });
    await assert.rejects(make({ role: ROLE }).getSecret({ key: 'prod/db' }, signal()), /AccessDenied/, 'the trust policy requires the external id');
    const p = make({ role: ROLE, externalID: 'eso-ext', additionalRoles: [hop], sessionTags: [{ key: 'team', value: 'a' }] });
    assert.equal((await p.getSecret({ key: 'prod/db', property: 'username' }, signal())).toString(), 'admin');
    const session = [...aws.identities.values()].filter((i) => i.roleArn === ROLE).at(-1)!;
    assert.deepEqual(session.sessionTags, { team: 'a' });
    assert.ok(aws.calls.some((c) => c.action === 'sts:AssumeRole' && c.principal === `arn:aws:sts::${ACCOUNT}:assumed-role/hop/external-secrets-provider-aws`));
  });
});
