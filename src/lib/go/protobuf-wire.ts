// The protobuf wire format, the one reader and writer for every message Coffer encodes by hand to match Go's bytes:
// the Kubernetes storage codecs (src/objects/), the KMS v2 EncryptedObject (src/kms/) and the API server's protobuf
// bodies. Hand-rolled rather than protobufjs because the gogo-generated Kubernetes marshallers decide presence field
// by field (proto2 "always present" empty strings and zeros), because the EncryptedObject must be written byte for
// byte as protobuf-go writes it, and because malformed bytes must surface as an InvalidError naming the culprit, never
// as a RangeError.
import { isUtf8 } from 'node:buffer';
import { InvalidError } from '../errors.js';

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LEN = 2;
export const WIRE_START_GROUP = 3;
export const WIRE_END_GROUP = 4;
export const WIRE_FIXED32 = 5;

/** How deeply unknown groups may nest before a reader gives up (protobuf-go stops at its recursion limit too). */
const MAX_GROUP_DEPTH = 100;

const TWO_POW_32 = 4294967296;

/** Strings up to this many bytes are tried as ASCII in JavaScript first (ProtoWriter.string, ProtoReader.string). */
const SHORT_STRING = 64;

/**
 * Appends to one growable buffer. Nested messages reserve one length byte and shift their body only when it turns out
 * to be 128 bytes or longer, so encoding allocates nothing but the output. The buffer is wiped when reset because it
 * held plaintext Secret data.
 */
/** The bytes a varint of a value below 2^32 takes. */
export function uint32VarintSize(value: number): number {
  let size = 1;
  for (let v = value >>> 0; v > 0x7f; v >>>= 7) size++;
  return size;
}

