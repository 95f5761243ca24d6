// go-pkcs12's Modern encoder (Modern2023), as ESO's pemToPkcs12, fullPemToPkcs12 and pemTruststoreToPKCS12 call it
// (software.sslmate.com/src/go-pkcs12 pkcs12.go Encode and EncodeTrustStore, crypto.go, mac.go): the certificate
// bags in a PBES2-encrypted SafeContents (PBKDF2-HMAC-SHA-256, 2048 rounds, 16-byte salt, AES-256-CBC), the key in
// a PBES2-shrouded key bag in a plain SafeContents, and an HMAC-SHA-256 MAC keyed by the PKCS#12 KDF (2048 rounds).
// The DER is written here field by field as Go's encoding/asn1 marshals go-pkcs12's structures, so that with the
// same random bytes the output is the same file, byte for byte (ESO's pkcs12_test.go vectors check it).
import { createCipheriv, createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';

/** A source of random bytes (salts, IVs); tests pass ESO's fixed reader. */
export type RandomSource = (size: number) => Buffer;

const ITERATIONS = 2048;
const SALT_LEN = 16;

const OID = {
  data: '1.2.840.113549.1.7.1',
  encryptedData: '1.2.840.113549.1.7.6',
  pbes2: '1.2.840.113549.1.5.13',
  pbkdf2: '1.2.840.113549.1.5.12',
  hmacWithSHA256: '1.2.840.113549.2.9',
  aes256CBC: '2.16.840.1.101.3.4.1.42',
  sha256: '2.16.840.1.101.3.4.2.1',
  certBag: '1.2.840.113549.1.12.10.1.3',
  pkcs8ShroudedKeyBag: '1.2.840.113549.1.12.10.1.2',
  x509Certificate: '1.2.840.113549.1.9.22.1',
  friendlyName: '1.2.840.113549.1.9.20',
  localKeyID: '1.2.840.113549.1.9.21',
  javaTrustStore: '2.16.840.1.113894.746875.1.1',
  anyExtendedKeyUsage: '2.5.29.37.0',
};

// --- DER, as encoding/asn1 writes it ---

function derLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v % 256);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}
const tlv = (tag: number, ...content: Buffer[]) => {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag]), derLength(body.length), body]);
};
const seq = (...content: Buffer[]) => tlv(0x30, ...content);
/** SET OF: Go sorts the encoded elements (DER), since Go 1.15. */
const setOf = (...elements: Buffer[]) => tlv(0x31, ...[...elements].sort((a, b) => Buffer.compare(a, b)));
const octets = (bytes: Buffer) => tlv(0x04, bytes);
const explicit0 = (...content: Buffer[]) => tlv(0xa0, ...content);

function integer(n: number): Buffer {
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v % 256);
  if (bytes.length === 0 || bytes[0]! >= 0x80) bytes.unshift(0);
  return tlv(0x02, Buffer.from(bytes));
}

function oid(dotted: string): Buffer {
  const arcs = dotted.split('.').map(Number);
  const out: number[] = [];
  for (const arc of [arcs[0]! * 40 + arcs[1]!, ...arcs.slice(2)]) {
    const group = [arc % 128];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) group.unshift(0x80 | (v % 128));
    out.push(...group);
  }
  return tlv(0x06, Buffer.from(out));
}

/** A pkcs12Attribute: the value is a SET holding one encoded value. */
const attribute = (id: string, value: Buffer) => seq(oid(id), tlv(0x31, value));

// --- passwords, keys and encryption ---

/** go-pkcs12's bmpString: UCS-2 big-endian; characters outside the BMP are refused. */
function bmpString(s: string): Buffer {
  const out: number[] = [];
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (cp > 0xffff || (cp >= 0xd800 && cp <= 0xdfff)) throw new Error('pkcs12: string contains characters that cannot be encoded in UCS-2');
    out.push(cp >> 8, cp & 0xff);
  }
  return Buffer.from(out);
}

/** The PKCS#12 key derivation (RFC 7292 appendix B.2), for one block of output: enough for the SHA-256 MAC key. */
function pkcs12Kdf(salt: Buffer, password: Buffer, id: number): Buffer {
  const v = 64;
  const fill = (pattern: Buffer) => {
    const size = v * Math.ceil(pattern.length / v);
    return Buffer.from(Array.from({ length: size }, (_, i) => pattern[i % pattern.length]!));
  };
  let a = createHash('sha256').update(Buffer.alloc(v, id)).update(fill(salt)).update(fill(password)).digest();
  for (let i = 1; i < ITERATIONS; i++) a = createHash('sha256').update(a).digest();
  return a;
}

