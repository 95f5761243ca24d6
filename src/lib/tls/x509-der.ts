// The two certificate shapes `coffer up` issues (its CA, and a serving certificate signed by it), written as DER with
// node:crypto doing the keys and signatures: ECDSA P-256 with SHA-256, the fields and extensions of RFC 5280 that Go's
// crypto/x509 and OpenSSL check. Loading a general X.509 library (and its ASN.1 schema packages) took `coffer up`
// about half a second of CPU on a first start; these few encoders are all it needs.
import { createHash, sign, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';

/** One DER TLV: tag, definite length, contents. */
function tlv(tag: number, ...contents: Buffer[]): Buffer {
  const body = Buffer.concat(contents);
  const n = body.length;
  const len = n < 0x80 ? Buffer.from([n]) : n < 0x100 ? Buffer.from([0x81, n]) : n < 0x10000 ? Buffer.from([0x82, n >> 8, n & 0xff]) : Buffer.from([0x83, n >> 16, (n >> 8) & 0xff, n & 0xff]);
  return Buffer.concat([Buffer.from([tag]), len, body]);
}

const seq = (...c: Buffer[]) => tlv(0x30, ...c);
const set = (...c: Buffer[]) => tlv(0x31, ...c);
const octets = (b: Buffer) => tlv(0x04, b);
const bool = (v: boolean) => tlv(0x01, Buffer.from([v ? 0xff : 0x00]));
/** A BIT STRING of whole bytes (keys, signatures). */
const bits = (b: Buffer) => tlv(0x03, Buffer.from([0]), b);

function oid(dotted: string): Buffer {
  const [a, b, ...rest] = dotted.split('.').map(Number);
  const out = [a! * 40 + b!];
  for (const n of rest) {
    const groups = [n & 0x7f];
    for (let v = n >>> 7; v > 0; v >>>= 7) groups.unshift((v & 0x7f) | 0x80);
    out.push(...groups);
  }
  return tlv(0x06, Buffer.from(out));
}

/** A non-negative INTEGER from big-endian bytes (a leading zero keeps the sign bit clear). */
function unsigned(b: Buffer): Buffer {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  const v = b.subarray(i);
  return tlv(0x02, v[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), v]) : v);
}

/** UTCTime through 2049, GeneralizedTime after (RFC 5280 4.1.2.5), to the second, in UTC. */
function time(d: Date): Buffer {
  const iso = d.toISOString(); // 2026-12-06T23:10:00.000Z
  const digits = iso.slice(0, 19).replace(/[-:T]/g, '');
  const year = d.getUTCFullYear();
  return year < 2050 ? tlv(0x17, Buffer.from(`${digits.slice(2)}Z`)) : tlv(0x18, Buffer.from(`${digits}Z`));
}

const ECDSA_WITH_SHA256 = seq(oid('1.2.840.10045.4.3.2'));

/** `CN=<commonName>` as a Name. */
export function commonName(cn: string): Buffer {
  return seq(set(seq(oid('2.5.4.3'), tlv(0x0c, Buffer.from(cn, 'utf8')))));
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return seq(oid(id), ...(critical ? [bool(true)] : []), octets(value));
}

/** KeyUsage bits (RFC 5280 4.2.1.3), numbered from the most significant bit of the first byte. */
export const KEY_USAGE = { digitalSignature: 0, keyCertSign: 5, cRLSign: 6 } as const;

function keyUsage(bitNumbers: number[]): Buffer {
  let byte = 0;
  for (const n of bitNumbers) byte |= 0x80 >> n;
  // DER drops trailing zero bits: the unused-bits count is the number of zero bits after the last one set.
  let unused = 0;
  while (unused < 7 && !(byte & (1 << unused))) unused++;
  return tlv(0x03, Buffer.from([unused, byte]));
}

/** SHA-1 of the subjectPublicKey bits of a SubjectPublicKeyInfo (SEQUENCE { AlgorithmIdentifier, BIT STRING }). */
function keyIdentifier(spki: Buffer): Buffer {
  const inner = readTlv(spki, 0).contents;
  const key = readTlv(inner, readTlv(inner, 0).end);
  return createHash('sha1').update(key.contents.subarray(1)).digest(); // after the unused-bits byte
}

export interface CertificateRequest {
  serial: Buffer;
  subject: Buffer;
  issuer: Buffer;
  notBefore: Date;
  notAfter: Date;
  /** The subject's public key. */
  publicKey: KeyObject;
  /** The issuer's key pair (the subject's own for a self-signed CA). */
  signingKey: KeyObject;
  issuerPublicKey: KeyObject;
  ca: boolean;
  keyUsage: number[];
  /** Serving certificates: TLS server authentication, for these IP addresses and DNS names. */
  serverAuthFor?: { ips: string[]; dns: string[] };
}

