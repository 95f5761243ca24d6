// In-process registry CPU per create and per cached GET (issue 16), several builds side by side in one process:
// createResourceStores on SQLite without fsync, identity, controllers running, no HTTP; 16 in flight, interleaved
// rounds, medians of process CPU per operation; PROF=label writes node:inspector CPU profiles of that build's rounds.
// usage: node scripts/cpu-ab/registry-cpu.mjs label=distdir ... ; env ROUNDS, N, MODE=create|get|both, PROF=label (cpu profile of that one)
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { randomBytes } from 'node:crypto';
import { Session } from 'node:inspector/promises';
import { writeFileSync } from 'node:fs';
const ROUNDS = Number(process.env.ROUNDS ?? 11), N = Number(process.env.N ?? 800), MODE = process.env.MODE ?? 'both';
const VALUE = randomBytes(768).toString('base64');
const targets = [];
for (const arg of process.argv.slice(2)) {
  const [label, distDir] = arg.split('=');
  const dist = pathToFileURL(resolve(distDir)).href;
  const { SqliteStore } = await import(`${dist}/storage/sqlite/sqlite-store.js`);
  const { EncryptionEngine } = await import(`${dist}/encryption/encryption-engine.js`);
  const { loadEncryptionConfiguration } = await import(`${dist}/encryption/encryption-config.js`).catch(() => ({}));
  const { createResourceStores } = await import(`${dist}/apiserver/registry/resource-stores.js`);
  const dir = await mkdtemp(join(tmpdir(), 'coffer-cpu-ab-'));
  const store = await SqliteStore.open({ dataDir: join(dir, 'store'), synchronous: 'normal' });
  const engine = await EncryptionEngine.create(loadEncryptionConfiguration(`apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n  - resources: [secrets]\n    providers:\n      - identity: {}\n`));
  const rs = createResourceStores({ store, engine });
  await rs.ensureDefaultNamespaces();
  await rs.startControllers();
  let n = 0;
  const t = { label, dir, store, rs, creates: [], gets: [], raws: [], rawgets: [] };
  t.create = async () => { const name = `s${n++}`; const o = await rs.secrets.create('default', { metadata: { name }, data: { v: VALUE } }, { handedOver: true }); JSON.stringify(o); };
  for (let i = 0; i < 100; i++) await rs.secrets.create('default', { metadata: { name: `g${i}` }, data: { v: VALUE } });
  let g = 0;
  t.get = async () => { await rs.secrets.getJson('default', `g${g++ % 100}`); };
  let r = 0;
  t.raw = async () => { const obj = JSON.parse(JSON.stringify({ metadata: { name: `r${r}` }, data: { v: VALUE } })); await store.create(`/registry/raw/${label}/r${r++}`, Buffer.from(JSON.stringify(obj))); };
  let rg = 0; t.rawget = async () => { await store.get(`/registry/raw/${label}/r${rg++ % 100}`); };
  targets.push(t);
}
async function measure(op) {
  const c = process.cpuUsage();
  let i = 0;
  await Promise.all(Array.from({ length: 16 }, async () => { while (i < N) { i++; await op(); } }));
  const u = process.cpuUsage(c);
  return (u.user + u.system) / N;
}
const med = (a) => { const s = [...a].sort((x, y) => x - y); return s[s.length >> 1]; };
// warm-up
for (const t of targets) { await measure(t.raw); if (MODE !== 'get') await measure(t.create); if (MODE !== 'create') await measure(t.get); }
let session;
if (process.env.PROF) { session = new Session(); session.connect(); await session.post('Profiler.enable'); await session.post('Profiler.setSamplingInterval', { interval: 100 }); }
for (let round = 0; round < ROUNDS; round++) {
  const order = round % 2 ? [...targets].reverse() : targets;
  for (const t of order) {
    const prof = session && process.env.PROF === t.label;
    if (prof) await session.post('Profiler.start');
    if (MODE !== 'get') t.creates.push(await measure(t.create));
    if (MODE !== 'create') t.gets.push(await measure(t.get));
    if (prof) { const { profile } = await session.post('Profiler.stop'); writeFileSync(`${process.env.PROF_DIR ?? '.'}/prof-${t.label}-${round}.cpuprofile`, JSON.stringify(profile)); }
    if (!prof && t === targets[0]) { if (MODE !== 'get') t.raws.push(await measure(t.raw)); else t.rawgets.push(await measure(t.rawget)); }
  }
}
const la = (await import('node:os')).loadavg().map((x) => x.toFixed(1)).join(' ');
console.log(`load ${la}; rounds ${ROUNDS} x ${N}, median CPU µs per op`);
if (targets[0].rawgets.length) console.log(`raw store get: ${med(targets[0].rawgets).toFixed(1)}`);
if (targets[0].raws.length) console.log(`raw store insert: ${med(targets[0].raws).toFixed(1)}`);
for (const t of targets) console.log(`${t.label}: create ${t.creates.length ? med(t.creates).toFixed(1) : '-'}  getJson ${t.gets.length ? med(t.gets).toFixed(1) : '-'}`);
for (const t of targets) { t.rs.close(); await t.store.close(); await rm(t.dir, { recursive: true, force: true }); }
process.exit(0);
