// The SecretsProvider contract over the vault provider against a real `coffer keyserver` (in process, real HTTP):
// KV v2 at secret/, AppRole login with a read-only policy, the secret_id read from a Secret as ESO reads it.
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { startTestKeyserver, type TestKeyserver } from '../../keyserver/testing/test-keyserver.js';
import { FakeKubeApi } from '../testing/fake-kube-api.js';
import { CONTRACT_SECRETS, runSecretsProviderContract } from './secrets-provider.contract.js';
import { VaultProvider } from './vault-provider.js';

const POLICY = 'path "secret/data/*" { capabilities = ["read"] }\npath "secret/metadata/*" { capabilities = ["read", "list"] }\n';

let ks: TestKeyserver;
let roleId: string;
const kube = new FakeKubeApi();
before(async () => {
  ks = await startTestKeyserver();
  const ok = (r: { status: number; text: string }) => assert.ok(r.status === 200 || r.status === 204, r.text);
  for (const s of CONTRACT_SECRETS) ok(await ks.call('PUT', `secret/data/${s.key}`, { body: { data: s.data } }));
  ok(await ks.call('PUT', 'sys/policies/acl/eso', { body: { policy: POLICY } }));
  ok(await ks.call('POST', 'auth/approle/role/eso', { body: { token_policies: ['eso'], token_ttl: '1h' } }));
  roleId = (await ks.call('GET', 'auth/approle/role/eso/role-id')).body.data.role_id as string;
  const secretId = (await ks.call('POST', 'auth/approle/role/eso/secret-id', { body: {} })).body.data.secret_id as string;
  kube.put('secrets', { metadata: { name: 'vault-approle', namespace: 'team-a' }, data: { 'secret-id': Buffer.from(secretId).toString('base64') } });
});
after(() => ks.dispose());

runSecretsProviderContract('vault on coffer keyserver (KV v2, AppRole)', async () => {
  const provider = new VaultProvider(
    { server: ks.url, path: 'secret', version: 'v2', auth: { appRole: { path: 'approle', roleId, secretRef: { name: 'vault-approle', key: 'secret-id' } } } },
    { kube, scope: { kind: 'SecretStore', storeNamespace: 'team-a' }, record: () => undefined },
  );
  return { provider, cleanup: () => provider.close({ signal: AbortSignal.timeout(10_000) }) };
});
