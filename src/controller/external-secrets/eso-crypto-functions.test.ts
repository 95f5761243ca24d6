import assert from 'node:assert/strict';
import { constants, generateKeyPairSync, publicEncrypt, type KeyObject } from 'node:crypto';
import { describe, it } from 'node:test';
import forge from 'node-forge';
import { GoTemplate } from './go-template.js';
import type { TemplateValue } from './template-functions.js';

const render = (text: string, data: Record<string, TemplateValue> = {}) =>
  GoTemplate.parse('k', text).execute(data, { timeoutMs: 60_000, maxOutputBytes: 1 << 20 }).toString();

// A root → intermediate → leaf chain with key identifiers, as ESO's _testdata holds, made here with node-forge.
function rsaKeys(): { node: KeyObject; forgeKey: forge.pki.rsa.PrivateKey; forgePub: forge.pki.rsa.PublicKey } {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const forgeKey = forge.pki.privateKeyFromPem(privateKey.export({ type: 'pkcs1', format: 'pem' }).toString());
  return { node: privateKey, forgeKey, forgePub: forge.pki.setRsaPublicKey(forgeKey.n, forgeKey.e) };
}
function makeCert(cn: string, keys: ReturnType<typeof rsaKeys>, issuer: { cn: string; keys: ReturnType<typeof rsaKeys> } | undefined, altNames: object[] = []) {
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.forgePub;
  cert.serialNumber = String(10 + cn.length);
  cert.validity.notBefore = new Date('2026-01-01T00:00:00Z');
  cert.validity.notAfter = new Date('2036-01-01T00:00:00Z');
  cert.setSubject([{ name: 'commonName', value: cn }]);
  cert.setIssuer([{ name: 'commonName', value: issuer?.cn ?? cn }]);
  const exts: object[] = [{ name: 'basicConstraints', cA: !altNames.length }, { name: 'subjectKeyIdentifier' }];
  if (issuer) {
    const skid = forge.pki.getPublicKeyFingerprint(issuer.keys.forgePub).getBytes();
    exts.push({ name: 'authorityKeyIdentifier', keyIdentifier: skid });
  }
  if (altNames.length) exts.push({ name: 'subjectAltName', altNames });
  cert.setExtensions(exts);
  cert.sign((issuer?.keys ?? keys).forgeKey, forge.md.sha256.create());
  return cert;
}
const rootKeys = rsaKeys();
const interKeys = rsaKeys();
const leafKeys = rsaKeys();
const root = makeCert('root-ca', rootKeys, undefined);
const inter = makeCert('intermediate-ca', interKeys, { cn: 'root-ca', keys: rootKeys });
const leaf = makeCert('foo', leafKeys, { cn: 'intermediate-ca', keys: interKeys }, [
  { type: 2, value: 'example.com' }, { type: 2, value: 'www.example.com' }, { type: 7, ip: '192.168.1.10' }, { type: 7, ip: '10.0.0.1' },
  { type: 1, value: 'admin@example.com' }, { type: 6, value: 'https://example.com' },
]);
// Go's pem.Encode: LF and 64 columns (forge writes CRLF).
const pem = (c: forge.pki.Certificate) => forge.pki.certificateToPem(c).replace(/\r\n/g, '\n');
const [ROOT, INTER, LEAF] = [pem(root), pem(inter), pem(leaf)];
const p12 = (password: string, certs: forge.pki.Certificate[]) =>
  Buffer.from(forge.asn1.toDer(forge.pkcs12.toPkcs12Asn1(leafKeys.forgeKey, certs, password, { algorithm: '3des' })).getBytes(), 'binary');

