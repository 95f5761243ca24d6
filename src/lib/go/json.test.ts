import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { marshalJson } from './json.js';

// Expected texts are what Go 1.22's encoding/json writes for the same values (json.Marshal, json.MarshalIndent, and a
// json.Encoder with SetEscapeHTML(false)).
void describe("Go's encoding/json text (marshalJson)", () => {
  void it('sorts map keys and escapes HTML characters, line separators and control characters as Go does', () => {
    assert.equal(marshalJson({ b: 1, a: [true, null, 'x'] }), '{"a":[true,null,"x"],"b":1}');
    assert.equal(marshalJson('<a href="x">&\u2028\u0001\n\t\\'), '"\\u003ca href=\\"x\\"\\u003e\\u0026\\u2028\\u0001\\n\\t\\\\"');
    assert.equal(marshalJson('\ud800'), '"\\ufffd"');
    assert.equal(marshalJson('😀é'), '"😀é"');
  });

  void it('writes U+2028 and U+2029 escaped even with HTML escaping off, and a lone surrogate as U+FFFD', () => {
    assert.equal(marshalJson('a\u2028b\u2029c', { escapeHTML: false }), '"a\\u2028b\\u2029c"');
    assert.equal(marshalJson('<&>', { escapeHTML: false }), '"<&>"');
    assert.equal(marshalJson({ k: 'x\udc00y\ud83d' }), '{"k":"x\\ufffdy\\ufffd"}');
    assert.equal(marshalJson('\u0008\u000c\u001f\u007f'), '"\\b\\f\\u001f\u007f"');
    // JSON.stringify keeps the lone surrogate (\udc00) and U+2028 as they are; Go does not.
    assert.notEqual(JSON.stringify('x\udc00\u2028'), marshalJson('x\udc00\u2028'));
  });

  void it('sorts keys in UTF-8 byte order, keeps a struct’s field order when asked, and escapes keys too', () => {
    assert.equal(marshalJson({ '\uffff': 1, '\u{10000}': 2, B: 3, a: 4 }), '{"B":3,"a":4,"\uffff":1,"\u{10000}":2}');
    assert.equal(marshalJson({ kind: 'K', apiVersion: 'v1' }, { structOrder: true }), '{"kind":"K","apiVersion":"v1"}');
    assert.equal(marshalJson({ '<k>': 1 }), '{"\\u003ck\\u003e":1}');
  });

  void it('writes numbers, []byte, undefined members and empty containers as Go does', () => {
    assert.equal(marshalJson([0, -0, 1.5, 1e21, 1e-7, 123456789]), '[0,-0,1.5,1e+21,1e-7,123456789]');
    assert.equal(marshalJson({ b: Buffer.from('hi'), u: undefined }), '{"b":"aGk="}');
    assert.equal(marshalJson({ a: [], o: {} }), '{"a":[],"o":{}}');
  });

  void it('indents as json.MarshalIndent(v, "", "  ")', () => {
    assert.equal(marshalJson({ b: [1, { c: '<' }], a: {}, e: [] }, { indent: '  ' }), '{\n  "a": {},\n  "b": [\n    1,\n    {\n      "c": "\\u003c"\n    }\n  ],\n  "e": []\n}');
  });
});
