import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiStatusError, type Status } from '../api-status.js';
import { applyStrategicMergePatch } from './strategic-merge-patch.js';
import { kindSchema } from './type-schema.js';

const SECRET = kindSchema('', 'Secret').root;
const CONFIG_MAP = kindSchema('', 'ConfigMap').root;
const NAMESPACE = kindSchema('', 'Namespace').root;

const smp = (doc: unknown, patch: unknown, root = SECRET) => applyStrategicMergePatch(doc, Buffer.from(JSON.stringify(patch)), root);

function statusOf(fn: () => unknown): Status {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ApiStatusError, `expected an ApiStatusError, got ${String(e)}`);
    return e.status;
  }
  assert.fail('expected an error');
}

const owner = (uid: string, extra: Record<string, unknown> = {}) => ({ apiVersion: 'v1', kind: 'ConfigMap', name: `cm-${uid}`, uid, ...extra });

void describe('strategic merge patch: maps', () => {
  const secret = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 's', labels: { a: '1', b: '2' }, annotations: { x: 'y' } },
    data: { user: 'YQ==', password: 'czNjcjN0' },
    type: 'Opaque',
  };

  void it('merges Secret data, labels and annotations per key; null deletes; the input is not changed', () => {
    const out = smp(secret, { data: { password: null, token: 'dA==' }, metadata: { labels: { b: null, c: '3' }, annotations: { z: 'w' } } });
    assert.deepEqual(out, {
      ...secret,
      metadata: { name: 's', labels: { a: '1', c: '3' }, annotations: { x: 'y', z: 'w' } },
      data: { user: 'YQ==', token: 'dA==' },
    });
    assert.deepEqual(secret.data, { user: 'YQ==', password: 'czNjcjN0' });
  });

  void it('merges ConfigMap data and binaryData', () => {
    const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { a: '1' }, binaryData: { b: 'Yg==' } };
    assert.deepEqual(smp(cm, { data: { c: '3' }, binaryData: { b: null } }, CONFIG_MAP), {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'c' },
      data: { a: '1', c: '3' },
      binaryData: {},
    });
  });

  void it('replaces a map holding "$patch": "replace" and removes one holding "$patch": "delete"', () => {
    assert.deepEqual((smp(secret, { metadata: { labels: { $patch: 'replace', only: 'me' } } }) as typeof secret).metadata.labels, { only: 'me' });
    const deleted = smp(secret, { metadata: { annotations: { $patch: 'delete' } }, data: { $patch: 'delete' } }) as Record<string, unknown>;
    assert.deepEqual(deleted.metadata, { name: 's', labels: { a: '1', b: '2' } });
    assert.equal(Object.hasOwn(deleted, 'data'), false);
  });

  void it('keeps only the fields $retainKeys lists', () => {
    const out = smp(secret, { $retainKeys: ['apiVersion', 'kind', 'metadata', 'data'], data: { user: 'Yg==' } });
    assert.deepEqual(out, { apiVersion: 'v1', kind: 'Secret', metadata: secret.metadata, data: { user: 'Yg==', password: 'czNjcjN0' } });
  });

  void it('applies what client-side kubectl apply sends for a changed Secret (k8s.io/kubectl pkg/cmd/apply/patcher.go)', () => {
    const live = {
      ...secret,
      metadata: { ...secret.metadata, annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"old":true}\n' } },
      data: { oldkey: 'b2xk' },
    };
    const lastApplied =
      '{"apiVersion":"v1","data":{"newkey":"bmV3"},"kind":"Secret","metadata":{"annotations":{},"name":"s","namespace":"default"},"type":"Opaque"}\n';
    const out = smp(live, {
      data: { newkey: 'bmV3', oldkey: null },
      metadata: { annotations: { 'kubectl.kubernetes.io/last-applied-configuration': lastApplied } },
    }) as typeof live;
    assert.deepEqual(out.data, { newkey: 'bmV3' });
    assert.equal(out.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration'], lastApplied);
    assert.deepEqual(out.metadata.labels, { a: '1', b: '2' });
  });
});