function ipBytes(ip: string): Buffer {
  if (isIP(ip) === 4) return Buffer.from(ip.split('.').map(Number));
  // IPv6: a trailing dotted quad as two groups, `::` expanded, then 8 groups of 16 bits.
  const quad = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(ip);
  if (quad) {
    const [a, b, c, d] = quad[2]!.split('.').map(Number);
    return ipBytes(`${quad[1]}${((a! << 8) | b!).toString(16)}:${((c! << 8) | d!).toString(16)}`);
  }
  const [head, tail] = ip.includes('::') ? ip.split('::') : [ip, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return Buffer.from(groups.flatMap((g) => [parseInt(g, 16) >> 8, parseInt(g, 16) & 0xff]));
}

/** Signs and returns the certificate as PEM. */
export function issueCertificate(r: CertificateRequest): string {
  const spki = r.publicKey.export({ type: 'spki', format: 'der' });
  const extensions = [
    extension('2.5.29.19', true, r.ca ? seq(bool(true), unsigned(Buffer.from([0]))) : seq()), // basicConstraints (CA: pathLen 0)
    extension('2.5.29.15', true, keyUsage(r.keyUsage)),
  ];
  // Key identifiers: SHA-1 of the public key bits (RFC 5280 4.2.1.2, method 1), the issuer's as authority key id.
  extensions.push(extension('2.5.29.14', false, octets(keyIdentifier(spki))));
  extensions.push(extension('2.5.29.35', false, seq(tlv(0x80, keyIdentifier(r.issuerPublicKey.export({ type: 'spki', format: 'der' }))))));
  if (r.serverAuthFor) {
    extensions.push(extension('2.5.29.37', false, seq(oid('1.3.6.1.5.5.7.3.1')))); // extKeyUsage serverAuth
    const names = [...r.serverAuthFor.ips.map((ip) => tlv(0x87, ipBytes(ip))), ...r.serverAuthFor.dns.map((d) => tlv(0x82, Buffer.from(d, 'ascii')))];
    extensions.push(extension('2.5.29.17', false, seq(...names))); // subjectAltName
  }
  const tbs = seq(
    tlv(0xa0, unsigned(Buffer.from([2]))), // version v3
    unsigned(r.serial),
    ECDSA_WITH_SHA256,
    r.issuer,
    seq(time(r.notBefore), time(r.notAfter)),
    r.subject,
    spki,
    tlv(0xa3, seq(...extensions)),
  );
  const signature = sign('sha256', tbs, r.signingKey); // DER ECDSA-Sig-Value
  const der = seq(tbs, ECDSA_WITH_SHA256, bits(signature));
  const b64 = der.toString('base64').replace(/.{64}/g, '$&\n');
  return `-----BEGIN CERTIFICATE-----\n${b64}${b64.endsWith('\n') ? '' : '\n'}-----END CERTIFICATE-----\n`;
}

/** One DER TLV: its tag, its contents, the whole encoding (`raw`) and where the next one starts. */
export interface DerTlv {
  tag: number;
  contents: Buffer;
  raw: Buffer;
  end: number;
}

/** Reads the TLV at `offset` (definite lengths only, as DER has). */
export function readTlv(der: Buffer, offset: number): DerTlv {
  const tag = der[offset]!;
  let len = der[offset + 1]!;
  let start = offset + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + der[start + i]!;
    start += n;
  }
  if (start + len > der.length) throw new Error('truncated DER');
  return { tag, contents: der.subarray(start, start + len), raw: der.subarray(offset, start + len), end: start + len };
}

/** The subject Name of a DER certificate, byte for byte: what a certificate it signs must name as its issuer. */
export function subjectOf(certDer: Buffer): Buffer {
  const tbs = readTlv(readTlv(certDer, 0).contents, 0).contents;
  let at = 0;
  const fields: { start: number; end: number }[] = [];
  while (at < tbs.length && fields.length < 6) {
    const f = readTlv(tbs, at);
    fields.push({ start: at, end: f.end });
    at = f.end;
  }
  // [0] version, serialNumber, signature, issuer, validity, subject
  const hasVersion = tbs[0] === 0xa0;
  const subject = fields[hasVersion ? 5 : 4];
  if (!subject) throw new Error('certificate without a subject');
  return Buffer.from(tbs.subarray(subject.start, subject.end));
}