void describe("ESO's key and certificate template functions", () => {
  // Cases follow ESO's runtime/template/v2/pem_test.go (TestFilterCertChain).
  void it('filterCertChain picks leaf, intermediate and root of the ordered chain, in any input order', () => {
    const f = (type: string, ...certs: string[]) => render(`{{ .in | filterCertChain "${type}" }}`, { in: certs.join('') });
    assert.throws(() => f('leaf'), /no leaf certificate found/, 'empty cert chain');
    assert.throws(() => f('leaf', LEAF, rootKeys.node.export({ type: 'pkcs8', format: 'pem' }).toString()), /error calling filterCertChain/, 'cert chain with pkey');
    assert.equal(f('leaf', LEAF), LEAF, 'leaf cert only');
    assert.equal(f('leaf', LEAF, INTER), LEAF, 'cert chain without root');
    assert.equal(f('leaf', ROOT), '', 'root cert only');
    assert.equal(f('leaf', LEAF, INTER, ROOT), LEAF, 'full cert chain');
    assert.equal(f('leaf', ROOT, LEAF, INTER), LEAF, 'full chain, shuffled');
    assert.equal(f('intermediate', LEAF), '', 'intermediate / leaf only');
    assert.equal(f('intermediate', LEAF, INTER), INTER, 'intermediate / chain without root');
    assert.equal(f('intermediate', LEAF, INTER, ROOT), INTER, 'intermediate / full chain');
    assert.equal(f('root', LEAF, INTER), '', 'root / chain without root');
    assert.equal(f('root', INTER, ROOT, LEAF), ROOT, 'root / full chain');
    assert.throws(() => f('leaf', LEAF, ROOT), /found multiple leaf or disjunct certificates/, 'disjunct chain');
  });

  // ESO's pem_test.go (TestCertSANs).
  void it('certSANs lists DNS names, IPs, emails and URIs in that order', () => {
    assert.equal(render('{{ .in | certSANs | join "," }}', { in: LEAF }), 'example.com,www.example.com,192.168.1.10,10.0.0.1,admin@example.com,https://example.com');
    assert.equal(render('{{ .in | certSANs | join "," }}', { in: `junk before${LEAF}` }), 'example.com,www.example.com,192.168.1.10,10.0.0.1,admin@example.com,https://example.com');
    assert.throws(() => render('{{ .in | certSANs }}', { in: 'not a pem' }), /error calling certSANs: failed to decode PEM block/);
    assert.throws(() => render('{{ .in | certSANs }}', { in: '' }), /failed to decode PEM block/);
    assert.equal(render('{{ .in | filterPEM "CERTIFICATE" | certSANs | join "," }}', { in: LEAF + INTER }).split(',')[0], 'example.com');
  });

  // ESO's template_test.go (pkcs12 cases) and pkcs12_test.go.
  void it('pkcs12key/pkcs12cert (with and without password) give the PKCS#8 key and the ordered chain', () => {
    const keyPem = leafKeys.node.export({ type: 'pkcs8', format: 'pem' }).toString();
    const noPass = p12('', [leaf, root, inter]).toString('base64');
    assert.equal(render('{{ .secret | b64dec | pkcs12key }}', { secret: noPass }), keyPem);
    assert.equal(render('{{ .secret | b64dec | pkcs12cert }}', { secret: noPass }), LEAF + INTER + ROOT, 'leaf first, then its issuers');
    const withPass = p12('123456', [leaf]).toString('base64');
    assert.equal(render('{{ .secret | b64dec | pkcs12keyPass "123456" }}', { secret: withPass }), keyPem);
    assert.equal(render('{{ .secret | b64dec | pkcs12certPass "123456" }}', { secret: withPass }), LEAF);
    assert.throws(() => render('{{ .secret | b64dec | pkcs12keyPass "wrong" }}', { secret: withPass }), /unable to decode pkcs12 with password: pkcs12: decryption password incorrect/);
    assert.throws(() => render('{{ .secret | b64dec | pkcs12certPass "wrong" }}', { secret: withPass }), /unable to decode pkcs12 certificate with password: pkcs12: decryption password incorrect/);
    const disjunct = p12('', [leaf, root]).toString('base64');
    assert.equal(render('{{ .secret | b64dec | pkcs12cert }}', { secret: disjunct }), LEAF + ROOT, 'not one chain: the file order is kept');
  });

  // ESO's template_test.go (jwk cases): a JWK gives the PEM of x509.MarshalPKIXPublicKey / MarshalPKCS8PrivateKey.
  void it('jwkPublicKeyPem and jwkPrivateKeyPem', () => {
    for (const { privateKey } of [generateKeyPairSync('rsa', { modulusLength: 2048 }), generateKeyPairSync('ec', { namedCurve: 'P-256' })]) {
      const jwk = JSON.stringify(privateKey.export({ format: 'jwk' }));
      assert.equal(render('{{ .k | jwkPrivateKeyPem }}', { k: jwk }), privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
      const pub = JSON.stringify({ ...privateKey.export({ format: 'jwk' }), d: undefined, p: undefined, q: undefined, dp: undefined, dq: undefined, qi: undefined });
      assert.match(render('{{ .k | jwkPublicKeyPem }}', { k: pub }), /^-----BEGIN PUBLIC KEY-----\n([A-Za-z0-9+/=]{64}\n)*[A-Za-z0-9+/=]{1,64}\n-----END PUBLIC KEY-----\n$/);
    }
    assert.throws(() => render('{{ .k | jwkPublicKeyPem }}', { k: 'nope' }), /error calling jwkPublicKeyPem: failed to unmarshal JSON/);
  });

  // ESO's template_test.go (rsaDecrypt cases: RSA-OAEP with SHA1 and SHA256) and decrypt_test.go.
  void it('rsaDecrypt decrypts RSA-OAEP with the named hash and fails with ESO texts', () => {
    const keyPem = leafKeys.node.export({ type: 'pkcs1', format: 'pem' }).toString();
    for (const [hash, oaepHash] of [['SHA1', 'sha1'], ['SHA256', 'sha256'], ['SHA512', 'sha512']] as const) {
      const crypted = publicEncrypt({ key: leafKeys.node, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash }, Buffer.from('my-secret-value')).toString('base64');
      assert.equal(render(`{{ .key | rsaDecrypt "RSA-OAEP" "${hash}" (.data | b64dec) }}`, { key: keyPem, data: crypted }), 'my-secret-value', hash);
    }
    const crypted = publicEncrypt({ key: leafKeys.node, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' }, Buffer.from('x')).toString('base64');
    assert.throws(() => render('{{ .key | rsaDecrypt "RSA-OAEP" "SHA256" (.data | b64dec) }}', { key: keyPem, data: crypted }), /error decrypting data with RSA: crypto\/rsa: decryption error/);
    assert.throws(() => render('{{ .key | rsaDecrypt "RSA-PKCS1" "SHA1" "x" }}', { key: keyPem }), /decryption scheme RSA-PKCS1 is not supported/);
    assert.throws(() => render('{{ "nope" | rsaDecrypt "RSA-OAEP" "SHA1" "x" }}'), /failed to decode PEM block/);
    assert.equal(render('{{ "k" | rsaDecrypt "None" "SHA1" "plain" }}'), 'plain');
  });
});
