// The API server in-process over real HTTPS: authentication, Status errors, discovery, OpenAPI, content negotiation,
// tables, watch streaming, metrics, compaction and shutdown.
import assert from 'node:assert/strict';
import { readFile, mkdtemp, rm, stat } from 'node:fs/promises';
import { request } from 'node:https';
import { connect } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import protobuf from 'protobufjs';
import { parse as parseYaml } from 'yaml';
import { loadEncryptionConfiguration } from '../encryption/encryption-config.js';
import { EncryptionEngine } from '../encryption/encryption-engine.js';
import { SqliteStore } from '../storage/sqlite/sqlite-store.js';
import { startApiServer, type RunningApiServer } from './api-server.js';
import { parsePolicy } from './auth/authorization-policy.js';

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

interface Reply {
  status: number;
  text: string;
  body: Buffer;
  headers: Record<string, string | string[] | undefined>;
  json: () => Record<string, unknown>;
}

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
      tokens: [
        ['alice-token', { name: 'alice', uid: 'a1', groups: [] }],
        ['bob-token', { name: 'bob', uid: 'b1', groups: ['ops'] }],
      ],
      policy: parsePolicy(`rules:
  - users: [alice]
    verbs: [list]
    resources: [secrets]
    namespaces: [default]
  - groups: [ops]
    verbs: [get]
    resources: [/metrics]
`),
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
    opts: { body?: unknown; raw?: Buffer | string; auth?: boolean; token?: string; headers?: Record<string, string> } = {},
  ): Promise<Reply> {
    const payload = opts.raw ?? (opts.body !== undefined ? JSON.stringify(opts.body) : undefined);
    return new Promise((resolve, reject) => {
      const req = request(
        `${server.url}${path}`,
        {
          method,
          ca, // the generated CA must be enough to trust the server: this checks the chain and the IP SAN
          headers: {
            ...(opts.auth === false ? {} : { Authorization: `Bearer ${opts.token ?? token}` }),
            ...(opts.body !== undefined ? { 'Content-Type': 'application/json' } : {}),
            // Node sends a DELETE body unframed unless told its length.
            ...(payload !== undefined ? { 'Content-Length': String(Buffer.byteLength(payload)) } : {}),
            ...opts.headers,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const body = Buffer.concat(chunks);
            const text = body.toString();
            resolve({ status: res.statusCode ?? 0, text, body, headers: res.headers, json: () => JSON.parse(text) as Record<string, unknown> });
          });
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  }

  void it('writes its credentials owner-only and a kubeconfig that names the server', async () => {
    for (const f of ['ca.crt', 'ca.key', 'apiserver.crt', 'apiserver.key', 'admin.token', 'kubeconfig']) {
      assert.equal((await stat(join(dir, f))).mode & 0o777, 0o600, f);
    }
    const kubeconfig = parseYaml(await readFile(server.kubeconfigPath, 'utf8')) as { clusters: { cluster: { server: string } }[] };
    assert.equal(kubeconfig.clusters[0]!.cluster.server, server.url);
  });

  void it('answers /version and health anonymously and refuses anything else without a token, as a 401 Status', async () => {
    assert.equal((await call('GET', '/version', { auth: false })).json().gitVersion, 'v1.32.0+coffer');
    assert.equal((await call('GET', '/readyz', { auth: false })).text, 'ok');
    for (const path of ['/api/v1/namespaces/default/secrets', '/api', '/openapi/v3', '/metrics']) {
      const r = await call('GET', path, { auth: false });
      assert.equal(r.status, 401, path);
      assert.deepEqual(r.json(), { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 });
    }
    assert.equal((await call('GET', '/api', { token: 'wrong' })).status, 401);
  });

  void it('applies the authorization policy to other users, with kube 403 Status', async () => {
    assert.equal((await call('GET', '/api/v1/namespaces/default/secrets', { token: 'alice-token' })).status, 200);
    assert.equal((await call('GET', '/api/v1', { token: 'alice-token' })).status, 200, 'discovery for every authenticated user');
    const denied = await call('GET', '/api/v1/namespaces/default/secrets/s1', { token: 'alice-token' });
    assert.equal(denied.status, 403);
    assert.deepEqual(denied.json(), {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'secrets "s1" is forbidden: User "alice" cannot get resource "secrets" in API group "" in the namespace "default"',
      reason: 'Forbidden',
      details: { name: 's1', kind: 'secrets' },
      code: 403,
    });
    assert.equal((await call('GET', '/metrics', { token: 'alice-token' })).status, 403);
    const metrics = await call('GET', '/metrics', { token: 'bob-token' });
    assert.equal(metrics.status, 200);
    // What `coffer rotate` reads to know that this server loaded a new EncryptionConfiguration.
    assert.match(metrics.text, new RegExp(`^apiserver_encryption_config_controller_last_config_info\\{apiserver_id_hash="sha256:[0-9a-f]{64}",hash="${engine.configHash}"\\} 1$`, 'm'));
  });

  void it('serves discovery as kube 1.32 does and answers unknown paths with Go NotFound text', async () => {
    const list = (await call('GET', '/api/v1')).json() as { resources: { name: string; storageVersionHash?: string }[] };
    assert.deepEqual(list.resources.map((r) => r.name), ['configmaps', 'events', 'namespaces', 'namespaces/status', 'namespaces/finalize', 'secrets']);
    assert.equal(list.resources.find((r) => r.name === 'secrets')!.storageVersionHash, 'S6u1pOWzb84=');
    const eso = { groupVersion: 'external-secrets.io/v1', version: 'v1' };
    const generators = { groupVersion: 'generators.external-secrets.io/v1alpha1', version: 'v1alpha1' };
    const authn = { groupVersion: 'authentication.k8s.io/v1', version: 'v1' };
    const authz = { groupVersion: 'authorization.k8s.io/v1', version: 'v1' };
    assert.deepEqual((await call('GET', '/apis')).json(), {
      kind: 'APIGroupList',
      apiVersion: 'v1',
      groups: [
        // Issue 14: the built-in review groups (kubectl auth whoami / can-i), before the custom resources' groups.
        { name: 'authentication.k8s.io', versions: [authn], preferredVersion: authn },
        { name: 'authorization.k8s.io', versions: [authz], preferredVersion: authz },
        { name: 'external-secrets.io', versions: [eso, { groupVersion: 'external-secrets.io/v1beta1', version: 'v1beta1' }, { groupVersion: 'external-secrets.io/v1alpha1', version: 'v1alpha1' }], preferredVersion: eso },
        { name: 'generators.external-secrets.io', versions: [generators], preferredVersion: generators },
      ],
    });
    const group = (await call('GET', '/apis/external-secrets.io/v1')).json() as { resources: Record<string, unknown>[] };
    assert.deepEqual(group.resources.find((r) => r.name === 'externalsecrets'), {
      name: 'externalsecrets',
      singularName: 'externalsecret',
      namespaced: true,
      kind: 'ExternalSecret',
      verbs: ['delete', 'deletecollection', 'get', 'list', 'patch', 'create', 'update', 'watch'],
      shortNames: ['es'],
      categories: ['external-secrets'],
      storageVersionHash: '3mBYPLboGzE=',
    });
    assert.ok(group.resources.some((r) => r.name === 'externalsecrets/status'));
    for (const path of ['/apis/example.com/v1', '/api/v1/widgets', '/api/v2/secrets']) {
      const missing = await call('GET', path);
      assert.equal(missing.status, 404, path);
      assert.equal(missing.text, '404 page not found\n');
    }
  });

  void it('serves OpenAPI v3 with the patch operation kubectl checks, hashed URLs and schemas for explain', async () => {
    const index = (await call('GET', '/openapi/v3')).json() as { paths: Record<string, { serverRelativeURL: string }> };
    const url = index.paths['api/v1']!.serverRelativeURL;
    const doc = await call('GET', url, { headers: { Accept: 'application/json' } });
    assert.equal(doc.status, 200);
    assert.match(String(doc.headers['cache-control']), /immutable/);
    const v3 = doc.json() as {
      paths: Record<string, { patch?: { parameters: { name: string }[]; 'x-kubernetes-group-version-kind': object } }>;
      components: { schemas: Record<string, { properties?: Record<string, unknown> }> };
    };
    const patch = v3.paths['/api/v1/namespaces/{namespace}/secrets/{name}']!.patch!;
    assert.deepEqual(patch['x-kubernetes-group-version-kind'], { group: '', version: 'v1', kind: 'Secret' });
    assert.ok(patch.parameters.some((p) => p.name === 'fieldValidation'));
    assert.deepEqual(Object.keys(v3.components.schemas['io.k8s.api.core.v1.Secret']!.properties!).sort(), [
      'apiVersion', 'data', 'immutable', 'kind', 'metadata', 'stringData', 'type',
    ]);
    const stale = await call('GET', '/openapi/v3/api/v1?hash=0000');
    assert.equal(stale.status, 301);
    assert.equal(stale.headers.location, url);
  });

  void it('serves OpenAPI v2 as the gnostic protobuf kubectl decodes', async () => {
    const r = await call('GET', '/openapi/v2', { headers: { Accept: 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf' } });
    assert.equal(r.status, 200);
    // A reader written from gnostic's field table, independent of the encoder.
    const root = protobuf.parse(`syntax = "proto3";
      message Any { string yaml = 2; }
      message NamedAny { string name = 1; Any value = 2; }
      message TypeItem { repeated string value = 1; }
      message NamedSchema { string name = 1; Schema value = 2; }
      message Properties { repeated NamedSchema additional_properties = 1; }
      message AdditionalPropertiesItem { Schema schema = 1; }
      message ItemsItem { repeated Schema schema = 1; }
      message Schema { string _ref = 1; string format = 2; string description = 4; repeated string required = 19;
        AdditionalPropertiesItem additional_properties = 21; TypeItem type = 22; ItemsItem items = 23;
        Properties properties = 25; repeated NamedAny vendor_extension = 31; }
      message Definitions { repeated NamedSchema additional_properties = 1; }
      message Info { string title = 1; string version = 2; }
      message Document { string swagger = 1; Info info = 2; Definitions definitions = 9; }`, { keepCase: true }).root;
    const doc = root.lookupType('Document').toObject(root.lookupType('Document').decode(r.body)) as {
      swagger: string;
      definitions: { additional_properties: { name: string; value: { properties?: { additional_properties: { name: string; value: { _ref?: string } }[] }; vendor_extension?: { name: string; value: { yaml: string } }[] } }[] };
    };
    assert.equal(doc.swagger, '2.0');
    const secret = doc.definitions.additional_properties.find((d) => d.name === 'io.k8s.api.core.v1.Secret')!;
    const metadata = secret.value.properties!.additional_properties.find((p) => p.name === 'metadata')!;
    assert.equal(metadata.value._ref, '#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta');
    const gvk = secret.value.vendor_extension!.find((e) => e.name === 'x-kubernetes-group-version-kind')!;
    assert.deepEqual(parseYaml(gvk.value.yaml), [{ group: '', kind: 'Secret', version: 'v1' }]);
    assert.equal((await call('GET', '/openapi/v2')).json().swagger, '2.0', 'JSON for everyone else');
  });

  void it('creates, conflicts, and lists as a Table with the object metadata kubectl needs', async () => {
    const secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's1', labels: { app: 'x' } }, stringData: { password: 'hunter2' } };
    assert.equal((await call('POST', '/api/v1/namespaces/default/secrets', { body: secret })).status, 201);
    const again = await call('POST', '/api/v1/namespaces/default/secrets', { body: secret });
    assert.equal(again.status, 409);
    assert.equal(again.json().message, 'secrets "s1" already exists');
    const accept = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json';
    const table = (await call('GET', '/api/v1/secrets?limit=500', { headers: { Accept: accept } })).json() as {
      kind: string;
      metadata: { resourceVersion: string };
      columnDefinitions: { name: string }[];
      rows: { cells: unknown[]; object: { kind: string; metadata: { namespace: string; labels: object } } }[];
    };
    assert.equal(table.kind, 'Table');
    assert.deepEqual(table.columnDefinitions.map((c) => c.name), ['Name', 'Type', 'Data', 'Age']);
    assert.deepEqual(table.rows[0]!.cells.slice(0, 3), ['s1', 'Opaque', 1]);
    assert.equal(table.rows[0]!.object.kind, 'PartialObjectMetadata');
    assert.equal(table.rows[0]!.object.metadata.namespace, 'default');
    assert.match(table.metadata.resourceVersion, /^\d+$/);
    const bad = await call('GET', '/api/v1/secrets?includeObject=All', { headers: { Accept: accept } });
    assert.equal(bad.status, 400);
  });

  void it('speaks YAML both ways and answers 406 and 415 for what it cannot', async () => {
    const yamlBody = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c1\ndata:\n  k: v\n';
    const created = await call('POST', '/api/v1/namespaces/default/configmaps', { raw: yamlBody, headers: { 'Content-Type': 'application/yaml', Accept: 'application/yaml' } });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.headers['content-type'], 'application/yaml');
    assert.equal((parseYaml(created.text) as { data: { k: string } }).data.k, 'v');
    const na = await call('GET', '/api/v1/namespaces/default/configmaps/c1', { headers: { Accept: 'text/html' } });
    assert.equal(na.status, 406);
    assert.equal(na.json().reason, 'NotAcceptable');
    const um = await call('POST', '/api/v1/namespaces/default/configmaps', { raw: 'x', headers: { 'Content-Type': 'text/plain' } });
    assert.equal(um.status, 415);
    assert.equal(um.json().reason, 'UnsupportedMediaType');
  });

  void it('refuses bad input with the right 4xx Status and stores nothing', async () => {
    const post = (raw: string | Buffer, query = '') =>
      call('POST', `/api/v1/namespaces/default/secrets${query}`, { raw, headers: { 'Content-Type': 'application/json' } });
    const malformed = await post('{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "bad"}, "data": {"a": "c2VjcmV0"');
    assert.equal(malformed.status, 400);
    assert.match(String(malformed.json().message), /^the object provided is unrecognized \(must be of type Secret\): couldn't get version\/kind; json parse error: /);
    assert.ok(!malformed.text.includes('c2VjcmV0'), 'the body is not echoed');
    const wrongVersion = await post(JSON.stringify({ apiVersion: 'apps/v1', kind: 'Secret', metadata: { name: 'bad' } }));
    assert.equal(wrongVersion.status, 400);
    assert.equal(wrongVersion.json().message, 'the API version in the data (apps/v1) does not match the expected API version (v1)');
    const badName = await post(JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'Bad_Name' } }));
    assert.equal(badName.status, 422);
    const huge = await post(Buffer.alloc(3 * 1024 * 1024 + 10, 0x20));
    assert.equal(huge.status, 413);
    assert.equal(huge.json().message, 'Request entity too large: limit is 3145728');
    const dryRun = await post(JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'bad' } }), '?dryRun=Some');
    assert.equal(dryRun.status, 422);
    assert.equal(dryRun.json().message, 'CreateOptions.meta.k8s.io "" is invalid: dryRun: Unsupported value: []string{"Some"}: supported values: "All"');
    const list = (await call('GET', '/api/v1/namespaces/default/secrets')).json() as { items: { metadata: { name: string } }[] };
    assert.ok(!list.items.some((s) => s.metadata.name === 'bad'));
  });

  void it('refuses unknown fields at any depth with fieldValidation=Strict and warns about them by default', async () => {
    const body = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'typo', lables: { a: 'b' }, ownerReferences: [{ apiVersion: 'v1', kind: 'X', name: 'x', uid: 'u', extra: 1 }] }, dta: {} };
    const strict = await call('POST', '/api/v1/namespaces/default/secrets?fieldValidation=Strict', { body });
    assert.equal(strict.status, 400);
    assert.equal(
      strict.json().message,
      'Secret in version "v1" cannot be handled as a Secret: strict decoding error: unknown field "metadata.lables", unknown field "metadata.ownerReferences[0].extra", unknown field "dta"',
    );
    const warned = await call('POST', '/api/v1/namespaces/default/secrets', { body, headers: { 'User-Agent': 'curl/8.5.0' } });
    assert.equal(warned.status, 201);
    const managers = (warned.json().metadata as { managedFields: { manager: string }[] }).managedFields.map((m) => m.manager);
    assert.deepEqual(managers, ['curl'], 'the default field manager comes from the user agent');
    assert.match(String(warned.headers.warning), /299 - "unknown field \\"dta\\""/);
  });

  void it('patches with JSON, merge and strategic merge patches, and refuses unknown patch types', async () => {
    const path = '/api/v1/namespaces/default/secrets/s1';
    const patch = (type: string, raw: string) => call('PATCH', path, { raw, headers: { 'Content-Type': type } });
    assert.equal((await patch('application/merge-patch+json', '{"metadata":{"labels":{"m":"1"}}}')).status, 200);
    assert.equal((await patch('application/strategic-merge-patch+json', '{"metadata":{"labels":{"s":"1"}}}')).status, 200);
    const jp = await patch('application/json-patch+json', '[{"op":"add","path":"/metadata/labels/j","value":"1"}]');
    assert.equal(jp.status, 200);
    assert.deepEqual((jp.json().metadata as { labels: object }).labels, { app: 'x', m: '1', s: '1', j: '1' });
    const bad = await patch('application/xml', '<x/>');
    assert.equal(bad.status, 415);
    const force = await call('PATCH', `${path}?force=true`, { raw: '{}', headers: { 'Content-Type': 'application/merge-patch+json' } });
    assert.equal(force.status, 422);
    assert.equal(force.json().message, 'PatchOptions.meta.k8s.io "" is invalid: force: Forbidden: may not be specified for non-apply patch');
  });

  void it('streams a Table watch: column definitions once, one row per event', async () => {
    const list = (await call('GET', '/api/v1/namespaces/default/secrets')).json() as { metadata: { resourceVersion: string } };
    const lines: string[] = [];
    const done = new Promise<void>((resolve, reject) => {
      const req = request(
        `${server.url}/api/v1/namespaces/default/secrets?watch=true&resourceVersion=${list.metadata.resourceVersion}&timeoutSeconds=2`,
        { ca, headers: { Authorization: `Bearer ${token}`, Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json' } },
        (res) => {
          assert.equal(res.headers['content-type'], 'application/json');
          let buf = '';
          res.on('data', (c: Buffer) => {
            buf += c.toString();
            const parts = buf.split('\n');
            buf = parts.pop()!;
            lines.push(...parts);
          });
          res.on('end', resolve);
        },
      );
      req.on('error', reject);
      req.end();
    });
    await new Promise((r) => setTimeout(r, 200));
    await call('POST', '/api/v1/namespaces/default/secrets', { body: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'w1' } } });
    await call('DELETE', '/api/v1/namespaces/default/secrets/w1');
    await done; // timeoutSeconds ends the stream normally
    const events = lines.map((l) => JSON.parse(l) as { type: string; object: { kind: string; columnDefinitions: unknown; rows: { cells: unknown[] }[] } });
    assert.deepEqual(events.map((e) => e.type), ['ADDED', 'DELETED']);
    assert.equal(events[0]!.object.kind, 'Table');
    assert.ok(Array.isArray(events[0]!.object.columnDefinitions));
    assert.equal(events[1]!.object.columnDefinitions, null);
    assert.equal(events[1]!.object.rows[0]!.cells[0], 'w1');
  });

  void it('lets a watcher that stops reading hold back neither writers nor other watchers', async () => {
    // A client that asks for a watch and then never reads: its socket buffers fill up and stay full.
    const stalled = connect({ host: '127.0.0.1', port: Number(new URL(server.url).port), ca, servername: 'localhost' });
    await new Promise<void>((r) => stalled.once('secureConnect', () => r()));
    stalled.write(`GET /api/v1/namespaces/default/configmaps?watch=true HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\n\r\n`);
    stalled.pause();
    const seen: string[] = [];
    const live = request(`${server.url}/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=${await store.currentRevision()}`, { ca, headers: { Authorization: `Bearer ${token}` } }, (res) => {
      let buf = '';
      res.on('data', (c: Buffer) => {
        buf += c.toString();
        const parts = buf.split('\n');
        buf = parts.pop()!;
        for (const p of parts) seen.push((JSON.parse(p) as { object: { metadata: { name: string } } }).object.metadata.name);
      });
    });
    live.end();
    await new Promise((r) => setTimeout(r, 100));
    const value = 'x'.repeat(64 * 1024);
    const started = Date.now();
    for (let i = 0; i < 60; i++) {
      const r = await call('POST', '/api/v1/namespaces/default/configmaps', { body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `slow-${i}` }, data: { v: value } } });
      assert.equal(r.status, 201);
    }
    const elapsed = Date.now() - started;
    const deadline = Date.now() + 5000;
    while (seen.length < 60 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(seen.length, 60, 'the reading watcher got every event');
    assert.ok(elapsed < 30_000, `60 writes of 64 KiB took ${elapsed} ms`);
    live.destroy();
    stalled.destroy();
    await call('DELETE', '/api/v1/namespaces/default/configmaps?labelSelector=');
  });

  void it('answers a delete with kube Success Status carrying the uid, and a namespace delete with the Namespace', async () => {
    const created = await call('POST', '/api/v1/namespaces/default/secrets', { body: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'd1' } } });
    const uid = (created.json().metadata as { uid: string }).uid;
    const deleted = await call('DELETE', '/api/v1/namespaces/default/secrets/d1', { raw: '{"propagationPolicy":"Background"}', headers: { 'Content-Type': 'application/json' } });
    assert.deepEqual(deleted.json(), { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: { name: 'd1', kind: 'secrets', uid } });
    await call('POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'gone' } } });
    const ns = await call('DELETE', '/api/v1/namespaces/gone');
    assert.equal(ns.json().kind, 'Namespace');
    assert.equal((ns.json().status as { phase: string }).phase, 'Terminating');
    const badPolicy = await call('DELETE', '/api/v1/namespaces/default/secrets/s1', { raw: '{"propagationPolicy":"Sometimes"}', headers: { 'Content-Type': 'application/json' } });
    assert.equal(badPolicy.status, 422);
  });

  void it('counts requests and storage transformations in /metrics', async () => {
    const text = (await call('GET', '/metrics')).text;
    assert.match(text, /apiserver_request_total\{verb="POST",group="",version="v1",resource="secrets",subresource="",scope="namespace",code="201"\} [1-9]/);
    assert.match(text, /apiserver_request_total\{verb="LIST",group="",version="v1",resource="secrets",subresource="",scope="cluster",code="200"\} [1-9]/);
    assert.match(text, /apiserver_request_total\{verb="WATCH",[^}]*code="200"\} [1-9]/);
    assert.match(text, /apiserver_request_duration_seconds_bucket\{[^}]*verb="GET"/);
    assert.match(text, /apiserver_storage_transformation_operations_total\{[^}]*transformation_type="to_storage"[^}]*\} [1-9]/);
    assert.ok(!text.includes('hunter2'));
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
