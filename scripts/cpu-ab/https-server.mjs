// Child of https-cpu.mjs: one server. argv: kind (baseline|baseline-h2|coffer|coffer-aesgcm|coffer-kms) and the dist/
// directory to load it from. coffer-kms: KMS v2 over the base64 test plugin, served by this process as the bench's is.
// baseline-h2: the baseline's handler behind Coffer's own listener (createSecureApiServer: node:http2's secure server
// with allowHTTP1, which serves HTTP/1.1 and h2 from one handler) instead of node:https, to price that listener.
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
if (kind === 'baseline' || kind === 'baseline-h2') {
  const { ensureServerCredentials } = await import(`${dist}/lib/tls/server-credentials.js`);
  const { credentials } = await ensureServerCredentials(dir, { listenHost: '127.0.0.1' });
  const prefix = '/api/v1/namespaces/default/secrets';
  const tls = { cert: credentials.certPem, key: credentials.keyPem };
  const handler = (req, res) => {
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
  };
  let server;
  if (kind === 'baseline') server = createServer(tls, handler);
  else server = (await import(`${dist}/apiserver/http/secure-server.js`)).createSecureApiServer(tls, handler).server;
  server.keepAliveTimeout = 600000;
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  process.send({ url: `https://127.0.0.1:${server.address().port}`, ca: credentials.caPem, token: credentials.adminToken });
} else {
  const provider = { coffer: 'identity', 'coffer-aesgcm': 'aesgcm', 'coffer-kms': 'kms' }[kind];
  const { startApiServer, engine } = await loadBuild(dist, provider);
  const server = await startApiServer({ dataDir: dir, host: '127.0.0.1', port: 0, store, engine });
  process.send({ url: server.url, ca: await readFile(join(dir, 'ca.crt'), 'utf8'), token: (await readFile(join(dir, 'admin.token'), 'utf8')).trim() });
}
// 'cpu': this process's CPU (µs, finer than /proc's 10 ms ticks), V8's garbage-collection pauses so far, and the bytes
// V8 allocated so far: the heap's growth plus what each collection freed (v8.GCProfiler, restarted at every ask).
// 'heap-start' / {heapStop: file}: a sampling heap profile (node:inspector) that keeps the objects minor and major
// collections freed, i.e. what was allocated rather than what is still alive. 'cpu-start' / {cpuStop: file}: a CPU
// profile (100 µs sampling).
import { PerformanceObserver } from 'node:perf_hooks';
import { GCProfiler, getHeapStatistics } from 'node:v8';
import { Session } from 'node:inspector/promises';
import { rmSync, writeFileSync } from 'node:fs';
const gc = { pauses: 0, ms: 0 };
new PerformanceObserver((list) => { for (const e of list.getEntries()) { gc.pauses++; gc.ms += e.duration; } }).observe({ entryTypes: ['gc'] });
let profiler = new GCProfiler(), used = getHeapStatistics().used_heap_size, allocated = 0;
profiler.start();
function allocatedSoFar() {
  const { statistics } = profiler.stop();
  const now = getHeapStatistics().used_heap_size;
  allocated += now - used;
  for (const s of statistics) allocated += s.beforeGC.heapStatistics.usedHeapSize - s.afterGC.heapStatistics.usedHeapSize;
  used = now;
  profiler = new GCProfiler();
  profiler.start();
  return allocated;
}
const session = new Session();
process.on('message', async (m) => {
  if (m === 'exit') { rmSync(dir, { recursive: true, force: true }); process.exit(0); }
  if (m === 'cpu') { const u = process.cpuUsage(); process.send({ cpu: u.user + u.system, gc, allocated: allocatedSoFar() }); }
  if (m === 'heap-start') {
    session.connect();
    await session.post('HeapProfiler.startSampling', { samplingInterval: Number(process.env.HEAP_INTERVAL ?? 8192), includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
    process.send({ heap: 'started' });
  }
  if (m === 'cpu-start') {
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 100 });
    await session.post('Profiler.start');
    process.send({ cpuProfile: 'started' });
  }
  if (typeof m === 'object' && m.cpuStop) {
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(m.cpuStop, JSON.stringify(profile));
    session.disconnect();
    process.send({ cpuProfile: 'stopped' });
  }
  if (typeof m === 'object' && m.heapStop) {
    const { profile } = await session.post('HeapProfiler.stopSampling');
    writeFileSync(m.heapStop, JSON.stringify(profile));
    session.disconnect();
    process.send({ heap: 'stopped' });
  }
});
