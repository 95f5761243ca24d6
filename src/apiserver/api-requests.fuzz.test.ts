// Property-based fuzzing of everything a client can send the API server (issue 11), through the real HTTPS handler
// in-process: request bodies (JSON, YAML, protobuf), the four patch types, query parameters with label and field
// selectors, and paths. Property: a 4xx Status or a success, never a 5xx, a dropped connection, or a request that
// costs the server more than 1 s of CPU (CPU, not wall time, so a busy machine cannot fail it).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { stringify as toYaml } from 'yaml';
import { encodeObject } from '../objects/object-codec.js';
import { fuzzOptions } from '../../test/support/fuzz-options.js';
import { startTestApiServer, type CallOptions, type TestApiServer } from './testing/test-api-server.js';

const HANG_CPU_MS = 1000;

const text = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.constantFrom('', '..', '%', 'a/b', '\u0000', '\u007f€', 'x'.repeat(300)));
const json = fc.jsonValue({ maxDepth: 4 });
const name = fc.oneof(fc.constantFrom('fz', 'a', 'b-1', 'x.y'), text);
const meta = fc.record(
  { name, namespace: fc.oneof(fc.constant('fuzz'), text), labels: fc.oneof(fc.dictionary(text, text), json), annotations: json, finalizers: fc.oneof(fc.array(text), json), ownerReferences: json, resourceVersion: fc.oneof(text, json), generateName: text },
  { requiredKeys: [] },
);
const objectBody = fc.record(
  { apiVersion: fc.oneof(fc.constant('v1'), text), kind: fc.oneof(fc.constantFrom('Secret', 'ConfigMap'), text), metadata: fc.oneof(meta, json), data: fc.oneof(fc.dictionary(text, fc.base64String()), json), stringData: json, type: fc.oneof(fc.constantFrom('Opaque', 'kubernetes.io/tls', 'kubernetes.io/dockerconfigjson'), text), immutable: json, binaryData: json },
  { requiredKeys: [] },
);
/** A JSON text, sometimes cut short or with a character changed. */
const jsonText = fc.tuple(fc.oneof(objectBody, json), fc.nat(), fc.option(fc.string({ minLength: 1, maxLength: 1 }))).map(([v, at, ch]) => {
  const s = JSON.stringify(v);
  if (ch === null) return s;
  const i = at % (s.length + 1);
  return at % 2 === 0 ? s.slice(0, i) : s.slice(0, i) + ch + s.slice(i + 1);
});

