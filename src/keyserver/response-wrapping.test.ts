// Response wrapping, cubbyholes and bound_cidrs over HTTP in Vault's wire format (what the Go client and hvac send:
// X-Vault-Wrap-TTL on the request, the wrapping token in X-Vault-Token or in the body of sys/wrapping/*).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FakeClock } from '../lib/clock.js';
import { startTestKeyserver, type Dict, type TestKeyserver } from './testing/test-keyserver.js';

void describe('response wrapping', () => {
  let ks: TestKeyserver;
  const clock = new FakeClock();
  before(async () => {
    ks = await startTestKeyserver({ clock });
    assert.equal((await ks.call('POST', 'auth/approle/role/plugin', { body: { token_policies: 'default' } })).status, 204);
  });
  after(() => ks.dispose());

  const wrapped = (path: string, ttl: string, body?: unknown) => ks.call('POST', path, { body, headers: { 'X-Vault-Wrap-TTL': ttl } });

  void it('answers with wrap_info instead of the secret, and the wrapping token unwraps once', async () => {
    const res = await wrapped('auth/approle/role/plugin/secret-id', '60s');
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.data, null);
    assert.equal(res.text.includes('secret_id"'), false, 'the secret_id must not cross the intermediary');
    const info = res.body.wrap_info as Dict;
    assert.equal(info.ttl, 60);
    assert.equal(info.creation_path, 'auth/approle/role/plugin/secret-id');
    assert.match(info.token as string, /^hvs\./);
    assert.match(info.creation_time as string, /^\d{4}-\d\d-\d\dT/);

    // The Go client's Unwrap with no client token of its own: the wrapping token in X-Vault-Token, no body.
    const first = await ks.call('PUT', 'sys/wrapping/unwrap', { token: info.token as string });
    assert.equal(first.status, 200, first.text);
    assert.match(first.body.data.secret_id as string, /^[0-9a-f-]{36}$/);
    const second = await ks.call('PUT', 'sys/wrapping/unwrap', { token: info.token as string });
    assert.equal(second.status, 400);
    assert.deepEqual(second.body.errors, ['wrapping token is not valid or does not exist']);
  });

  void it('wraps a token create: wrapped_accessor names the token inside, lookup describes it without using it', async () => {
    const res = await wrapped('auth/token/create', '5m', { policies: ['default'], ttl: '1h' });
    const info = res.body.wrap_info as Dict;
    assert.equal(res.body.auth, null);
    const look = await ks.call('POST', 'sys/wrapping/lookup', { token: null, body: { token: info.token } });
    assert.equal(look.status, 200, look.text);
    assert.deepEqual({ ...look.body.data, creation_time: 'x' }, { creation_path: 'auth/token/create', creation_time: 'x', creation_ttl: 300 });
    // hvac's unwrap(token): the caller's own token in the header, the wrapping token in the body.
    const open = await ks.call('POST', 'sys/wrapping/unwrap', { body: { token: info.token } });
    assert.equal(open.status, 200, open.text);
    assert.equal(open.body.auth.accessor, info.wrapped_accessor);
    const self = await ks.call('GET', 'auth/token/lookup-self', { token: open.body.auth.client_token });
    assert.equal(self.status, 200);
  });

  void it('rewrap issues a new wrapping token and burns the old one; an expired one is refused', async () => {
    const info = (await wrapped('sys/wrapping/wrap', '120', { greeting: 'hello' })).body.wrap_info as Dict;
    const re = await ks.call('POST', 'sys/wrapping/rewrap', { body: { token: info.token } });
    assert.equal(re.status, 200, re.text);
    const next = re.body.wrap_info as Dict;
    assert.notEqual(next.token, info.token);
    assert.equal(next.ttl, 120);
    assert.equal((await ks.call('POST', 'sys/wrapping/unwrap', { body: { token: info.token } })).status, 400);
    assert.deepEqual((await ks.call('POST', 'sys/wrapping/unwrap', { body: { token: next.token } })).body.data, { greeting: 'hello' });

    const late = (await wrapped('sys/wrapping/wrap', '1m', { x: '1' })).body.wrap_info as Dict;
    await clock.advance(61_000);
    const expired = await ks.call('POST', 'sys/wrapping/unwrap', { token: null, body: { token: late.token } });
    assert.deepEqual([expired.status, expired.body.errors], [400, ['wrapping token is not valid or does not exist']]);
  });

  void it('refuses what it cannot honour with 400, never silently unwrapped', async () => {
    const bad = await wrapped('sys/wrapping/wrap', 'soon', { x: '1' });
    assert.equal(bad.status, 400);
    assert.match(bad.body.errors![0]!, /^error parsing X-Vault-Wrap-TTL header/);
    const jwt = await ks.call('POST', 'sys/wrapping/wrap', { body: { x: '1' }, headers: { 'X-Vault-Wrap-TTL': '60', 'X-Vault-Wrap-Format': 'jwt' } });
    assert.equal(jwt.status, 400);
    const noTtl = await ks.call('POST', 'sys/wrapping/wrap', { body: { x: '1' } });
    assert.deepEqual([noTtl.status, noTtl.body.errors], [400, ['endpoint requires response wrapping to be used']]);
    // The wrapping token's own policy reaches nothing else.
    const info = (await wrapped('sys/wrapping/wrap', '60', { x: '1' })).body.wrap_info as Dict;
    assert.equal((await ks.call('GET', 'auth/token/lookup-self', { token: info.token as string })).status, 403);
    assert.equal((await ks.call('PUT', 'sys/policies/acl/response-wrapping', { body: { policy: 'path "*" { capabilities = ["read"] }' } })).status, 400);
  });
});

