import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { startKeyserver } from './keyserver.js';
import { vaultCall } from './testing/test-keyserver.js';

void describe('startKeyserver', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'coffer-keyserver-main-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  void it('logs and audits requests without values, tokens or plaintexts, even when they fail', async () => {
    let logs = '';
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        logs += chunk.toString();
        cb();
      },
    });
    const dataDir = join(dir, 'logs');
    const ks = await startKeyserver({ dataDir, rootKey: randomBytes(32), listen: '127.0.0.1:0', logger: pino({ level: 'trace' }, sink) });
    const token = ks.rootToken!;
    const canary = `canary-${randomBytes(8).toString('hex')}`;
    const b64 = Buffer.from(canary).toString('base64');
    try {
      await vaultCall(ks.url, 'PUT', 'secret/data/c', { token, body: { data: { v: canary } } });
      await vaultCall(ks.url, 'PUT', 'secret/data/c', { token, body: { data: { v: canary }, options: { cas: 0 } } });
      await vaultCall(ks.url, 'POST', 'transit/encrypt/k', { token, body: { plaintext: b64 } });
      await vaultCall(ks.url, 'POST', 'transit/decrypt/k', { token, body: { ciphertext: `vault:v1:${b64}` } });
      await vaultCall(ks.url, 'POST', 'transit/encrypt/k', { token, body: { plaintext: `${canary}!` } });
      await vaultCall(ks.url, 'POST', 'sys/policies/acl/p', { token, body: { policy: canary } });
      await vaultCall(ks.url, 'POST', 'secret/data/c', { token, body: `{"data":{"v":"${canary}"` });
      const head = await fetch(`${ks.url}/v1/sys/health`, { method: 'HEAD' });
      assert.equal(head.status, 200);
      const list = await vaultCall(ks.url, 'LIST', 'secret/metadata', { token });
      assert.deepEqual(list.body.data.keys, ['c']);
    } finally {
      await ks.close();
    }
    const audit = await readFile(join(dataDir, 'audit.log'), 'utf8');
    for (const text of [logs, audit]) {
      for (const needle of [canary, b64, token]) assert.equal(text.includes(needle), false, `found ${needle.slice(0, 10)}...`);
    }
    const records = audit.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(records.map((r) => [r.method, r.path, r.status]), [
      ['PUT', 'secret/data/c', 200],
      ['PUT', 'secret/data/c', 400],
      ['POST', 'transit/encrypt/k', 200],
      ['POST', 'transit/decrypt/k', 400],
      ['POST', 'transit/encrypt/k', 400],
      ['POST', 'sys/policies/acl/p', 400],
      ['POST', 'secret/data/c', 400],
      ['HEAD', 'sys/health', 200],
      ['LIST', 'secret/metadata/', 200],
    ]);
    assert.equal(records[1]!.error, 'check-and-set parameter did not match the current version');
    assert.equal(records[0]!.accessor === '', false);
  });

  void it('serves HTTPS with a given certificate', async () => {
    const key = join(dir, 'tls.key');
    const cert = join(dir, 'tls.crt');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    const ca = await readFile(cert);
    const ks = await startKeyserver({ dataDir: join(dir, 'tls'), rootKey: randomBytes(32), listen: '127.0.0.1:0', tls: { cert: ca, key: await readFile(key) } });
    try {
      assert.match(ks.url, /^https:\/\/127\.0\.0\.1:\d+$/);
      const body = await new Promise<string>((resolve, reject) => {
        const req = httpsRequest(`${ks.url}/v1/sys/health`, { ca }, (res) => {
          let text = '';
          res.on('data', (d: Buffer) => (text += d.toString()));
          res.on('end', () => resolve(text));
        });
        req.on('error', reject);
        req.end();
      });
      assert.equal((JSON.parse(body) as { sealed: boolean }).sealed, false);
      // LIST, which Node's parser refuses, over TLS too (the fallback reads the decrypted stream), after a GET on the
      // same kept-alive connection.
      const agent = new HttpsAgent({ keepAlive: true, maxSockets: 1, ca });
      try {
        const call = (method: string, path: string) =>
          new Promise<{ status: number; text: string }>((resolve, reject) => {
            const req = httpsRequest(`${ks.url}/v1/${path}`, { method, agent, headers: { 'X-Vault-Token': ks.rootToken! } }, (res) => {
              let text = '';
              res.on('data', (d: Buffer) => (text += d.toString()));
              res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
            });
            req.on('error', reject);
            req.end();
          });
        assert.equal((await call('GET', 'sys/health')).status, 200);
        const listed = await call('LIST', 'sys/policies/acl');
        assert.equal(listed.status, 200, listed.text);
        assert.deepEqual((JSON.parse(listed.text) as { data: { keys: string[] } }).data.keys.sort(), ['default', 'root']);
      } finally {
        agent.destroy();
      }
    } finally {
      await ks.close();
    }
  });
});
