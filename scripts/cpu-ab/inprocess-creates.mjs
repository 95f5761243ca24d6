// Creates over HTTPS with client and servers in one process, as `npm run bench -- apiserver` runs them (issue 16's
// "kms v2: creates / identity creates" row): API servers on SQLite (with its fsync), each with its provider (KMS v2
// over the base64 test plugin, served in this process too), 16 in flight, 1 KiB Secrets, rotated rounds of N creates.
// Per target: medians of the creates' rate and of this process's CPU per create (client and server), the median of
// each round's CPU ratio to the first target, and how many stored Secrets its transformers opened during the rounds
// (the informers' reads that RecentWrites did not spare). PROF=label,... writes node:inspector profiles of those targets'
// rounds to PROF_DIR.
// usage: node scripts/cpu-ab/inprocess-creates.mjs label=provider:distdir ... (provider: identity|aesgcm|kms); env ROUNDS, N
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir, loadavg } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Agent, request } from 'node:https';
import { Session } from 'node:inspector/promises';
import { writeFileSync } from 'node:fs';
import { closePlugin, loadBuild, parseTarget } from './dist-engine.mjs';
import { PerformanceObserver, constants as perf } from 'node:perf_hooks';
const ROUNDS = Number(process.env.ROUNDS ?? 9), N = Number(process.env.N ?? 1000);
const VALUE = randomBytes(768).toString('base64');
// V8's collections during the rounds, by kind: wall ms of the pauses and how many.
const gc = { minor: 0, major: 0, minorN: 0, majorN: 0 };
new PerformanceObserver((l) => {
  for (const e of l.getEntries()) {
    const minor = e.detail?.kind === perf.NODE_PERFORMANCE_GC_MINOR;
    gc[minor ? 'minor' : 'major'] += e.duration;
    gc[minor ? 'minorN' : 'majorN']++;
  }
}).observe({ entryTypes: ['gc'] });
const targets = [];
for (const arg of process.argv.slice(2)) {
  const { label, provider, dist } = parseTarget(arg);
  const { SqliteStore, startApiServer, engine } = await loadBuild(dist, provider);
  const dir = await mkdtemp(join(tmpdir(), 'coffer-inproc-'));
  const store = await SqliteStore.open({ dataDir: join(dir, 'store') });
  // Counts the stored Secrets opened (the transformers' reads), to tell a spared informer read from a decryption.
  const transformer = engine.transformerFor({ group: '', resource: 'secrets' });
  const t = { label, dir, store, engine, opened: 0, cpu: [], rate: [], gc: { minor: 0, major: 0, minorN: 0, majorN: 0 } };
  const fromStorage = transformer.fromStorage.bind(transformer);
  transformer.fromStorage = (data, ctx) => { t.opened++; return fromStorage(data, ctx); };
  const server = await startApiServer({ dataDir: dir, host: '127.0.0.1', port: 0, store, engine });
  const ca = await readFile(join(dir, 'ca.crt'), 'utf8');
  const token = (await readFile(join(dir, 'admin.token'), 'utf8')).trim();
  const agent = new Agent({ keepAlive: true, maxSockets: 16, ca });
  let created = 0;
  t.create = () => new Promise((res, rej) => {
    const req = request(`${server.url}/api/v1/namespaces/default/secrets`, { method: 'POST', agent, headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' } }, (r) => {
      r.resume(); r.on('end', () => (r.statusCode < 300 ? res() : rej(new Error(`${label}: ${r.statusCode}`))));
    });
    req.on('error', rej); req.end(JSON.stringify({ metadata: { name: `s${created++}` }, data: { v: VALUE } }));
  });
  t.close = async () => { agent.destroy(); await server.close(); await store.close(); engine.close(); await rm(dir, { recursive: true, force: true }); };
  targets.push(t);
}
async function run(t, n) {
  let i = 0;
  const c = process.cpuUsage(), w = performance.now(), g = { ...gc };
  await Promise.all(Array.from({ length: 16 }, async () => { while (i < n) { i++; await t.create(); } }));
  const u = process.cpuUsage(c);
  await new Promise((r) => setImmediate(r));
  for (const k of Object.keys(gc)) t.gc[k] += gc[k] - g[k];
  return { cpu: (u.user + u.system) / n, rate: (n * 1000) / (performance.now() - w) };
}
for (const t of targets) await run(t, 500);
let session;
if (process.env.PROF) { session = new Session(); session.connect(); await session.post('Profiler.enable'); await session.post('Profiler.setSamplingInterval', { interval: 250 }); }
for (const t of targets) { t.opened = 0; t.gc = { minor: 0, major: 0, minorN: 0, majorN: 0 }; }
const load = [loadavg()[0]];
for (let r = 0; r < ROUNDS; r++) {
  for (let k = 0; k < targets.length; k++) {
    const t = targets[(r + k) % targets.length];
    const prof = session && process.env.PROF.split(',').includes(t.label);
    if (prof) await session.post('Profiler.start');
    const m = await run(t, N);
    if (prof) { const { profile } = await session.post('Profiler.stop'); writeFileSync(join(process.env.PROF_DIR ?? '.', `inproc-${t.label}-${r}.cpuprofile`), JSON.stringify(profile)); }
    t.cpu.push(m.cpu); t.rate.push(m.rate);
  }
  load.push(loadavg()[0]);
}
const med = (a) => { const s = [...a].sort((x, y) => x - y); return s[s.length >> 1]; };
console.log(`creates in one process: ${ROUNDS} rotated rounds of ${N}, 16 in flight; load 1-min ${Math.min(...load).toFixed(1)}-${Math.max(...load).toFixed(1)}`);
const base = targets[0];
for (const t of targets) {
  const paired = med(t.cpu.map((c, i) => base.cpu[i] / c));
  const pairedRate = med(t.rate.map((x, i) => x / base.rate[i]));
  console.log(`${t.label}: ${med(t.rate).toFixed(0)}/s (paired this/${base.label} ${pairedRate.toFixed(3)}), process CPU µs per create ${med(t.cpu).toFixed(0)} (paired ${base.label}/this ${paired.toFixed(3)}), Secrets opened ${t.opened} for ${ROUNDS * N} creates; GC pauses per create: scavenges ${((1000 * t.gc.minor) / (ROUNDS * N)).toFixed(1)} µs (${t.gc.minorN}), others ${((1000 * t.gc.major) / (ROUNDS * N)).toFixed(1)} µs (${t.gc.majorN})`);
}
for (const t of targets) await t.close();
await closePlugin();
process.exit(0);
