// A self-describing wrapped key: what a backend's Encrypt returned (ciphertext, key id, annotations) in one byte string.
// KMS v1 has only a ciphertext field, so the plugin stores this there to still know which KEK (and which key version)
// wrapped a DEK after rotation; the multi backend stores one per member in an annotation.
//
// Layout: magic ‖ 0x01 ‖ u16 len ‖ keyId (UTF-8) ‖ u32 len ‖ ciphertext ‖ u16 count ‖ count × (u16 len ‖ key ‖ u32 len ‖ value),
// big-endian, annotations in byte-wise key order so equal inputs give equal bytes.
import { DecryptError, InvalidError } from '../lib/errors.js';

export interface WrappedKey {
  keyId: string;
  ciphertext: Uint8Array;
  annotations: Record<string, Uint8Array>;
}

const FORMAT_VERSION = 1;
const UTF8 = new TextDecoder('utf-8', { fatal: true });

export function encodeWrappedKey(w: WrappedKey, magic: Uint8Array = new Uint8Array()): Buffer {
  const keys = Object.keys(w.annotations).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  const parts: Buffer[] = [Buffer.from(magic), Buffer.from([FORMAT_VERSION])];
  const u16 = (n: number, what: string) => {
    if (n > 0xffff) throw new InvalidError(`${what} is ${n} bytes, more than 65535`);
    const b = Buffer.alloc(2);
    b.writeUInt16BE(n);
    parts.push(b);
  };
  const u32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n);
    parts.push(b);
  };
  const keyId = Buffer.from(w.keyId, 'utf8');
  u16(keyId.length, 'key id');
  parts.push(keyId);
  u32(w.ciphertext.length);
  parts.push(Buffer.from(w.ciphertext));
  u16(keys.length, 'annotation count');
  for (const k of keys) {
    const kb = Buffer.from(k, 'utf8');
    u16(kb.length, 'annotation key');
    parts.push(kb);
    const v = w.annotations[k]!;
    u32(v.length);
    parts.push(Buffer.from(v));
  }
  return Buffer.concat(parts);
}

/** Throws DecryptError naming what is malformed (never echoing the bytes). */
export function decodeWrappedKey(data: Uint8Array, magic: Uint8Array = new Uint8Array(), what = 'wrapped key'): WrappedKey {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const bad = (why: string) => new DecryptError(`malformed ${what} (${buf.length} bytes): ${why}`);
  if (buf.length < magic.length || !buf.subarray(0, magic.length).equals(Buffer.from(magic))) {
    throw bad('it was not written by this plugin (format marker missing)');
  }
  let at = magic.length;
  const take = (n: number, field: string): Buffer => {
    if (at + n > buf.length) throw bad(`truncated in ${field}`);
    const out = buf.subarray(at, at + n);
    at += n;
    return out;
  };
  const text = (b: Buffer, field: string): string => {
    try {
      return UTF8.decode(b);
    } catch {
      throw bad(`${field} is not UTF-8`);
    }
  };
  const version = take(1, 'version')[0];
  if (version !== FORMAT_VERSION) throw bad(`unknown format version ${version}`);
  const keyId = text(take(take(2, 'key id length').readUInt16BE(), 'key id'), 'key id');
  const ciphertext = Buffer.from(take(take(4, 'ciphertext length').readUInt32BE(), 'ciphertext'));
  const count = take(2, 'annotation count').readUInt16BE();
  const annotations: Record<string, Uint8Array> = {};
  for (let i = 0; i < count; i++) {
    const key = text(take(take(2, 'annotation key length').readUInt16BE(), 'annotation key'), 'annotation key');
    if (Object.hasOwn(annotations, key)) throw bad(`annotation ${JSON.stringify(key)} appears twice`);
    const value = Buffer.from(take(take(4, 'annotation value length').readUInt32BE(), 'annotation value'));
    // defineProperty, not assignment: a key named "__proto__" must stay a key, not replace the prototype.
    Object.defineProperty(annotations, key, { value, enumerable: true, writable: true, configurable: true });
  }
  if (at !== buf.length) throw bad(`${buf.length - at} unexpected trailing bytes`);
  return { keyId, ciphertext, annotations };
}