void describe('cubbyhole and bound_cidrs', () => {
  let ks: TestKeyserver;
  before(async () => {
    ks = await startTestKeyserver();
  });
  after(() => ks.dispose());
  const child = async (body: Dict) => {
    const r = await ks.call('POST', 'auth/token/create', { body });
    assert.equal(r.status, 200, r.text);
    return r.body.auth.client_token;
  };

  void it('keeps a cubbyhole per token, invisible to others, gone with its token', async () => {
    const a = await child({ policies: ['default'] });
    const b = await child({ policies: ['default'] });
    assert.equal((await ks.call('PUT', 'cubbyhole/note', { token: a, body: { v: 'mine' } })).status, 204);
    assert.deepEqual((await ks.call('GET', 'cubbyhole/note', { token: a })).body.data, { v: 'mine' });
    assert.equal((await ks.call('GET', 'cubbyhole/note', { token: b })).status, 404);
    assert.deepEqual((await ks.call('LIST', 'cubbyhole', { token: a })).body.data.keys, ['note']);
    assert.equal((await ks.call('PUT', 'auth/token/revoke', { body: { token: a } })).status, 204);
    const c = await child({ policies: ['default'] });
    assert.equal((await ks.call('GET', 'cubbyhole/note', { token: c })).status, 404);
  });

  void it('refuses a bound token from another address and serves it from its own', async () => {
    const elsewhere = await child({ policies: ['default'], bound_cidrs: ['10.1.0.0/16'] });
    const here = await child({ policies: ['default'], bound_cidrs: '127.0.0.1/32,::1' });
    assert.equal((await ks.call('GET', 'auth/token/lookup-self', { token: elsewhere })).status, 403);
    const self = await ks.call('GET', 'auth/token/lookup-self', { token: here });
    assert.equal(self.status, 200);
    assert.deepEqual(self.body.data.bound_cidrs, ['127.0.0.1/32', '::1']);
    // AppRole's token_bound_cidrs binds the tokens its logins issue the same way.
    assert.equal((await ks.call('POST', 'auth/approle/role/far', { body: { token_policies: 'default', token_bound_cidrs: ['10.1.0.0/16'] } })).status, 204);
    assert.deepEqual((await ks.call('GET', 'auth/approle/role/far')).body.data.token_bound_cidrs, ['10.1.0.0/16']);
    const roleId = (await ks.call('GET', 'auth/approle/role/far/role-id')).body.data.role_id as string;
    const secretId = (await ks.call('POST', 'auth/approle/role/far/secret-id', { body: {} })).body.data.secret_id as string;
    const login = await ks.call('POST', 'auth/approle/login', { token: null, body: { role_id: roleId, secret_id: secretId } });
    assert.equal(login.status, 200, login.text);
    assert.equal((await ks.call('GET', 'auth/token/lookup-self', { token: login.body.auth.client_token })).status, 403);
    const bad = await ks.call('POST', 'auth/token/create', { body: { bound_cidrs: ['10.0.0.0/99'] } });
    assert.equal(bad.status, 400);
    assert.match(bad.body.errors![0]!, /"10\.0\.0\.0\/99" in field "bound_cidrs"/);
  });
});
