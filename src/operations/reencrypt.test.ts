// reencrypt against a small in-process API (a fake is fine here; the end-to-end tests use coffer up): GET + PUT with
// the resourceVersion read, 409 → read again and retry, objects deleted meanwhile skipped, the checkpoint resumed and
// refused for another run, the rate limit and concurrency honoured, plain progress lines when not a TTY.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { KubeClient } from './kube-client.js';
import { Progress } from './progress.js';
import { reencrypt, targetOfKey } from './reencrypt.js';

interface Obj {
  rv: number;
  puts: number;
}

class FakeApi {
  objects = new Map<string, Obj>();
  conflictOnce = new Set<string>();
  deleteOnGet = new Set<string>();
  inFlight = 0;
  maxInFlight = 0;
  server: Server;
  constructor() {
    this.server = createServer((req, res) => void this.handle(req).then(([status, body]) => {
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(body));
    }));
  }
  private async handle(req: IncomingMessage): Promise<[number, unknown]> {
    const url = new URL(req.url!, 'http://x');
    if (url.pathname === '/api/v1') return [200, { resources: [{ name: 'secrets', namespaced: true }] }];
    if (url.pathname === '/api/v1/secrets') {
      const items = [...this.objects.keys()].map((k) => ({ metadata: { namespace: k.split('/')[0], name: k.split('/')[1] } }));
      return [200, { items, metadata: {} }];
    }
    const m = /^\/api\/v1\/namespaces\/([^/]+)\/secrets\/([^/]+)$/.exec(url.pathname);
    if (!m) return [404, { message: 'no route' }];
    const id = `${m[1]}/${m[2]}`;
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      await new Promise((r) => setTimeout(r, 5));
      if (req.method === 'GET' && this.deleteOnGet.has(id)) this.objects.delete(id);
      const obj = this.objects.get(id);
      if (!obj) return [404, { kind: 'Status', message: `secrets "${m[2]}" not found` }];
      const meta = { name: m[2], namespace: m[1], resourceVersion: String(obj.rv) };
      if (req.method === 'GET') return [200, { apiVersion: 'v1', kind: 'Secret', metadata: meta, data: { v: 'eA==' } }];
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const body = JSON.parse(Buffer.concat(chunks).toString()) as { metadata: { resourceVersion: string }; data: unknown };
      assert.deepEqual(body.data, { v: 'eA==' }, 'content unchanged');
      if (this.conflictOnce.delete(id)) obj.rv++; // someone else wrote it in between
      if (body.metadata.resourceVersion !== String(obj.rv)) return [409, { kind: 'Status', message: 'the object has been modified' }];
      obj.rv++;
      obj.puts++;
      return [200, { metadata: { ...meta, resourceVersion: String(obj.rv) } }];
    } finally {
      this.inFlight--;
    }
  }
}

