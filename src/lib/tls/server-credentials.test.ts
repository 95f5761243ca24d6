import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ensureServerCredentials } from './server-credentials.js';

void describe('server credentials', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'coffer-tls-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  void it('creates a CA, a serving certificate for loopback and an admin token, owner-only', async () => {
    const { credentials, created } = await ensureServerCredentials(dir, { listenHost: '127.0.0.1' });
    assert.equal(created.length, 5);
    for (const f of created) assert.equal((await stat(f)).mode & 0o777, 0o600, f);
    const cert = new X509Certificate(credentials.certPem);
    assert.ok(cert.checkIssued(new X509Certificate(credentials.caPem)));
    assert.equal(cert.checkIP('127.0.0.1'), '127.0.0.1');
    assert.equal(cert.checkHost('localhost'), 'localhost');
    assert.match(credentials.adminToken, /^[A-Za-z0-9_-]{43}$/);
  });

  void it('issues certificates that OpenSSL verifies strictly (RFC 5280 profile, TLS server purpose)', async () => {
    const { credentials } = await ensureServerCredentials(dir, { listenHost: '127.0.0.1' });
    const ca = new X509Certificate(credentials.caPem);
    const cert = new X509Certificate(credentials.certPem);
    assert.equal(ca.ca, true);
    assert.equal(cert.ca, false);
    assert.ok(cert.verify(ca.publicKey));
    assert.equal(cert.checkIP('::1'), '::1');
    assert.equal(cert.checkIP('10.0.0.1'), undefined);
    assert.deepEqual(cert.keyUsage, ['1.3.6.1.5.5.7.3.1']); // extended key usage: serverAuth only
    const r = spawnSync('openssl', ['verify', '-x509_strict', '-purpose', 'sslserver', '-CAfile', join(dir, 'ca.crt'), join(dir, 'apiserver.crt')], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stdout + r.stderr);
  });

  void it('reuses everything on the next start, and re-issues only the serving certificate for a new address', async () => {
    const first = (await ensureServerCredentials(dir, { listenHost: '127.0.0.1' })).credentials;
    const again = await ensureServerCredentials(dir, { listenHost: 'localhost' });
    assert.deepEqual(again.created, []);
    assert.equal(again.credentials.certPem, first.certPem);
    const moved = await ensureServerCredentials(dir, { listenHost: '10.1.2.3' });
    assert.deepEqual(moved.created.map((f) => f.slice(dir.length + 1)), ['apiserver.crt', 'apiserver.key']);
    assert.equal(moved.credentials.caPem, first.caPem, 'same CA: kubeconfigs stay valid');
    assert.equal(moved.credentials.adminToken, first.adminToken);
    assert.equal(new X509Certificate(moved.credentials.certPem).checkIP('10.1.2.3'), '10.1.2.3');
  });

  void it('renews a serving certificate that is about to expire', async () => {
    const soon = new Date(Date.now() + 340 * 24 * 3600 * 1000); // the certificate has less than 30 days left then
    const renewed = await ensureServerCredentials(dir, { listenHost: '127.0.0.1', now: soon });
    assert.ok(renewed.created.some((f) => f.endsWith('apiserver.crt')));
  });
});
