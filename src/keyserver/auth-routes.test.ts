import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FakeClock } from '../lib/clock.js';
import { startTestKeyserver, type Dict, type TestKeyserver } from './testing/test-keyserver.js';

const KMS_POLICY = `
path "transit/encrypt/kms" { capabilities = ["update"] }
path "transit/decrypt/kms" { capabilities = ["update"] }
path "transit/keys/kms"    { capabilities = ["read"] }
`;
const ESO_POLICY = `
path "secret/data/*"     { capabilities = ["read"] }
path "secret/metadata/*" { capabilities = ["read", "list"] }
path "secret/data/locked" { capabilities = ["deny"] }
`;
const DENIED = ['1 error occurred:\n\t* permission denied\n\n'];

void describe('token auth, policies and AppRole', () => {
  let ks: TestKeyserver;
  const clock = new FakeClock();
  before(async () => {
    ks = await startTestKeyserver({ clock });
    await ks.call('POST', 'transit/keys/kms', { body: {} });
    await ks.call('PUT', 'secret/data/app', { body: { data: { a: '1' } } });
    await ks.call('PUT', 'secret/data/locked', { body: { data: { a: '1' } } });
  });
  after(async () => {
    await ks.dispose();
  });
  const createToken = async (body: Dict, token?: string) => {
    const r = await ks.call('POST', 'auth/token/create', { body, ...(token ? { token } : {}) });
    assert.equal(r.status, 200, r.text);
    return r.body.auth;
  };

  void it('manages ACL policies', async () => {
    assert.equal((await ks.call('PUT', 'sys/policies/acl/kms', { body: { policy: KMS_POLICY } })).status, 204);
    assert.equal((await ks.call('PUT', 'sys/policies/acl/ESO', { body: { policy: Buffer.from(ESO_POLICY).toString('base64') } })).status, 204);
    const read = await ks.call('GET', 'sys/policies/acl/eso');
    assert.deepEqual(read.body.data, { name: 'eso', policy: ESO_POLICY });
    const list = await ks.call('LIST', 'sys/policies/acl');
    assert.deepEqual(list.body.data.keys, ['default', 'eso', 'kms', 'root']);
    const bad = await ks.call('PUT', 'sys/policies/acl/bad', { body: { policy: 'path "x" { capabilities = ["fly"] }' } });
    assert.equal(bad.status, 400);
    assert.match(bad.body.errors![0]!, /invalid capability "fly"/);
    assert.deepEqual((await ks.call('DELETE', 'sys/policies/acl/root')).body.errors, ['cannot delete "root" policy']);
    assert.deepEqual((await ks.call('DELETE', 'sys/policies/acl/default')).body.errors, ['cannot delete default policy']);
    assert.equal((await ks.call('GET', 'sys/policies/acl/none')).status, 404);
  });

  void it('denies what a token’s policies do not grant, with Vault’s 403 body', async () => {
    const kms = await createToken({ policies: ['kms'], ttl: '1h' });
    assert.deepEqual(kms.policies, ['default', 'kms']);
    const enc = await ks.call('POST', 'transit/encrypt/kms', { token: kms.client_token, body: { plaintext: 'aGk=' } });
    assert.equal(enc.status, 200);
    // Upsert of a missing key needs `create`, which this policy does not grant.
    const upsert = await ks.call('POST', 'transit/encrypt/other', { token: kms.client_token, body: { plaintext: 'aGk=' } });
    assert.equal(upsert.status, 403);
    assert.deepEqual(upsert.body.errors, DENIED);
    const kv = await ks.call('GET', 'secret/data/app', { token: kms.client_token });
    assert.deepEqual([kv.status, kv.body.errors], [403, DENIED]);
    const noMount = await ks.call('GET', 'nothing/here', { token: kms.client_token });
    assert.equal(noMount.status, 403);

    const eso = await createToken({ policies: ['eso'] });
    assert.equal((await ks.call('GET', 'secret/data/app', { token: eso.client_token })).status, 200);
    assert.equal((await ks.call('GET', 'secret/data/locked', { token: eso.client_token })).status, 403);
    assert.equal((await ks.call('PUT', 'secret/data/app', { token: eso.client_token, body: { data: {} } })).status, 403);
    // `secret/metadata/*` is a prefix match, so it covers the mount's root listing too (as in Vault).
    assert.equal((await ks.call('GET', 'secret/metadata/?list=true', { token: eso.client_token })).status, 200);
    assert.equal((await ks.call('GET', 'secret/config', { token: eso.client_token })).status, 403);
    assert.equal((await ks.call('LIST', 'secret/metadata/x', { token: eso.client_token })).status, 404);

    assert.deepEqual((await ks.call('GET', 'secret/data/app', { token: null })).body.errors, DENIED);
    const invalid = await ks.call('GET', 'secret/data/app', { token: 'hvs.nope' });
    assert.equal(invalid.status, 403);
    assert.match(invalid.body.errors![0]!, /permission denied[\s\S]*invalid token/);
  });

  void it('accepts Authorization: Bearer', async () => {
    const r = await ks.call('GET', 'auth/token/lookup-self', { token: null, headers: { Authorization: `Bearer ${ks.rootToken}` } });
    assert.equal(r.status, 200);
  });

  void it('looks up, renews and revokes tokens with Vault’s field types', async () => {
    const t = await createToken({ policies: ['kms'], ttl: 3600, meta: { user: 'kms' } });
    assert.equal(t.lease_duration, 3600);
    assert.equal(t.renewable, true);
    assert.equal(t.orphan, false);
    const look = await ks.call('GET', 'auth/token/lookup-self', { token: t.client_token });
    const d = look.body.data;
    assert.equal(d.id, t.client_token);
    assert.equal(d.type, 'service');
    assert.equal(d.ttl, 3600);
    assert.equal(d.creation_ttl, 3600);
    assert.equal(typeof d.expire_time, 'string');
    assert.deepEqual(d.meta, { user: 'kms' });
    assert.equal(d.path, 'auth/token/create');

    await clock.advance(1000_000);
    const renewed = await ks.call('PUT', 'auth/token/renew-self', { token: t.client_token, body: { increment: 7200 } });
    assert.equal(renewed.status, 200);
    assert.equal(renewed.body.auth.lease_duration, 7200);
    assert.equal((await ks.call('GET', 'auth/token/lookup-self', { token: t.client_token })).body.data.ttl, 7200);
    assert.deepEqual((await ks.call('PUT', 'auth/token/renew-self', { body: {} })).body.errors, ['invalid lease ID']);

    const rootLook = await ks.call('GET', 'auth/token/lookup-self');
    assert.equal(rootLook.body.data.expire_time, null);
    assert.equal(rootLook.body.data.ttl, 0);

    const byAccessor = await ks.call('POST', 'auth/token/lookup-accessor', { body: { accessor: t.accessor } });
    assert.equal(byAccessor.body.data.id, '');
    assert.equal(byAccessor.body.data.accessor, t.accessor);

    assert.equal((await ks.call('PUT', 'auth/token/revoke-self', { token: t.client_token })).status, 204);
    assert.equal((await ks.call('GET', 'auth/token/lookup-self', { token: t.client_token })).status, 403);
  });

  void it('expires tokens, revokes children with their parent, and counts uses', async () => {
    const short = await createToken({ policies: ['kms'], ttl: '10s' });
    await clock.advance(11_000);
    assert.equal((await ks.call('GET', 'auth/token/lookup-self', { token: short.client_token })).status, 403);

    await ks.call('PUT', 'sys/policies/acl/creator', { body: { policy: 'path "auth/token/create" { capabilities = ["update"] }' } });
    const parent = await createToken({ policies: ['creator', 'kms'] });
    const child = await createToken({ policies: ['kms'] }, parent.client_token);
    const orphan = await createToken({ policies: ['kms'], no_parent: true });
    assert.equal(orphan.orphan, true);
    await ks.call('POST', 'auth/token/revoke-accessor', { body: { accessor: parent.accessor } });
    assert.equal((await ks.call('GET', 'auth/token/lookup-self', { token: child.client_token })).status, 403);
    assert.equal((await ks.call('GET', 'auth/token/lookup-self', { token: orphan.client_token })).status, 200);

    const twice = await createToken({ policies: ['kms'], num_uses: 2 });
    assert.equal((await ks.call('GET', 'transit/keys/kms', { token: twice.client_token })).status, 200);
    assert.equal((await ks.call('GET', 'transit/keys/kms', { token: twice.client_token })).status, 200);
    assert.equal((await ks.call('GET', 'transit/keys/kms', { token: twice.client_token })).status, 403);
  });

  void it('limits what a non-root token may create', async () => {
    const kms = await createToken({ policies: ['kms'] });
    const escalate = await ks.call('POST', 'auth/token/create', { token: kms.client_token, body: { policies: ['eso'] } });
    // kms cannot even reach auth/token/create: the default policy does not grant it.
    assert.equal(escalate.status, 403);
    const creator = await createToken({ policies: ['creator', 'kms'] });
    const sub = await ks.call('POST', 'auth/token/create', { token: creator.client_token, body: { policies: ['eso'] } });
    assert.deepEqual(sub.body.errors, ['child policies must be subset of parent']);
    const root = await ks.call('POST', 'auth/token/create', { token: creator.client_token, body: { policies: ['root'] } });
    assert.equal(root.status, 400);
    const period = await ks.call('POST', 'auth/token/create', { token: creator.client_token, body: { policies: ['kms'], period: '1h' } });
    assert.deepEqual(period.body.errors, ['root or sudo privileges required to create periodic token']);
    const ok = await ks.call('POST', 'auth/token/create', { token: creator.client_token, body: { policies: ['kms'] } });
    assert.equal(ok.status, 200);
  });

  void it('logs in with AppRole, ignoring a stale token header on the login path', async () => {
    assert.equal((await ks.call('POST', 'auth/approle/role/eso', { body: { token_policies: 'eso', token_ttl: '20m', secret_id_num_uses: 0 } })).status, 204);
    const role = await ks.call('GET', 'auth/approle/role/eso');
    assert.deepEqual(role.body.data.token_policies, ['eso']);
    assert.equal(role.body.data.token_ttl, 1200);
    const roleId = (await ks.call('GET', 'auth/approle/role/eso/role-id')).body.data.role_id as string;
    const gen = await ks.call('POST', 'auth/approle/role/eso/secret-id', { body: { metadata: '{"team":"a"}' } });
    const secretId = gen.body.data.secret_id as string;
    assert.equal(typeof gen.body.data.secret_id_accessor, 'string');

    const login = await ks.call('PUT', 'auth/approle/login', { token: 'hvs.stale', body: { role_id: roleId, secret_id: secretId } });
    assert.equal(login.status, 200, login.text);
    const auth = login.body.auth;
    assert.deepEqual(auth.policies, ['default', 'eso']);
    assert.equal(auth.lease_duration, 1200);
    assert.deepEqual(auth.metadata, { role_name: 'eso' });
    assert.equal(auth.orphan, true);
    assert.equal(login.body.data, null);
    const look = await ks.call('GET', 'auth/token/lookup-self', { token: auth.client_token });
    assert.equal(look.body.data.path, 'auth/approle/login');
    assert.equal((await ks.call('GET', 'secret/data/app', { token: auth.client_token })).status, 200);
    assert.equal((await ks.call('PUT', 'auth/token/revoke-self', { token: auth.client_token })).status, 204);
    assert.equal((await ks.call('GET', 'auth/token/lookup-self', { token: auth.client_token })).status, 403);

    const wrong = await ks.call('PUT', 'auth/approle/login', { token: null, body: { role_id: roleId, secret_id: 'nope' } });
    assert.deepEqual([wrong.status, wrong.body.errors], [400, ['invalid role or secret ID']]);
    assert.deepEqual((await ks.call('PUT', 'auth/approle/login', { token: null, body: {} })).body.errors, ['missing role_id']);
    assert.deepEqual((await ks.call('PUT', 'auth/approle/login', { token: null, body: { role_id: roleId } })).body.errors, ['missing secret_id']);

    const once = await ks.call('POST', 'auth/approle/role/eso/secret-id', { body: { num_uses: 1 } });
    const s1 = once.body.data.secret_id as string;
    assert.equal((await ks.call('PUT', 'auth/approle/login', { token: null, body: { role_id: roleId, secret_id: s1 } })).status, 200);
    assert.equal((await ks.call('PUT', 'auth/approle/login', { token: null, body: { role_id: roleId, secret_id: s1 } })).status, 400);

    const accessors = await ks.call('LIST', 'auth/approle/role/eso/secret-id');
    assert.deepEqual(accessors.body.data.keys, [gen.body.data.secret_id_accessor]);
    await ks.call('POST', 'auth/approle/role/eso/secret-id/destroy', { body: { secret_id: secretId } });
    assert.equal((await ks.call('PUT', 'auth/approle/login', { token: null, body: { role_id: roleId, secret_id: secretId } })).status, 400);
  });

  void it('serves health, seal status and the mount preflight the vault CLI does', async () => {
    const health = await ks.call('GET', 'sys/health?standbycode=299&sealedcode=299', { token: null });
    assert.equal(health.status, 200);
    assert.equal(health.body.sealed, false);
    assert.equal((await ks.call('GET', 'sys/health?activecode=299', { token: null })).status, 299);
    assert.equal((await ks.call('GET', 'sys/seal-status', { token: null })).body.initialized, true);
    const eso = await createToken({ policies: ['eso'] });
    const mount = await ks.call('GET', 'sys/internal/ui/mounts/secret/app', { token: eso.client_token });
    assert.equal(mount.status, 200);
    assert.equal(mount.body.data.path, 'secret/');
    assert.deepEqual(mount.body.data.options, { version: '2' });
    assert.equal((await ks.call('GET', 'sys/internal/ui/mounts/transit/keys', { token: eso.client_token })).status, 403);
    const caps = await ks.call('POST', 'sys/capabilities-self', { token: eso.client_token, body: { paths: ['secret/data/app'] } });
    assert.deepEqual(caps.body.capabilities, ['read']);
  });
});
