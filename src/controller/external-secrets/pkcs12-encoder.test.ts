import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { certData, expectedPfx, expectedPfxCa, expectedPfxCAs, keyData, otherCert } from '../../../test/fixtures/eso-pkcs12-vectors.js';
import { fullPemToPkcs12Pass, pemToPkcs12Pass, pemTruststoreToPkcs12Pass } from './eso-crypto-functions.js';
import { goSubjectString } from './go-pkix-name.js';
import { decodePem } from '../../lib/go/pem.js';
import { GoTemplate } from './go-template.js';

/** ESO's MockRandomReader: every read is `"0123456789"` followed by zero bytes. */
const mockRandom = (size: number) => {
  const b = Buffer.alloc(size);
  b.write('"0123456789"');
  return b;
};

const dir = mkdtempSync(join(tmpdir(), 'coffer-pkcs12-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** `openssl pkcs12 -info` of a base64 PKCS#12 file: what it prints about the file, and the PEM it extracts. */
function opensslInfo(base64: string, password: string, ...extra: string[]) {
  const file = join(dir, 'in.p12');
  writeFileSync(file, Buffer.from(base64, 'base64'));
  const r = spawnSync('openssl', ['pkcs12', '-info', '-in', file, '-passin', `pass:${password}`, '-noenc', ...extra], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return { info: r.stderr, pem: r.stdout };
}
const certsIn = (pem: string) => [...pem.matchAll(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g)].map((m) => m[0].replace(/\s/g, ''));
const strip = (pem: string) => pem.replace(/\s/g, '');

void describe("ESO's PKCS#12 writers: go-pkcs12's Modern encoder", () => {
  // ESO runtime/template/v2/pkcs12_test.go: TestPemToPkcs12, TestFullPemToPkcs12, TestPemTruststoreToPKCS12.
  void it('writes the same bytes as go-pkcs12 with the same random bytes (ESO pkcs12_test.go vectors)', () => {
    assert.equal(pemToPkcs12Pass(certData, keyData, 'password', mockRandom), expectedPfx);
    assert.equal(fullPemToPkcs12Pass(`${certData}\n${otherCert}`, keyData, 'password', mockRandom), expectedPfxCa);
    assert.equal(pemTruststoreToPkcs12Pass(`${certData}\n${otherCert}`, 'password', mockRandom), expectedPfxCAs);
  });

  void it('openssl reads each file: encrypted certificates and key (PBES2, AES-256-CBC, HMAC-SHA-256), SHA-256 MAC', () => {
    const full = opensslInfo(fullPemToPkcs12Pass(`${certData}${otherCert}`, keyData, 's3cr3t'), 's3cr3t');
    assert.match(full.info, /MAC: sha256, Iteration 2048/);
    assert.match(full.info, /PKCS7 Encrypted data: PBES2, PBKDF2, AES-256-CBC, Iteration 2048, PRF hmacWithSHA256/);
    assert.match(full.info, /Shrouded Keybag: PBES2, PBKDF2, AES-256-CBC, Iteration 2048, PRF hmacWithSHA256/);
    assert.doesNotMatch(full.info, /PKCS7 Data\s+Certificate bag/); // no certificate in clear
    assert.deepEqual(certsIn(full.pem), [strip(certData), strip(otherCert)]);
    assert.ok(strip(full.pem).includes(strip(keyData)), 'the key comes back as it went in');
    // Without a password (ESO's pemToPkcs12), as openssl's legacy provider also reads it.
    const plain = opensslInfo(pemToPkcs12Pass(certData, keyData, ''), '', '-legacy');
    assert.deepEqual(certsIn(plain.pem), [strip(certData)]);
    // A trust store: two certificates, no key, each with Java's trusted-for-any-purpose attribute and its name.
    const store = opensslInfo(pemTruststoreToPkcs12Pass(`${certData}${otherCert}`, 'pw'), 'pw');
    assert.deepEqual(certsIn(store.pem), [strip(certData), strip(otherCert)]);
    assert.doesNotMatch(store.pem, /PRIVATE KEY/);
    assert.match(store.pem, /friendlyName: O=Acme Co/);
    assert.match(store.pem, /friendlyName: CN=foo/);
    assert.equal(store.pem.match(/2\.16\.840\.1\.113894\.746875\.1\.1: /g)?.length, 2); // Java's trusted-key-usage (openssl 3.0 names no value)
  });

  void it('encodes EC and Ed25519 keys too (go-pkcs12 takes any PKCS#8 key), in PKCS#1, PKCS#8 or SEC 1 PEM', () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const ed = generateKeyPairSync('ed25519').privateKey;
    for (const key of [ec.export({ type: 'sec1', format: 'pem' }), ec.export({ type: 'pkcs8', format: 'pem' }), ed.export({ type: 'pkcs8', format: 'pem' })]) {
      const out = opensslInfo(pemToPkcs12Pass(certData, key.toString(), 'pw'), 'pw');
      assert.match(out.pem, /BEGIN PRIVATE KEY/);
    }
  });

  void it("fails as ESO does: Go's nil dereference without a PEM block, ESO's text for an unreadable key", () => {
    assert.throws(() => pemToPkcs12Pass('no pem here', keyData, ''), /nil pointer dereference/);
    assert.throws(() => pemToPkcs12Pass(certData, 'no pem here', ''), /nil pointer dereference/);
    assert.throws(() => fullPemToPkcs12Pass(`${certData}${otherCert}\n`, keyData, ''), /nil pointer dereference/); // parseCaCerts' trailing text
    const junkKey = '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n';
    assert.throws(() => pemToPkcs12Pass(certData, junkKey, ''), /^Error: unable to parse private key type$/);
    assert.throws(() => pemToPkcs12Pass(certData, keyData, 'pässwörd😀'), /pkcs12: string contains characters that cannot be encoded in UCS-2/);
  });

  void it("names trust store entries as Go's pkix.Name.String: named attributes in Go's order, last first, escaped", () => {
    const der = (pem: string) => decodePem(pem).block!.bytes;
    assert.equal(goSubjectString(der(certData)), 'O=Acme Co');
    assert.equal(goSubjectString(der(otherCert)), 'CN=foo');
    const cert = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-noenc', '-keyout', join(dir, 'k.pem'),
      '-subj', '/CN=a\\+b, c/O=Org/C=DE/emailAddress=x@y.z/OU= lead', '-days', '1'], { encoding: 'utf8' });
    assert.equal(cert.status, 0, cert.stderr);
    // Go: email (not a named attribute) first as oid=#hex of the value re-encoded (UTF8String: '@' is not printable).
    assert.equal(goSubjectString(der(cert.stdout)), 'CN=a\\+b\\, c,OU=\\ lead,O=Org,C=DE,1.2.840.113549.1.9.1=#0c05784079' + '2e7a');
  });

  void it('serves the four ESO functions in templates; the written files read back with pkcs12cert and pkcs12key', () => {
    const render = (text: string, data: Record<string, string>) =>
      GoTemplate.parse('k', text).execute(data, { timeoutMs: 60_000, maxOutputBytes: 1 << 20 }).toString();
    const chain = `${certData}${otherCert}`;
    const p12 = render('{{ fullPemToPkcs12Pass .cert .key "pw" }}', { cert: chain, key: keyData });
    assert.equal(strip(render('{{ .p12 | b64dec | pkcs12keyPass "pw" }}', { p12 })), strip(keyData));
    assert.equal(certsIn(render('{{ .p12 | b64dec | pkcs12certPass "pw" }}', { p12 })).length, 2);
    const noPass = render('{{ fullPemToPkcs12 .cert .key }}', { cert: chain, key: keyData });
    assert.equal(certsIn(opensslInfo(noPass, '').pem).length, 2);
    assert.equal(certsIn(opensslInfo(render('{{ .c | pemTruststoreToPKCS12 }}', { c: chain }), '').pem).length, 2);
    assert.equal(certsIn(opensslInfo(render('{{ pemTruststoreToPKCS12Pass .c "x" }}', { c: chain }), 'x').pem).length, 2);
  });
});
