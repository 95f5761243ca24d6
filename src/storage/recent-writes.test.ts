// The objects an ObjectStorage keeps for its own watches (recent-writes.ts): only while watched, taken once and only
// for the exact bytes written, bounded in number and in time.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeObject } from '../objects/object-meta.js';
import { RecentWrites } from './recent-writes.js';

const obj = (name: string): KubeObject => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name } });
const bytes = (text: string) => Buffer.from(text);

void describe('RecentWrites', () => {
  void it('keeps nothing unless a watch is open, and forgets everything when the last one closes', () => {
    const r = new RecentWrites();
    r.put('/k', bytes('v'), obj('a'));
    assert.equal(r.size, 0);
    const closeA = r.watching();
    const closeB = r.watching();
    r.put('/k', bytes('v'), obj('a'));
    closeA();
    closeA(); // twice is once
    assert.equal(r.size, 1);
    closeB();
    assert.equal(r.size, 0);
    assert.equal(r.wanted, false);
  });

  void it('hands the object over once, and only for exactly the bytes written under that key', () => {
    const r = new RecentWrites();
    const close = r.watching();
    try {
      const a = obj('a');
      r.put('/k', bytes('value'), a);
      assert.equal(r.take('/other', bytes('value')), undefined);
      assert.equal(r.take('/k', bytes('valuf')), undefined);
      assert.equal(r.take('/k', bytes('value!')), undefined);
      assert.equal(r.take('/k', bytes('value')), a);
      assert.equal(r.take('/k', bytes('value')), undefined, 'taken once');
      r.put('/k', bytes('one'), obj('1'));
      r.put('/k', bytes('two'), obj('2'));
      assert.equal(r.take('/k', bytes('one')), undefined, 'a later write of the key replaces the earlier one');
      r.forget('/k');
      assert.equal(r.take('/k', bytes('two')), undefined);
    } finally {
      close();
    }
  });

  void it('holds at most 64 objects, the oldest going first, and none for more than a second', async () => {
    const r = new RecentWrites();
    const close = r.watching();
    try {
      for (let i = 0; i < 70; i++) r.put(`/k${i}`, bytes(String(i)), obj(String(i)));
      assert.equal(r.size, 64);
      assert.equal(r.take('/k5', bytes('5')), undefined);
      assert.ok(r.take('/k6', bytes('6')));
      await new Promise((resolve) => setTimeout(resolve, 1100));
      assert.equal(r.size, 0, 'dropped after a second');
    } finally {
      close();
    }
  });
});
