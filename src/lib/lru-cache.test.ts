import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidError } from './errors.js';
import { LruCache } from './lru-cache.js';

void describe('LruCache', () => {
  void it('evicts the least recently used entry and reports it', () => {
    const evicted: [string, number][] = [];
    const c = new LruCache<string, number>(2, { onEvict: (v, k) => evicted.push([k, v]) });
    c.set('a', 1);
    c.set('b', 2);
    assert.equal(c.get('a'), 1); // a is now the most recent
    c.set('c', 3);
    assert.deepEqual(evicted, [['b', 2]]);
    assert.equal(c.has('b'), false);
    assert.equal(c.size, 2);
  });

  void it('peek does not refresh recency', () => {
    const evicted: string[] = [];
    const c = new LruCache<string, number>(2, { onEvict: (_v, k) => evicted.push(k) });
    c.set('a', 1);
    c.set('b', 2);
    assert.equal(c.peek('a'), 1);
    c.set('c', 3);
    assert.deepEqual(evicted, ['a']);
  });

  void it('replacing a key evicts the old value, re-setting the same value does not', () => {
    const evicted: number[] = [];
    const c = new LruCache<string, number>(5, { onEvict: (v) => evicted.push(v) });
    c.set('a', 1);
    c.set('a', 1);
    assert.deepEqual(evicted, []);
    c.set('a', 2);
    assert.deepEqual(evicted, [1]);
    assert.equal(c.get('a'), 2);
  });

  void it('delete and clear report every value that leaves', () => {
    const evicted: number[] = [];
    const c = new LruCache<string, number>(5, { onEvict: (v) => evicted.push(v) });
    c.set('a', 1);
    c.set('b', 2);
    c.set('c', 3);
    assert.equal(c.delete('b'), true);
    assert.equal(c.delete('b'), false);
    c.clear();
    assert.deepEqual(evicted, [2, 1, 3]);
    assert.equal(c.size, 0);
  });

  void it('zero-fills evicted buffers when told to', () => {
    const c = new LruCache<string, Buffer>(1, { onEvict: (v) => v.fill(0) });
    const first = Buffer.from('secret key bytes');
    c.set('a', first);
    c.set('b', Buffer.from('other'));
    assert.ok(first.every((b) => b === 0));
  });

  void it('refuses a size below 1', () => {
    assert.throws(() => new LruCache(0), InvalidError);
    assert.throws(() => new LruCache(-1), InvalidError);
    assert.throws(() => new LruCache(1.5), InvalidError);
  });
});