/** PBES2 parameters and the encryption they describe, with the salt and IV read in go-pkcs12's order. */
function pbes2Encrypt(random: RandomSource, plain: Buffer, password: string): { algorithm: Buffer; encrypted: Buffer } {
  const salt = random(SALT_LEN);
  const iv = random(16);
  const algorithm = seq(
    oid(OID.pbes2),
    seq(seq(oid(OID.pbkdf2), seq(octets(salt), integer(ITERATIONS), seq(oid(OID.hmacWithSHA256)))), seq(oid(OID.aes256CBC), octets(iv))),
  );
  // PBES2 takes the password as UTF-8 (RFC 8018), not as the BMP string of the PKCS#12 KDF.
  const key = pbkdf2Sync(Buffer.from(password, 'utf8'), salt, ITERATIONS, 32, 'sha256');
  const cipher = createCipheriv('aes-256-cbc', key, iv);
  return { algorithm, encrypted: Buffer.concat([cipher.update(plain), cipher.final()]) };
}

function certBag(der: Buffer, attributes: Buffer[]): Buffer {
  return seq(oid(OID.certBag), explicit0(seq(oid(OID.x509Certificate), explicit0(octets(der)))), setOf(...attributes));
}

/** ContentInfo of an encrypted SafeContents. */
function encryptedSafe(random: RandomSource, bags: Buffer[], password: string): Buffer {
  const { algorithm, encrypted } = pbes2Encrypt(random, seq(...bags), password);
  return seq(oid(OID.encryptedData), explicit0(seq(integer(0), seq(oid(OID.data), algorithm, tlv(0x80, encrypted)))));
}

/** The PFX around an AuthenticatedSafe, with its MAC. */
function pfx(random: RandomSource, safes: Buffer[], password: string): Buffer {
  const authSafe = seq(...safes);
  const macSalt = random(SALT_LEN);
  const macKey = pkcs12Kdf(macSalt, Buffer.concat([bmpString(password), Buffer.alloc(2)]), 3);
  const digest = createHmac('sha256', macKey).update(authSafe).digest();
  const macData = seq(seq(seq(oid(OID.sha256)), octets(digest)), octets(macSalt), integer(ITERATIONS));
  return seq(integer(3), seq(oid(OID.data), explicit0(octets(authSafe))), macData);
}

const defaultRandom: RandomSource = (size) => randomBytes(size);

/**
 * go-pkcs12 Modern.Encode: `pkcs8Key` is the key as x509.MarshalPKCS8PrivateKey writes it, `cert` and `caCerts` DER
 * certificates. The leaf's bag and the key bag carry localKeyId = SHA-1 of the leaf certificate.
 */
export function encodePkcs12(pkcs8Key: Buffer, cert: Buffer, caCerts: Buffer[], password: string, random = defaultRandom): Buffer {
  bmpString(password);
  const localKeyId = attribute(OID.localKeyID, octets(createHash('sha1').update(cert).digest()));
  const bags = [certBag(cert, [localKeyId]), ...caCerts.map((der) => certBag(der, []))];
  const shrouded = pbes2Encrypt(random, pkcs8Key, password);
  const keyBag = seq(oid(OID.pkcs8ShroudedKeyBag), explicit0(seq(shrouded.algorithm, octets(shrouded.encrypted))), setOf(localKeyId));
  const certSafe = encryptedSafe(random, bags, password);
  const keySafe = seq(oid(OID.data), explicit0(octets(seq(keyBag))));
  return pfx(random, [certSafe, keySafe], password);
}

/**
 * go-pkcs12 Modern.EncodeTrustStore: each certificate trusted for any purpose (Java's trusted-key-usage attribute)
 * and named by its subject as Go's pkix.Name.String prints it.
 */
export function encodePkcs12TrustStore(certs: { der: Buffer; subject: string }[], password: string, random = defaultRandom): Buffer {
  bmpString(password);
  const trusted = attribute(OID.javaTrustStore, oid(OID.anyExtendedKeyUsage));
  const bags = certs.map(({ der, subject }) => certBag(der, [trusted, attribute(OID.friendlyName, tlv(0x1e, bmpString(subject)))]));
  return pfx(random, [encryptedSafe(random, bags, password)], password);
}