void describe('reencrypt (against an in-process API)', () => {
  let api: FakeApi;
  let dir: string;
  let client: KubeClient;
  const out: string[] = [];
  const progress = { isTTY: false, write: (t: string) => out.push(t) };
  before(async () => {
    api = new FakeApi();
    await new Promise<void>((r) => api.server.listen(0, '127.0.0.1', r));
    dir = await mkdtemp(join(tmpdir(), 'coffer-reencrypt-unit-'));
    const port = (api.server.address() as { port: number }).port;
    await writeFile(join(dir, 'kubeconfig'), `apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "http://127.0.0.1:${port}", insecure-skip-tls-verify: true}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n`);
    client = await KubeClient.fromFile(join(dir, 'kubeconfig'));
  });
  after(async () => {
    client.close();
    await new Promise((r) => api.server.close(r));
    await rm(dir, { recursive: true, force: true });
  });

  void it('rewrites each object once, retries a 409, skips the deleted, stays within concurrency', async () => {
    for (let i = 0; i < 20; i++) api.objects.set(`ns/s${i}`, { rv: 10, puts: 0 });
    api.conflictOnce.add('ns/s3');
    api.deleteOnGet.add('ns/s7');
    const summary = await reencrypt(client, { resources: ['secrets'], qps: 1000, concurrency: 3, progress });
    assert.equal(summary.total, 20);
    assert.equal(summary.rewritten, 19);
    assert.equal(summary.deleted, 1);
    assert.equal(summary.conflictsRetried, 1);
    assert.deepEqual(summary.failed, []);
    for (const [id, o] of api.objects) assert.equal(o.puts, 1, id);
    assert.ok(api.maxInFlight <= 3, `at most 3 in flight, saw ${api.maxInFlight}`);
    assert.match(out.join(''), /^reencrypt: 20\/20 [\d.]+\/s ETA 0s$/m);
  });

  void it('resumes from a checkpoint, skipping every object it lists, and refuses one of another run', async () => {
    api.objects.clear();
    for (let i = 0; i < 10; i++) api.objects.set(`ns/r${i}`, { rv: 1, puts: 0 });
    const file = join(dir, 'checkpoint');
    // As a killed run leaves it: a header, finished objects, and a last line cut short.
    await writeFile(file, `${JSON.stringify({ coffer: 'reencrypt-checkpoint', version: 1, server: client.server, resources: ['secrets'] })}\ndone secrets ns/r0\ndone secrets ns/r1\ndone secrets ns/r`);
    const summary = await reencrypt(client, { resources: ['secrets'], qps: 1000, concurrency: 2, checkpointFile: file, progress });
    assert.equal(summary.alreadyDone, 2);
    assert.equal(summary.rewritten, 8);
    assert.deepEqual([...api.objects].filter(([, o]) => o.puts === 1).map(([id]) => id).sort(), ['ns/r2', 'ns/r3', 'ns/r4', 'ns/r5', 'ns/r6', 'ns/r7', 'ns/r8', 'ns/r9']);
    assert.match(await readFile(file, 'utf8'), /\ncomplete\n$/);
    await assert.rejects(reencrypt(client, { resources: ['configmaps'], qps: 1, concurrency: 1, checkpointFile: file, progress }), /the API server has no resource "configmaps"/);
    await writeFile(join(dir, 'other'), `${JSON.stringify({ coffer: 'reencrypt-checkpoint', version: 1, server: 'https://elsewhere:6443', resources: ['secrets'] })}\n`);
    await assert.rejects(reencrypt(client, { resources: ['secrets'], qps: 1, concurrency: 1, checkpointFile: join(dir, 'other'), progress }), /belongs to another run \(server https:\/\/elsewhere:6443/);
  });

  void it('keeps to --qps', async () => {
    api.objects.clear();
    for (let i = 0; i < 6; i++) api.objects.set(`ns/q${i}`, { rv: 1, puts: 0 });
    const start = Date.now();
    await reencrypt(client, { resources: ['secrets'], qps: 10, concurrency: 4, progress });
    // Six starts at 10 per second need at least 0.5 s (a lower bound only: the machine may be slower, never faster).
    assert.ok(Date.now() - start >= 480, `took ${Date.now() - start} ms`);
  });

  void it('draws a bar on a terminal', () => {
    const drawn: string[] = [];
    let t = 0;
    const p = new Progress('reencrypt', 4, { isTTY: true, write: (s) => drawn.push(s) }, () => (t += 1000));
    p.add();
    p.add();
    p.finish();
    const text = drawn.join('');
    assert.ok(text.includes('\r\u001b[Kreencrypt [###############...............] 2/4 '), JSON.stringify(text));
  });

  void it('maps storage keys to objects', () => {
    assert.deepEqual(targetOfKey('/registry/secrets/ns/a', '/registry/'), { resource: 'secrets', namespace: 'ns', name: 'a' });
    assert.deepEqual(targetOfKey('/registry/namespaces/ns', '/registry/'), { resource: 'namespaces', name: 'ns' });
    assert.throws(() => targetOfKey('/registry/secrets/a/b/c', '/registry/'), /is not <prefix>/);
  });
});
