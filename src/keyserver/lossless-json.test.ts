import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { inCidrs } from './cidr.js';
import { JsonNumber, JsonSyntaxError, parseJson, stringifyJson } from './lossless-json.js';

// parseJson and stringifyJson take V8's JSON.parse/JSON.stringify where those give the same result (no number in the
// input, plain objects in the output); these pin the cases where they would not.
void describe('lossless JSON: the fast paths give the lossless codec\'s answers', () => {
  void it('keeps number literals exactly, whether the body has strings only or numbers too', () => {
    assert.deepEqual(parseJson('{"plaintext":"AAAA","context":"x"}'), { plaintext: 'AAAA', context: 'x' });
    const v = parseJson('{"a":"s","n":12345678901234567890,"f":1.50,"i":3,"l":[1,"x",{"d":0.1}]}') as Record<string, unknown>;
    assert.ok(v.n instanceof JsonNumber && v.n.text === '12345678901234567890');
    assert.ok(v.f instanceof JsonNumber && v.f.text === '1.50');
    assert.equal(v.i, 3);
    assert.equal(stringifyJson(v), '{"a":"s","n":12345678901234567890,"f":1.50,"i":3,"l":[1,"x",{"d":0.1}]}');
  });

  void it('refuses nesting deeper than 1000 and malformed input with its own offset-only messages', () => {
    const deep = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
    assert.doesNotThrow(() => parseJson(deep(1001)));
    assert.throws(() => parseJson(deep(1002)), (e: Error) => e instanceof JsonSyntaxError && /nesting too deep/.test(e.message));
    assert.throws(() => parseJson('{"plaintext":"secret-value"'), (e: Error) => e instanceof JsonSyntaxError && !e.message.includes('secret'));
    assert.throws(() => parseJson('{"a":"\u0001"}'), /control character in string at offset/);
  });

  void it('keeps a "__proto__" key as a plain member, as the lossless parser does', () => {
    const v = parseJson('{"__proto__":{"polluted":"yes"},"a":"b"}') as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(v), Object.prototype);
    assert.deepEqual(Object.keys(v), ['__proto__', 'a']);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  void it('writes what the walk writes for classes, toJSON, holes and undefined', () => {
    const date = new Date(0);
    assert.equal(stringifyJson({ d: date }), '{"d":{}}'); // no toJSON, as before
    assert.equal(stringifyJson({ a: undefined, b: [undefined, null], c: Number.NaN }), '{"b":[null,null],"c":null}');
    assert.equal(stringifyJson({ n: new JsonNumber('1.0'), s: 'x' }), '{"n":1.0,"s":"x"}');
    assert.equal(stringifyJson(undefined), 'null');
    assert.equal(stringifyJson({ errors: ['1 error occurred:\n\t* permission denied\n\n'] }), JSON.stringify({ errors: ['1 error occurred:\n\t* permission denied\n\n'] }));
  });
});

void describe('bound CIDRs: answers kept per peer address', () => {
  void it('answers each address of one list on its own', () => {
    const cidrs = ['127.0.0.1/32', '10.0.0.0/8'];
    for (let round = 0; round < 2; round++) {
      assert.equal(inCidrs('127.0.0.1', cidrs), true);
      assert.equal(inCidrs('::ffff:127.0.0.1', cidrs), true);
      assert.equal(inCidrs('127.0.0.2', cidrs), false);
      assert.equal(inCidrs('10.1.2.3', cidrs), true);
      assert.equal(inCidrs('::1', cidrs), false);
      assert.equal(inCidrs('', cidrs), false);
    }
    assert.equal(inCidrs('127.0.0.2', ['127.0.0.0/24']), true);
  });
});
