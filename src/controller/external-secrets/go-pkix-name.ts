// A certificate's subject as Go's pkix.Name.String prints it (crypto/x509/pkix pkix.go): go-pkcs12's
// EncodeTrustStore names each certificate with it. The named attributes (C, ST, L, STREET, POSTALCODE, O, OU, CN,
// SERIALNUMBER) come in Go's fixed order whatever the certificate's order, other attributes first as
// "oid=#hex" of the re-encoded value, and the whole sequence is printed last RDN first.

import { readTlv, type DerTlv } from '../../lib/tls/x509-der.js';

function children(body: Buffer): DerTlv[] {
  const out: DerTlv[] = [];
  for (let at = 0; at < body.length; ) {
    const t = readTlv(body, at);
    out.push(t);
    at = t.end;
  }
  return out;
}

function oidString(body: Buffer): string {
  const arcs: number[] = [];
  let v = 0;
  for (const b of body) {
    v = v * 128 + (b & 0x7f);
    if (!(b & 0x80)) {
      arcs.push(v);
      v = 0;
    }
  }
  const first = arcs.shift() ?? 0;
  const head = first < 80 ? [Math.floor(first / 40), first % 40] : [2, first - 80];
  return [...head, ...arcs].join('.');
}

/** encoding/asn1's reading of a string value; undefined for the types Go does not read as a string. */
function stringValue({ tag, contents: body }: DerTlv): string | undefined {
  switch (tag) {
    case 0x0c: // UTF8String
      return body.toString('utf8');
    case 0x12: // NumericString
    case 0x13: // PrintableString
    case 0x16: // IA5String
    case 0x14: // T61String: Go keeps the bytes
      return body.toString('latin1');
    case 0x1e: // BMPString
      return Buffer.from(body).swap16().toString('utf16le');
    default:
      return undefined;
  }
}

// encoding/asn1 marshals a Go string as PrintableString when every byte is printable (asterisk allowed,
// ampersand not), else as UTF8String.
const PRINTABLE = /^[A-Za-z0-9 '()+,\-./:=?*]*$/;
function marshalGoString(s: string): Buffer {
  const body = Buffer.from(s, 'utf8');
  const tag = PRINTABLE.test(s) ? 0x13 : 0x0c;
  const len = body.length < 0x80 ? [body.length] : body.length < 0x100 ? [0x81, body.length] : [0x82, body.length >> 8, body.length & 0xff];
  return Buffer.concat([Buffer.from([tag, ...len]), body]);
}

const NAMED: ReadonlyMap<string, string> = new Map([
  ['2.5.4.6', 'C'], ['2.5.4.8', 'ST'], ['2.5.4.7', 'L'], ['2.5.4.9', 'STREET'], ['2.5.4.17', 'POSTALCODE'],
  ['2.5.4.10', 'O'], ['2.5.4.11', 'OU'], ['2.5.4.3', 'CN'], ['2.5.4.5', 'SERIALNUMBER'],
]);
/** ToRDNSequence's order of the named attributes. */
const ORDER = ['2.5.4.6', '2.5.4.8', '2.5.4.7', '2.5.4.9', '2.5.4.17', '2.5.4.10', '2.5.4.11', '2.5.4.3', '2.5.4.5'];
const SINGLE = new Set(['2.5.4.3', '2.5.4.5']); // CommonName and SerialNumber keep the last value only

function escapeValue(value: string): string {
  const chars = [...value];
  return chars
    .map((c, i) => (',+"\\<>;'.includes(c) || (c === ' ' && (i === 0 || i === chars.length - 1)) || (c === '#' && i === 0) ? `\\${c}` : c))
    .join('');
}

type Atv = { type: string; value: string } | { type: string; hex: string };

/** The subject of a DER certificate as Go's Name.String. */
export function goSubjectString(certDer: Buffer): string {
  try {
    return subjectString(certDer);
  } catch {
    throw new Error('x509: malformed certificate'); // Go's wording for any DER it cannot read
  }
}

function subjectString(certDer: Buffer): string {
  const tbs = children(readTlv(certDer, 0).contents)[0];
  if (!tbs) throw new Error('x509: malformed certificate');
  const fields = children(tbs.contents);
  const subject = fields[fields[0]?.tag === 0xa0 ? 5 : 4];
  if (!subject) throw new Error('x509: malformed certificate');
  const named = new Map<string, string[]>();
  const others: Atv[][] = [];
  for (const rdn of children(subject.contents)) {
    for (const atv of children(rdn.contents)) {
      const [typeTlv, valueTlv] = children(atv.contents);
      if (!typeTlv || !valueTlv) continue;
      const type = oidString(typeTlv.contents);
      const value = stringValue(valueTlv);
      if (NAMED.has(type)) {
        if (value !== undefined) named.set(type, SINGLE.has(type) ? [value] : [...(named.get(type) ?? []), value]);
        continue;
      }
      others.push([{ type, hex: (value === undefined ? valueTlv.raw : marshalGoString(value)).toString('hex') }]);
    }
  }
  const rdns: Atv[][] = [...others];
  for (const type of ORDER) {
    const values = named.get(type);
    if (values?.length && !(SINGLE.has(type) && values[0] === '')) rdns.push(values.map((value) => ({ type, value })));
  }
  return rdns
    .reverse()
    .map((rdn) => rdn.map((atv) => ('hex' in atv ? `${atv.type}=#${atv.hex}` : `${NAMED.get(atv.type)}=${escapeValue(atv.value)}`)).join('+'))
    .join(',');
}
