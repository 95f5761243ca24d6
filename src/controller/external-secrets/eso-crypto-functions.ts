// ESO's own template functions over keys and certificates (runtime/template/v2: pkcs12.go, jwk.go, decrypt.go,
// pem.go's certSANs and filterCertChain, pem_chain.go's chain ordering), with ESO's error texts. PKCS#12 is read
// with node-forge (RSA keys, as go-pkcs12 reads them) and written as go-pkcs12's Modern encoder does
// (pkcs12-encoder.ts), certificates with @peculiar/x509, keys with node:crypto.
import { constants, createPrivateKey, createPublicKey, privateDecrypt, X509Certificate, type JsonWebKey, type KeyObject } from 'node:crypto';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import forge from 'node-forge';
import { decodePem, encodePem } from '../../lib/go/pem.js';
import { goSubjectString } from './go-pkix-name.js';
import { encodePkcs12, encodePkcs12TrustStore, type RandomSource } from './pkcs12-encoder.js';

const pemOf = (type: string, der: Uint8Array | ArrayBuffer) => encodePem({ type, headers: {}, bytes: Buffer.from(der instanceof ArrayBuffer ? new Uint8Array(der) : der) });

/** ESO's trimJunk, then pem.Decode's first block. */
function firstBlock(input: string) {
  const at = input.indexOf('-----BEGIN');
  return decodePem(at < 0 ? input : input.slice(at));
}

export function jwkPublicKeyPem(json: string): string {
  const key = createPublicKey({ key: parseJwk(json), format: 'jwk' });
  return pemOf('PUBLIC KEY', key.export({ type: 'spki', format: 'der' }));
}

export function jwkPrivateKeyPem(json: string): string {
  const key = createPrivateKey({ key: parseJwk(json), format: 'jwk' });
  return pemOf('PRIVATE KEY', key.export({ type: 'pkcs8', format: 'der' }));
}

function parseJwk(json: string): JsonWebKey {
  let jwk: unknown;
  try {
    jwk = JSON.parse(json);
  } catch (e) {
    throw new Error(`failed to unmarshal JSON into key hint: ${(e as Error).message}`);
  }
  if (!jwk || typeof jwk !== 'object' || typeof (jwk as { kty?: unknown }).kty !== 'string') throw new Error('failed to parse key: invalid key type from JSON ()');
  return jwk as JsonWebKey;
}

/** x509.ParsePKCS1PrivateKey, then PKCS8, then EC, as ESO's parsePrivateKey tries them. */
function parsePrivateKey(der: Buffer): KeyObject {
  for (const type of ['pkcs1', 'pkcs8', 'sec1'] as const) {
    try {
      return createPrivateKey({ key: der, format: 'der', type });
    } catch {
      // try the next encoding
    }
  }
  throw new Error('could not parse private key: unable to parse private key type');
}

const OAEP_HASHES: Readonly<Record<string, string>> = { None: 'sha256', SHA1: 'sha1', SHA256: 'sha256', SHA512: 'sha512' };

export function rsaDecrypt(scheme: string, hash: string, input: Buffer, privateKeyPem: string): Buffer {
  if (scheme === 'None') return input;
  if (scheme !== 'RSA-OAEP') throw new Error(`decryption scheme ${scheme} is not supported`);
  const { block } = decodePem(privateKeyPem);
  if (!block) throw new Error('failed to decode PEM block');
  const key = parsePrivateKey(block.bytes);
  if (key.asymmetricKeyType !== 'rsa') throw new Error('could not parse RSA private key');
  try {
    return privateDecrypt({ key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: OAEP_HASHES[hash] ?? 'sha256' }, input);
  } catch {
    throw new Error('error decrypting data with RSA: crypto/rsa: decryption error');
  }
}

function parseCertificate(der: Buffer): x509.X509Certificate {
  try {
    return new x509.X509Certificate(new Uint8Array(der));
  } catch (e) {
    throw new Error(`failed to parse certificate: x509: malformed certificate (${(e as Error).message})`);
  }
}

