import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiStatusError, type Status } from '../api-status.js';
import { applyJsonPatch, MAX_JSON_PATCH_OPERATIONS } from './json-patch.js';

const patch = (doc: unknown, ops: unknown) => applyJsonPatch(doc, Buffer.from(JSON.stringify(ops)));

function statusOf(fn: () => unknown): Status {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ApiStatusError, `expected an ApiStatusError, got ${String(e)}`);
    return e.status;
  }
  assert.fail('expected an error');
}

const REJECTED: Status = {
  kind: 'Status',
  apiVersion: 'v1',
  metadata: {},
  status: 'Failure',
  message: 'the server rejected our request due to an error in our request',
  reason: 'Invalid',
  details: {},
  code: 422,
};

void describe('JSON patch: RFC 6902 Appendix A', () => {
  void it('A.1-A.5: add and remove object members and array elements, replace a value', () => {
    assert.deepEqual(patch({ foo: 'bar' }, [{ op: 'add', path: '/baz', value: 'qux' }]), { baz: 'qux', foo: 'bar' });
    assert.deepEqual(patch({ foo: ['bar', 'baz'] }, [{ op: 'add', path: '/foo/1', value: 'qux' }]), { foo: ['bar', 'qux', 'baz'] });
    assert.deepEqual(patch({ baz: 'qux', foo: 'bar' }, [{ op: 'remove', path: '/baz' }]), { foo: 'bar' });
    assert.deepEqual(patch({ foo: ['bar', 'qux', 'baz'] }, [{ op: 'remove', path: '/foo/1' }]), { foo: ['bar', 'baz'] });
    assert.deepEqual(patch({ baz: 'qux', foo: 'bar' }, [{ op: 'replace', path: '/baz', value: 'boo' }]), { baz: 'boo', foo: 'bar' });
  });

  void it('A.6-A.7: move a value and an array element', () => {
    assert.deepEqual(
      patch({ foo: { bar: 'baz', waldo: 'fred' }, qux: { corge: 'grault' } }, [{ op: 'move', from: '/foo/waldo', path: '/qux/thud' }]),
      { foo: { bar: 'baz' }, qux: { corge: 'grault', thud: 'fred' } },
    );
    assert.deepEqual(patch({ foo: ['all', 'grass', 'cows', 'eat'] }, [{ op: 'move', from: '/foo/1', path: '/foo/3' }]), {
      foo: ['all', 'cows', 'eat', 'grass'],
    });
  });

  void it('A.8-A.9: test succeeds on equal values and fails otherwise', () => {
    const doc = { baz: 'qux', foo: ['a', 2, 'c'] };
    assert.deepEqual(patch(doc, [{ op: 'test', path: '/baz', value: 'qux' }, { op: 'test', path: '/foo/1', value: 2 }]), doc);
    assert.deepEqual(statusOf(() => patch({ baz: 'qux' }, [{ op: 'test', path: '/baz', value: 'bar' }])), REJECTED);
  });

  void it('A.10-A.12: nested object values, unrecognised members ignored, a missing parent fails', () => {
    assert.deepEqual(patch({ foo: 'bar' }, [{ op: 'add', path: '/child', value: { grandchild: {} } }]), {
      foo: 'bar',
      child: { grandchild: {} },
    });
    assert.deepEqual(patch({ foo: 'bar' }, [{ op: 'add', path: '/baz', value: 'qux', xyz: 123 }]), { foo: 'bar', baz: 'qux' });
    assert.deepEqual(statusOf(() => patch({ foo: 'bar' }, [{ op: 'add', path: '/baz/bat', value: 'qux' }])), REJECTED);
  });

  void it('A.14-A.16: ~01 decodes to ~1, strings are not numbers, "-" appends (an array value stays one element)', () => {
    assert.deepEqual(patch({ '/': 9, '~1': 10 }, [{ op: 'test', path: '/~01', value: 10 }]), { '/': 9, '~1': 10 });
    assert.equal(statusOf(() => patch({ '/': 9, '~1': 10 }, [{ op: 'test', path: '/~01', value: '10' }])).code, 422);
    assert.deepEqual(patch({ foo: ['bar'] }, [{ op: 'add', path: '/foo/-', value: ['abc', 'def'] }]), { foo: ['bar', ['abc', 'def']] });
  });
});

