// The API server in-process over real HTTPS: authentication, Status errors, discovery, tables, metrics, compaction.
import assert from 'node:assert/strict';
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadEncryptionConfiguration } from '../../encryption/encryption-config.js';
import { EncryptionEngine } from '../../encryption/encryption-engine.js';
import { SqliteStore } from '../../storage/sqlite/sqlite-store.js';
import { startApiServer, type RunningApiServer } from './api-server.js';
import { parsePolicy } from './authorization-policy.js';

const CONFIG = `apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
  - resources: [secrets]
    providers:
      - aesgcm:
          keys:
            - name: k1
              secret: c2VjcmV0IGlzIHNlY3VyZQ==
`;

void describe('API server over HTTPS', () => {
  let dir: string;
  let server: RunningApiServer;
  let store: SqliteStore;
  let engine: EncryptionEngine;
  let ca: string;
  let token: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'coffer-api-'));
    store = await SqliteStore.open({ dataDir: join(dir, 'store') });
    engine = await EncryptionEngine.create(loadEncryptionConfiguration(CONFIG));
    server = await startApiServer({
      dataDir: dir,
      host: '127.0.0.1',
      port: 0,
      store,
      engine,
      compactionIntervalMs: 100,
      tokens: new Map([['alice-token', { name: 'alice', groups: [] }]]),
      policy: parsePolicy('rules:\n  - users: [alice]\n    verbs: [list]\n    resources: [secrets]\n    namespaces: [default]\n'),
    });
    ca = await readFile(join(dir, 'ca.crt'), 'utf8');
    token = (await readFile(join(dir, 'admin.token'), 'utf8')).trim();
  });
  after(async () => {
    await server.close();
    await store.close();
    engine.close();
    await rm(dir, { recursive: true, force: true });
  });

  function call(
    method: string,
    path: string,
    opts: { body?: unknown; auth?: boolean; token?: string; headers?: Record<string, string> } = {},
  ): Promise<{ status: number; text: string; headers: Record<string, unknown>; json: () => Record<string, unknown> }> {
    return new Promise((resolve, reject) => {
      const req = request(
        `${server.url}${path}`,
        {
          method,
          ca, // the generated CA must be enough to trust the server: this checks the certificate chain and its IP SAN
          headers: {
            ...(opts.auth === false ? {} : { Authorization: `Bearer ${opts.token ?? token}` }),
            ...(opts.body ? { 'Content-Type': 'application/json' } : {}),
            ...opts.headers,
          },
        },
        (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, text, headers: res.headers, json: () => JSON.parse(text) as Record<string, unknown> }),
          );
        },
      );
      req.on('error', reject);
      req.end(opts.body ? JSON.stringify(opts.body) : undefined);
    });
  }

  void it('answers /version anonymously and refuses anything else without a token, as a 401 Status', async () => {
    assert.equal((await call('GET', '/version', { auth: false })).json().major, '1');
    const r = await call('GET', '/api/v1/namespaces/default/secrets', { auth: false });
    assert.equal(r.status, 401);
    assert.deepEqual(r.json(), { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 });
  });

  void it('applies the authorization policy to other users, with kube 403 Status', async () => {
    assert.equal((await call('GET', '/api/v1/namespaces/default/secrets', { token: 'alice-token' })).status, 200);
    const denied = await call('GET', '/api/v1/namespaces/default/secrets/s1', { token: 'alice-token' });
    assert.equal(denied.status, 403);
    assert.equal(
      denied.json().message,
      'secrets "s1" is forbidden: User "alice" cannot get resource "secrets" in API group "" in the namespace "default"',
    );
  });

  void it('serves discovery and answers unknown paths as kube does', async () => {
    const list = (await call('GET', '/api/v1')).json() as { resources: { name: string }[] };
    assert.deepEqual(list.resources.map((r) => r.name).sort(), ['configmaps', 'namespaces', 'secrets']);
    const missing = await call('GET', '/apis/example.com/v1');
    assert.equal(missing.status, 404);
    assert.equal(missing.text, '404 page not found');
  });

  void it('creates, conflicts, and lists as a Table', async () => {
    const secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's1' }, stringData: { password: 'hunter2' } };
    assert.equal((await call('POST', '/api/v1/namespaces/default/secrets', { body: secret })).status, 201);
    const again = await call('POST', '/api/v1/namespaces/default/secrets', { body: secret });
    assert.equal(again.status, 409);
    assert.equal(again.json().message, 'secrets "s1" already exists');
    const table = (
      await call('GET', '/api/v1/namespaces/default/secrets', { headers: { Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' } })
    ).json() as { kind: string; rows: { cells: unknown[] }[] };
    assert.equal(table.kind, 'Table');
    assert.deepEqual(table.rows[0]!.cells.slice(0, 3), ['s1', 'Opaque', 1]);
  });

  void it('refuses unknown fields with fieldValidation=Strict and warns about them by default', async () => {
    const body = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'typo', lables: { a: 'b' } }, dta: {} };
    const strict = await call('POST', '/api/v1/namespaces/default/secrets?fieldValidation=Strict', { body });
    assert.equal(strict.status, 400);
    assert.equal(
      strict.json().message,
      'Secret in version "v1" cannot be handled as a Secret: strict decoding error: unknown field "dta", unknown field "metadata.lables"',
    );
    const warned = await call('POST', '/api/v1/namespaces/default/secrets', { body, headers: { 'User-Agent': 'curl/8.5.0' } });
    assert.equal(warned.status, 201);
    const managers = (warned.json().metadata as { managedFields: { manager: string }[] }).managedFields.map((m) => m.manager);
    assert.deepEqual(managers, ['curl'], 'the default field manager comes from the user agent');
    assert.deepEqual(warned.headers.warning, '299 - "unknown field \\"dta\\"", 299 - "unknown field \\"metadata.lables\\""');
  });

  void it('counts requests and storage transformations in /metrics', async () => {
    const text = (await call('GET', '/metrics')).text;
    assert.match(text, /apiserver_request_total\{verb="POST",resource="secrets",code="201"\} [1-9]/);
    assert.match(text, /apiserver_request_total\{verb="POST",resource="secrets",code="409"\} 1/);
    assert.match(text, /apiserver_storage_transformation_operations_total\{[^}]*transformation_type="to_storage"[^}]*\} [1-9]/);
  });

  void it('compacts old revisions on its interval', async () => {
    const first = await store.currentRevision();
    await call('PUT', '/api/v1/namespaces/default/secrets/s1', {
      body: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's1' }, stringData: { password: 'changed' } },
    });
    await new Promise((r) => setTimeout(r, 400)); // a few compaction intervals
    const old = await call('GET', `/api/v1/namespaces/default/secrets?resourceVersion=${first}&resourceVersionMatch=Exact`);
    assert.equal(old.status, 410, old.text);
  });
});
