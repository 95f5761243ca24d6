// The vault provider against a tiny fake Vault HTTP server in the test: KV v2 reads (versions, deleted versions,
// metadata, LIST), token auth from a Secret, AppRole login, the namespace header and re-login after a revoked token.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { FakeClock } from '../../lib/clock.js';
import { FakeKubeApi } from '../testing/fake-kube-api.js';
import { NoSecretError } from './secrets-provider.js';
import { TOKEN_SECRET_RECHECK_MS, VaultProvider, type VaultProviderSpec } from './vault-provider.js';

interface Seen { method: string; path: string; token?: string; namespace?: string }

const KV: Record<string, { versions: (Record<string, unknown> | null)[]; custom?: Record<string, string> }> = {
  'app/db': { versions: [{ password: 'old' }, { username: 'admin', password: 's3cr3t', port: 5432, nested: { a: '<b>' } }], custom: { team: 'a' } },
  'app/gone': { versions: [null] },
  'app/odd': { versions: [{ sep: 'a\u2028b\u2029', lone: 'x\udc00y' }] },
  'dev/one': { versions: [{ v: 1 }], custom: { env: 'dev' } },
  'dev/sub/two': { versions: [{ v: 2 }], custom: { env: 'prod' } },
};

function body(req: IncomingMessage): Promise<Record<string, string>> {
  return new Promise((resolve) => {
    let text = '';
    req.on('data', (c: Buffer) => (text += c.toString()));
    req.on('end', () => resolve(text ? (JSON.parse(text) as Record<string, string>) : {}));
  });
}

