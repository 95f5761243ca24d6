import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { decodeBase32Std, decodeBase64Std, decodeHex, encodeBase32Std, GoDecodeError } from './encoding.js';

const failsAt = (f: () => unknown): string => {
  try {
    f();
    return 'ok';
  } catch (e) {
    assert.ok(e instanceof GoDecodeError);
    return e.message;
  }
};

void describe("Go's base64 and hex decoders", () => {
  // Go's encoding/base32/base32_test.go TestDecodeCorrupt, the whole table (offset, or -1 for success).
  void it('base32: reports the byte Go reports for corrupt input, and accepts what Go accepts', () => {
    const cases: [string, number][] = [
      ['', -1], ['!!!!', 0], ['x===', 0], ['AA=A====', 2], ['AAA=AAAA', 3], ['MMMMMMMMM', 8], ['MMMMMM', 0], ['A=', 1], ['AA=', 3],
      ['AA==', 4], ['AA===', 5], ['AAAA=', 5], ['AAAA==', 6], ['AAAAA=', 6], ['AAAAA==', 7], ['A=======', 1], ['AA======', -1],
      ['AAA=====', 3], ['AAAA====', -1], ['AAAAA===', -1], ['AAAAAA==', 6], ['AAAAAAA=', -1], ['AAAAAAAA', -1],
    ];
    for (const [input, offset] of cases) {
      assert.equal(failsAt(() => decodeBase32Std(input)), offset < 0 ? 'ok' : `illegal base32 data at input byte ${offset}`, JSON.stringify(input));
    }
    assert.equal(decodeBase32Std('MZXW6\r\nYTBOI======').toString(), 'foobar', 'a newline Go strips');
  });

  void it("base32: Go's encoding/base32 test pairs (RFC 4648 section 10 and Wikipedia's) and bigtest, both ways", () => {
    const pairs: [string, string][] = [
      ['', ''], ['f', 'MY======'], ['fo', 'MZXQ===='], ['foo', 'MZXW6==='], ['foob', 'MZXW6YQ='], ['fooba', 'MZXW6YTB'], ['foobar', 'MZXW6YTBOI======'],
      ['sure.', 'ON2XEZJO'], ['sure', 'ON2XEZI='], ['sur', 'ON2XE==='], ['su', 'ON2Q===='], ['leasure.', 'NRSWC43VOJSS4==='], ['easure.', 'MVQXG5LSMUXA===='],
      ['asure.', 'MFZXK4TFFY======'],
      ['Twas brillig, and the slithy toves', 'KR3WC4ZAMJZGS3DMNFTSYIDBNZSCA5DIMUQHG3DJORUHSIDUN53GK4Y='],
    ];
    for (const [plain, encoded] of pairs) {
      assert.equal(encodeBase32Std(Buffer.from(plain)), encoded, plain);
      assert.equal(decodeBase32Std(encoded).toString(), plain, encoded);
    }
  });

  // Cases follow Go's encoding/base64/base64_test.go (TestDecodeCorrupt): the offset Go reports, or -1 for success.
  void it('reports the byte Go reports for corrupt input, and accepts what Go accepts', () => {
    const cases: [string, number][] = [
      ['', -1], ['\n', -1], ['AAA=\n', -1], ['AAAA\n', -1], ['!!!!', 0], ['====', 0], ['x===', 1], ['=AAA', 0], ['A=AA', 1],
      ['AA=A', 2], ['AA==A', 4], ['AAA=AAAA', 4], ['AAAAA', 4], ['AAAAAA', 4], ['A=', 1], ['A==', 1], ['AA=', 3], ['AA==', -1],
      ['AAA=', -1], ['AAAA', -1], ['AAAAAA=', 7], ['YWJjZA=====', 8], ['A!\n', 1], ['A=\n', 1],
    ];
    for (const [input, offset] of cases) {
      assert.equal(failsAt(() => decodeBase64Std(input)), offset < 0 ? 'ok' : `illegal base64 data at input byte ${offset}`, JSON.stringify(input));
    }
    assert.equal(decodeBase64Std('MTIz\r\nNA==').toString(), '1234');
    assert.equal(failsAt(() => decodeBase64Std('ü')), 'illegal base64 data at input byte 0');
    assert.equal(failsAt(() => decodeBase64Std('AAAAü')), 'illegal base64 data at input byte 4');
  });

  void it('decodes whatever Buffer encodes (generated inputs)', () => {
    for (let n = 0; n < 200; n++) {
      const bytes = randomBytes(n % 50);
      assert.deepEqual(decodeBase64Std(bytes.toString('base64')), bytes);
      assert.deepEqual(decodeHex(bytes.toString('hex')), bytes);
    }
  });

  // Go's encoding/hex/hex_test.go (errTests).
  void it("answers hex errors with InvalidByteError's %#U or ErrLength", () => {
    const cases: [string, string][] = [
      ['0', 'encoding/hex: odd length hex string'],
      ['zd4aa', "encoding/hex: invalid byte: U+007A 'z'"],
      ['d4aaz', "encoding/hex: invalid byte: U+007A 'z'"],
      ['30313', 'encoding/hex: odd length hex string'],
      ['0g', "encoding/hex: invalid byte: U+0067 'g'"],
      ['00gg', "encoding/hex: invalid byte: U+0067 'g'"],
      ['0\x01', 'encoding/hex: invalid byte: U+0001'],
      ['ffeed', 'encoding/hex: odd length hex string'],
    ];
    for (const [input, message] of cases) assert.equal(failsAt(() => decodeHex(input)), message, JSON.stringify(input));
  });
});
