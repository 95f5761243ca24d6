// Go's encoding/base64 (StdEncoding) and encoding/hex decoders, with their exact error texts and positions: ESO's
// templates (sprig's b64dec and hexdec) print those texts into the Secret instead of failing, and encoding/pem
// skips a block whose body they refuse. Positions count bytes of the UTF-8 input, as Go does.

export class GoDecodeError extends Error {}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_VALUE = new Int16Array(256).fill(-1);
for (let i = 0; i < B64.length; i++) B64_VALUE[B64.charCodeAt(i)] = i;

const corrupt = (at: number) => new GoDecodeError(`illegal base64 data at input byte ${at}`);
const isNewline = (c: number | undefined) => c === 0x0a || c === 0x0d;

/** base64.StdEncoding.DecodeString: padding required, \r and \n ignored anywhere. */
export function decodeBase64Std(input: string | Uint8Array): Buffer {
  const src = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
  const out: number[] = [];
  let si = 0;
  for (;;) {
    const quantum = [0, 0, 0, 0];
    let dlen = 4;
    for (let j = 0; j < 4; j++) {
      if (si === src.length) {
        if (j === 0) return Buffer.from(out);
        throw corrupt(si - j);
      }
      const c = src[si++]!;
      const v = B64_VALUE[c]!;
      if (v >= 0) {
        quantum[j] = v;
        continue;
      }
      if (isNewline(c)) {
        j--;
        continue;
      }
      if (c !== 0x3d) throw corrupt(si - 1);
      // Padding: only after two or three symbols, "==" after two, then nothing but newlines.
      if (j < 2) throw corrupt(si - 1);
      if (j === 2) {
        while (isNewline(src[si])) si++;
        if (si === src.length) throw corrupt(src.length);
        if (src[si] !== 0x3d) throw corrupt(si - 1);
        si++;
      }
      while (isNewline(src[si])) si++;
      if (si < src.length) throw corrupt(si);
      dlen = j;
      break;
    }
    const v = (quantum[0]! << 18) | (quantum[1]! << 12) | (quantum[2]! << 6) | quantum[3]!;
    out.push((v >> 16) & 0xff);
    if (dlen > 2) out.push((v >> 8) & 0xff);
    if (dlen > 3) out.push(v & 0xff);
    if (dlen < 4) return Buffer.from(out);
  }
}

const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const B32_VALUE = new Int16Array(256).fill(-1);
for (let i = 0; i < B32.length; i++) B32_VALUE[B32.charCodeAt(i)] = i;

/**
 * base32.StdEncoding.DecodeString: \r and \n are removed first (offsets count the rest), then 8-symbol quantums with
 * required padding; only 2, 4, 5 or 7 symbols may precede the padding (RFC 4648 section 6).
 */
export function decodeBase32Std(input: string | Uint8Array): Buffer {
  const raw = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
  const src = Buffer.from(raw.filter((c) => !isNewline(c)));
  const fail = (at: number) => new GoDecodeError(`illegal base32 data at input byte ${at}`);
  const olen = src.length;
  const out: number[] = [];
  let si = 0;
  let end = false;
  while (si < olen && !end) {
    const q = [0, 0, 0, 0, 0, 0, 0, 0];
    let dlen = 8;
    for (let j = 0; j < 8; ) {
      if (si === olen) throw fail(olen - j); // missing padding
      const c = src[si++]!;
      const left = olen - si;
      if (c === 0x3d && j >= 2 && left < 8) {
        if (left + j < 7) throw fail(olen); // not enough padding
        for (let k = 0; k < 7 - j; k++) {
          if (left > k && src[si + k] !== 0x3d) throw fail(si + k - 1);
        }
        dlen = j;
        end = true;
        if (dlen === 1 || dlen === 3 || dlen === 6) throw fail(si - 1);
        break;
      }
      const v = B32_VALUE[c]!;
      if (v < 0) throw fail(si - 1);
      q[j++] = v;
    }
    // 8 symbols of 5 bits are 5 bytes; a short final quantum gives floor(dlen * 5 / 8) of them.
    let bits = 0n;
    for (const v of q) bits = (bits << 5n) | BigInt(v);
    const bytes = Math.floor((dlen * 5) / 8);
    for (let b = 0; b < bytes; b++) out.push(Number((bits >> BigInt(32 - 8 * b)) & 0xffn));
  }
  return Buffer.from(out);
}

/** base32.StdEncoding.EncodeToString: 5 bits a symbol, the last quantum padded with `=` to 8 symbols. */
export function encodeBase32Std(bytes: Uint8Array): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const byte of bytes) {
    value = ((value << 8) | byte) & 0xfff; // never more than 12 bits are waiting
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += B32[(value >>> bits) & 31];
    }
  }
  if (bits > 0) out += B32[(value << (5 - bits)) & 31];
  return out.padEnd(Math.ceil(out.length / 8) * 8, '=');
}

/** base64.StdEncoding.EncodeToString. */
export function encodeBase64Std(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64');
}

/** hex.DecodeString, with InvalidByteError's `%#U` and ErrLength texts. */
export function decodeHex(input: string | Uint8Array): Buffer {
  const src = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
  const value = (b: number) => (b >= 0x30 && b <= 0x39 ? b - 0x30 : b >= 0x61 && b <= 0x66 ? b - 0x57 : b >= 0x41 && b <= 0x46 ? b - 0x37 : -1);
  const invalid = (b: number) => {
    const code = `U+${b.toString(16).toUpperCase().padStart(4, '0')}`;
    const printable = b >= 0x20 && b !== 0x7f && !(b >= 0x80 && b < 0xa0);
    return new GoDecodeError(`encoding/hex: invalid byte: ${printable ? `${code} '${String.fromCharCode(b)}'` : code}`);
  };
  const out = Buffer.alloc(src.length >> 1);
  let j = 1;
  for (; j < src.length; j += 2) {
    const a = value(src[j - 1]!);
    const b = value(src[j]!);
    if (a < 0) throw invalid(src[j - 1]!);
    if (b < 0) throw invalid(src[j]!);
    out[j >> 1] = (a << 4) | b;
  }
  if (src.length % 2 === 1) {
    if (value(src[j - 1]!) < 0) throw invalid(src[j - 1]!);
    throw new GoDecodeError('encoding/hex: odd length hex string');
  }
  return out;
}
