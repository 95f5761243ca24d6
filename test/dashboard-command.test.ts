// `coffer dashboard --kubeconfig FILE --etcd-endpoints URL`: the dashboard against a cluster it does not run, here
// `coffer up` on a real etcd (as a kube-apiserver would be). Without a session every path is 401; the one-time link
// signs in; the encryption view counts what etcd holds and the views reach the API server as the kubeconfig's user.
// With --snapshot (an `etcdctl snapshot save` file, as the operations commands take it) it counts the same.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startEtcd, type EtcdProcess } from '../src/storage/etcd/testing/etcd-process.js';
import { freePort, run, startCoffer, type CofferChild } from './support/processes.js';

void describe('coffer dashboard --kubeconfig against coffer up on etcd', () => {
  let dir: string;
  let etcd: EtcdProcess;
  let up: CofferChild;
  let dash: CofferChild;
  let link: string;

  function get(url: string, cookie?: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
    return readFile(join(dir, 'dash', 'ca.crt')).then(
      (ca) =>
        new Promise((resolve, reject) => {
          const req = request(url, { ca, headers: cookie ? { Cookie: cookie } : {} }, (res) => {
            let body = '';
            res.on('data', (c: Buffer) => (body += c.toString()));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
          });
          req.on('error', reject);
          req.end();
        }),
    );
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'coffer-dashboard-cmd-'));
    etcd = await startEtcd();
    const port = await freePort();
    ({ child: up } = await startCoffer(['up', '--data-dir', join(dir, 'data'), '--listen', `127.0.0.1:${port}`, '--encryption', 'aesgcm', '--no-controller', '--no-dashboard',
      '--store', 'etcd', '--etcd-endpoints', etcd.endpoints.join(',')], /export KUBECONFIG=/, 'coffer up'));
    assert.doesNotMatch(up.out(), /Dashboard: open/, '--no-dashboard serves none');
    await run('kubectl', ['--kubeconfig', join(dir, 'data', 'kubeconfig'), 'create', 'secret', 'generic', 's1', '--from-literal=k=dashboard-cmd-canary']);
    const dashPort = await freePort();
    const started = await startCoffer(['dashboard', '--kubeconfig', join(dir, 'data', 'kubeconfig'), '--listen', `127.0.0.1:${dashPort}`, '--cert-dir', join(dir, 'dash'),
      '--etcd-endpoints', etcd.endpoints.join(','), '--encryption-config', join(`${join(dir, 'data')}.keys`, 'encryption-config.yaml')], /Dashboard: open (https:\/\/\S+)/, 'coffer dashboard');
    dash = started.child;
    link = started.match[1]!;
  });
  after(async () => {
    await dash?.stop();
    await up?.stop();
    await etcd?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  void it('is 401 without a session, signs in once with the link, and shows what etcd holds', async () => {
    const base = new URL(link).origin;
    for (const path of ['/dashboard/', '/dashboard/api/encryption', '/dashboard/api/stream']) assert.equal((await get(`${base}${path}`)).status, 401, path);
    const signIn = await get(link);
    assert.equal(signIn.status, 303);
    const cookie = String(signIn.headers['set-cookie']).split(';')[0]!;
    assert.equal((await get(link)).status, 401, 'the link works once');
    const enc = JSON.parse((await get(`${base}/dashboard/api/encryption`, cookie)).body) as { available: boolean; resources: { resource: string; byWriter: Record<string, number>; stale: number }[] };
    assert.equal(enc.available, true);
    assert.deepEqual(enc.resources.find((r) => r.resource === 'secrets'), { resource: 'secrets', total: 1, byWriter: { 'aesgcm/key1': 1 }, plaintext: 0, unknown: 0, stale: 0 });
    const es = JSON.parse((await get(`${base}/dashboard/api/external-secrets`, cookie)).body) as { allowed: boolean };
    assert.equal(es.allowed, true);
    const page = await get(`${base}/dashboard/`, cookie);
    assert.equal(page.status, 200);
    assert.match(String(page.headers['content-security-policy']), /default-src 'none'/);
    assert.ok(!dash.out().includes('dashboard-cmd-canary'));
  });

  void it('reads an etcd snapshot file with --snapshot, counting what the live etcd holds', async () => {
    const snapshot = join(dir, 'etcd.snapshot');
    await run('etcdctl', ['--endpoints', etcd.endpoints.join(','), 'snapshot', 'save', snapshot]);
    const port = await freePort();
    const { child, match } = await startCoffer(['dashboard', '--kubeconfig', join(dir, 'data', 'kubeconfig'), '--listen', `127.0.0.1:${port}`, '--cert-dir', join(dir, 'dash'),
      '--snapshot', snapshot, '--encryption-config', join(`${join(dir, 'data')}.keys`, 'encryption-config.yaml')], /Dashboard: open (https:\/\/\S+)/, 'coffer dashboard --snapshot');
    try {
      const signIn = await get(match[1]!);
      const cookie = String(signIn.headers['set-cookie']).split(';')[0]!;
      const enc = JSON.parse((await get(`${new URL(match[1]!).origin}/dashboard/api/encryption`, cookie)).body) as { source: string; resources: { resource: string }[] };
      assert.match(enc.source, /etcd\.snapshot/);
      assert.deepEqual(enc.resources.find((r) => r.resource === 'secrets'), { resource: 'secrets', total: 1, byWriter: { 'aesgcm/key1': 1 }, plaintext: 0, unknown: 0, stale: 0 });
    } finally {
      await child.stop();
    }
  });
});