/** Subject alternative names in Go's order: DNS names, IP addresses, email addresses, URIs. */
export function certSANs(input: string): string[] {
  const { block } = firstBlock(input);
  if (!block) throw new Error('failed to decode PEM block');
  const cert = parseCertificate(block.bytes);
  const names = cert.getExtension(x509.SubjectAlternativeNameExtension)?.names.items ?? [];
  const of = (type: string) => names.filter((n) => n.type === type).map((n) => n.value);
  // Go's net.IP.String compresses IPv6; the URL parser does the same.
  const ips = of('ip').map((ip) => (ip.includes(':') ? new URL(`http://[${ip}]`).hostname.slice(1, -1) : ip));
  return [...of('dns'), ...ips, ...of('email'), ...of('url')];
}

interface ChainNode {
  cert: x509.X509Certificate;
  ski: string | undefined;
  aki: string | undefined;
  parent?: ChainNode;
  isParent?: boolean;
}

function chainNodes(input: string): ChainNode[] {
  const nodes: ChainNode[] = [];
  let data = input;
  for (;;) {
    const { block, rest } = decodePem(data);
    if (!block) break;
    data = rest;
    if (block.type !== 'CERTIFICATE') throw new Error('x509: malformed certificate');
    const cert = parseCertificate(block.bytes);
    nodes.push({
      cert,
      ski: cert.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId,
      aki: cert.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId,
    });
  }
  if (nodes.length === 0) throw new Error('no leaf certificate found');
  return nodes;
}

/** pem_chain.go's fetchX509CertChains: leaf first, each followed by its issuer (by key identifiers). */
function orderedChain(input: string): ChainNode[] {
  const nodes = chainNodes(input);
  for (const child of nodes) {
    const parent = nodes.find((p) => p !== child && (child.aki ?? '') === (p.ski ?? ''));
    if (parent) {
      parent.isParent = true;
      child.parent = parent;
    }
  }
  const leaves = nodes.filter((n) => !n.isParent);
  if (leaves.length > 1) throw new Error('found multiple leaf or disjunct certificates');
  if (leaves.length === 0) throw new Error('no leaf certificate found');
  const out: ChainNode[] = [];
  for (let n: ChainNode | undefined = leaves[0]; n; n = n.parent) {
    if (out.length >= nodes.length) throw new Error('constructing chain resulted in cycle');
    out.push(n);
  }
  return out;
}

const isRoot = (n: ChainNode) => n.aki === undefined || n.aki === n.ski;
const certPem = (n: ChainNode) => pemOf('CERTIFICATE', n.cert.rawData);

/** ESO's filterCertChain: "leaf", "intermediate" or "root" of the ordered chain, or "". */
export function filterCertChain(certType: string, input: string): string {
  const ordered = orderedChain(input);
  switch (certType) {
    case 'leaf':
      return isRoot(ordered[0]!) ? '' : certPem(ordered[0]!);
    case 'intermediate': {
      let out = '';
      for (const n of ordered.slice(1)) {
        if (isRoot(n)) break;
        out += certPem(n);
      }
      return out;
    }
    case 'root':
      return isRoot(ordered[ordered.length - 1]!) ? certPem(ordered[ordered.length - 1]!) : '';
    default:
      return '';
  }
}

interface Pkcs12Contents {
  key: forge.pki.rsa.PrivateKey | undefined;
  /** DER certificates: forge parses RSA ones only, and hands the others back as ASN.1 (EC certificates in a chain). */
  certs: Buffer[];
}

const forgeDer = (asn1: forge.asn1.Asn1) => Buffer.from(forge.asn1.toDer(asn1).getBytes(), 'binary');

function decodePkcs12(input: Buffer, password: string): Pkcs12Contents {
  let p12: forge.pkcs12.Pkcs12Pfx;
  try {
    p12 = forge.pkcs12.pkcs12FromAsn1(forge.asn1.fromDer(forge.util.createBuffer(input.toString('binary'))), false, password);
  } catch (e) {
    const message = (e as Error).message;
    throw new Error(/MAC could not be verified|Invalid password/i.test(message) ? 'pkcs12: decryption password incorrect' : `pkcs12: error reading P12 data: ${message}`);
  }
  const bags = (type: string) => p12.getBags({ bagType: type })[type] ?? [];
  const key = [...bags(forge.pki.oids.pkcs8ShroudedKeyBag!), ...bags(forge.pki.oids.keyBag!)].find((b) => b.key)?.key;
  const certs = bags(forge.pki.oids.certBag!).flatMap((b) => (b.cert ? [forgeDer(forge.pki.certificateToAsn1(b.cert))] : b.asn1 ? [forgeDer(b.asn1)] : []));
  return { key, certs };
}

