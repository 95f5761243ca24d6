import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidError } from '../errors.js';
import { ProtoReader, ProtoWriter, WIRE_LEN, WIRE_VARINT } from './protobuf-wire.js';

function encodeInt64(value: number): string {
  const w = new ProtoWriter(4);
  w.int64(1, value);
  return w.finish().toString('hex');
}

function readInt64(hex: string): number {
  const r = new ProtoReader(Buffer.from(hex, 'hex'));
  const tag = r.tag();
  return r.int64(tag & 7, 'n');
}

function invalid(message: RegExp): (err: unknown) => boolean {
  return (err) => err instanceof InvalidError && message.test(err.message);
}

void describe('ProtoWriter / ProtoReader varints', () => {
  const cases: [number, string][] = [
    [0, '0800'],
    [1, '0801'],
    [127, '087f'],
    [128, '088001'],
    [300, '08ac02'],
    [1693583809, '08c193c8a706'],
    [2 ** 31, '0880808080' + '08'],
    [2 ** 32, '088080808010'],
    [Number.MAX_SAFE_INTEGER, '08ffffffffffffff0f'],
    [-1, '08ffffffffffffffffff01'],
    [-2, '08feffffffffffffffff01'],
    [-(2 ** 32), '0880808080f0ffffffff01'],
    [-62135596800, '088092b8c398feffffff01'],
    [Number.MIN_SAFE_INTEGER, '0881808080808080f0ff01'],
  ];
  for (const [value, hex] of cases) {
    void it(`int64 ${value} <-> ${hex}`, () => {
      assert.equal(encodeInt64(value), hex);
      assert.equal(readInt64(hex), value);
    });
  }

  void it('negative int64 values take ten bytes after the tag', () => {
    assert.equal(Buffer.from(encodeInt64(-5), 'hex').length, 11);
  });

  void it('rejects int64 values a JSON number cannot hold exactly', () => {
    assert.throws(() => readInt64('08808080808080808040'), invalid(/outside ±2\^53/)); // 2^62
    assert.throws(() => readInt64('0880808080808080808001'), invalid(/outside ±2\^53/)); // -2^63
  });

  void it('rejects a varint longer than ten bytes and a truncated one', () => {
    assert.throws(() => readInt64('08ffffffffffffffffffff01'), invalid(/varint longer than 10 bytes/));
    assert.throws(() => readInt64('08ff'), invalid(/truncated varint/));
  });
});