void describe('vault provider (KV v2, token and AppRole auth)', () => {
  let server: Server;
  let url: string;
  const seen: Seen[] = [];
  const valid = new Set(['root-token']);
  let logins = 0;

  before(async () => {
    server = createServer((req, res) => {
      void (async () => {
        const u = new URL(req.url!, 'http://x');
        const path = u.pathname.replace(/^\/v1\//, '');
        const token = req.headers['x-vault-token'] as string | undefined;
        seen.push({ method: req.method!, path, ...(token ? { token } : {}), ...(req.headers['x-vault-namespace'] ? { namespace: req.headers['x-vault-namespace'] as string } : {}) });
        const send = (status: number, payload?: unknown) => res.writeHead(status, { 'Content-Type': 'application/json' }).end(payload === undefined ? '' : JSON.stringify(payload));
        if (path === 'auth/approle/login') {
          const b = await body(req);
          if (b.role_id !== 'role-1' || b.secret_id !== 'secret-1') return send(400, { errors: ['invalid role or secret ID'] });
          const t = `approle-${++logins}`;
          valid.add(t);
          return send(200, { auth: { client_token: t } });
        }
        if (!token || !valid.has(token)) return send(403, { errors: ['1 error occurred:\n\t* permission denied\n\n'] });
        if (path === 'auth/token/lookup-self') return send(200, { data: { type: 'service', ttl: 3600, expire_time: null } });
        let m = /^secret\/data\/(.+)$/.exec(path);
        if (m && req.method === 'GET') {
          const e = KV[m[1]!];
          if (!e) return send(404, { errors: [] });
          const v = Number(u.searchParams.get('version') ?? e.versions.length);
          const d = e.versions[v - 1];
          if (d === undefined) return send(404, { errors: [] });
          return send(d === null ? 404 : 200, { data: { data: d, metadata: { version: v } } });
        }
        m = /^secret\/metadata\/(.*)$/.exec(path);
        if (m && u.searchParams.get('list') === 'true') {
          const prefix = m[1]!;
          const keys = new Set<string>();
          for (const k of Object.keys(KV)) {
            if (!k.startsWith(prefix)) continue;
            const rest = k.slice(prefix.length);
            keys.add(rest.includes('/') ? `${rest.split('/')[0]}/` : rest);
          }
          return keys.size ? send(200, { data: { keys: [...keys].sort() } }) : send(404, { errors: [] });
        }
        if (m) {
          const e = KV[m[1]!];
          return e ? send(200, { data: { current_version: e.versions.length, created_time: 't', delete_version_after: '0s', custom_metadata: e.custom ?? null } }) : send(404, { errors: [] });
        }
        return send(404, { errors: [] });
      })();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const addr = server.address() as { port: number };
    url = `http://127.0.0.1:${addr.port}`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  const signal = new AbortController().signal;
  const kube = new FakeKubeApi();
  kube.put('secrets', { metadata: { name: 'vault-token', namespace: 'app' }, data: { token: Buffer.from('root-token').toString('base64') } });
  kube.put('secrets', { metadata: { name: 'approle', namespace: 'app' }, data: { 'secret-id': Buffer.from('secret-1').toString('base64') } });
  const calls: string[] = [];
  const provider = (spec: Partial<VaultProviderSpec>) =>
    new VaultProvider({ server: url, path: 'secret', version: 'v2', ...spec }, { kube, scope: { kind: 'SecretStore', storeNamespace: 'app' }, record: (p, c, ok) => calls.push(`${p} ${c} ${ok ? 'success' : 'error'}`) });
  const tokenAuth = { auth: { tokenSecretRef: { name: 'vault-token', key: 'token' } } };

  void it('reads whole secrets as Go JSON, properties, versions and maps', async () => {
    const p = provider({ ...tokenAuth, namespace: 'team-a' });
    assert.equal((await p.getSecret({ key: 'app/db' }, { signal })).toString(), '{"nested":{"a":"\\u003cb\\u003e"},"password":"s3cr3t","port":5432,"username":"admin"}');
    assert.equal((await p.getSecret({ key: 'app/db', property: 'password' }, { signal })).toString(), 's3cr3t');
    // Go's json.Marshal escapes U+2028/U+2029 and writes a lone surrogate (invalid UTF-8 to Go) as U+FFFD.
    assert.equal((await p.getSecret({ key: 'app/odd' }, { signal })).toString(), '{"lone":"x\\ufffdy","sep":"a\\u2028b\\u2029"}');
    assert.equal((await p.getSecret({ key: 'secret/app/db', property: 'nested.a' }, { signal })).toString(), '<b>');
    assert.equal((await p.getSecret({ key: 'app/db', property: 'password', version: '1' }, { signal })).toString(), 'old');
    const map = await p.getSecretMap({ key: 'app/db' }, { signal });
    assert.deepEqual(Object.fromEntries(Object.entries(map).map(([k, v]) => [k, v.toString()])), { username: 'admin', password: 's3cr3t', port: '5432', nested: '{"a":"<b>"}' });
    assert.ok(seen.every((s) => s.namespace === 'team-a'));
    assert.ok(calls.includes('HashiCorp/Vault ReadSecretData success'));
  });

  void it('maps absent and deleted secrets to NoSecretError, and a missing property to a precise error', async () => {
    const p = provider(tokenAuth);
    await assert.rejects(p.getSecret({ key: 'app/none' }, { signal }), NoSecretError);
    await assert.rejects(p.getSecret({ key: 'app/gone' }, { signal }), NoSecretError);
    await assert.rejects(p.getSecret({ key: 'app/db', property: 'nope' }, { signal }), /cannot find secret data for key: "nope"/);
  });

  void it('finds by name regexp and by tags, listing recursively', async () => {
    const p = provider(tokenAuth);
    assert.deepEqual(Object.keys(await p.getAllSecrets({ path: 'dev', name: { regexp: 'two' } }, { signal })), ['dev/sub/two']);
    assert.deepEqual(Object.keys(await p.getAllSecrets({ tags: { env: 'dev' } }, { signal })), ['dev/one']);
  });

  void it('logs in with AppRole once, validates with lookup-self, and logs in again when the token is revoked', async () => {
    const p = provider({ auth: { appRole: { path: 'approle', roleId: 'role-1', secretRef: { name: 'approle', key: 'secret-id' } } } });
    assert.equal(await p.validate({ signal }), 'Ready');
    await p.getSecret({ key: 'app/db', property: 'username' }, { signal });
    assert.equal(logins, 1);
    valid.delete('approle-1');
    assert.equal((await p.getSecret({ key: 'app/db', property: 'username' }, { signal })).toString(), 'admin');
    assert.equal(logins, 2);
  });

  void it('reads the token Secret again when Vault rejects the token, and after TOKEN_SECRET_RECHECK_MS otherwise, not on every call', async () => {
    kube.put('secrets', { metadata: { name: 'rotating', namespace: 'app' }, data: { token: Buffer.from('root-token').toString('base64') } });
    const clock = new FakeClock();
    const p = new VaultProvider(
      { server: url, path: 'secret', version: 'v2', auth: { tokenSecretRef: { name: 'rotating', key: 'token' } } },
      { kube, scope: { kind: 'SecretStore', storeNamespace: 'app' }, record: () => undefined, clock },
    );
    try {
      assert.equal((await p.getSecret({ key: 'app/db', property: 'username' }, { signal })).toString(), 'admin');
      kube.put('secrets', { metadata: { name: 'rotating', namespace: 'app' }, data: { token: Buffer.from('mistyped').toString('base64') } });
      await clock.advance(500);
      assert.equal((await p.getSecret({ key: 'app/db', property: 'username' }, { signal })).toString(), 'admin', 'not read again on every call');
      await clock.advance(TOKEN_SECRET_RECHECK_MS);
      await assert.rejects(p.getSecret({ key: 'app/db' }, { signal }), /Code: 403\. Errors: .*permission denied/);
      kube.put('secrets', { metadata: { name: 'rotating', namespace: 'app' }, data: { token: Buffer.from('root-token').toString('base64') } });
      assert.equal((await p.getSecret({ key: 'app/db', property: 'username' }, { signal })).toString(), 'admin', 'the 403 made it read the Secret again');
      // Rotated in the Secret and revoked in Vault: the next call's 403 reads the new token and the call succeeds.
      valid.add('rotated-token');
      kube.put('secrets', { metadata: { name: 'rotating', namespace: 'app' }, data: { token: Buffer.from('rotated-token').toString('base64') } });
      valid.delete('root-token');
      try {
        assert.equal((await p.getSecret({ key: 'app/db', property: 'username' }, { signal })).toString(), 'admin');
      } finally {
        valid.add('root-token');
      }
    } finally {
      await p.close();
    }
  });

  void it('reports a bad token as an error naming the server answer', async () => {
    kube.put('secrets', { metadata: { name: 'bad', namespace: 'app' }, data: { token: Buffer.from('nope').toString('base64') } });
    const p = provider({ auth: { tokenSecretRef: { name: 'bad', key: 'token' } } });
    await assert.rejects(p.validate({ signal }), /Code: 403\. Errors: .*permission denied/);
    await assert.rejects(p.getSecret({ key: 'app/db' }, { signal }), /cannot read secret data from Vault: .*permission denied/);
    await assert.rejects(provider({ auth: { kubernetes: { role: 'x' } } }).getSecret({ key: 'app/db' }, { signal }), /vault auth method kubernetes is not supported by Coffer/);
  });
});