void describe('JSON patch on Kubernetes objects', () => {
  const secret = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 's', labels: { a: '1' } },
    data: { password: 'czNjcjN0' },
  };

  void it('edits labels with ~1 in keys and base64 data, copy and test, without changing its input', () => {
    const out = patch(secret, [
      { op: 'add', path: '/metadata/labels/app.kubernetes.io~1name', value: 'web' },
      { op: 'replace', path: '/data/password', value: 'bmV3' },
      { op: 'copy', from: '/data/password', path: '/data/copy' },
      { op: 'test', path: '/data/copy', value: 'bmV3' },
      { op: 'remove', path: '/metadata/labels/a' },
    ]);
    assert.deepEqual(out, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 's', labels: { 'app.kubernetes.io/name': 'web' } },
      data: { password: 'bmV3', copy: 'bmV3' },
    });
    assert.deepEqual(secret.data, { password: 'czNjcjN0' }, 'the input is not changed');
  });

  void it('what kubectl patch --type=json sends for finalizers: add at "-" and at an index, remove by index', () => {
    const doc = { metadata: { finalizers: ['a'] } };
    const out = patch(doc, [
      { op: 'add', path: '/metadata/finalizers/-', value: 'c' },
      { op: 'add', path: '/metadata/finalizers/1', value: 'b' },
      { op: 'remove', path: '/metadata/finalizers/0' },
    ]);
    assert.deepEqual(out, { metadata: { finalizers: ['b', 'c'] } });
  });

  void it('kubectl migrating ownership to server-side apply: replace managedFields and resourceVersion', () => {
    const doc = { metadata: { resourceVersion: '5', managedFields: [{ manager: 'old' }] } };
    const mf = [{ manager: 'kubectl', operation: 'Apply' }];
    const out = patch(doc, [
      { op: 'replace', path: '/metadata/managedFields', value: mf },
      { op: 'replace', path: '/metadata/resourceVersion', value: '5' },
    ]);
    assert.deepEqual(out, { metadata: { resourceVersion: '5', managedFields: mf } });
  });

  void it('fails with the generic 422 whatever went wrong, never quoting a value', () => {
    const failing: unknown[][] = [
      [{ op: 'remove', path: '/data/missing' }],
      [{ op: 'replace', path: '/data/missing', value: 'x' }],
      [{ op: 'add', path: '/metadata/labels/a/b', value: 'x' }],
      [{ op: 'add', path: 'data', value: 'x' }], // not a pointer
      [{ op: 'add', path: '/metadata/x~2', value: 'x' }], // bad escape
      [{ op: 'add', path: '/list/01', value: 'x' }],
      [{ op: 'test', path: '/data/password', value: 'wrong' }],
      [{ op: 'move', from: '/metadata', path: '/metadata/labels/m' }],
      [{ op: 'frobnicate', path: '/data' }],
      [{ op: 'add', path: '/data/x' }], // no value
      [{ path: '/data' }],
    ];
    for (const ops of failing) {
      const status = statusOf(() => patch({ ...secret, list: ['a'] }, ops));
      assert.deepEqual(status, REJECTED, JSON.stringify(ops));
      assert.ok(!JSON.stringify(status).includes('czNjcjN0'));
    }
  });

  void it('refuses more than 10000 operations with 413 and undecodable documents with 400', () => {
    const many = Array.from({ length: MAX_JSON_PATCH_OPERATIONS + 1 }, () => ({ op: 'test', path: '', value: {} }));
    assert.deepEqual(statusOf(() => patch({}, many)), {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'Request entity too large: The allowed maximum operations in a JSON patch is 10000, got 10001',
      reason: 'RequestEntityTooLarge',
      code: 413,
    });
    const bad = (text: string) => statusOf(() => applyJsonPatch({}, Buffer.from(text)));
    assert.deepEqual(bad('[{"op": "add",}]'), {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: "error decoding patch: invalid character '}' looking for beginning of object key string",
      reason: 'BadRequest',
      code: 400,
    });
    assert.equal(bad('{"op":"add"}').message, 'error decoding patch: json: cannot unmarshal object into Go value of type []handlers.jsonPatchOp');
    assert.equal(
      bad('[{"op":"add","path":5}]').message,
      'error decoding patch: json: cannot unmarshal number into Go struct field jsonPatchOp.path of type string',
    );
    assert.deepEqual(applyJsonPatch({ a: 1 }, Buffer.from('null')), { a: 1 }, 'null is an empty patch, as in Go');
  });

  void it('replaces the whole document at the empty pointer and refuses to remove it', () => {
    assert.deepEqual(patch({ a: 1 }, [{ op: 'replace', path: '', value: { b: 2 } }]), { b: 2 });
    assert.equal(statusOf(() => patch({ a: 1 }, [{ op: 'remove', path: '' }])).code, 422);
  });

  void it('treats __proto__ as an ordinary member name', () => {
    const out = patch({}, [{ op: 'add', path: '/__proto__', value: { polluted: true } }]) as Record<string, unknown>;
    assert.deepEqual(Object.keys(out), ['__proto__']);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(Object.getPrototypeOf(out), Object.prototype);
  });
});