void describe('strategic merge patch: lists with strategies', () => {
  void it('adds finalizers as a union, existing order first, new ones appended', () => {
    const doc = { metadata: { finalizers: ['a', 'b'] } };
    assert.deepEqual(smp(doc, { metadata: { finalizers: ['c', 'a'] } }), { metadata: { finalizers: ['a', 'b', 'c'] } });
  });

  void it('removes finalizers with $deleteFromPrimitiveList and orders them with $setElementOrder', () => {
    const doc = { metadata: { finalizers: ['a', 'b', 'c'] } };
    assert.deepEqual(smp(doc, { metadata: { '$deleteFromPrimitiveList/finalizers': ['b', 'zz'] } }), { metadata: { finalizers: ['a', 'c'] } });
    // kubectl's three-way patch when the file now says [c, d, a]
    const out = smp(doc, {
      metadata: { '$setElementOrder/finalizers': ['c', 'd', 'a'], '$deleteFromPrimitiveList/finalizers': ['b'], finalizers: ['d'] },
    });
    assert.deepEqual(out, { metadata: { finalizers: ['c', 'd', 'a'] } });
  });

  void it('merges ownerReferences by uid: fields of a match merge, new ones are appended, $patch: delete removes', () => {
    const doc = { metadata: { ownerReferences: [owner('1'), owner('2'), owner('3')] } };
    const out = smp(doc, {
      metadata: { ownerReferences: [{ uid: '2', controller: true }, owner('4'), { uid: '3', $patch: 'delete' }] },
    });
    assert.deepEqual(out, { metadata: { ownerReferences: [owner('1'), owner('2', { controller: true }), owner('4')] } });
    const ordered = smp(doc, { metadata: { '$setElementOrder/ownerReferences': [{ uid: '3' }, { uid: '1' }] } });
    assert.deepEqual(ordered, { metadata: { ownerReferences: [owner('3'), owner('1'), owner('2')] } });
  });

  void it('replaces a list holding {"$patch": "replace"}', () => {
    const doc = { metadata: { finalizers: ['a', 'b'], ownerReferences: [owner('1')] } };
    const out = smp(doc, { metadata: { finalizers: ['z', { $patch: 'replace' }], ownerReferences: [{ $patch: 'replace' }, owner('9')] } });
    assert.deepEqual(out, { metadata: { finalizers: ['z'], ownerReferences: [owner('9')] } });
  });

  void it('Namespace: spec.finalizers has no strategy (replaced), status.conditions merge by type', () => {
    const ns = {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'n' },
      spec: { finalizers: ['kubernetes', 'x'] },
      status: { phase: 'Terminating', conditions: [{ type: 'A', status: 'True' }, { type: 'B', status: 'False' }] },
    };
    const out = smp(ns, { spec: { finalizers: ['y'] }, status: { conditions: [{ type: 'B', status: 'True', reason: 'R' }] } }, NAMESPACE);
    assert.deepEqual(out, {
      ...ns,
      spec: { finalizers: ['y'] },
      status: { phase: 'Terminating', conditions: [{ type: 'A', status: 'True' }, { type: 'B', status: 'True', reason: 'R' }] },
    });
  });

  void it('lists without a strategy and unknown fields are replaced like a merge patch', () => {
    const doc = { metadata: { managedFields: [{ manager: 'a' }] }, extra: [1, 2] };
    assert.deepEqual(smp(doc, { metadata: { managedFields: [{ manager: 'b' }] }, extra: [3] }), {
      metadata: { managedFields: [{ manager: 'b' }] },
      extra: [3],
    });
  });
});

void describe('strategic merge patch: errors', () => {
  const doc = { metadata: { name: 's', finalizers: ['a'], ownerReferences: [owner('1')] }, data: { k: 'czNjcjN0' } };

  void it('refuses malformed directives with apimachinery mergepatch texts', () => {
    const bad = (patch: unknown) => statusOf(() => smp(doc, patch));
    assert.deepEqual(bad({ metadata: { '$deleteFromPrimitiveList/finalizers': 'a' } }), {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'invalid patch format of primitive list',
      reason: 'BadRequest',
      code: 400,
    });
    assert.equal(bad({ metadata: { '$setElementOrder/finalizers': 'a' } }).message, 'invalid patch format of setElementOrder list');
    assert.equal(bad({ metadata: { '$setElementOrder/ownerReferences': ['1'] } }).message, 'invalid patch format of setElementOrder list');
    assert.equal(bad({ $retainKeys: 'data' }).message, 'invalid patch format of retainKeys');
    assert.equal(bad({ $retainKeys: ['data'], metadata: {} }).message, 'invalid patch format of retainKeys');
  });

  void it('answers an unknown $patch or an item without its merge key with kube\'s text as a 400 (kube: 500), no values', () => {
    const unknown = statusOf(() => smp(doc, { data: { $patch: 'merge-please', k: 'bmV3' } }));
    assert.equal(unknown.code, 400);
    assert.equal(unknown.reason, 'BadRequest');
    assert.equal(unknown.message, 'unknown patch type: merge-please in map');
    const noKey = statusOf(() => smp(doc, { metadata: { ownerReferences: [{ name: 'x' }] } }));
    assert.equal(noKey.code, 400);
    assert.equal(noKey.message, 'map: map[...] does not contain declared merge key: uid');
  });

  void it("rejects bodies that are not JSON objects with Go's decoder text, without a prefix", () => {
    const bad = (text: string) => statusOf(() => applyStrategicMergePatch(doc, Buffer.from(text), SECRET));
    assert.equal(bad('{"data":').message, 'unexpected end of JSON input');
    assert.equal(bad('[1]').message, 'json: cannot unmarshal array into Go value of type map[string]interface {}');
    assert.equal(bad('[1]').code, 400);
    assert.deepEqual(applyStrategicMergePatch(doc, Buffer.from('null'), SECRET), doc);
  });
});
