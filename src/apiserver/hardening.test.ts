// Issue 11's attacks on the API server, kept as tests against a real server over HTTPS: each request once answered
// 200 (and deleted a namespace), 500 after committing, or 500 with a driver's text. They must answer a 4xx Status and
// leave what is stored untouched.
import assert from 'node:assert/strict';
import { validateHeaderValue } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { startTestApiServer, type TestApiServer } from './testing/test-api-server.js';

const nest = (depth: number, leaf = '1') => '{"a":'.repeat(depth) + leaf + '}'.repeat(depth);

void describe('API server hardening (issue 11)', () => {
  let t: TestApiServer;
  before(async () => {
    t = await startTestApiServer();
    assert.equal((await t.call('POST', '/api/v1/namespaces', { body: '{"metadata":{"name":"trav1"}}' })).status, 201);
    assert.equal((await t.call('POST', '/api/v1/namespaces/trav1/secrets', { body: '{"metadata":{"name":"s"},"stringData":{"k":"v"}}' })).status, 201);
    assert.equal((await t.call('POST', '/api/v1/namespaces/trav1/configmaps', { body: '{"metadata":{"name":"c"}}' })).status, 201);
  });
  after(() => t.close());

  const stillThere = async () => {
    assert.deepEqual((await t.call('GET', '/api/v1/namespaces/trav1')).json().status, { phase: 'Active' });
    assert.equal((await t.call('GET', '/api/v1/namespaces/trav1/secrets/s')).status, 200);
  };

  void it('refuses names that walk the path (.., %2e%2e, %2E%2E, .%2e) with 400 and deletes nothing', async () => {
    for (const name of ['..', '%2e%2e', '%2E%2E', '.%2e', '%2e.', '.', '%2e', 'a%2fb', 'a%252e']) {
      for (const method of ['DELETE', 'GET', 'PUT', 'PATCH']) {
        const r = await t.call(method, `/api/v1/namespaces/trav1/secrets/${name}`, method === 'PUT' || method === 'PATCH' ? { body: '{}', contentType: 'application/merge-patch+json' } : {});
        assert.equal(r.status, 400, `${method} ${name}: ${r.text}`);
        assert.equal(r.json().reason, 'BadRequest');
        assert.match(r.json().message as string, /^Name parameter invalid: ".*": may not (be '\.{1,2}'|contain '[/%]')$/);
      }
    }
    const list = await t.call('GET', '/api/v1/namespaces/trav1/secrets/%2e%2e/%2e%2e/%2e%2e/namespaces');
    assert.equal(list.status, 400, list.text);
    assert.doesNotMatch(list.text, /NamespaceList/);
    await stillThere();
  });

  void it('answers a write whose unknown field names hold DEL and € with its success code and valid, ASCII Warning headers', async () => {
    const r = await t.call('POST', '/api/v1/namespaces/trav1/configmaps', { body: '{"metadata":{"name":"w"},"f\u007f":1,"€x":2,"q\\"\\\\":3}' });
    assert.equal(r.status, 201, r.text);
    const warnings = r.rawHeaders.filter((_, i) => i % 2 === 1 && r.rawHeaders[i - 1]!.toLowerCase() === 'warning');
    for (const w of warnings) validateHeaderValue('Warning', w);
    assert.deepEqual(warnings, ['299 - "unknown field \\"f\\\\x7f\\""', '299 - "unknown field \\"\\u20acx\\""', '299 - "unknown field \\"q\\\\\\"\\\\\\\\\\""']);
    assert.equal((await t.call('GET', '/api/v1/namespaces/trav1/configmaps/w')).status, 200);
  });

  void it('refuses JSON and YAML nested beyond the bound with a 400 on every parser path', async () => {
    const deep = nest(10_000);
    const cm = '/api/v1/namespaces/trav1/configmaps';
    const cases: [string, string, string, string][] = [
      ['POST', cm, deep, 'application/json'],
      ['POST', cm, '['.repeat(10_000) + ']'.repeat(10_000), 'application/json'],
      ['POST', cm, `a: ${'['.repeat(10_000)}${']'.repeat(10_000)}`, 'application/yaml'],
      ['PATCH', `${cm}/c`, deep, 'application/merge-patch+json'],
      ['PATCH', `${cm}/c`, deep, 'application/strategic-merge-patch+json'],
      ['PATCH', `${cm}/c`, `[{"op":"add","path":"/data","value":${deep}}]`, 'application/json-patch+json'],
      ['PATCH', `${cm}/c?fieldManager=m`, deep, 'application/apply-patch+yaml'],
      ['DELETE', `${cm}/c`, deep, 'application/json'],
    ];
    for (const [method, path, body, contentType] of cases) {
      const r = await t.call(method, path, { body, contentType });
      assert.equal(r.status, 400, `${method} ${contentType}: ${r.text.slice(0, 300)}`);
      assert.match(r.json().message as string, /exceeded max depth/);
    }
    // A Secret's .dockerconfigjson is parsed by the Go-JSON error path too.
    const docker = Buffer.from(nest(10_000)).toString('base64');
    const s = await t.call('POST', '/api/v1/namespaces/trav1/secrets', {
      body: JSON.stringify({ metadata: { name: 'd' }, type: 'kubernetes.io/dockerconfigjson', data: { '.dockerconfigjson': docker } }),
    });
    assert.equal(s.status, 422, s.text.slice(0, 300));
    assert.equal((await t.call('GET', `${cm}/c`)).status, 200);
  });

  void it('answers 422 for a patched document that does not decode into the kind', async () => {
    const cases: [string, string, RegExp][] = [
      ['{"metadata":{"labels":{"a":{"b":1}}}}', 'application/merge-patch+json', /cannot unmarshal object into Go struct field ObjectMeta\.metadata\.labels of type string/],
      ['{"metadata":{"finalizers":"x"}}', 'application/merge-patch+json', /cannot unmarshal string into Go struct field ObjectMeta\.metadata\.finalizers of type \[\]string/],
      ['{"metadata":{"finalizers":{"$patch":"replace"}}}', 'application/strategic-merge-patch+json', /metadata\.finalizers/],
      ['[{"op":"add","path":"/metadata/labels","value":[1]}]', 'application/json-patch+json', /metadata\.labels of type map\[string\]string/],
    ];
    for (const [body, contentType, message] of cases) {
      const r = await t.call('PATCH', '/api/v1/namespaces/trav1/configmaps/c', { body, contentType });
      assert.equal(r.status, 422, `${body}: ${r.text}`);
      assert.match(r.json().message as string, message);
    }
    const top = await t.call('PATCH', '/api/v1/namespaces/trav1/configmaps/c', { body: '{"finalizers":{"$patch":"replace"}}', contentType: 'application/strategic-merge-patch+json' });
    assert.ok(top.status < 500, top.text);
    const create = await t.call('POST', '/api/v1/namespaces/trav1/configmaps', { body: '{"metadata":{"name":"x","labels":{"a":{}}}}' });
    assert.equal(create.status, 400, create.text);
    assert.match(create.json().message as string, /^ConfigMap in version "v1" cannot be handled as a ConfigMap: json: cannot unmarshal object/);
  });

  void it('refuses an int64 overflow in limit with strconv text, never the store driver text', async () => {
    for (const limit of ['99999999999999999999', '9223372036854775808', '-9223372036854775809']) {
      const r = await t.call('GET', `/api/v1/namespaces/trav1/secrets?limit=${limit}`);
      assert.equal(r.status, 400, r.text);
      assert.equal(r.json().message, `invalid value for limit: strconv.ParseInt: parsing "${limit}": value out of range`);
    }
    const big = await t.call('GET', '/api/v1/namespaces/trav1/secrets?limit=9223372036854775807');
    assert.equal(big.status, 200, big.text);
    assert.equal((big.json().items as unknown[]).length, 1);
  });

  void it('lets anonymous clients only GET the public-info paths (kube system:public-info-viewer)', async () => {
    for (const [method, path] of [['POST', '/livez'], ['DELETE', '/healthz'], ['PUT', '/version'], ['PATCH', '/readyz'], ['GET', '/readyz/etcd']] as const) {
      const r = await t.call(method, path, { auth: false });
      assert.equal(r.status, 403, `${method} ${path}: ${r.text}`);
      assert.deepEqual(r.json(), {
        kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure',
        message: `forbidden: User "system:anonymous" cannot ${method.toLowerCase()} path "${path}"`, reason: 'Forbidden', details: {}, code: 403,
      });
    }
    for (const path of ['/livez', '/healthz', '/readyz']) assert.equal((await t.call('GET', path, { auth: false })).text, 'ok');
    assert.equal((await t.call('GET', '/version', { auth: false })).status, 200);
    // The administrator (system:masters) may use any verb, as in kube.
    assert.equal((await t.call('POST', '/livez')).status, 200);
  });

  void it('serves kube health check lists, ?verbose, ?exclude and one path per check', async () => {
    assert.equal((await t.call('GET', '/readyz?verbose', { auth: false })).text, '[+]ping ok\n[+]etcd ok\nreadyz check passed\n');
    assert.equal((await t.call('GET', '/healthz?verbose&exclude=etcd', { auth: false })).text, '[+]ping ok\n[+]etcd excluded: ok\nhealthz check passed\n');
    assert.equal((await t.call('GET', '/livez?verbose', { auth: false })).text, '[+]ping ok\nlivez check passed\n');
    assert.equal((await t.call('GET', '/readyz/etcd')).text, 'ok');
    assert.equal((await t.call('GET', '/readyz/nope')).status, 404);
  });

  void it('keeps what is stored', stillThere);
});
