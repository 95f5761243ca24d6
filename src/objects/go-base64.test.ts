import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { fuzzOptions } from '../../test/support/fuzz-options.js';
import { goBase64ErrorOffset } from './go-base64.js';

void describe("Go's base64.StdEncoding error offsets", () => {
  // The table of Go's encoding/base64 TestDecodeCorrupt (-1: Go decodes it).
  const cases: [string, number][] = [
    ['', -1], ['\n', -1], ['AAA=\n', -1], ['AAAA\n', -1], ['!!!!', 0], ['====', 0], ['x===', 1], ['=AAA', 0], ['A=AA', 1],
    ['AA=A', 2], ['AA==A', 4], ['AAA=AAAA', 4], ['AAAAA', 4], ['AAAAAA', 4], ['A=', 1], ['A==', 1], ['AA=', 3], ['AA==', -1],
    ['AAA=', -1], ['AAAA', -1], ['AAAAAA=', 7], ['YWJjZA=====', 8], ['A!\n', 1], ['A=\n', 1],
  ];
  for (const [input, offset] of cases) {
    void it(`${JSON.stringify(input)} -> ${offset}`, () => assert.equal(goBase64ErrorOffset(input), offset === -1 ? undefined : offset));
  }

  void it('accepts exactly what strict padded base64 (with CR/LF anywhere) is', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), fc.array(fc.nat(), { maxLength: 3 }), (bytes, cuts) => {
        let text = Buffer.from(bytes).toString('base64');
        for (const c of cuts) text = `${text.slice(0, c % (text.length + 1))}\r\n${text.slice(c % (text.length + 1))}`;
        assert.equal(goBase64ErrorOffset(text), undefined, text);
        if (text.replace(/[\r\n]/g, '').length > 0) assert.notEqual(goBase64ErrorOffset(`${text}=`), undefined);
      }),
      fuzzOptions(),
    );
  });
});