/** Writes a varint of a value below 2^32 into buf at `at`; the position after it. */
export function putUint32Varint(buf: Uint8Array, at: number, value: number): number {
  let v = value >>> 0;
  while (v > 0x7f) {
    buf[at++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[at++] = v;
  return at;
}

export class ProtoWriter {
  private buf: Buffer;
  private pos = 0;

  constructor(initialSize = 4096) {
    this.buf = Buffer.allocUnsafeSlow(initialSize);
  }

  get length(): number {
    return this.pos;
  }

  /** The bytes written so far, without copying; valid until the next write or reset. */
  view(): Buffer {
    return this.buf.subarray(0, this.pos);
  }

  /** A copy of the bytes written so far; the writer is then wiped and empty. */
  finish(): Buffer {
    const out = Buffer.allocUnsafe(this.pos);
    this.buf.copy(out, 0, 0, this.pos);
    this.reset();
    return out;
  }

  reset(): void {
    this.buf.fill(0, 0, this.pos);
    this.pos = 0;
  }

  raw(bytes: ArrayLike<number>): void {
    this.ensure(bytes.length);
    for (let i = 0; i < bytes.length; i++) this.buf[this.pos++] = bytes[i]!;
  }

  tag(field: number, wireType: number): void {
    this.uint32((field << 3) | wireType);
  }

  /** Length-delimited bytes; written even when empty (the caller decides presence). */
  bytes(field: number, value: Uint8Array): void {
    this.tag(field, WIRE_LEN);
    this.uint32(value.length);
    this.ensure(value.length);
    this.buf.set(value, this.pos);
    this.pos += value.length;
  }

  /** An int64 varint; negative values take ten bytes (two's complement), as in Go. */
  int64(field: number, value: number): void {
    this.tag(field, WIRE_VARINT);
    if (value >= 0 && value < TWO_POW_32) {
      this.uint32(value);
      return;
    }
    this.ensure(10);
    let lo = value >>> 0;
    let hi = Math.floor(value / TWO_POW_32) >>> 0;
    while (hi !== 0 || lo > 0x7f) {
      this.buf[this.pos++] = (lo & 0x7f) | 0x80;
      lo = ((lo >>> 7) | (hi << 25)) >>> 0;
      hi >>>= 7;
    }
    this.buf[this.pos++] = lo;
  }

  bool(field: number, value: boolean): void {
    this.tag(field, WIRE_VARINT);
    this.ensure(1);
    this.buf[this.pos++] = value ? 1 : 0;
  }

  /** A length-delimited UTF-8 string; written even when empty (the caller decides presence). */
  string(field: number, value: string): void {
    const start = this.beginLen(field);
    const n = value.length;
    // Short ASCII (most strings of an object) is copied by a loop rather than the native UTF-8 encoder, for the same
    // bytes; at the first other character the encoder writes the whole string over what the loop wrote.
    if (n <= SHORT_STRING) {
      this.ensure(n);
      const buf = this.buf;
      const pos = this.pos;
      let i = 0;
      for (; i < n; i++) {
        const c = value.charCodeAt(i);
        if (c >= 0x80) break;
        buf[pos + i] = c;
      }
      if (i === n) {
        this.pos = pos + n;
        this.endLen(start);
        return;
      }
    }
    this.ensure(n * 3);
    this.pos += this.buf.write(value, this.pos, 'utf8');
    this.endLen(start);
  }

  /**
   * Length-delimited bytes given as standard padded base64 (the JSON form of Go []byte). Returns false, writing
   * nothing, when the text is not base64, so the caller can name the field without the value.
   */
  bytesFromBase64(field: number, base64: string): boolean {
    const len = base64.length;
    let pad = 0;
    while (pad < 3 && base64.charCodeAt(len - 1 - pad) === 0x3d) pad++;
    // Node's decoder also takes the URL-safe alphabet and skips anything else, so a text is standard base64 exactly
    // when it has none of '-' '_' and decodes to the full length its size and padding promise. This is ~10x faster
    // than a regular expression over a large value.
    if (len % 4 !== 0 || pad > 2 || base64.includes('-') || base64.includes('_')) return false;
    const expected = (len >>> 2) * 3 - pad;
    const mark = this.pos;
    const start = this.beginLen(field);
    this.ensure(expected);
    const written = this.buf.write(base64, this.pos, 'base64');
    if (written !== expected) {
      this.buf.fill(0, mark, this.pos + written);
      this.pos = mark;
      return false;
    }
    this.pos += written;
    this.endLen(start);
    return true;
  }

  /** Starts a length-delimited field whose length is patched in by endLen. */
  beginLen(field: number): number {
    this.tag(field, WIRE_LEN);
    this.ensure(1);
    return this.pos++;
  }

  endLen(start: number): void {
    const len = this.pos - start - 1;
    if (len < 0x80) {
      this.buf[start] = len;
      return;
    }
    let size = 1;
    for (let v = len; v > 0x7f; v >>>= 7) size++;
    this.ensure(size - 1);
    this.buf.copyWithin(start + size, start + 1, this.pos);
    this.pos += size - 1;
    let v = len;
    let i = start;
    while (v > 0x7f) {
      this.buf[i++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.buf[i] = v;
  }

  /** A bare varint of a value below 2^32 (a length, a tag). */
  uint32(value: number): void {
    this.ensure(5);
    this.pos = putUint32Varint(this.buf, this.pos, value);
  }

  private ensure(extra: number): void {
    const need = this.pos + extra;
    if (need <= this.buf.length) return;
    const next = Buffer.allocUnsafeSlow(Math.max(need, this.buf.length * 2));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf.fill(0, 0, this.pos);
    this.buf = next;
  }
}

const WIRE_NAMES = ['varint', 'fixed64', 'length-delimited', 'start-group', 'end-group', 'fixed32'];

export interface ProtoReaderOptions {
  /** What every error message starts with. Default "malformed stored object". */
  errorPrefix?: string;
  /**
   * Skip unknown groups (the deprecated wire types 3 and 4), as protobuf-go's reader does. Off by default: the
   * storage codecs refuse them, as no Kubernetes type has one.
   */
  skipGroups?: boolean;
}

/**
 * Reads one buffer in place. `limit` is the end of the message being read, so a field can never run past its
 * enclosing message; `where` names that message in error messages.
 */
export class ProtoReader {
  readonly buf: Buffer;
  pos: number;
  limit: number;
  where = 'message';
  private lo = 0;
  private hi = 0;
  private groupDepth = 0;
  private readonly errorPrefix: string;
  private readonly skipGroups: boolean;

  constructor(bytes: Uint8Array, start = 0, end = bytes.length, opts: ProtoReaderOptions = {}) {
    this.buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.pos = start;
    this.limit = end;
    this.errorPrefix = opts.errorPrefix ?? 'malformed stored object';
    this.skipGroups = opts.skipGroups ?? false;
  }

  fail(message: string, field?: string): never {
    const at = field === undefined ? this.where : `${this.where}.${field}`;
    throw new InvalidError(`${this.errorPrefix}: ${at}: ${message} (offset ${this.pos})`);
  }

  more(): boolean {
    return this.pos < this.limit;
  }

  /** Reads a tag; returns (field << 3) | wireType, with the field number checked to be positive. */
  tag(): number {
    this.varint();
    if (this.hi !== 0) this.fail('invalid field tag (field number above 2^29-1)');
    if (this.lo >>> 3 === 0) this.fail('invalid field tag (invalid field number 0)');
    return this.lo;
  }

  /** An int32 or enum varint: its low 32 bits as a signed number, which is how Go reads one. */
  int32(wireType: number, field: string): number {
    this.expect(wireType, WIRE_VARINT, field);
    this.varint();
    return this.lo | 0;
  }

  /** A signed int64 varint, exact within ±2^53 (the range a JSON number keeps). */
  int64(wireType: number, field: string): number {
    this.expect(wireType, WIRE_VARINT, field);
    this.varint();
    const value = (this.hi | 0) * TWO_POW_32 + this.lo;
    if (!Number.isSafeInteger(value)) this.fail('int64 value outside ±2^53', field);
    return value;
  }

  bool(wireType: number, field: string): boolean {
    this.expect(wireType, WIRE_VARINT, field);
    this.varint();
    return this.lo !== 0 || this.hi !== 0;
  }

  string(wireType: number, field: string): string {
    const end = this.lengthDelimited(wireType, field);
    const start = this.pos;
    if (end === start) return '';
    // Most strings of an object are short ASCII (names, timestamps, UIDs, keys): ASCII is valid UTF-8 and reads the
    // same as Latin-1, so a byte loop replaces the two native calls (isUtf8, the UTF-8 decoder), about half the cost.
    if (end - start <= SHORT_STRING) {
      let i = start;
      while (i < end && this.buf[i]! < 0x80) i++;
      if (i === end) {
        this.pos = end;
        return this.buf.toString('latin1', start, end);
      }
    }
    if (!isUtf8(this.buf.subarray(start, end))) this.fail('string is not valid UTF-8', field);
    this.pos = end;
    return this.buf.toString('utf8', start, end);
  }

  /** Length-delimited bytes, as a view into the buffer read (no copy). */
  bytes(wireType: number, field: string): Buffer {
    const end = this.lengthDelimited(wireType, field);
    const start = this.pos;
    this.pos = end;
    return this.buf.subarray(start, end);
  }

  /** Length-delimited bytes as standard base64 (the JSON form of Go []byte). */
  base64(wireType: number, field: string): string {
    const end = this.lengthDelimited(wireType, field);
    const start = this.pos;
    this.pos = end;
    return this.buf.toString('base64', start, end);
  }

  /** Reads a length prefix and returns the absolute end of the field's payload, leaving pos at its start. */
  lengthDelimited(wireType: number, field: string): number {
    this.expect(wireType, WIRE_LEN, field);
    this.varint();
    const left = this.limit - this.pos;
    if (this.hi !== 0 || this.lo > left) this.fail(`length ${this.hi * TWO_POW_32 + this.lo} runs past the end (${left} bytes left)`, field);
    return this.pos + this.lo;
  }

  /** Enters an embedded message; returns the outer limit to hand back to leave(). */
  enter(wireType: number, field: string): number {
    const end = this.lengthDelimited(wireType, field);
    const outer = this.limit;
    this.limit = end;
    return outer;
  }

  leave(outerLimit: number): void {
    this.limit = outerLimit;
  }

  skip(wireType: number, field: number): void {
    switch (wireType) {
      case WIRE_VARINT:
        this.varint();
        return;
      case WIRE_FIXED64:
        this.skipBytes(8, field);
        return;
      case WIRE_LEN:
        this.pos = this.lengthDelimited(wireType, String(field));
        return;
      case WIRE_FIXED32:
        this.skipBytes(4, field);
        return;
      case WIRE_START_GROUP:
        if (!this.skipGroups) this.fail('unsupported wire type start-group', `field ${field}`);
        this.skipGroup(field);
        return;
      default:
        this.fail(`unexpected wire type ${wireType}${wireType < WIRE_NAMES.length ? ` (${WIRE_NAMES[wireType]})` : ''}`, `field ${field}`);
    }
  }

  /** Skips the fields of a group up to the end-group tag of the same field number. */
  private skipGroup(field: number): void {
    if (++this.groupDepth > MAX_GROUP_DEPTH) this.fail('groups nested too deeply', `field ${field}`);
    for (;;) {
      if (!this.more()) this.fail(`unterminated group for field ${field}`);
      const tag = this.tag();
      if ((tag & 7) === WIRE_END_GROUP) {
        if (tag >>> 3 !== field) this.fail(`mismatched end of group ${tag >>> 3}`, `field ${field}`);
        this.groupDepth--;
        return;
      }
      this.skip(tag & 7, tag >>> 3);
    }
  }

  expect(wireType: number, want: number, field: string): void {
    if (wireType !== want) this.fail(`wire type ${WIRE_NAMES[wireType] ?? wireType}, expected ${WIRE_NAMES[want]}`, field);
  }

  private skipBytes(n: number, field: number): void {
    if (this.limit - this.pos < n) this.fail('truncated fixed-width value (the fixed-size field runs past the end)', `field ${field}`);
    this.pos += n;
  }

  private byte(): number {
    if (this.pos >= this.limit) this.fail('truncated varint');
    return this.buf[this.pos++]!;
  }

  /** Leaves the low and high 32 bits in lo/hi. Bits past 64 are dropped, as Go's decoders do. */
  private varint(): void {
    let lo = 0;
    let b = 0;
    for (let shift = 0; shift < 28; shift += 7) {
      b = this.byte();
      lo |= (b & 0x7f) << shift;
      if (b < 0x80) {
        this.lo = lo >>> 0;
        this.hi = 0;
        return;
      }
    }
    b = this.byte();
    lo |= (b & 0x0f) << 28;
    let hi = (b & 0x7f) >>> 4;
    if (b < 0x80) {
      this.lo = lo >>> 0;
      this.hi = hi;
      return;
    }
    for (let shift = 3; shift < 32; shift += 7) {
      b = this.byte();
      hi |= (b & 0x7f) << shift;
      if (b < 0x80) {
        this.lo = lo >>> 0;
        this.hi = hi >>> 0;
        return;
      }
    }
    this.fail('varint longer than 10 bytes');
  }
}
