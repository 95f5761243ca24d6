// Child of https-cpu.mjs: one server. argv: kind (baseline|coffer|coffer-aesgcm|coffer-kms) and the dist/ directory to
// load it from. coffer-kms: KMS v2 over the base64 test plugin, served by this process as the bench's is.
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createServer } from 'node:https';
import { loadBuild } from './dist-engine.mjs';
const [kind, distDir] = process.argv.slice(2);
const dist = pathToFileURL(resolve(distDir)).href;
const dir = await mkdtemp(join(tmpdir(), 'coffer-cpu-ab-'));
const { SqliteStore } = await import(`${dist}/storage/sqlite/sqlite-store.js`);
const store = await SqliteStore.open({ dataDir: join(dir, 'store') });
if (kind === 'baseline') {
  const { ensureServerCredentials } = await import(`${dist}/lib/tls/server-credentials.js`);
  const { credentials } = await ensureServerCredentials(dir, { listenHost: '127.0.0.1' });
  const prefix = '/api/v1/namespaces/default/secrets';
  const server = createServer({ cert: credentials.certPem, key: credentials.keyPem }, (req, res) => {
    void (async () => {
      if (req.method === 'POST') {
        const chunks = [];
        for await (const c of req) chunks.push(c);
        const obj = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        const body = JSON.stringify(obj);
        await store.create(`/registry/secrets/default/${obj.metadata.name}`, Buffer.from(body));
        res.writeHead(201, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) }).end(body);
      } else {
        const { kv } = await store.get(`/registry/secrets/default/${req.url.slice(prefix.length + 1)}`);
        if (!kv) res.writeHead(404).end();
        else res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': kv.value.length }).end(kv.value);
      }
    })().catch(() => res.writeHead(500).end());
  });
  server.keepAliveTimeout = 600000;
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  process.send({ url: `https://127.0.0.1:${server.address().port}`, ca: credentials.caPem, token: credentials.adminToken });
} else {
  const provider = { coffer: 'identity', 'coffer-aesgcm': 'aesgcm', 'coffer-kms': 'kms' }[kind];
  const { startApiServer, engine } = await loadBuild(dist, provider);
  const server = await startApiServer({ dataDir: dir, host: '127.0.0.1', port: 0, store, engine });
  process.send({ url: server.url, ca: await readFile(join(dir, 'ca.crt'), 'utf8'), token: (await readFile(join(dir, 'admin.token'), 'utf8')).trim() });
}
// 'cpu': this process's CPU (µs, finer than /proc's 10 ms ticks) and V8's garbage-collection pauses so far.
import { PerformanceObserver } from 'node:perf_hooks';
const gc = { pauses: 0, ms: 0 };
new PerformanceObserver((list) => { for (const e of list.getEntries()) { gc.pauses++; gc.ms += e.duration; } }).observe({ entryTypes: ['gc'] });
// 'prof-start' / 'prof-stop' (with PROF_DIR set): a node:inspector CPU profile of this server, written to PROF_DIR.
let session;
process.on('message', async (m) => {
  if (m === 'exit') process.exit(0);
  if (m === 'prof-start') {
    const { Session } = await import('node:inspector/promises');
    session = new Session();
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 250 });
    await session.post('Profiler.start');
  }
  if (m === 'prof-stop') {
    const { profile } = await session.post('Profiler.stop');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(process.env.PROF_DIR, `${kind}-${process.pid}.cpuprofile`), JSON.stringify(profile));
    process.send('prof-done');
  }
  if (m === 'cpu') { const u = process.cpuUsage(); process.send({ cpu: u.user + u.system, gc }); }
});
