import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiStatusError } from '../api-status.js';
import { applyMergePatch, decodeMergePatch, mergePatchValue } from './merge-patch.js';

void describe('JSON merge patch (RFC 7386)', () => {
  void it('passes every example of RFC 7386 Appendix A', () => {
    const examples: [unknown, unknown, unknown][] = [
      [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
      [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
      [{ a: 'b' }, { a: null }, {}],
      [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
      [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
      [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
      [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
      [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
      [['a', 'b'], ['c', 'd'], ['c', 'd']],
      [{ a: 'b' }, ['c'], ['c']],
      [{ a: 'foo' }, null, null],
      [{ a: 'foo' }, 'bar', 'bar'],
      [{ e: null }, { a: 1 }, { e: null, a: 1 }],
      [[1, 2], { a: 'b', c: null }, { a: 'b' }],
      [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
    ];
    for (const [original, patch, result] of examples) {
      assert.deepEqual(mergePatchValue(original, patch), result, JSON.stringify([original, patch]));
    }
  });

  void it('does not change its inputs', () => {
    const original = { metadata: { labels: { a: '1' } } };
    const patch = { metadata: { labels: { b: '2' } } };
    mergePatchValue(original, patch);
    assert.deepEqual(original, { metadata: { labels: { a: '1' } } });
    assert.deepEqual(patch, { metadata: { labels: { b: '2' } } });
  });

  void it('applies what kubectl label / annotate send (merge patches of changed fields only)', () => {
    const secret = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 's', resourceVersion: '7', labels: { app: 'x', tier: 'db' }, annotations: { note: 'n' } },
      data: { password: 'czNjcjN0' },
    };
    // kubectl label secret s env=prod app- --resource-version=7
    const labelled = applyMergePatch(secret, Buffer.from('{"metadata":{"labels":{"app":null,"env":"prod"},"resourceVersion":"7"}}'));
    assert.deepEqual(labelled, { ...secret, metadata: { ...secret.metadata, labels: { tier: 'db', env: 'prod' } } });
    // kubectl annotate secret s note- example.com/x=y
    const annotated = applyMergePatch(secret, Buffer.from('{"metadata":{"annotations":{"example.com/x":"y","note":null}}}'));
    assert.deepEqual((annotated as typeof secret).metadata.annotations, { 'example.com/x': 'y' });
    // kubectl patch secret s --type=merge -p '{"data":{"password":null,"user":"YQ=="}}'
    const patched = applyMergePatch(secret, Buffer.from('{"data":{"password":null,"user":"YQ=="}}'));
    assert.deepEqual((patched as typeof secret).data, { user: 'YQ==' });
  });

  void it('replaces lists wholesale (finalizers, ownerReferences)', () => {
    const doc = { metadata: { finalizers: ['a', 'b'], ownerReferences: [{ uid: '1' }, { uid: '2' }] } };
    const out = applyMergePatch(doc, Buffer.from('{"metadata":{"finalizers":["c"],"ownerReferences":[{"uid":"3"}]}}'));
    assert.deepEqual(out, { metadata: { finalizers: ['c'], ownerReferences: [{ uid: '3' }] } });
  });

  void it('refuses bodies that are not JSON objects with kube texts', () => {
    const message = (text: string) => {
      try {
        decodeMergePatch(Buffer.from(text));
      } catch (e) {
        assert.ok(e instanceof ApiStatusError);
        assert.equal(e.status.code, 400);
        assert.equal(e.status.reason, 'BadRequest');
        return e.status.message;
      }
      assert.fail('expected an error');
    };
    assert.equal(message('{"a":'), 'error decoding patch: unexpected end of JSON input');
    assert.equal(message('{a:1}'), "error decoding patch: invalid character 'a' looking for beginning of object key string");
    assert.equal(message('["a"]'), 'error decoding patch: json: cannot unmarshal array into Go value of type map[string]interface {}');
    assert.equal(message('null'), 'Invalid JSON Patch');
  });
});
