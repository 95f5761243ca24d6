import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiStatusError } from '../api-status.js';
import { applyJsonPatch } from './json-patch.js';

const patch = (doc: unknown, ops: unknown) => applyJsonPatch(doc, Buffer.from(JSON.stringify(ops)));

void describe('JSON patch (RFC 6902)', () => {
  void it('applies add, remove, replace, move, copy and test, with ~0/~1 escapes and "-"', () => {
    const doc = { metadata: { labels: { a: '1' } }, list: ['x'] };
    const out = patch(doc, [
      { op: 'add', path: '/metadata/labels/app.kubernetes.io~1name', value: 'web' },
      { op: 'add', path: '/metadata/labels/t~0ilde', value: 't' },
      { op: 'replace', path: '/metadata/labels/a', value: '2' },
      { op: 'add', path: '/list/-', value: 'y' },
      { op: 'add', path: '/list/0', value: 'w' },
      { op: 'copy', from: '/metadata/labels/a', path: '/copied' },
      { op: 'move', from: '/copied', path: '/moved' },
      { op: 'remove', path: '/list/1' },
      { op: 'test', path: '/moved', value: '2' },
    ]);
    assert.deepEqual(out, {
      metadata: { labels: { a: '2', 'app.kubernetes.io/name': 'web', 't~ilde': 't' } },
      list: ['w', 'y'],
      moved: '2',
    });
    assert.deepEqual(doc, { metadata: { labels: { a: '1' } }, list: ['x'] }, 'the input is not changed');
  });

  void it('answers a failing operation with kube 422 text, without saying which value', () => {
    for (const ops of [
      [{ op: 'remove', path: '/missing' }],
      [{ op: 'replace', path: '/a/b', value: 1 }],
      [{ op: 'test', path: '/data', value: 'c2VjcmV0' }],
      [{ op: 'add', path: '/list/5', value: 1 }],
      [{ op: 'frobnicate', path: '/a' }],
    ]) {
      assert.throws(
        () => patch({ data: 'other', list: [] }, ops),
        (e: ApiStatusError) => e.status.code === 422 && e.status.message === 'the server rejected our request due to an error in our request',
      );
    }
  });

  void it('refuses more than 10000 operations with 413, and a body that is not JSON with 400', () => {
    const many = Array.from({ length: 10001 }, () => ({ op: 'test', path: '', value: {} }));
    assert.throws(() => patch({}, many), (e: ApiStatusError) => e.status.code === 413 && /got 10001/.test(e.status.message ?? ''));
    assert.throws(() => applyJsonPatch({}, Buffer.from('{')), (e: ApiStatusError) => e.status.code === 400);
  });
});