void describe('ProtoWriter length-delimited fields', () => {
  for (const size of [0, 127, 128, 16383, 16384, 70000]) {
    void it(`nested message of ${size} bytes gets a minimal length prefix`, () => {
      const w = new ProtoWriter(8);
      const outer = w.beginLen(3);
      w.string(1, 'x'.repeat(size));
      w.endLen(outer);
      w.bool(4, true);
      const out = w.finish();
      const r = new ProtoReader(out);
      const tag = r.tag();
      assert.equal(tag, (3 << 3) | WIRE_LEN);
      const outerLimit = r.enter(tag & 7, 'outer');
      const inner = r.tag();
      assert.equal(r.string(inner & 7, 'inner'), 'x'.repeat(size));
      assert.equal(r.more(), false);
      r.leave(outerLimit);
      const last = r.tag();
      assert.equal(last, (4 << 3) | WIRE_VARINT);
      assert.equal(r.bool(last & 7, 'b'), true);
      assert.equal(r.more(), false);
    });
  }

  void it('writes multi-byte UTF-8 strings by byte length', () => {
    const w = new ProtoWriter();
    w.string(2, 'é€😀');
    assert.equal(w.finish().toString('hex'), '12' + '09' + Buffer.from('é€😀').toString('hex'));
  });

  // ProtoWriter.string and ProtoReader.string take short ASCII strings without the native UTF-8 encoder and decoder:
  // at every length around their bound, ASCII or not (a non-ASCII character first, in the middle, last), the bytes
  // are UTF-8's and read back as written, and a byte above 0x7f that is no UTF-8 (Latin-1 é) is still refused.
  void it('writes and reads short and long, ASCII and non-ASCII strings as UTF-8; refuses a Latin-1 byte at every length', () => {
    for (const length of [1, 2, 31, 63, 64, 65, 200]) {
      const half = 'a'.repeat(length >> 1);
      for (const text of ['a'.repeat(length), 'é' + 'a'.repeat(length), half + '€' + half, 'a'.repeat(length) + '😀', '\u007f'.repeat(length)]) {
        const w = new ProtoWriter();
        w.string(1, text);
        const bytes = w.finish();
        const utf8 = Buffer.from(text, 'utf8');
        assert.deepEqual(bytes, Buffer.concat([Buffer.from([0x0a, ...varint(utf8.length)]), utf8]));
        const r = new ProtoReader(bytes);
        assert.equal(r.string(r.tag() & 7, 's'), text);
        assert.equal(r.more(), false);
      }
      for (const at of [0, length - 1]) {
        const bytes = Buffer.alloc(length, 0x61);
        bytes[at] = 0xe9;
        const r = new ProtoReader(Buffer.concat([Buffer.from([0x0a, ...varint(length)]), bytes]));
        assert.throws(() => r.string(r.tag() & 7, 's'), invalid(/s: string is not valid UTF-8 \(offset \d+\)/));
      }
    }
  });

  void it('accepts standard padded base64 only', () => {
    const w = new ProtoWriter();
    assert.equal(w.bytesFromBase64(2, 'AAE='), true);
    assert.equal(w.bytesFromBase64(2, ''), true);
    for (const bad of ['AAE', 'AA=E', 'AA-_', 'A===', 'AAE=\n', 'AAE= ']) {
      assert.equal(w.bytesFromBase64(2, bad), false, bad);
    }
    assert.equal(w.finish().toString('hex'), '1202000112' + '00');
  });

  void it('agrees with the regular-expression definition of standard base64 on random text', () => {
    const reference = (s: string): boolean => s.length % 4 === 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(s);
    const alphabet = 'AZaz09+/=-_ \n!.é\u0000';
    let seed = 99;
    const rand = (n: number): number => (seed = (seed * 1103515245 + 12345) % 2147483648) % n;
    const w = new ProtoWriter(16);
    for (let i = 0; i < 50000; i++) {
      let s = '';
      for (let n = rand(13); n > 0; n--) s += alphabet[rand(alphabet.length)];
      const before = w.length;
      const ok = w.bytesFromBase64(1, s);
      assert.equal(ok, reference(s), JSON.stringify(s));
      if (!ok) assert.equal(w.length, before, 'nothing written on refusal');
      else assert.deepEqual(w.view().subarray(w.length - Buffer.from(s, 'base64').length), Buffer.from(s, 'base64'));
      if (w.length > 4000) w.reset();
    }
  });

  void it('finish wipes its scratch buffer', () => {
    const w = new ProtoWriter(64);
    w.string(1, 'canary-secret');
    const view = w.view();
    const out = w.finish();
    assert.ok(out.includes('canary-secret'));
    assert.ok(view.every((b) => b === 0));
    assert.equal(w.length, 0);
  });
});

void describe('ProtoReader errors', () => {
  void it('names the field whose wire type is wrong', () => {
    const r = new ProtoReader(Buffer.from('0801', 'hex'));
    r.where = 'ObjectMeta';
    const tag = r.tag();
    assert.throws(() => r.string(tag & 7, 'name'), invalid(/ObjectMeta\.name: wire type varint, expected length-delimited/));
  });

  void it('refuses a length that runs past the enclosing message', () => {
    const r = new ProtoReader(Buffer.from('0a050a0561626364', 'hex'));
    const tag = r.tag();
    r.enter(tag & 7, 'outer');
    const inner = r.tag();
    assert.throws(() => r.string(inner & 7, 'inner'), invalid(/length 5 runs past the end \(3 bytes left\)/));
  });

  void it('refuses invalid UTF-8 without quoting it', () => {
    const r = new ProtoReader(Buffer.from('0a03ff6162', 'hex'));
    const tag = r.tag();
    assert.throws(() => r.string(tag & 7, 'name'), (err: unknown) => {
      assert.ok(err instanceof InvalidError);
      assert.match(err.message, /name: string is not valid UTF-8/);
      assert.doesNotMatch(err.message, /ab/);
      return true;
    });
  });

  void it('skips unknown fields of every wire type and refuses groups and field 0', () => {
    const r = new ProtoReader(Buffer.from('08960111010203040506070812026869' + '1d01020304', 'hex'));
    while (r.more()) {
      const tag = r.tag();
      r.skip(tag & 7, tag >>> 3);
    }
    assert.throws(() => {
      const g = new ProtoReader(Buffer.from('0b', 'hex'));
      const tag = g.tag();
      g.skip(tag & 7, tag >>> 3);
    }, invalid(/unsupported wire type start-group/));
    assert.throws(() => new ProtoReader(Buffer.from('0201', 'hex')).tag(), invalid(/invalid field tag/));
    assert.throws(() => {
      const t = new ProtoReader(Buffer.from('0d0102', 'hex'));
      const tag = t.tag();
      t.skip(tag & 7, tag >>> 3);
    }, invalid(/truncated fixed-width value/));
  });
});

function varint(n: number): number[] {
  const out: number[] = [];
  for (; n >= 0x80; n >>>= 7) out.push((n & 0x7f) | 0x80);
  out.push(n);
  return out;
}
