// The JSON cache holds decrypted Secrets: each test checks that what it drops is wiped, not only that it is gone.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeClock } from '../lib/clock.js';
import { JsonCache } from './json-cache.js';

const body = (text: string) => Buffer.from(`{"data":{"v":"${text}"}}`);
const wiped = (b: Buffer) => b.every((x) => x === 0);

void describe('JsonCache', () => {
  void it('answers only for the revision the body was made from; another revision drops and wipes it', () => {
    const cache = new JsonCache({ clock: new FakeClock() });
    const b = body('one');
    cache.set('/k', 5, b);
    assert.deepEqual(cache.get('/k', 5), body('one'));
    assert.equal(cache.get('/k', 6), undefined);
    assert.ok(wiped(b), 'the old revision’s body is wiped');
    assert.equal(cache.get('/k', 5), undefined, 'and gone');
    assert.equal(cache.size, 0);
  });

  void it('has: an entry of any revision counts until its time is up, when it is dropped and wiped', () => {
    // A clock whose timers never fire: has() itself must see that the entry's time is up.
    let now = 0;
    const cache = new JsonCache({ clock: { now: () => now, setTimeout: () => ({ cancel() {} }) }, ttlMs: 10_000 });
    const b = body('one');
    cache.set('/k', 5, b);
    assert.equal(cache.has('/k'), true);
    assert.equal(cache.has('/other'), false);
    now = 9_999;
    assert.equal(cache.has('/k'), true);
    now = 10_000;
    assert.equal(cache.has('/k'), false);
    assert.ok(wiped(b));
    assert.equal(cache.size, 0);
  });

  void it('hands out copies: wiping an entry leaves a response already handed out intact', () => {
    const cache = new JsonCache({ clock: new FakeClock() });
    cache.set('/k', 1, body('one'));
    const served = cache.get('/k', 1)!;
    cache.delete('/k');
    assert.deepEqual(served, body('one'));
  });

  void it('delete, a replacing set and clear wipe what they drop', () => {
    const cache = new JsonCache({ clock: new FakeClock() });
    const [a, b, c] = [body('a'), body('b'), body('c')];
    cache.set('/a', 1, a);
    cache.set('/b', 2, b);
    cache.delete('/a');
    assert.ok(wiped(a));
    cache.set('/b', 3, c);
    assert.ok(wiped(b), 'a newer revision replaces and wipes the older');
    assert.deepEqual(cache.get('/b', 3), body('c'));
    cache.clear();
    assert.ok(wiped(c));
    assert.equal(cache.size, 0);
  });

  void it('drops and wipes every entry once its time is up, read or not', async () => {
    const clock = new FakeClock();
    const cache = new JsonCache({ clock, ttlMs: 10_000 });
    const first = body('first');
    cache.set('/first', 1, first);
    await clock.advance(4_000);
    const second = body('second');
    cache.set('/second', 2, second);
    assert.deepEqual(cache.get('/first', 1), body('first'), 'reading does not extend its life');
    await clock.advance(6_000);
    assert.ok(wiped(first), 'the first is wiped at 10 s without any read');
    assert.equal(cache.size, 1);
    assert.deepEqual(cache.get('/second', 2), body('second'));
    await clock.advance(4_000);
    assert.ok(wiped(second));
    assert.equal(cache.size, 0);
  });

  void it('keeps at most maxEntries and maxBytes, dropping (and wiping) the oldest; a body too large is not kept', () => {
    const cache = new JsonCache({ clock: new FakeClock(), maxEntries: 2, maxBytes: 16 * 64 });
    const bodies = ['a', 'b', 'c'].map(body);
    bodies.forEach((b, i) => cache.set(`/${i}`, 1, b));
    assert.equal(cache.size, 2);
    assert.ok(wiped(bodies[0]!), 'the oldest went first');
    assert.deepEqual(cache.get('/2', 1), body('c'));
    const large = Buffer.alloc(65, 1);
    cache.set('/large', 1, large);
    assert.equal(cache.get('/large', 1), undefined);
    assert.ok(wiped(large), 'a body not kept is wiped too (the cache owns what it is given)');
    const many = new JsonCache({ clock: new FakeClock(), maxBytes: 16 * 64 });
    for (let i = 0; i < 40; i++) many.set(`/${i}`, 1, Buffer.alloc(60, 1));
    assert.ok(many.size * 60 <= 16 * 64, `${many.size} entries of 60 bytes stay within 1,024 bytes`);
  });
});
