import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DecryptError } from '../lib/errors.js';
import { decodeWrappedKey, encodeWrappedKey } from './wrapped-key-codec.js';

const MAGIC = Buffer.from('m:');

void describe('wrapped key codec', () => {
  void it('round-trips key id, ciphertext and annotations; equal inputs give equal bytes', () => {
    const w = { keyId: 'kék-1', ciphertext: Buffer.from([0, 1, 2, 255]), annotations: { 'b.example.com': Buffer.from('2'), 'a.example.com': Buffer.alloc(0) } };
    const bytes = encodeWrappedKey(w, MAGIC);
    assert.deepEqual(bytes, encodeWrappedKey({ ...w, annotations: { 'a.example.com': Buffer.alloc(0), 'b.example.com': Buffer.from('2') } }, MAGIC));
    const back = decodeWrappedKey(bytes, MAGIC);
    assert.equal(back.keyId, w.keyId);
    assert.deepEqual(Buffer.from(back.ciphertext), w.ciphertext);
    assert.deepEqual(Object.keys(back.annotations).sort(), ['a.example.com', 'b.example.com']);
    assert.deepEqual(Buffer.from(back.annotations['b.example.com']!), Buffer.from('2'));
  });

  void it('refuses foreign, truncated, extended and unknown-version input without echoing it', () => {
    const bytes = encodeWrappedKey({ keyId: 'k', ciphertext: Buffer.from('secret-ish'), annotations: {} }, MAGIC);
    const cases: [Buffer, RegExp][] = [
      [Buffer.from('xx'), /format marker missing/],
      [bytes.subarray(0, bytes.length - 3), /truncated/],
      [Buffer.concat([bytes, Buffer.from([0])]), /trailing/],
      [Buffer.concat([MAGIC, Buffer.from([9])]), /unknown format version 9/],
    ];
    for (const [input, message] of cases) {
      assert.throws(() => decodeWrappedKey(input, MAGIC), (e: Error) => {
        assert.ok(e instanceof DecryptError);
        assert.match(e.message, message);
        assert.ok(!e.message.includes('secret-ish'));
        return true;
      });
    }
  });

  void it('keeps an annotation named __proto__ as a key', () => {
    const annotations = Object.defineProperty({}, '__proto__', { value: Buffer.from('p'), enumerable: true }) as Record<string, Uint8Array>;
    const back = decodeWrappedKey(encodeWrappedKey({ keyId: 'k', ciphertext: Buffer.from('c'), annotations }));
    assert.deepEqual(Object.keys(back.annotations), ['__proto__']);
    assert.equal(Object.getPrototypeOf(back.annotations), Object.prototype);
  });
});
