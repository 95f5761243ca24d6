import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { DERIVED_KEY_TTL_MS, DerivedKeyCache } from './derived-key-cache.js';

const info = (): Buffer => randomBytes(32);

void describe('DerivedKeyCache', () => {
  void it('answers only for the info an entry was derived from, and a set replaces the path\'s entry', () => {
    const c = new DerivedKeyCache(4);
    const [i1, i2, k1, k2] = [info(), info(), randomBytes(32), randomBytes(32)];
    c.set('/registry/secrets/ns/a', i1, k1);
    assert.deepEqual(c.get('/registry/secrets/ns/a', i1), k1);
    assert.equal(c.get('/registry/secrets/ns/a', i2), undefined, 'another info (the object was rewritten) misses');
    assert.equal(c.get('/registry/secrets/ns/b', i1), undefined);
    c.set('/registry/secrets/ns/a', i2, k2);
    assert.equal(c.size, 1);
    assert.equal(c.get('/registry/secrets/ns/a', i1), undefined);
    assert.deepEqual(c.get('/registry/secrets/ns/a', i2), k2);
  });

  void it('matches info against the first 32 bytes of what it is given: a whole stored value hits, a short one misses', () => {
    const c = new DerivedKeyCache(4);
    const [i1, k1] = [info(), randomBytes(32)];
    c.set('p', Buffer.concat([i1, randomBytes(40)]), k1); // set, too, keeps only the first 32 bytes
    assert.deepEqual(c.get('p', Buffer.concat([i1, randomBytes(60)])), k1);
    assert.equal(c.get('p', i1.subarray(0, 31)), undefined);
    for (const at of [0, 17, 31]) {
      const other = Buffer.from(i1);
      other[at]! ^= 0x80;
      assert.equal(c.get('p', other), undefined, `info differing at byte ${at}`);
    }
  });

  void it('holds at most capacity entries, overwriting the least recently set', () => {
    const c = new DerivedKeyCache(3);
    const infos = [info(), info(), info(), info()];
    infos.forEach((x, n) => c.set(`p${n}`, x, randomBytes(32)));
    assert.equal(c.size, 3);
    assert.equal(c.get('p0', infos[0]!), undefined);
    for (const n of [1, 2, 3]) assert.ok(c.get(`p${n}`, infos[n]!));
    c.set('p1', infos[1]!, randomBytes(32)); // p1 is now the newest: p2 goes next
    c.set('p4', info(), randomBytes(32));
    assert.equal(c.get('p2', infos[2]!), undefined);
    assert.ok(c.get('p1', infos[1]!));
  });

  void it('serves no entry older than the TTL, and zero-fills its slot', () => {
    let now = 1_000_000;
    const c = new DerivedKeyCache(2, () => now);
    const [i1, k1] = [info(), Buffer.alloc(32, 7)];
    c.set('p', i1, k1);
    const view = c.get('p', i1)!;
    now += DERIVED_KEY_TTL_MS;
    assert.ok(c.get('p', i1), 'still served at exactly the TTL');
    now += 1;
    assert.equal(c.get('p', i1), undefined);
    assert.equal(c.size, 0);
    assert.ok(view.every((b) => b === 0), 'the expired key was wiped');
  });

  void it('wipe zero-fills every key handed out and forgets every path; capacity 0 keeps nothing', () => {
    const c = new DerivedKeyCache(8);
    const i1 = info();
    c.set('p', i1, Buffer.alloc(32, 9));
    const view = c.get('p', i1)!;
    c.wipe();
    assert.ok(view.every((b) => b === 0));
    assert.equal(c.size, 0);
    assert.equal(c.get('p', i1), undefined);
    const none = new DerivedKeyCache(0);
    none.set('p', i1, Buffer.alloc(32, 9));
    assert.equal(none.size, 0);
    assert.equal(none.get('p', i1), undefined);
  });
});

void describe('DerivedKeyCache growth', () => {
  void it('keeps every entry across growth of its slab, and zero-fills the slab it leaves', () => {
    const c = new DerivedKeyCache(1000);
    const infos = Array.from({ length: 300 }, () => info());
    const keys = infos.map(() => randomBytes(32));
    infos.slice(0, 256).forEach((x, n) => c.set(`p${n}`, x, keys[n]!));
    const before = c.get('p0', infos[0]!)!; // a view into the first slab
    infos.slice(256).forEach((x, n) => c.set(`p${n + 256}`, x, keys[n + 256]!)); // past 256 slots: a new slab
    assert.ok(before.every((b) => b === 0), 'the first slab was wiped when left');
    assert.equal(c.size, 300);
    infos.forEach((x, n) => assert.deepEqual(c.get(`p${n}`, x), keys[n], `entry ${n}`));
  });
});
