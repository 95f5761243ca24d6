// Reliability (issue 11): a KMS outage under a real `coffer up` (API server, `coffer kms-plugin` and `coffer keyserver`
// as separate processes) is reported by /readyz the way kube-apiserver reports it, writes it blocks answer 503 with
// the reason, reads of existing Secrets go on from the seed cache, and everything recovers when the plugin does.
// The plugin is stopped with SIGSTOP (every call then hangs, as on a dead host) and resumed with SIGCONT; Status
// polling and the write deadline are shortened (1 s, 4 s) so the outage plays out in seconds.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePort, startCoffer, until, type CofferChild } from '../support/processes.js';

interface Reply {
  status: number;
  text: string;
}

void describe('reliability: KMS outage with /readyz reporting it', () => {
  let dir: string;
  let up: CofferChild;
  let base: string;
  let ca: string;
  let token: string;
  let stopped: number | undefined;
  let n = 0;

  function call(method: string, path: string, opts: { body?: string; auth?: boolean } = {}): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const req = request(`${base}${path}`, {
        method,
        ca,
        timeout: 20_000,
        headers: {
          ...(opts.auth === false ? {} : { Authorization: `Bearer ${token}` }),
          ...(opts.body ? { 'Content-Type': 'application/json' } : {}),
        },
      }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      });
      req.on('timeout', () => req.destroy(new Error(`${method} ${path} got no answer in 20 s`)));
      req.on('error', reject);
      req.end(opts.body);
    });
  }
  const write = () => call('POST', '/api/v1/namespaces/default/secrets', { body: JSON.stringify({ metadata: { name: `s${n++}` }, stringData: { k: 'v' } }) });
  const pluginPid = () => {
    const lines = up.out().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
    return lines.filter((l) => l.msg === 'child ready' && l.process === 'kms-plugin').map((l) => l.pid as number).at(-1)!;
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'coffer-rel-kms-'));
    const dataDir = join(dir, 'data');
    const port = await freePort();
    ({ child: up } = await startCoffer(
      ['up', '--data-dir', dataDir, '--listen', `127.0.0.1:${port}`, '--no-controller', '--kms-v2-status-interval', '1', '--kms-v2-write-ttl', '4'],
      /export KUBECONFIG=/,
      'coffer up',
    ));
    base = `https://127.0.0.1:${port}`;
    ca = await readFile(join(dataDir, 'ca.crt'), 'utf8');
    token = (await readFile(join(dataDir, 'admin.token'), 'utf8')).trim();
  });
  after(async () => {
    if (stopped !== undefined) process.kill(stopped, 'SIGCONT');
    await up?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  void it('reports the plugin in /readyz, fails while it is stopped, 503s the writes, and recovers', async () => {
    const healthy = await call('GET', '/readyz?verbose', { auth: false });
    assert.equal(healthy.status, 200, healthy.text);
    assert.match(healthy.text, /^\[\+\]kms-providers ok$/m);
    const before = await write();
    assert.equal(before.status, 201, before.text);
    const name = (JSON.parse(before.text) as { metadata: { name: string } }).metadata.name;

    stopped = pluginPid();
    process.kill(stopped, 'SIGSTOP');
    await until(async () => (await call('GET', '/readyz/kms-providers')).status === 500, '/readyz/kms-providers to fail', 30_000);
    const failing = await call('GET', '/readyz', { auth: false });
    assert.equal(failing.status, 500);
    assert.match(failing.text, /^\[-\]kms-providers failed: reason withheld$/m);
    assert.match(failing.text, /readyz check failed\n$/);
    assert.equal((await call('GET', '/livez', { auth: false })).text, 'ok', 'the process is alive; only readiness fails');
    assert.equal((await call('GET', `/api/v1/namespaces/default/secrets/${name}`)).status, 200, 'reads go on from the seed cache');

    let refused = await write();
    await until(async () => (refused = await write()).status !== 201, 'the write deadline to pass', 30_000);
    assert.equal(refused.status, 503, refused.text);
    assert.equal((JSON.parse(refused.text) as { reason: string }).reason, 'ServiceUnavailable');

    process.kill(stopped, 'SIGCONT');
    stopped = undefined;
    await until(async () => (await call('GET', '/readyz', { auth: false })).text === 'ok', '/readyz to recover', 30_000);
    await until(async () => (await write()).status === 201, 'writes to succeed again', 30_000);
  });
});