export function pkcs12keyPass(password: string, input: Buffer): string {
  let contents: Pkcs12Contents;
  try {
    contents = decodePkcs12(input, password);
    if (!contents.key) throw new Error('pkcs12: expected exactly one key bag');
  } catch (e) {
    throw new Error(`unable to decode pkcs12 with password: ${(e as Error).message}`);
  }
  const der = forge.asn1.toDer(forge.pki.wrapRsaPrivateKey(forge.pki.privateKeyToAsn1(contents.key))).getBytes();
  return pemOf('PRIVATE KEY', Buffer.from(der, 'binary'));
}

export function pkcs12certPass(password: string, input: Buffer): string {
  let contents: Pkcs12Contents;
  try {
    contents = decodePkcs12(input, password);
    if (contents.certs.length === 0) throw new Error('pkcs12: certificate missing');
  } catch (e) {
    throw new Error(`unable to decode pkcs12 certificate with password: ${(e as Error).message}`);
  }
  // go-pkcs12's DecodeChain: the certificate of the key first, the others as CA certificates, in file order.
  const key = contents.key && createPrivateKey(forge.pki.privateKeyToPem(contents.key));
  const leaf = (key && contents.certs.find((c) => new X509Certificate(c).checkPrivateKey(key))) || contents.certs[0]!;
  const pem = [leaf, ...contents.certs.filter((c) => c !== leaf)].map((c) => pemOf('CERTIFICATE', c)).join('');
  try {
    return orderedChain(pem).map(certPem).join('');
  } catch {
    return pem; // ESO keeps the file's order when the certificates do not form one chain
  }
}

const NIL_DEREFERENCE = 'runtime error: invalid memory address or nil pointer dereference';

/** pem.Decode's next block and x509.ParseCertificate of it, as ESO's pkcs12.go reads certificates. */
function nextCertificate(text: string): { der: Buffer; rest: string } {
  const { block, rest } = decodePem(text);
  if (!block) throw new Error(NIL_DEREFERENCE); // ESO dereferences pem.Decode's nil block
  parseCertificate(block.bytes);
  return { der: block.bytes, rest };
}

/** ESO's parseCaCerts: every block up to the end of the text (anything left after the last block is a nil block). */
function caCertificates(text: string): Buffer[] {
  const certs: Buffer[] = [];
  for (let rest = text; rest.length > 0; ) {
    const next = nextCertificate(rest);
    certs.push(next.der);
    rest = next.rest;
  }
  return certs;
}

/** ESO's certsKeyToPkcs12: the key of the first PEM block (PKCS#1, PKCS#8 or SEC 1) in go-pkcs12's Modern encoding. */
function certsKeyToPkcs12(cert: Buffer, keyText: string, caCerts: Buffer[], password: string, random?: RandomSource): string {
  const { block: keyBlock } = decodePem(keyText);
  if (!keyBlock) throw new Error(NIL_DEREFERENCE);
  let key: KeyObject;
  try {
    key = parsePrivateKey(keyBlock.bytes);
  } catch {
    throw new Error('unable to parse private key type');
  }
  const pkcs8 = key.export({ type: 'pkcs8', format: 'der' });
  return encodePkcs12(pkcs8, cert, caCerts, password, random).toString('base64');
}

/** ESO's pemToPkcs12Pass: the first certificate of `certText` and the key as a base64 PKCS#12 file. */
export function pemToPkcs12Pass(certText: string, keyText: string, password: string, random?: RandomSource): string {
  return certsKeyToPkcs12(nextCertificate(certText).der, keyText, [], password, random);
}

/** ESO's fullPemToPkcs12Pass: as pemToPkcs12Pass, the certificates after the first as CA certificates. */
export function fullPemToPkcs12Pass(certText: string, keyText: string, password: string, random?: RandomSource): string {
  const { der, rest } = nextCertificate(certText);
  return certsKeyToPkcs12(der, keyText, caCertificates(rest), password, random);
}

/** ESO's pemTruststoreToPKCS12Pass: every certificate of the text in a PKCS#12 trust store (Java's trusted entries). */
export function pemTruststoreToPkcs12Pass(certText: string, password: string, random?: RandomSource): string {
  const certs = caCertificates(certText).map((der) => ({ der, subject: goSubjectString(der) }));
  return encodePkcs12TrustStore(certs, password, random).toString('base64');
}
