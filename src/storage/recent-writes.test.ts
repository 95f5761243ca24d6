// The plaintexts an ObjectStorage keeps for its own watches (recent-writes.ts): only while watched, taken once and only
// for the exact bytes written, bounded in number and in time, copies wiped when dropped or handed over.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RecentWrites } from './recent-writes.js';

const bytes = (text: string) => Buffer.from(text);
/** A sealed value distinct from its plaintext (as any provider but identity makes). */
const sealed = (text: string) => Buffer.from(`k8s:enc:test:${text}`);
const text = (plain: Uint8Array | undefined) => (plain ? Buffer.from(plain).toString() : undefined);

void describe('RecentWrites', () => {
  void it('keeps nothing unless a watch is open, and forgets everything when the last one closes', () => {
    const r = new RecentWrites();
    r.put('/k', sealed('v'), bytes('v'));
    assert.equal(r.size, 0);
    const closeA = r.watching();
    const closeB = r.watching();
    r.put('/k', sealed('v'), bytes('v'));
    closeA();
    closeA(); // twice is once
    assert.equal(r.size, 1);
    closeB();
    assert.equal(r.size, 0);
    assert.equal(r.wanted, false);
  });

  void it('hands over the object the write decoded with its plaintext (the watcher decodes nothing again)', () => {
    const r = new RecentWrites();
    const close = r.watching();
    try {
      const object = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'k' } };
      r.put('/k', sealed('value'), bytes('plain'), object);
      r.put('/j', sealed('value'), bytes('plain'));
      const taken = r.take('/k', sealed('value'));
      assert.equal(taken?.object, object);
      assert.equal(text(taken?.plain), 'plain');
      taken?.done();
      assert.equal(r.take('/j', sealed('value'))?.object, undefined, 'none kept: the watcher decodes the plaintext');
    } finally {
      close();
    }
  });

  void it('hands the plaintext over once, and only for exactly the bytes written under that key', () => {
    const r = new RecentWrites();
    const close = r.watching();
    try {
      r.put('/k', sealed('value'), bytes('plain'));
      assert.equal(r.take('/other', sealed('value')), undefined);
      assert.equal(r.take('/k', sealed('valuf')), undefined);
      assert.equal(r.take('/k', sealed('value!')), undefined);
      assert.equal(text(r.take('/k', sealed('value'))?.plain), 'plain');
      assert.equal(r.take('/k', sealed('value')), undefined, 'taken once');
      r.put('/k', sealed('one'), bytes('1'));
      r.put('/k', sealed('two'), bytes('2'));
      assert.equal(r.take('/k', sealed('one')), undefined, 'a later write of the key replaces the earlier one');
      r.forget('/k');
      assert.equal(r.take('/k', sealed('two')), undefined);
    } finally {
      close();
    }
  });

  void it('keeps a copy of the plaintext, which the caller may wipe, and wipes that copy when handing it over or dropping it', () => {
    const r = new RecentWrites();
    const close = r.watching();
    try {
      const plain = bytes('secret');
      r.put('/taken', sealed('a'), plain);
      plain.fill(0); // what ObjectStorage does once the write is made
      const taken = r.take('/taken', sealed('a'))!;
      assert.equal(text(taken.plain), 'secret');
      taken.done();
      assert.ok(taken.plain.every((b) => b === 0), 'wiped once decoded');

      // The copies inside, to see them wiped when dropped (forgotten, replaced by a later write, cleared).
      const kept = (key: string) => (r as unknown as { entries: Map<string, { plain: Uint8Array }> }).entries.get(key)!.plain;
      const handedOver: Uint8Array[] = [];
      const dropped: Uint8Array[] = [];
      const keep = (key: string, value: Uint8Array) => {
        r.put(key, value, bytes('secret'));
        handedOver.push(r.take(key, value)!.plain);
        r.put(key, value, bytes('secret')); // again, to be dropped rather than taken
        dropped.push(kept(key));
      };
      keep('/forgotten', sealed('b'));
      r.forget('/forgotten');
      keep('/replaced', sealed('c'));
      r.put('/replaced', sealed('d'), bytes('other'));
      keep('/cleared', sealed('e'));
      r.clear();
      for (const c of dropped) assert.ok(c.every((b) => b === 0), 'a dropped copy is wiped');
      for (const c of handedOver) assert.equal(text(c), 'secret', 'a plaintext handed over stays intact until done()');
    } finally {
      close();
    }
  });

  void it('with identity (the value is the plaintext) keeps the stored value itself and never wipes it', () => {
    const r = new RecentWrites();
    const close = r.watching();
    try {
      const value = bytes('stored as is');
      const plain = bytes('stored as is');
      r.put('/k', value, plain);
      plain.fill(0);
      const taken = r.take('/k', bytes('stored as is'))!;
      assert.equal(taken.plain, value, 'no copy');
      taken.done();
      assert.equal(text(value), 'stored as is');
    } finally {
      close();
    }
  });

  void it('holds at most 64 plaintexts, the oldest going first, and each for at most a second after its write', async () => {
    const r = new RecentWrites();
    const close = r.watching();
    try {
      for (let i = 0; i < 70; i++) r.put(`/k${i}`, sealed(String(i)), bytes(String(i)));
      assert.equal(r.size, 64);
      assert.equal(r.take('/k5', sealed('5')), undefined);
      assert.ok(r.take('/k6', sealed('6')));
      await new Promise((resolve) => setTimeout(resolve, 1100));
      assert.equal(r.size, 0, 'dropped after a second');
    } finally {
      close();
    }
  });

  // The old code dropped every entry a second after the first one, so a write made just before that went untaken.
  void it('drops a write a second after it was made, not a second after an earlier one', async () => {
    const r = new RecentWrites();
    const close = r.watching();
    try {
      r.put('/early', sealed('e'), bytes('e'));
      await new Promise((resolve) => setTimeout(resolve, 700));
      r.put('/late', sealed('l'), bytes('l'));
      await new Promise((resolve) => setTimeout(resolve, 500));
      assert.equal(r.take('/early', sealed('e')), undefined, 'the early write is gone after 1.2 s');
      assert.equal(text(r.take('/late', sealed('l'))?.plain), 'l', 'the late write, 0.5 s old, is still there');
      await new Promise((resolve) => setTimeout(resolve, 600));
      assert.equal(r.size, 0);
    } finally {
      close();
    }
  });
});
