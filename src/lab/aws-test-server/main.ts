// Runs the AWS test double on its own, for trying the aws-kms backend and the aws provider by hand (the docs'
// examples): `node --import tsx src/lab/aws-test-server/main.ts --port 4566 --dir /tmp/coffer-aws`.
// It creates a user whose access key pair is written to DIR/aws-access-key-id and DIR/aws-secret-access-key (mode
// 0600), a KMS key behind alias/coffer-kek, a Secrets Manager secret `db` ({"password":"s3cr3t"}), and a role
// arn:aws:iam::123456789012:role/coffer-kms that this user may assume and that trusts web identity tokens of the
// ServiceAccount kube-system/coffer-kms-plugin (audience sts.amazonaws.com). It is a test double, not AWS, and keeps
// everything in memory.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startAwsTestServer } from './aws-test-server.js';

const { values } = parseArgs({ options: { port: { type: 'string', default: '4566' }, region: { type: 'string', default: 'us-east-1' }, dir: { type: 'string' } } });
if (!values.dir) {
  console.error('usage: main.ts --dir DIR [--port 4566] [--region us-east-1]');
  process.exit(2);
}
const aws = await startAwsTestServer({ port: Number(values.port), region: values.region });
const user = aws.addUser('coffer');
const key = aws.kms.createKey('coffer KEK');
aws.kms.aliases.set('alias/coffer-kek', key.id);
aws.secretsManager.handle('CreateSecret', { Name: 'db', SecretString: '{"password":"s3cr3t"}' });
aws.roles.set(`arn:aws:iam::${aws.account}:role/coffer-kms`, {
  principals: [user.arn],
  webIdentity: { subjects: ['system:serviceaccount:kube-system:coffer-kms-plugin'], audience: 'sts.amazonaws.com' },
});
await mkdir(values.dir, { recursive: true, mode: 0o700 });
await writeFile(join(values.dir, 'aws-access-key-id'), user.accessKeyId, { mode: 0o600 });
await writeFile(join(values.dir, 'aws-secret-access-key'), user.secretAccessKey, { mode: 0o600 });
console.log(`AWS test server listening on ${aws.endpoint} (region ${aws.region}); key ${key.arn} behind alias/coffer-kek; credentials in ${values.dir}`);
const stop = () => void aws.close().then(() => process.exit(0));
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
