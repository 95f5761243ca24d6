// Sprig v3's crypto functions that make or transform keys (Masterminds/sprig crypto.go, the copy ESO vendors in
// runtime/template/v2/sprig): derivePassword (the Master Password algorithm), encryptAES/decryptAES (AES-256-CBC with
// the password zero-padded into the key, the IV in front, base64), genPrivateKey, buildCustomCert and the certificate
// generators genCA, genSelfSignedCert, genSignedCert (+ WithKey). Certificates are built with node-forge and signed
// with RSA-SHA256 as Go's x509.CreateCertificate signs with an RSA key; the WithKey forms take RSA keys only.
import { createCipheriv, createDecipheriv, createHmac, createPrivateKey, generateKeyPairSync, randomBytes, scryptSync, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import forge from 'node-forge';
import { decodeBase64Std } from '../../lib/go/encoding.js';
import { decodePem, encodePem } from '../../lib/go/pem.js';
import type { TemplateFunction, TemplateValue } from './template-functions.js';

type Dict = { [key: string]: TemplateValue };
const isDict = (v: TemplateValue | undefined): v is Dict => !!v && typeof v === 'object' && !Buffer.isBuffer(v) && !Array.isArray(v) && !(v instanceof Date);
const pem = (type: string, der: Buffer) => encodePem({ type, headers: {}, bytes: der });

// The Master Password algorithm's templates and character classes (sprig's passwordTypeTemplates).
const PASSWORD_TEMPLATES: Readonly<Record<string, string[]>> = {
  maximum: ['anoxxxxxxxxxxxxxxxxx', 'axxxxxxxxxxxxxxxxxno'],
  long: [
    'CvcvnoCvcvCvcv', 'CvcvCvcvnoCvcv', 'CvcvCvcvCvcvno', 'CvccnoCvcvCvcv', 'CvccCvcvnoCvcv', 'CvccCvcvCvcvno', 'CvcvnoCvccCvcv',
    'CvcvCvccnoCvcv', 'CvcvCvccCvcvno', 'CvcvnoCvcvCvcc', 'CvcvCvcvnoCvcc', 'CvcvCvcvCvccno', 'CvccnoCvccCvcv', 'CvccCvccnoCvcv',
    'CvccCvccCvcvno', 'CvcvnoCvccCvcc', 'CvcvCvccnoCvcc', 'CvcvCvccCvccno', 'CvccnoCvcvCvcc', 'CvccCvcvnoCvcc', 'CvccCvcvCvccno',
  ],
  medium: ['CvcnoCvc', 'CvcCvcno'],
  short: ['Cvcn'],
  basic: ['aaanaaan', 'aannaaan', 'aaannaaa'],
  pin: ['nnnn'],
};
const PASSWORD_CHARACTERS: Readonly<Record<string, string>> = {
  V: 'AEIOU',
  C: 'BCDFGHJKLMNPQRSTVWXYZ',
  v: 'aeiou',
  c: 'bcdfghjklmnpqrstvwxyz',
  A: 'AEIOUBCDFGHJKLMNPQRSTVWXYZ',
  a: 'AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz',
  n: '0123456789',
  o: "@&%?,=[]_:-+*$#!'^~;()/.",
  x: 'AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz0123456789!@#$%^&*()',
};
const MASTER_PASSWORD_SEED = 'com.lyndir.masterpassword';

export function derivePassword(counter: number, type: string, password: string, user: string, site: string): string {
  const templates = PASSWORD_TEMPLATES[type];
  if (!templates) return `cannot find password template ${type}`;
  if (!Number.isInteger(counter) || counter < 0 || counter > 0xffffffff) throw new Error(`counter ${counter} overflows uint32`);
  const lengthPrefixed = (s: string) => {
    const b = Buffer.from(s);
    const n = Buffer.alloc(4);
    n.writeUInt32BE(b.length);
    return Buffer.concat([Buffer.from(MASTER_PASSWORD_SEED), n, b]);
  };
  // scrypt N=32768 r=8 needs 32 MiB, just above Node's default limit.
  const key = scryptSync(password, lengthPrefixed(user), 64, { N: 32768, r: 8, p: 2, maxmem: 64 * 1024 * 1024 });
  const c = Buffer.alloc(4);
  c.writeUInt32BE(counter);
  const seed = createHmac('sha256', key).update(Buffer.concat([lengthPrefixed(site), c])).digest();
  const template = templates[seed[0]! % templates.length]!;
  return [...template].map((cls, i) => {
    const chars = PASSWORD_CHARACTERS[cls]!;
    return chars[seed[i + 1]! % chars.length];
  }).join('');
}

/** sprig's AES key: the password's bytes copied into 32 zero bytes (longer passwords are cut). */
function aesKey(password: string): Buffer {
  const key = Buffer.alloc(32);
  Buffer.from(password).copy(key);
  return key;
}

export function encryptAES(password: string, plaintext: string): string {
  if (plaintext === '') return '';
  const iv = randomBytes(16);
  const cipher = createCipheriv('aes-256-cbc', aesKey(password), iv); // PKCS#7 padding, as sprig pads
  return Buffer.concat([iv, cipher.update(plaintext), cipher.final()]).toString('base64');
}

/** sprig's decryptAES: no padding check (a wrong key gives other bytes, not an error); Go's panics become errors. */
export function decryptAES(password: string, crypt64: string): Buffer {
  if (crypt64 === '') return Buffer.alloc(0);
  const crypt = decodeBase64Std(crypt64);
  if (crypt.length < 16) throw new Error(`runtime error: slice bounds out of range [:16] with capacity ${crypt.length}`);
  const body = crypt.subarray(16);
  if (body.length % 16 !== 0) throw new Error('crypto/cipher: input not full blocks');
  if (body.length === 0) throw new Error('runtime error: index out of range [-1]');
  const decipher = createDecipheriv('aes-256-cbc', aesKey(password), crypt.subarray(0, 16)).setAutoPadding(false);
  const plain = Buffer.concat([decipher.update(body), decipher.final()]);
  const end = plain.length - plain[plain.length - 1]!;
  if (end < 0) throw new Error(`runtime error: slice bounds out of range [:${end}]`);
  return plain.subarray(0, end);
}

/** pemBlockForKey: PKCS#1 for RSA, SEC 1 for EC, PKCS#8 for the rest. */
function keyPem(key: KeyObject): string {
  if (key.asymmetricKeyType === 'rsa') return pem('RSA PRIVATE KEY', key.export({ type: 'pkcs1', format: 'der' }));
  if (key.asymmetricKeyType === 'ec') return pem('EC PRIVATE KEY', key.export({ type: 'sec1', format: 'der' }));
  return pem('PRIVATE KEY', key.export({ type: 'pkcs8', format: 'der' }));
}

export function genPrivateKey(type: string): string {
  switch (type) {
    case '':
    case 'rsa':
      return keyPem(generateKeyPairSync('rsa', { modulusLength: 4096 }).privateKey);
    case 'ecdsa':
      return keyPem(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey);
    case 'ed25519':
      return keyPem(generateKeyPairSync('ed25519').privateKey);
    case 'dsa':
      throw new Error('dsa keys are not supported in Coffer (Go deprecates crypto/dsa)');
    default:
      return `Unknown type ${type}`;
  }
}

/** sprig's parsePrivateKeyPEM, with its error texts. */
function parsePrivateKeyPem(text: string): KeyObject {
  const { block } = decodePem(text);
  if (!block) throw new Error('no PEM data in input');
  const parse = (type: 'pkcs8' | 'pkcs1' | 'sec1', what: string) => {
    try {
      return createPrivateKey({ key: block.bytes, format: 'der', type });
    } catch (e) {
      throw new Error(`${what}: ${(e as Error).message}`);
    }
  };
  if (block.type === 'PRIVATE KEY') return parse('pkcs8', 'decoding PEM as PKCS#8');
  if (!block.type.endsWith(' PRIVATE KEY')) throw new Error(`no private key data in PEM block of type ${block.type}`);
  switch (block.type.slice(0, -12)) {
    case 'RSA':
      return parse('pkcs1', 'parsing RSA private key from PEM');
    case 'EC':
      return parse('sec1', 'parsing EC private key from PEM');
    default:
      throw new Error(`invalid private key type ${block.type}`);
  }
}

function forgeKey(key: KeyObject): forge.pki.rsa.PrivateKey {
  if (key.asymmetricKeyType !== 'rsa') throw new Error(`Coffer signs generated certificates with RSA keys only, got a ${key.asymmetricKeyType} key`);
  return forge.pki.privateKeyFromPem(key.export({ type: 'pkcs1', format: 'pem' }) as string);
}

function certificateOf(der: Buffer, what: string): forge.pki.Certificate {
  try {
    return forge.pki.certificateFromAsn1(forge.asn1.fromDer(der.toString('binary')));
  } catch (e) {
    throw new Error(`error parsing certificate: ${what}: ${(e as Error).message}`);
  }
}

function strings(v: TemplateValue | undefined, what: string): string[] {
  if (v === null || v === undefined) return [];
  if (!Array.isArray(v)) throw new Error(`wrong type for value; expected []interface {}; got ${typeof v}`);
  return v.map((e) => {
    if (typeof e !== 'string') throw new Error(`${what}: ${JSON.stringify(e)} is not a string`);
    return e;
  });
}

interface CertRequest {
  cn: string;
  ips: string[];
  dnsNames: string[];
  days: number;
  isCA: boolean;
}

/** getBaseCertTemplate + getCertAndKey: a random 128-bit serial, server and client auth, signed by the parent. */
function makeCertificate(req: CertRequest, subjectKey: KeyObject, parent?: { cert: forge.pki.Certificate; key: forge.pki.rsa.PrivateKey }): Dict {
  const priv = forgeKey(subjectKey);
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.setRsaPublicKey(priv.n, priv.e);
  const serial = randomBytes(16).toString('hex').replace(/^(00)+/, '');
  cert.serialNumber = (parseInt(serial.slice(0, 2) || '0', 16) >= 0x80 ? '00' : '') + (serial || '00');
  const now = new Date();
  cert.validity.notBefore = now;
  cert.validity.notAfter = new Date(now.getTime() + req.days * 24 * 3600 * 1000);
  const subject = req.cn === '' ? [] : [{ name: 'commonName', value: req.cn }];
  cert.setSubject(subject);
  cert.setIssuer(parent ? parent.cert.subject.attributes : subject);
  const extensions: object[] = [
    { name: 'keyUsage', critical: true, digitalSignature: true, keyEncipherment: true, keyCertSign: req.isCA },
    { name: 'extKeyUsage', serverAuth: true, clientAuth: true },
    { name: 'basicConstraints', critical: true, cA: req.isCA },
  ];
  const altNames = [...req.dnsNames.map((value) => ({ type: 2, value })), ...req.ips.map((ip) => ({ type: 7, ip }))];
  if (altNames.length > 0) extensions.push({ name: 'subjectAltName', altNames });
  // Go adds a subject key id to CA certificates and takes the authority key id from the parent's.
  if (req.isCA) extensions.push({ name: 'subjectKeyIdentifier' });
  const parentSki: { subjectKeyIdentifier?: string } | undefined = parent?.cert.getExtension('subjectKeyIdentifier');
  if (parentSki?.subjectKeyIdentifier) extensions.push({ name: 'authorityKeyIdentifier', keyIdentifier: forge.util.hexToBytes(parentSki.subjectKeyIdentifier) });
  cert.setExtensions(extensions);
  cert.sign(parent?.key ?? priv, forge.md.sha256.create());
  const der = Buffer.from(forge.asn1.toDer(forge.pki.certificateToAsn1(cert)).getBytes(), 'binary');
  return { Cert: pem('CERTIFICATE', der), Key: keyPem(subjectKey) };
}

const newRsaKey = () => generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;

function request(cn: string, ips: TemplateValue | undefined, dns: TemplateValue | undefined, days: number, isCA: boolean): CertRequest {
  const ipList = strings(ips, 'error parsing ip');
  for (const ip of ipList) if (isIP(ip) === 0) throw new Error(`error parsing ip: ${ip}`);
  return { cn, ips: ipList, dnsNames: strings(dns, 'error processing alternate dns name'), days, isCA };
}

function signer(ca: TemplateValue | undefined): { cert: forge.pki.Certificate; key: forge.pki.rsa.PrivateKey } {
  if (!isDict(ca) || typeof ca['Cert'] !== 'string' || typeof ca['Key'] !== 'string') throw new Error('wrong type for value; expected sprig.certificate (a genCA result)');
  const { block } = decodePem(ca['Cert']);
  if (!block) throw new Error('unable to decode certificate');
  const cert = certificateOf(block.bytes, 'decodedSignerCert.Bytes');
  let key: KeyObject;
  try {
    key = parsePrivateKeyPem(ca['Key']);
  } catch (e) {
    throw new Error(`error parsing private key: ${(e as Error).message}`);
  }
  return { cert, key: forgeKey(key) };
}

function withKey(keyText: string): KeyObject {
  try {
    return parsePrivateKeyPem(keyText);
  } catch (e) {
    throw new Error(`parsing private key: ${(e as Error).message}`);
  }
}

export function buildCustomCert(b64cert: string, b64key: string): Dict {
  const decode = (v: string, what: string) => {
    try {
      return decodeBase64Std(v).toString('binary');
    } catch {
      throw new Error(`unable to decode base64 ${what}`);
    }
  };
  const cert = decode(b64cert, 'certificate');
  const key = decode(b64key, 'private key');
  const { block } = decodePem(cert);
  if (!block) throw new Error('unable to decode certificate');
  certificateOf(block.bytes, 'decodedCert.Bytes');
  try {
    parsePrivateKeyPem(key);
  } catch (e) {
    throw new Error(`error parsing private key: ${(e as Error).message}`);
  }
  return { Cert: cert, Key: key };
}

export function sprigCryptoFunctions(h: { str: (v: TemplateValue | undefined) => string; num: (v: TemplateValue | undefined) => number; arity: (name: string, args: TemplateValue[], n: number) => void; bytesToValue: (b: Uint8Array) => TemplateValue }): Record<string, TemplateFunction> {
  const { str, arity } = h;
  const int = (v: TemplateValue | undefined) => Math.trunc(h.num(v));
  return {
    derivePassword: (...a) => (arity('derivePassword', a, 5), derivePassword(int(a[0]), str(a[1]), str(a[2]), str(a[3]), str(a[4]))),
    encryptAES: (...a) => (arity('encryptAES', a, 2), encryptAES(str(a[0]), str(a[1]))),
    decryptAES: (...a) => (arity('decryptAES', a, 2), h.bytesToValue(decryptAES(str(a[0]), str(a[1])))),
    genPrivateKey: (...a) => (arity('genPrivateKey', a, 1), genPrivateKey(str(a[0]))),
    buildCustomCert: (...a) => (arity('buildCustomCert', a, 2), buildCustomCert(str(a[0]), str(a[1]))),
    genCA: (...a) => (arity('genCA', a, 2), makeCertificate(request(str(a[0]), null, null, int(a[1]), true), newRsaKey())),
    genCAWithKey: (...a) => (arity('genCAWithKey', a, 3), makeCertificate(request(str(a[0]), null, null, int(a[1]), true), withKey(str(a[2])))),
    genSelfSignedCert: (...a) => (arity('genSelfSignedCert', a, 4), makeCertificate(request(str(a[0]), a[1], a[2], int(a[3]), false), newRsaKey())),
    genSelfSignedCertWithKey: (...a) => (arity('genSelfSignedCertWithKey', a, 5), makeCertificate(request(str(a[0]), a[1], a[2], int(a[3]), false), withKey(str(a[4])))),
    genSignedCert: (...a) => (arity('genSignedCert', a, 5), makeCertificate(request(str(a[0]), a[1], a[2], int(a[3]), false), newRsaKey(), signer(a[4]))),
    genSignedCertWithKey: (...a) => (arity('genSignedCertWithKey', a, 6), makeCertificate(request(str(a[0]), a[1], a[2], int(a[3]), false), withKey(str(a[5])), signer(a[4]))),
  };
}
