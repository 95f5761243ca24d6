// The AWS test double against the real SDK v3: signatures are checked (a wrong secret, a missing session token and an
// unknown key are refused with AWS's error codes), and the documented behaviours the Coffer code relies on hold.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CreateKeyCommand, DecryptCommand, DisableKeyCommand, EncryptCommand, KMSClient, CreateAliasCommand, UpdateAliasCommand } from '@aws-sdk/client-kms';
import { CreateSecretCommand, GetSecretValueCommand, ListSecretsCommand, PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetParameterCommand, GetParametersByPathCommand, DescribeParametersCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { AssumeRoleCommand, AssumeRoleWithWebIdentityCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { startAwsTestServer, type AwsTestServer, type Identity } from './aws-test-server.js';

const creds = (id: Identity) => ({ accessKeyId: id.accessKeyId, secretAccessKey: id.secretAccessKey, ...(id.sessionToken ? { sessionToken: id.sessionToken } : {}) });
const jwt = (claims: object) => `e30.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.sig`;

void describe('AWS test server (real SDK v3 clients)', () => {
  let aws: AwsTestServer;
  let admin: Identity;
  const cfg = (id: Identity) => ({ region: aws.region, endpoint: aws.endpoint, credentials: creds(id), maxAttempts: 1 });

  before(async () => {
    aws = await startAwsTestServer();
    admin = aws.addUser('admin');
  });
  after(() => aws.close());

  void it('refuses a bad signature, an unknown key and a missing session token with AWS error codes', async () => {
    const wrong = { ...admin, secretAccessKey: 'x'.repeat(40) };
    await assert.rejects(new KMSClient(cfg(wrong)).send(new CreateKeyCommand({})), { name: 'InvalidSignatureException', message: /signature we calculated does not match/ });
    await assert.rejects(new KMSClient(cfg({ ...admin, accessKeyId: 'AKIAUNKNOWN' })).send(new CreateKeyCommand({})), { name: 'UnrecognizedClientException' });
    await assert.rejects(new STSClient(cfg(wrong)).send(new GetCallerIdentityCommand({})), { name: 'SignatureDoesNotMatch' });
    aws.roles.set('arn:aws:iam::123456789012:role/r', { principals: [admin.arn] });
    const c = (await new STSClient(cfg(admin)).send(new AssumeRoleCommand({ RoleArn: 'arn:aws:iam::123456789012:role/r', RoleSessionName: 's1' }))).Credentials!;
    await assert.rejects(new KMSClient(cfg({ ...admin, accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey! })).send(new CreateKeyCommand({})), { name: 'UnrecognizedClientException' });
  });

  void it('KMS: blobs name their key, the encryption context is authenticated, disabled keys are refused', async () => {
    const kms = new KMSClient(cfg(admin));
    const key = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!;
    await kms.send(new CreateAliasCommand({ AliasName: 'alias/test', TargetKeyId: key.KeyId }));
    const enc = await kms.send(new EncryptCommand({ KeyId: 'alias/test', Plaintext: Buffer.from('seed'), EncryptionContext: { a: '1' } }));
    assert.equal(enc.KeyId, key.Arn);
    const dec = await kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: { a: '1' } }));
    assert.equal(Buffer.from(dec.Plaintext!).toString(), 'seed');
    await assert.rejects(kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: { a: '2' } })), { name: 'InvalidCiphertextException' });
    const other = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!;
    await kms.send(new UpdateAliasCommand({ AliasName: 'alias/test', TargetKeyId: other.KeyId }));
    assert.equal((await kms.send(new EncryptCommand({ KeyId: 'alias/test', Plaintext: Buffer.from('x') }))).KeyId, other.Arn);
    await kms.send(new DisableKeyCommand({ KeyId: key.KeyId }));
    await assert.rejects(kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: { a: '1' } })), { name: 'DisabledException', message: new RegExp(key.Arn!) });
    await assert.rejects(kms.send(new EncryptCommand({ KeyId: 'alias/nope', Plaintext: Buffer.from('x') })), { name: 'NotFoundException', message: /alias\/nope is not found/ });
  });

  void it('Secrets Manager: stages move on PutSecretValue, ListSecrets pages and filters', async () => {
    const sm = new SecretsManagerClient(cfg(admin));
    const created = await sm.send(new CreateSecretCommand({ Name: 'app/db', SecretString: '{"v":1}', Tags: [{ Key: 'team', Value: 'blue' }] }));
    await sm.send(new PutSecretValueCommand({ SecretId: 'app/db', SecretString: '{"v":2}' }));
    assert.equal((await sm.send(new GetSecretValueCommand({ SecretId: created.ARN! }))).SecretString, '{"v":2}');
    assert.equal((await sm.send(new GetSecretValueCommand({ SecretId: 'app/db', VersionStage: 'AWSPREVIOUS' }))).SecretString, '{"v":1}');
    assert.equal((await sm.send(new GetSecretValueCommand({ SecretId: 'app/db', VersionId: created.VersionId! }))).SecretString, '{"v":1}');
    await assert.rejects(sm.send(new GetSecretValueCommand({ SecretId: 'missing' })), { name: 'ResourceNotFoundException', message: "Secrets Manager can't find the specified secret." });
    for (let i = 0; i < 3; i++) await sm.send(new CreateSecretCommand({ Name: `page/${i}`, SecretBinary: Buffer.from([i]) }));
    const first = await sm.send(new ListSecretsCommand({ MaxResults: 2, Filters: [{ Key: 'name', Values: ['page/'] }] }));
    assert.equal(first.SecretList!.length, 2);
    const second = await sm.send(new ListSecretsCommand({ MaxResults: 2, NextToken: first.NextToken!, Filters: [{ Key: 'name', Values: ['page/'] }] }));
    assert.deepEqual(second.SecretList!.map((s) => s.Name), ['page/2']);
    assert.equal(second.NextToken, undefined);
    const tagged = await sm.send(new ListSecretsCommand({ Filters: [{ Key: 'tag-key', Values: ['team'] }, { Key: 'tag-value', Values: ['blue'] }] }));
    assert.deepEqual(tagged.SecretList!.map((s) => s.Name), ['app/db']);
  });

  void it('SSM: SecureString decrypts only WithDecryption, versions, paths and filters', async () => {
    const ssm = new SSMClient(cfg(admin));
    await ssm.send(new PutParameterCommand({ Name: '/app/pw', Value: 'one', Type: 'SecureString', Tags: [{ Key: 'env', Value: 'prod' }] }));
    await ssm.send(new PutParameterCommand({ Name: '/app/pw', Value: 'two', Type: 'SecureString', Overwrite: true }));
    await ssm.send(new PutParameterCommand({ Name: '/app/sub/list', Value: 'a,b', Type: 'StringList' }));
    assert.notEqual((await ssm.send(new GetParameterCommand({ Name: '/app/pw' }))).Parameter!.Value, 'two');
    assert.equal((await ssm.send(new GetParameterCommand({ Name: '/app/pw', WithDecryption: true }))).Parameter!.Value, 'two');
    assert.equal((await ssm.send(new GetParameterCommand({ Name: '/app/pw:1', WithDecryption: true }))).Parameter!.Value, 'one');
    await assert.rejects(ssm.send(new GetParameterCommand({ Name: '/app/pw:9' })), { name: 'ParameterVersionNotFound' });
    await assert.rejects(ssm.send(new GetParameterCommand({ Name: '/nope' })), { name: 'ParameterNotFound', message: 'Parameter /nope not found.' });
    assert.deepEqual((await ssm.send(new GetParametersByPathCommand({ Path: '/app' }))).Parameters!.map((p) => p.Name), ['/app/pw']);
    assert.deepEqual((await ssm.send(new GetParametersByPathCommand({ Path: '/app', Recursive: true }))).Parameters!.map((p) => p.Name), ['/app/pw', '/app/sub/list']);
    const byTag = await ssm.send(new DescribeParametersCommand({ ParameterFilters: [{ Key: 'tag:env', Option: 'Equals', Values: ['prod'] }] }));
    assert.deepEqual(byTag.Parameters!.map((p) => p.Name), ['/app/pw']);
  });

  void it('STS: trust, ExternalId, session tags, and web identity by subject and audience', async () => {
    const sts = new STSClient(cfg(admin));
    const role = 'arn:aws:iam::123456789012:role/eso';
    aws.roles.set(role, { principals: [admin.arn], externalId: 'ext-1', webIdentity: { subjects: ['system:serviceaccount:ns:sa'], audience: 'sts.amazonaws.com' } });
    await assert.rejects(sts.send(new AssumeRoleCommand({ RoleArn: role, RoleSessionName: 'x1' })), { name: 'AccessDenied' });
    const out = await sts.send(new AssumeRoleCommand({ RoleArn: role, RoleSessionName: 'x1', ExternalId: 'ext-1', Tags: [{ Key: 'team', Value: 'blue' }] }));
    assert.deepEqual(aws.identities.get(out.Credentials!.AccessKeyId!)!.sessionTags, { team: 'blue' });
    const who = await new STSClient({ ...cfg(admin), credentials: { accessKeyId: out.Credentials!.AccessKeyId!, secretAccessKey: out.Credentials!.SecretAccessKey!, sessionToken: out.Credentials!.SessionToken! } }).send(new GetCallerIdentityCommand({}));
    assert.equal(who.Arn, 'arn:aws:sts::123456789012:assumed-role/eso/x1');
    const anon = new STSClient({ region: aws.region, endpoint: aws.endpoint, credentials: { accessKeyId: 'unused', secretAccessKey: 'unused' } });
    const web = await anon.send(new AssumeRoleWithWebIdentityCommand({ RoleArn: role, RoleSessionName: 'w1', WebIdentityToken: jwt({ sub: 'system:serviceaccount:ns:sa', aud: ['sts.amazonaws.com'] }) }));
    assert.match(web.Credentials!.AccessKeyId!, /^ASIA/);
    await assert.rejects(anon.send(new AssumeRoleWithWebIdentityCommand({ RoleArn: role, RoleSessionName: 'w1', WebIdentityToken: jwt({ sub: 'system:serviceaccount:ns:other', aud: 'sts.amazonaws.com' }) })), { name: 'AccessDenied' });
  });

  void it('answers denied actions and injected throttling with the services\' codes', async () => {
    const user = aws.addUser('limited');
    aws.deny(user.arn, 'kms:Encrypt');
    const kms = new KMSClient(cfg(user));
    const key = (await new KMSClient(cfg(admin)).send(new CreateKeyCommand({}))).KeyMetadata!;
    await assert.rejects(kms.send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: Buffer.from('x') })), { name: 'AccessDeniedException', message: /not authorized to perform: kms:Encrypt/ });
    aws.injectFault('kms:Decrypt', 'ThrottlingException', 1);
    await assert.rejects(kms.send(new DecryptCommand({ CiphertextBlob: Buffer.alloc(80) })), { name: 'ThrottlingException' });
    await assert.rejects(kms.send(new DecryptCommand({ CiphertextBlob: Buffer.alloc(80) })), { name: 'InvalidCiphertextException' });
  });
});
