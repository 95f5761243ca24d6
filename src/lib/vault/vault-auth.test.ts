// The one Vault auth against a real `coffer keyserver` (in process, real HTTP) whose token TTLs run on the same
// FakeClock as the auth's timers: static tokens looked up and renewed, AppRole login, renewal at two thirds of the lease,
// a fresh login when renewal is capped or the token revoked, one login for concurrent callers, revoke on close, and no
// token or credential in the logs.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { startTestKeyserver, type TestKeyserver } from '../../keyserver/testing/test-keyserver.js';
import { FakeClock } from '../clock.js';
import { AppRoleAuth, literalCredential, requestWithAuth, StaticTokenAuth, TOKEN_CHECK_INTERVAL_MS, type AuthCallObserver } from './vault-auth.js';
import { VaultHttpClient } from './vault-http-client.js';

const signal = () => AbortSignal.timeout(10_000);

/** Timer callbacks fired by FakeClock start real HTTP requests; wait (in real time) for their effect. */
async function eventually(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

void describe('vault auth against coffer keyserver', () => {
  const clock = new FakeClock(Date.now());
  let ks: TestKeyserver;
  let client: VaultHttpClient;
  let roleId: string;
  let secretId: string;
  const logLines: string[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void logLines.push(line) });
  const calls: string[] = [];
  const observe: AuthCallObserver = async (call, fn) => {
    calls.push(call);
    return fn();
  };
  const count = (call: string) => calls.filter((c) => c === call).length;
  /** Whether the key server still takes this token (asked with the root token, so the lookup itself renews nothing). */
  const alive = async (token: Buffer) => (await ks.call('POST', 'auth/token/lookup', { body: { token: token.toString() } })).status === 200;

  before(async () => {
    ks = await startTestKeyserver({ clock });
    client = new VaultHttpClient({ address: ks.url, timeoutMs: 10_000 });
    const ok = (r: { status: number; text: string }) => assert.ok(r.status === 200 || r.status === 204, r.text);
    ok(await ks.call('PUT', 'sys/policies/acl/reader', { body: { policy: 'path "secret/data/*" { capabilities = ["read"] }\n' } }));
    ok(await ks.call('PUT', 'secret/data/app', { body: { data: { user: 'admin' } } }));
    // A lease of 60 s that renewals may stretch to 100 s at most, after which only a fresh login helps.
    ok(await ks.call('POST', 'auth/approle/role/app', { body: { token_policies: ['reader'], token_ttl: '60s', token_max_ttl: '100s' } }));
    roleId = (await ks.call('GET', 'auth/approle/role/app/role-id')).body.data.role_id as string;
    secretId = (await ks.call('POST', 'auth/approle/role/app/secret-id', { body: {} })).body.data.secret_id as string;
  });
  after(() => ks.dispose());

  const common = () => ({ client, clock, logger, timeoutMs: 10_000, observe });
  const appRole = (secret = secretId) => new AppRoleAuth({ ...common(), mount: 'approle', roleId: literalCredential(roleId), secretId: literalCredential(secret) });

  void it('AppRole: one login for concurrent callers, renewed at two thirds of the lease, a fresh login once renewal is capped, revoked on close', async () => {
    calls.length = 0;
    const auth = appRole();
    try {
      const tokens = await Promise.all(Array.from({ length: 8 }, () => auth.token(signal())));
      assert.equal(count('Login'), 1, 'concurrent callers share one login');
      assert.ok(tokens.every((t) => t.equals(tokens[0]!)));
      const first = Buffer.from(tokens[0]!);
      await clock.advance(40_000); // two thirds of 60 s
      await eventually(() => count('RenewSelf') === 1, 'a renew-self at 40 s');
      await clock.advance(30_000); // 70 s: past the first lease, alive only because it was renewed
      assert.ok(await alive(first), 'the renewed token outlives its first lease');
      assert.ok((await auth.token(signal())).equals(first), 'the same token, no new login');
      // The renewal at 80 s is capped by token_max_ttl (20 s left) and taken; the one due at about 93 s would get under
      // a fifth of the first lease,
      // so the auth logs in afresh instead.
      await clock.advance(15_000);
      await eventually(() => count('RenewSelf') === 2, 'a capped renew-self at 80 s');
      assert.equal(count('Login'), 1);
      // Time moves a second at a time from here, so the renewal timer set when the last answer arrived comes due.
      await eventually(async () => count('Login') === 2 || (await clock.advance(1000), false), 'a second login once the max TTL is near');
      const second = Buffer.from(await auth.token(signal()));
      assert.ok(!second.equals(first));
      await clock.advance(15_000); // the first token has reached its 100 s max TTL; the second is fine
      assert.equal(await alive(first), false);
      assert.ok(await alive(second));
      await auth.close();
      assert.equal(count('RevokeSelf'), 1);
      assert.equal(await alive(second), false, 'close revokes the token');
      await assert.rejects(auth.token(signal()), /vault auth is closed/);
    } finally {
      await auth.close();
    }
  });

  void it('close during a login: the token that login brings back is revoked, not left alive', async () => {
    calls.length = 0;
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const minted: Buffer[] = [];
    // Holds the login's answer back until close() has been called, as a slow key server would.
    const holdLogin: AuthCallObserver = async (call, fn) => {
      calls.push(call);
      const res = await fn();
      if (call === 'Login') {
        const token = (res as { body?: { auth?: { client_token?: string } } }).body?.auth?.client_token;
        if (token) minted.push(Buffer.from(token));
        await held;
      }
      return res;
    };
    const auth = new AppRoleAuth({ ...common(), observe: holdLogin, mount: 'approle', roleId: literalCredential(roleId), secretId: literalCredential(secretId) });
    const login = auth.token(signal());
    await eventually(() => minted.length === 1, 'the login answered');
    const closing = auth.close();
    release();
    await closing;
    await assert.rejects(login, /vault auth is closed/);
    assert.equal(count('RevokeSelf'), 1);
    assert.equal(await alive(minted[0]!), false, 'the token of the login under way is revoked');
  });

  void it('a token revoked behind its back is replaced: the 403 logs in again and the request succeeds', async () => {
    calls.length = 0;
    const auth = appRole();
    try {
      const token = Buffer.from(await auth.token(signal()));
      assert.equal((await ks.call('POST', 'auth/token/revoke', { body: { token: token.toString() } })).status, 204);
      const res = await requestWithAuth(client, auth, 'GET', 'secret/data/app', { signal: signal() });
      assert.equal(res.status, 200);
      assert.equal((res.body?.data as { data: { user: string } }).data.user, 'admin');
      assert.equal(count('Login'), 2);
    } finally {
      await auth.close();
    }
  });

  void it('a wrong secret_id fails with the key server\'s message and never shows the credential', async () => {
    const auth = appRole('not-the-secret-id');
    try {
      await assert.rejects(auth.token(signal()), (e: Error) => {
        assert.match(e.message, /AppRole login at auth\/approle\/login: Vault answered HTTP 400: invalid role or secret ID/);
        assert.ok(!e.message.includes('not-the-secret-id') && !e.message.includes(roleId));
        return true;
      });
    } finally {
      await auth.close();
    }
  });

  void it('static token: a renewable token is looked up each interval and renewed once less than half of its TTL is left; root is left alone', async () => {
    calls.length = 0;
    const created = await ks.call('POST', 'auth/token/create', { body: { policies: ['reader'], ttl: '100s', renewable: true } });
    const token = created.body.auth.client_token;
    let reads = 0;
    const source = { read: () => (reads++, Promise.resolve(Buffer.from(token))), wipe: () => undefined };
    const auth = new StaticTokenAuth(source, { ...common(), what: 'test token', recheckMs: 1000 });
    try {
      assert.equal((await auth.token(signal())).toString(), token);
      await auth.token(signal());
      assert.equal(reads, 1, 'read once, not per call');
      await clock.advance(TOKEN_CHECK_INTERVAL_MS); // 60 s: 40 s left of 100, under half
      await eventually(() => count('RenewSelf') === 1, 'a renew-self');
      await clock.advance(TOKEN_CHECK_INTERVAL_MS); // 120 s: past the first 100 s, alive only because it was renewed
      assert.ok(await alive(Buffer.from(token)));
    } finally {
      await auth.close();
    }
    calls.length = 0;
    const root = new StaticTokenAuth(literalCredential(ks.rootToken), { ...common(), what: 'root token', recheckMs: 1000 });
    try {
      await clock.advance(TOKEN_CHECK_INTERVAL_MS);
      await eventually(() => count('LookupSelf') === 1, 'a lookup-self');
      assert.equal(count('RenewSelf'), 0, 'a root token has no TTL to renew');
    } finally {
      await root.close();
    }
  });

  void it('static token: a rejected token is read again from its source at once', async () => {
    const good = (await ks.call('POST', 'auth/token/create', { body: { policies: ['reader'] } })).body.auth.client_token;
    let current = 'revoked-or-mistyped';
    const auth = new StaticTokenAuth({ read: () => Promise.resolve(Buffer.from(current)), wipe: () => undefined }, { ...common(), what: 'test token', recheckMs: 3_600_000 });
    try {
      assert.equal((await requestWithAuth(client, auth, 'GET', 'secret/data/app', { signal: signal() })).status, 403);
      current = good;
      assert.equal((await requestWithAuth(client, auth, 'GET', 'secret/data/app', { signal: signal() })).status, 200);
    } finally {
      await auth.close();
    }
  });

  void it('logs say what happened, never a token or a credential', () => {
    const all = logLines.join('\n');
    assert.match(all, /logged in to Vault/);
    assert.match(all, /renewed the Vault token/);
    for (const s of [secretId, roleId, ks.rootToken]) assert.ok(!all.includes(s));
    assert.ok(!/hvs\.|s\.[A-Za-z0-9]{20,}/.test(all), 'no token-shaped string');
  });
});
