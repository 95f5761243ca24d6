import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createDecipheriv, createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { GoTemplate } from './go-template.js';
import type { TemplateValue } from './template-functions.js';

// Key generation and scrypt take a while on a loaded machine; these tests are about results, not speed.
const render = (text: string, data: Record<string, TemplateValue> = {}) =>
  GoTemplate.parse('k', text).execute(data, { timeoutMs: 120_000, maxOutputBytes: 1 << 20 }).toString();

// Cases follow Masterminds/sprig crypto_test.go (TestDerivePassword, TestGenCA, TestGenSelfSignedCert,
// TestGenSignedCert, TestBuildCustomCert, TestEncryptDecryptAES, TestGenPrivateKey) and ESO's
// runtime/template/v2/pkcs12_test.go (TestPemToPkcs12).
void describe("sprig's crypto functions", () => {
  void it('derivePassword gives the Master Password algorithm results of sprig TestDerivePassword', () => {
    const cases: [string, string][] = [
      ['{{derivePassword 1 "long" "password" "user" "example.com"}}', 'ZedaFaxcZaso9*'],
      ['{{derivePassword 2 "long" "password" "user" "example.com"}}', 'Fovi2@JifpTupx'],
      ['{{derivePassword 1 "maximum" "password" "user" "example.com"}}', 'pf4zS1LjCg&LjhsZ7T2~'],
      ['{{derivePassword 1 "medium" "password" "user" "example.com"}}', 'ZedJuz8$'],
      ['{{derivePassword 1 "basic" "password" "user" "example.com"}}', 'pIS54PLs'],
      ['{{derivePassword 1 "short" "password" "user" "example.com"}}', 'Zed5'],
      ['{{derivePassword 1 "pin" "password" "user" "example.com"}}', '6685'],
    ];
    for (const [tpl, want] of cases) assert.equal(render(tpl), want, tpl);
    assert.equal(render('{{derivePassword 1 "nope" "password" "user" "example.com"}}'), 'cannot find password template nope');
  });

  void it('key-generating functions are bounded by count, not by the 500 ms time limit', () => {
    const withDefaults = (text: string) => GoTemplate.parse('k', text).execute({}).toString();
    assert.equal(withDefaults('{{ derivePassword 1 "pin" "password" "user" "example.com" }}{{ $c := genCA "x" 1 }}'), '6685');
    assert.equal(withDefaults('{{ range until 8 }}{{ htpasswd "u" "p" "sha" | len }}{{ end }}'), '35'.repeat(8));
    assert.throws(() => withDefaults('{{ range until 9 }}{{ htpasswd "u" "p" "sha" }}{{ end }}'), /more than 8 calls of key-generating or password-hashing functions \(htpasswd\)/);
  });

  void it('encryptAES is AES-256-CBC with the zero-padded password as key and the IV first, as openssl reads it', () => {
    assert.equal(render('{{ "plaintext" | encryptAES "secretkey" | decryptAES "secretkey" }}'), 'plaintext');
    assert.equal(render('{{ "" | encryptAES "k" }}|{{ "" | decryptAES "k" }}'), '|');
    const sealed = Buffer.from(render('{{ "a secret value" | encryptAES "secretkey" }}'), 'base64');
    assert.equal(sealed.length, 32, 'a 16-byte IV and one padded block');
    const key = Buffer.alloc(32);
    Buffer.from('secretkey').copy(key);
    const d = createDecipheriv('aes-256-cbc', key, sealed.subarray(0, 16));
    assert.equal(Buffer.concat([d.update(sealed.subarray(16)), d.final()]).toString(), 'a secret value');
    const viaOpenssl = execFileSync('openssl', ['enc', '-d', '-aes-256-cbc', '-K', key.toString('hex'), '-iv', sealed.subarray(0, 16).toString('hex')], { input: sealed.subarray(16) });
    assert.equal(viaOpenssl.toString(), 'a secret value');
    // Two encryptions differ (a fresh IV each time); a wrong key does not fail, as sprig does not check padding.
    assert.notEqual(render('{{ "x" | encryptAES "k" }}'), render('{{ "x" | encryptAES "k" }}'));
    assert.throws(() => render('{{ "not base64!" | decryptAES "k" }}'), /error calling decryptAES: illegal base64 data at input byte 3/);
    assert.throws(() => render('{{ "AAAA" | decryptAES "k" }}'), /error calling decryptAES: runtime error: slice bounds out of range/);
  });

  void it('genCA makes a CA certificate with the common name (sprig TestGenCA)', () => {
    const out = render('{{- $ca := genCA "foo-ca" 365 }}{{ $ca.Cert }}|{{ $ca.Key }}');
    const [certPem, keyPem] = out.split('|');
    assert.match(certPem!, /^-----BEGIN CERTIFICATE-----\n/);
    assert.match(keyPem!, /^-----BEGIN RSA PRIVATE KEY-----\n/);
    const cert = new X509Certificate(certPem!);
    assert.equal(cert.subject, 'CN=foo-ca');
    assert.equal(cert.ca, true);
    assert.equal(cert.verify(cert.publicKey), true, 'self-signed');
    assert.equal(cert.checkPrivateKey(createPrivateKey(keyPem!)), true);
    const days = (Date.parse(cert.validTo) - Date.parse(cert.validFrom)) / 86_400_000;
    assert.ok(Math.abs(days - 365) < 1, `valid for ${days} days`);
    const text = execFileSync('openssl', ['x509', '-noout', '-text'], { input: certPem! }).toString();
    assert.match(text, /CA:TRUE/);
    assert.match(text, /Certificate Sign/);
    assert.match(text, /TLS Web Server Authentication, TLS Web Client Authentication/);
  });

  void it('genSelfSignedCert and genSignedCert carry the IPs and DNS names, signed by the CA (sprig TestGenSelfSignedCert, TestGenSignedCert)', () => {
    const self = new X509Certificate(render('{{ $c := genSelfSignedCert "foo.com" (list "10.0.0.1" "10.0.0.2") (list "bar.com" "bat.com") 365 }}{{ $c.Cert }}'));
    assert.equal(self.subject, 'CN=foo.com');
    assert.equal(self.subjectAltName, 'DNS:bar.com, DNS:bat.com, IP Address:10.0.0.1, IP Address:10.0.0.2');
    assert.equal(self.ca, false);
    assert.ok(BigInt(`0x${self.serialNumber}`) > 0n);

    const out = render('{{- $ca := genCA "foo" 365 }}{{ $c := genSignedCert "foo.com" (list "10.0.0.1" "10.0.0.2") (list "bar.com" "bat.com") 365 $ca }}{{ $ca.Cert }}|{{ $c.Cert }}');
    const [caPem, leafPem] = out.split('|');
    const ca = new X509Certificate(caPem!);
    const leaf = new X509Certificate(leafPem!);
    assert.equal(leaf.subject, 'CN=foo.com');
    assert.equal(leaf.issuer, 'CN=foo');
    assert.equal(leaf.ca, false);
    assert.equal(leaf.checkIssued(ca), true);
    assert.equal(leaf.verify(ca.publicKey), true);
    assert.match(leaf.subjectAltName!, /IP Address:10\.0\.0\.1, IP Address:10\.0\.0\.2/);

    assert.throws(() => render('{{ genSelfSignedCert "x" (list "not-an-ip") nil 1 }}'), /error calling genSelfSignedCert: error parsing ip: not-an-ip/);
    assert.throws(() => render('{{ genSignedCert "x" nil nil 1 "not a ca" }}'), /error calling genSignedCert: wrong type for value; expected sprig.certificate/);
  });

  void it('genCAWithKey signs with the given key; buildCustomCert checks and returns the pair (sprig TestBuildCustomCert)', () => {
    const keyPem = render('{{ genPrivateKey "rsa" }}');
    assert.match(keyPem, /^-----BEGIN RSA PRIVATE KEY-----\n/);
    const out = render('{{ $ca := genCAWithKey "k" 1 .key }}{{ $ca.Key }}|{{ $ca.Cert | b64enc }}', { key: keyPem });
    const [sameKey, certB64] = out.split('|');
    assert.equal(sameKey, keyPem);
    const keyB64 = Buffer.from(keyPem).toString('base64');
    assert.equal(render(`{{ $c := buildCustomCert "${certB64}" "${keyB64}" }}{{ $c.Cert }}`), Buffer.from(certB64!, 'base64').toString());
    assert.throws(() => render(`{{ buildCustomCert "${Buffer.from('fail').toString('base64')}" "${keyB64}" }}`), /error calling buildCustomCert: unable to decode certificate/);
    assert.match(render('{{ genPrivateKey "ecdsa" }}'), /^-----BEGIN EC PRIVATE KEY-----\n/);
    assert.match(render('{{ genPrivateKey "ed25519" }}'), /^-----BEGIN PRIVATE KEY-----\n/);
    assert.equal(render('{{ genPrivateKey "bad" }}'), 'Unknown type bad');
  });

  void it('pemToPkcs12 and pemToPkcs12Pass make a PKCS#12 file that ESO\'s pkcs12 functions and openssl read back', () => {
    const pair = render('{{ $c := genSelfSignedCert "p12.example" nil (list "p12.example") 30 }}{{ $c.Cert }}|{{ $c.Key }}');
    const [certPem, keyPem] = pair.split('|') as [string, string];
    const pfx = render('{{ pemToPkcs12Pass .cert .key "password" }}', { cert: certPem, key: keyPem });
    const der = Buffer.from(pfx, 'base64');
    assert.equal(render('{{ .p12 | pkcs12certPass "password" }}', { p12: der }), certPem);
    const key = render('{{ .p12 | pkcs12keyPass "password" }}', { p12: der });
    assert.equal(new X509Certificate(certPem).checkPrivateKey(createPrivateKey(key)), true);
    assert.throws(() => render('{{ .p12 | pkcs12keyPass "wrong" }}', { p12: der }), /decryption password incorrect/);
    const dir = mkdtempSync(join(tmpdir(), 'coffer-p12-'));
    try {
      writeFileSync(join(dir, 'a.p12'), der);
      const info = execFileSync('openssl', ['pkcs12', '-in', join(dir, 'a.p12'), '-passin', 'pass:password', '-nokeys', '-info'], { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
      assert.match(info, /subject=CN ?= ?p12\.example/);
      const noPass = render('{{ pemToPkcs12 .cert .key }}', { cert: certPem, key: keyPem });
      writeFileSync(join(dir, 'b.p12'), Buffer.from(noPass, 'base64'));
      execFileSync('openssl', ['pkcs12', '-in', join(dir, 'b.p12'), '-passin', 'pass:', '-noout'], { stdio: 'ignore' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    assert.throws(() => render('{{ pemToPkcs12 "junk" "junk" }}'), /error calling pemToPkcs12: runtime error: invalid memory address or nil pointer dereference/);
  });
});

