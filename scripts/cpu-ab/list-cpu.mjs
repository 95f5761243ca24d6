// In-process CPU of a registry LIST of many Secrets (issue 16's KMS v2 LIST row without HTTP), several builds and
// providers side by side in one process: each target seeds LIST_SECRETS Secrets, starts its controllers (the garbage
// collector's informer reads every Secret once, as after a restart), then interleaved rounds time one
// `secrets.list` + JSON.stringify each (the client's LIST: its KMS v2 reads find the derived keys the informer cached).
// Prints medians of CPU ms per LIST, µs per object, the median of each round's ratio to the first target, the same for
// the LIST's wall time, and V8's GC pauses during the LISTs; PROF=label writes node:inspector profiles of that target's LISTs to PROF_DIR.
// usage: node scripts/cpu-ab/list-cpu.mjs label=provider:distdir ... (provider: identity|kms); env ROUNDS, LIST_SECRETS
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { PerformanceObserver } from 'node:perf_hooks';
import { Session } from 'node:inspector/promises';
import { readFileSync, writeFileSync } from 'node:fs';
import { closePlugin, loadBuild, parseTarget } from './dist-engine.mjs';
const ROUNDS = Number(process.env.ROUNDS ?? 15), SECRETS = Number(process.env.LIST_SECRETS ?? 5000);
const VALUE = randomBytes(768).toString('base64');
let gcMs = 0;
new PerformanceObserver((l) => { for (const e of l.getEntries()) gcMs += e.duration; }).observe({ entryTypes: ['gc'] });
const targets = [];
for (const arg of process.argv.slice(2)) {
  const { label, provider, dist } = parseTarget(arg);
  const { SqliteStore, createResourceStores, engine } = await loadBuild(dist, provider);
  const dir = await mkdtemp(join(tmpdir(), 'coffer-list-cpu-'));
  const store = await SqliteStore.open({ dataDir: join(dir, 'store'), synchronous: 'normal' });
  const rs = createResourceStores({ store, engine });
  await rs.ensureDefaultNamespaces();
  let next = 0;
  await Promise.all(Array.from({ length: 16 }, async () => {
    while (next < SECRETS) await rs.secrets.create('default', { apiVersion: 'v1', kind: 'Secret', metadata: { name: `s${next++}` }, data: { v: VALUE } });
  }));
  await rs.startControllers();
  targets.push({ label, dir, store, engine, rs, cpu: [], gc: [], wall: [], main: [] });
}
let session;
if (process.env.PROF) { session = new Session(); session.connect(); await session.post('Profiler.enable'); await session.post('Profiler.setSamplingInterval', { interval: 250 }); }
// TRACE_GC=1: V8's --trace-gc-nvp for the rounds only (after the seeding), one line per collection on stdout.
if (process.env.TRACE_GC) (await import('node:v8')).setFlagsFromString('--trace-gc-nvp');
const load = [loadavg()[0]];
// The main thread's own CPU time (ns; Linux, updated at the scheduler's ticks, so good to a few ms per LIST):
// process.cpuUsage counts every thread, a worker thread's too.
const mainThreadNs = () => Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]);
for (let r = -1; r < ROUNDS; r++) {
  const order = targets.map((_, i) => targets[(i + Math.max(r, 0)) % targets.length]);
  for (const t of order) {
    const prof = r >= 0 && session && process.env.PROF === t.label;
    if (prof) await session.post('Profiler.start');
    const g = gcMs, c = process.cpuUsage(), m = mainThreadNs(), w = performance.now();
    const list = await t.rs.secrets.list('default');
    if (JSON.stringify(list).length < SECRETS * 1000 || list.items.length !== SECRETS) throw new Error(`${t.label}: short list`);
    const u = process.cpuUsage(c), wall = performance.now() - w, main = (mainThreadNs() - m) / 1e6;
    await new Promise((res) => setImmediate(res)); // the LIST's GC entries are delivered by now
    if (prof) { const { profile } = await session.post('Profiler.stop'); writeFileSync(join(process.env.PROF_DIR ?? '.', `list-${t.label}-${r}.cpuprofile`), JSON.stringify(profile)); }
    if (r < 0) continue;
    t.cpu.push((u.user + u.system) / 1000);
    t.gc.push(gcMs - g);
    t.wall.push(wall);
    t.main.push(main);
  }
  load.push(loadavg()[0]);
}
const med = (a) => { const s = [...a].sort((x, y) => x - y); return s[s.length >> 1]; };
console.log(`LIST of ${SECRETS} Secrets, in process, ${ROUNDS} rotated rounds; load 1-min ${Math.min(...load).toFixed(1)}-${Math.max(...load).toFixed(1)}`);
const base = targets[0];
for (const t of targets) {
  const paired = med(t.cpu.map((c, i) => c / base.cpu[i]));
  const pairedWall = med(t.wall.map((x, i) => x / base.wall[i]));
  const pairedMain = med(t.main.map((x, i) => x / base.main[i]));
  console.log(`${t.label}: CPU ms per LIST ${med(t.cpu).toFixed(1)} (p25 ${[...t.cpu].sort((a, b) => a - b)[t.cpu.length >> 2].toFixed(1)}), µs per object ${((1000 * med(t.cpu)) / SECRETS).toFixed(2)}, paired this/${base.label} ${paired.toFixed(3)}; wall ms ${med(t.wall).toFixed(1)} (paired ${pairedWall.toFixed(3)}); main thread CPU ms ${med(t.main).toFixed(1)} (paired ${pairedMain.toFixed(3)}); GC pauses median ${med(t.gc).toFixed(1)} ms`);
}
for (const t of targets) { t.rs.close(); await t.store.close(); t.engine.close(); await rm(t.dir, { recursive: true, force: true }); }
await closePlugin();
process.exit(0);
