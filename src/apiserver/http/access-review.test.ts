// `kubectl auth can-i` (SelfSubjectAccessReview, sent as protobuf) and `kubectl auth can-i --list`
// (SelfSubjectRulesReview) against the API server over real HTTPS with an authorization policy: the answers agree with
// what the same user's real requests get, and malformed reviews get kube's errors.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadEncryptionConfiguration } from '../../encryption/encryption-config.js';
import { EncryptionEngine } from '../../encryption/encryption-engine.js';
import { SqliteStore } from '../../storage/sqlite/sqlite-store.js';
import { startApiServer, type RunningApiServer } from '../api-server.js';
import { parsePolicy } from '../auth/authorization-policy.js';
import { kubeconfigYaml } from '../tls/kubeconfig.js';

const CONFIG = `apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
  - resources: [secrets]
    providers:
      - identity: {}
`;

const POLICY = `rules:
  - users: [alice]
    verbs: [list, watch]
    resources: [secrets]
    namespaces: [team-a]
  - users: [alice]
    verbs: [get]
    resources: [configmaps]
  - groups: [ops]
    verbs: [get]
    resources: [/metrics]
`;

interface Reply {
  status: number;
  json: Record<string, unknown>;
}

void describe('SelfSubjectAccessReview and SelfSubjectRulesReview', () => {
  let dir: string;
  let server: RunningApiServer;
  let store: SqliteStore;
  let engine: EncryptionEngine;
  let ca: string;
  let adminToken: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'coffer-review-'));
    store = await SqliteStore.open({ dataDir: join(dir, 'store') });
    engine = await EncryptionEngine.create(loadEncryptionConfiguration(CONFIG));
    server = await startApiServer({
      dataDir: dir,
      host: '127.0.0.1',
      port: 0,
      store,
      engine,
      tokens: [
        ['alice-token', { name: 'alice', uid: 'a1', groups: [] }],
        ['bob-token', { name: 'bob', uid: 'b1', groups: ['ops'] }],
      ],
      policy: parsePolicy(POLICY),
    });
    ca = await readFile(join(dir, 'ca.crt'), 'utf8');
    adminToken = (await readFile(join(dir, 'admin.token'), 'utf8')).trim();
    for (const user of ['alice', 'bob']) {
      await writeFile(join(dir, `${user}.kubeconfig`), kubeconfigYaml({ server: server.url, caPem: ca, token: `${user}-token`, namespace: 'team-a' }));
    }
  });
  after(async () => {
    await server.close();
    await store.close();
    engine.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** kubectl as `user`; resolves with its exit code and output (can-i exits 1 for "no"). */
  function kubectl(user: string, args: string[]): Promise<{ code: number; out: string; err: string }> {
    const config = user === 'admin' ? server.kubeconfigPath : join(dir, `${user}.kubeconfig`);
    return new Promise((resolve) => {
      execFile('kubectl', ['--kubeconfig', config, '--cache-dir', join(dir, `cache-${user}`), ...args], (e, out, err) => {
        resolve({ code: e ? Number((e as { code?: number }).code ?? 1) : 0, out, err });
      });
    });
  }

  function call(method: string, path: string, token: string, body?: unknown): Promise<Reply> {
    const url = new URL(path, server.url);
    const data = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = request(url, { method, ca, headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: Record<string, unknown> = {};
          try {
            json = JSON.parse(text) as Record<string, unknown>;
          } catch {
            // not JSON (metrics text)
          }
          resolve({ status: res.statusCode ?? 0, json });
        });
      });
      req.on('error', reject);
      req.end(data);
    });
  }

  void it('answers kubectl auth can-i as the real requests are answered', async () => {
    const cases: [string, string[], boolean][] = [
      ['alice', ['list', 'secrets', '-n', 'team-a'], true],
      ['alice', ['list', 'secrets', '-n', 'default'], false],
      ['alice', ['get', 'secrets/db', '-n', 'team-a'], false],
      ['alice', ['get', 'configmaps/x', '-n', 'default'], true],
      ['alice', ['get', '/metrics'], false],
      ['bob', ['get', '/metrics'], true],
      ['bob', ['delete', 'secrets', '-n', 'team-a'], false],
      ['alice', ['get', '/version'], true],
      ['alice', ['create', 'selfsubjectaccessreviews.authorization.k8s.io'], true],
      ['admin', ['delete', 'secrets', '-A'], true],
    ];
    for (const [user, args, expected] of cases) {
      const { code, out, err } = await kubectl(user, ['auth', 'can-i', ...args]);
      assert.equal(out.trim(), expected ? 'yes' : 'no', `${user} can-i ${args.join(' ')}: ${err}`);
      assert.equal(code, expected ? 0 : 1);
    }
    // The same decisions on the real requests.
    const token = (u: string) => (u === 'admin' ? adminToken : `${u}-token`);
    const real: [string, string, string, boolean][] = [
      ['alice', 'GET', '/api/v1/namespaces/team-a/secrets', true],
      ['alice', 'GET', '/api/v1/namespaces/default/secrets', false],
      ['alice', 'GET', '/api/v1/namespaces/team-a/secrets/db', false],
      ['alice', 'GET', '/metrics', false],
      ['bob', 'GET', '/metrics', true],
      ['alice', 'GET', '/version', true],
    ];
    for (const [user, method, path, allowed] of real) {
      const reply = await call(method, path, token(user));
      assert.equal(reply.status === 403, !allowed, `${user} ${method} ${path}: ${reply.status}`);
    }
  });

  void it('lists the rules of a namespace for kubectl auth can-i --list', async () => {
    const teamA = await kubectl('alice', ['auth', 'can-i', '--list', '-n', 'team-a']);
    assert.equal(teamA.code, 0, teamA.err);
    assert.match(teamA.out, /^secrets\.\*\s+\[\]\s+\[\]\s+\[list watch\]$/m);
    assert.match(teamA.out, /^configmaps\.\*\s+\[\]\s+\[\]\s+\[get\]$/m);
    assert.match(teamA.out, /^selfsubjectaccessreviews\.authorization\.k8s\.io\s+\[\]\s+\[\]\s+\[create\]$/m);
    assert.match(teamA.out, /^\s+\[\/version\]\s+\[\]\s+\[get\]$/m);
    assert.doesNotMatch(teamA.out, /\/metrics/);
    const other = await kubectl('alice', ['auth', 'can-i', '--list', '-n', 'default']);
    assert.doesNotMatch(other.out, /^secrets/m, 'the team-a rule does not reach other namespaces');
    assert.match(other.out, /^configmaps\.\*/m);
    assert.match((await kubectl('bob', ['auth', 'can-i', '--list'])).out, /^\s+\[\/metrics\]\s+\[\]\s+\[get\]$/m);
    assert.match((await kubectl('admin', ['auth', 'can-i', '--list'])).out, /^\*\.\*\s+\[\]\s+\[\]\s+\[\*\]$/m);
  });

  void it('lists both review groups in discovery', async () => {
    const { out } = await kubectl('alice', ['api-resources', '--api-group=authorization.k8s.io', '--no-headers']);
    assert.match(out, /^selfsubjectaccessreviews\s+authorization\.k8s\.io\/v1\s+false\s+SelfSubjectAccessReview$/m);
    assert.match(out, /^selfsubjectrulesreviews\s+authorization\.k8s\.io\/v1\s+false\s+SelfSubjectRulesReview$/m);
    const versions = (await kubectl('alice', ['api-versions'])).out.split('\n');
    assert.ok(versions.includes('authentication.k8s.io/v1') && versions.includes('authorization.k8s.io/v1'), versions.join(' '));
  });

  void it('refuses malformed reviews with kube errors', async () => {
    const ssar = (spec: unknown) => call('POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', 'alice-token', { kind: 'SelfSubjectAccessReview', apiVersion: 'authorization.k8s.io/v1', spec });
    const neither = await ssar({});
    assert.equal(neither.status, 422);
    assert.equal(
      neither.json.message,
      'SelfSubjectAccessReview.authorization.k8s.io "" is invalid: spec.resourceAttributes: Invalid value: "null": exactly one of nonResourceAttributes or resourceAttributes must be specified',
    );
    const both = await ssar({ resourceAttributes: { verb: 'get', resource: 'secrets' }, nonResourceAttributes: { path: '/metrics', verb: 'get' } });
    assert.equal(both.status, 422);
    assert.match(String(both.json.message), /spec\.nonResourceAttributes: Invalid value: .*cannot be specified in combination with resourceAttributes$/);
    const noNamespace = await call('POST', '/apis/authorization.k8s.io/v1/selfsubjectrulesreviews', 'alice-token', { spec: {} });
    assert.equal(noNamespace.status, 400);
    assert.equal(noNamespace.json.message, 'no namespace on request');
    const get = await call('GET', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', 'alice-token');
    assert.equal(get.status, 405);
    assert.equal(get.json.message, 'get is not supported on resources of kind "selfsubjectaccessreviews.authorization.k8s.io"');
  });
});
