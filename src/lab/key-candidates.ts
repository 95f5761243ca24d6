// Finding key material in bytes an attacker holds (a memory dump, files from a disk copy, stored values), the way a
// forensic examiner does: not by knowing where Coffer keeps its keys, but by listing every plausible key and keeping
// those that open a stored ciphertext (decrypt-trial.ts). The candidates:
//  - base64 text of 16/24/32 bytes: keys as they appear in an EncryptionConfiguration (file, YAML parser strings);
//  - HMAC key blocks: a 32-byte key XOR 0x36 (or 0x5c) followed by 32 bytes of 0x36 (0x5c) is how an HMAC-SHA256 key
//    sits in memory while it is in use - the shape of a KMS v2 seed held for HKDF (upstream's hkdf too);
//  - protobuf `bytes` fields of length 32 (tag 0x0a, 0x12 or 0x1a, then 0x20): a DEK seed as it crosses gRPC in a
//    DecryptResponse/EncryptRequest;
//  - high-entropy 32-byte windows at 8-byte alignment (raw key Buffers: Node allocates them 8-aligned), capped.
import { locate, type MemoryDump } from './memory-dump.js';

export interface KeyCandidate {
  bytes: Buffer;
  /** How it was found and where, for evidence (never the bytes). */
  how: string;
  where: string;
}

export interface CandidateOptions {
  /** Names an offset (a memory region, a file); default "offset N". */
  locate?: (offset: number) => string;
  /** Include high-entropy windows (memory dumps); off for small files, where the other shapes suffice. */
  entropyWindows?: boolean;
  /** At most this many entropy windows (they dominate the trial time). */
  maxEntropyWindows?: number;
}

const B64 = new Uint8Array(256);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/') B64[c.charCodeAt(0)] = 1;
const EQ = 0x3d;

class CandidateSet {
  readonly list: KeyCandidate[] = [];
  private readonly seen = new Set<string>();
  add(bytes: Buffer, how: string, where: string): void {
    const id = bytes.toString('hex');
    if (this.seen.has(id)) return;
    this.seen.add(id);
    this.list.push({ bytes: Buffer.from(bytes), how, where });
  }
}

/**
 * One pass over the bytes (hundreds of MiB for a dump, so no regex and no string conversion): runs of base64
 * characters whose length encodes 16, 24 or 32 bytes (`22==`, `32`, `43=`), and 32-byte protobuf bytes fields.
 */
function scanCandidates(buf: Buffer, set: CandidateSet, where: (o: number) => string): void {
  let run = 0;
  const n = buf.length;
  const flush = (end: number) => {
    // `end` is the index after the run (and after its padding).
    let len = run;
    let pad = 0;
    while (pad < 2 && end + pad < n && buf[end + pad] === EQ) pad++;
    if (end + pad < n && (B64[buf[end + pad]!] || buf[end + pad] === EQ)) return;
    len += pad;
    if (!((len === 24 && pad === 2) || (len === 32 && pad === 0) || (len === 44 && pad === 1))) return;
    const start = end - run;
    const decoded = Buffer.from(buf.toString('latin1', start, end + pad), 'base64');
    if (distinct(decoded) >= decoded.length / 2) set.add(decoded, 'base64 text', where(start));
  };
  for (let i = 0; i < n; i++) {
    const x = buf[i]!;
    if (B64[x]) {
      run++;
      continue;
    }
    if (run >= 22 && run <= 43) flush(i);
    run = 0;
    // protobuf: tag of field 1, 2 or 3 with wire type 2, then length 32
    if (x === 0x20 && i > 0 && i + 33 <= n) {
      const tag = buf[i - 1];
      if (tag === 0x0a || tag === 0x12 || tag === 0x1a) {
        const key = buf.subarray(i + 1, i + 33);
        if (looksRandom(key)) set.add(key, 'protobuf bytes field (length 32)', where(i - 1));
      }
    }
  }
  if (run >= 22 && run <= 43) flush(n);
}

function hmacPadCandidates(buf: Buffer, set: CandidateSet, where: (o: number) => string): void {
  for (const pad of [0x36, 0x5c]) {
    const run = Buffer.alloc(32, pad);
    let at = buf.indexOf(run, 32);
    let found = 0;
    while (at >= 32 && found < 10_000) {
      const key = Buffer.from(buf.subarray(at - 32, at));
      for (let i = 0; i < 32; i++) key[i]! ^= pad;
      if (looksRandom(key)) set.add(key, `HMAC key block (XOR 0x${pad.toString(16)})`, where(at - 32));
      found++;
      // Skip to the end of this run of pad bytes.
      let next = at + 32;
      while (next < buf.length && buf[next] === pad) next++;
      at = buf.indexOf(run, next + 32);
    }
  }
}

/** 32 random bytes have ~29 distinct values and ~16 of them >= 0x80; text and pointers do not. */
function looksRandom(b: Uint8Array): boolean {
  let high = 0;
  for (const x of b) if (x >= 0x80) high++;
  return high >= 6 && distinct(b) >= 20;
}

function distinct(b: Uint8Array): number {
  const seen = new Uint8Array(256);
  let n = 0;
  for (const x of b) {
    if (seen[x] === 0) n++;
    seen[x] = 1;
  }
  return n;
}

/**
 * Windows that look like 32 random bytes: at least 24 distinct byte values, no zero pair, at least 8 bytes >= 0x80
 * (pointers, small integers and text all fail one of these).
 */
function entropyCandidates(buf: Buffer, set: CandidateSet, where: (o: number) => string, max: number): number {
  const seen = new Uint8Array(256);
  let added = 0;
  let stamp = 0;
  for (let at = 0; at + 32 <= buf.length; at += 8) {
    // Cheap rejects first: most memory is zeros and pointers.
    if (buf[at] === 0 || buf[at + 7] === 0 || buf[at + 15] === 0 || buf[at + 31] === 0) continue;
    stamp = (stamp + 1) & 0xff;
    if (stamp === 0) {
      seen.fill(0);
      stamp = 1;
    }
    let uniq = 0;
    let high = 0;
    let zeros = 0;
    for (let i = at; i < at + 32; i++) {
      const x = buf[i]!;
      if (x === 0) zeros++;
      if (x >= 0x80) high++;
      if (seen[x] !== stamp) {
        seen[x] = stamp;
        uniq++;
      }
    }
    if (uniq < 24 || high < 8 || zeros > 1) continue;
    set.add(buf.subarray(at, at + 32), 'high-entropy window', where(at));
    if (++added >= max) break;
  }
  return added;
}

export function findKeyCandidates(buf: Buffer, opts: CandidateOptions = {}): KeyCandidate[] {
  const where = opts.locate ?? ((o: number) => `offset ${o}`);
  const set = new CandidateSet();
  scanCandidates(buf, set, where);
  hmacPadCandidates(buf, set, where);
  if (opts.entropyWindows) entropyCandidates(buf, set, where, opts.maxEntropyWindows ?? 2_000_000);
  return set.list;
}

/** Candidates from a memory dump file, each located in its region. */
export function findKeyCandidatesInDump(dump: MemoryDump, bytes: Buffer, opts: Omit<CandidateOptions, 'locate'> = {}): KeyCandidate[] {
  return findKeyCandidates(bytes, { ...opts, locate: (o) => locate(dump, o) });
}
