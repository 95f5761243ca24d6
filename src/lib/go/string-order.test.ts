import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compareUtf8, sortedKeys } from './string-order.js';

void describe('Go string order', () => {
  void it('compareUtf8 orders exactly like the UTF-8 bytes (Go string order)', () => {
    const alphabet = ['a', 'B', '~', 'é', '\u07ff', '\u0800', '\ud7ff', '\ue000', '\uffff', '\u{10000}', '\u{1F600}', '\u{10FFFF}', ''];
    let seed = 7;
    const pick = (): string => alphabet[(seed = (seed * 1103515245 + 12345) % 2147483648) % alphabet.length]!;
    const keys = Array.from({ length: 400 }, () => pick() + pick() + pick());
    const byBytes = [...keys].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    assert.deepEqual([...keys].sort(compareUtf8), byBytes);
    assert.ok(compareUtf8('\uffff', '\u{10000}') < 0, 'U+FFFF sorts before U+10000 although its UTF-16 unit is larger');
  });

  void it('sortedKeys lists the keys of a map in that order', () => {
    assert.deepEqual(sortedKeys({ '\u{10000}': 1, '\uffff': 2, b: 3, A: 4 }), ['A', 'b', '\uffff', '\u{10000}']);
  });
});
