import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { goJsonMarshal } from './go-json.js';

void describe("Go's encoding/json text", () => {
  void it('sorts keys and escapes HTML characters, line separators and control characters as Go does', () => {
    assert.equal(goJsonMarshal({ b: 1, a: [true, null, 'x'] }), '{"a":[true,null,"x"],"b":1}');
    assert.equal(goJsonMarshal('<a href="x">&\u2028\u0001\n\t\\'), '"\\u003ca href=\\"x\\"\\u003e\\u0026\\u2028\\u0001\\n\\t\\\\"');
    assert.equal(goJsonMarshal('\ud800'), '"\\ufffd"');
    assert.equal(goJsonMarshal('😀é'), '"😀é"');
  });
});