void describe('API requests under fuzzing (never a 5xx, a crash or a hang)', () => {
  let t: TestApiServer;
  const opts = fuzzOptions(100);

  before(async () => {
    t = await startTestApiServer();
    await t.call('POST', '/api/v1/namespaces', { body: '{"metadata":{"name":"fuzz"}}' });
    await t.call('POST', '/api/v1/namespaces/fuzz/secrets', { body: '{"metadata":{"name":"fz","labels":{"a":"b"},"finalizers":["x.io/y"]},"data":{"k":"dg=="}}' });
    await t.call('POST', '/api/v1/namespaces/fuzz/configmaps', { body: '{"metadata":{"name":"fz"},"data":{"k":"v"}}' });
  });
  after(() => t.close());

  async function answers(method: string, path: string, o: CallOptions = {}): Promise<void> {
    const cpu = process.cpuUsage();
    const r = await t.call(method, path, o);
    const used = process.cpuUsage(cpu);
    const what = `${method} ${path} ${o.contentType ?? ''} ${String(o.body ?? '').slice(0, 500)}`;
    // kube's one deliberate 5xx for a client's value: a resourceVersion from the future is "try again" (504 Timeout).
    const futureVersion = r.status === 504 && /"reason":"ResourceVersionTooLarge"/.test(r.text);
    assert.ok(r.status > 0 && (r.status < 500 || futureVersion), `${what} -> ${r.status} ${r.text.slice(0, 500)}`);
    assert.ok((used.user + used.system) / 1000 < HANG_CPU_MS, `${what} took ${(used.user + used.system) / 1000} ms of CPU`);
    if (r.status >= 400 && r.headers['content-type'] === 'application/json') {
      const status = r.json();
      assert.equal(status.kind, 'Status', what);
      assert.equal(status.code, r.status, what);
    }
  }

  void it('request bodies: JSON, YAML and protobuf creates and updates', async () => {
    const body = fc.oneof(
      jsonText.map((b) => ({ body: b, contentType: 'application/json' })),
      fc.oneof(objectBody, json).map((v) => ({ body: toYaml(v), contentType: 'application/yaml' })),
      text.map((b) => ({ body: b, contentType: fc.sample(fc.constantFrom('application/json', 'application/yaml'), 1)[0]! })),
      fc.uint8Array({ maxLength: 200 }).map((b) => ({ body: Buffer.concat([Buffer.from('k8s\0'), b]), contentType: 'application/vnd.kubernetes.protobuf' })),
      fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })).map(([at, byte]) => {
        const valid = encodeObject({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'pb', namespace: 'fuzz' }, data: { k: 'dg==' } });
        valid[at % valid.length] = byte;
        return { body: valid, contentType: 'application/vnd.kubernetes.protobuf' };
      }),
    );
    const target = fc.constantFrom(['POST', '/api/v1/namespaces/fuzz/secrets'], ['POST', '/api/v1/namespaces/fuzz/configmaps'], ['PUT', '/api/v1/namespaces/fuzz/secrets/fz'], ['PUT', '/api/v1/namespaces/fuzz/configmaps/fz'], ['POST', '/api/v1/namespaces'], ['DELETE', '/api/v1/namespaces/fuzz/configmaps/none']);
    await fc.assert(fc.asyncProperty(target, body, async ([method, path], b) => answers(method, path, b)), opts);
  });

  void it('the four patch types', async () => {
    const pointer = fc.oneof(fc.constantFrom('/metadata/labels/a', '/metadata/finalizers/0', '/metadata/finalizers/-', '/data', '/data/k', '/metadata', '/', '', '/metadata/labels/a~1b', '/metadata/x~2'), text);
    const op = fc.record({ op: fc.oneof(fc.constantFrom('add', 'remove', 'replace', 'move', 'copy', 'test'), text), path: pointer, from: pointer, value: json }, { requiredKeys: [] });
    const directive = fc.constantFrom('$patch', '$retainKeys', '$setElementOrder/finalizers', '$deleteFromPrimitiveList/finalizers', '$setElementOrder/ownerReferences');
    const mergeDoc = fc.record({ metadata: fc.oneof(meta, fc.dictionary(fc.oneof(directive, text), json)), data: json, type: json, $patch: fc.oneof(fc.constantFrom('replace', 'delete', 'merge'), json), finalizers: json }, { requiredKeys: [] });
    const patch = fc.oneof(
      fc.oneof(fc.array(op, { maxLength: 4 }), json).map((v) => ({ body: JSON.stringify(v), contentType: 'application/json-patch+json' })),
      mergeDoc.map((v) => ({ body: JSON.stringify(v), contentType: 'application/merge-patch+json' })),
      mergeDoc.map((v) => ({ body: JSON.stringify(v), contentType: 'application/strategic-merge-patch+json' })),
      fc.tuple(mergeDoc, fc.boolean()).map(([v, asYaml]) => {
        const doc = { apiVersion: 'v1', kind: 'ConfigMap', ...v, metadata: { name: 'fz', ...(typeof v.metadata === 'object' ? v.metadata : {}) } };
        return { body: asYaml ? toYaml(doc) : JSON.stringify(doc), contentType: 'application/apply-patch+yaml' };
      }),
      fc.tuple(jsonText, fc.constantFrom('application/json-patch+json', 'application/merge-patch+json', 'application/strategic-merge-patch+json', 'application/apply-patch+yaml')).map(([body, contentType]) => ({ body, contentType })),
    );
    const target = fc.constantFrom('/api/v1/namespaces/fuzz/secrets/fz', '/api/v1/namespaces/fuzz/configmaps/fz', '/api/v1/namespaces/fuzz');
    const query = fc.constantFrom('', '?fieldManager=fuzz', '?fieldManager=fuzz&force=true', '?fieldValidation=Strict&fieldManager=fuzz', '?dryRun=All&fieldManager=fuzz');
    await fc.assert(fc.asyncProperty(target, query, patch, async (path, q, p) => answers('PATCH', path + q, p)), opts);
  });

  void it('query parameters, label and field selectors', async () => {
    const selector = fc.oneof(
      text,
      fc.array(fc.tuple(fc.oneof(fc.constantFrom('a', 'metadata.name', 'metadata.namespace', 'type', 'x.io/y'), text), fc.constantFrom('=', '==', '!=', ' in ', ' notin ', '>', '<', '', '!'), fc.oneof(fc.constantFrom('b', '(a,b)', '()', '1'), text)), { maxLength: 3 }).map((parts) => parts.map((p) => p.join('')).join(',')),
    );
    const param = fc.tuple(
      fc.constantFrom('limit', 'continue', 'resourceVersion', 'resourceVersionMatch', 'labelSelector', 'fieldSelector', 'timeoutSeconds', 'pretty', 'allowWatchBookmarks', 'includeObject', 'gracePeriodSeconds', 'propagationPolicy', 'orphanDependents', 'dryRun', 'fieldValidation', 'sendInitialEvents'),
      fc.oneof(selector, fc.constantFrom('99999999999999999999', '-1', '0', '1', 'NotOlderThan', 'Exact', 'true', 'false', 'Foreground'), fc.bigInt().map(String)),
    );
    const accept = fc.constantFrom('application/json', 'application/json;as=Table;v=v1;g=meta.k8s.io', 'application/yaml', '*/*', 'text/html', 'application/vnd.kubernetes.protobuf');
    const target = fc.constantFrom(['GET', '/api/v1/namespaces/fuzz/secrets'], ['GET', '/api/v1/secrets'], ['GET', '/api/v1/namespaces/fuzz/configmaps/fz'], ['DELETE', '/api/v1/namespaces/fuzz/configmaps'], ['GET', '/api/v1/namespaces']);
    await fc.assert(
      fc.asyncProperty(target, fc.array(param, { maxLength: 4 }), accept, async ([method, path], params, a) => {
        const q = new URLSearchParams(params.filter(([k, v]) => !(k === 'sendInitialEvents' && v === 'true')));
        await answers(method, `${path}?${q.toString()}`, { headers: { Accept: a } });
      }),
      opts,
    );
  });

  void it('paths', async () => {
    const segment = fc.oneof(fc.constantFrom('api', 'apis', 'v1', 'namespaces', 'fuzz', 'secrets', 'configmaps', 'fz', 'status', 'finalize', 'watch', '..', '%2e%2e', '%2F', '%', '%zz', '.', 'healthz', 'readyz', 'version', 'openapi', 'v3'), text.map(encodeURIComponent));
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('GET', 'DELETE', 'PUT', 'POST', 'OPTIONS'), fc.array(segment, { maxLength: 7 }), async (method, segments) => {
        // A watch would stream until its timeout; a bounded one is asked for instead.
        await answers(method, `/${segments.join('/')}?timeoutSeconds=1`, method === 'PUT' || method === 'POST' ? { body: '{}' } : {});
      }),
      opts,
    );
  });
});
