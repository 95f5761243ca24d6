// Server CPU per request over HTTPS, old and new builds side by side (issue 16): each server alone in a child process
// (https-server.mjs: the bench's bare baseline, or startApiServer with identity on SQLite), clients here, 16 in flight,
// rotated rounds, medians of the server's CPU per request (its process.cpuUsage, asked over IPC), the median of each
// round's ratio to the first target's (paired, steadier on a loaded machine), and V8's GC pauses over the whole run.
// usage: node scripts/cpu-ab/https-cpu.mjs label=kind:dist ... ; env ROUNDS, N, MODE=create|get, PROF_DIR (profiles)
import { fork } from 'node:child_process';
import { Agent, request } from 'node:https';
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
const ROUNDS = Number(process.env.ROUNDS ?? 9), N = Number(process.env.N ?? 2000), MODE = process.env.MODE ?? 'create';
const VALUE = randomBytes(768).toString('base64');
const last = new Map();
const cpuOf = (child) => new Promise((resolve) => { child.once('message', (m) => { last.set(child, m); resolve(m.cpu); }); child.send('cpu'); });
const targets = [];
for (const arg of process.argv.slice(2)) {
  const [label, spec] = arg.split('='); const [kind, dist] = spec.split(':');
  const child = fork(new URL('./https-server.mjs', import.meta.url), [kind, dist], { stdio: 'inherit' });
  const info = await new Promise((r) => child.once('message', r));
  const agent = new Agent({ keepAlive: true, maxSockets: 16, ca: info.ca });
  let created = 0, got = 0;
  const call = (method, path, body) => new Promise((resolve, reject) => {
    const req = request(`${info.url}${path}`, { method, agent, headers: { Authorization: `Bearer ${info.token}`, 'Content-Type': 'application/json' } }, (res) => {
      res.resume(); res.on('end', () => (res.statusCode < 300 ? resolve() : reject(new Error(`${method} ${path} ${res.statusCode}`))));
    });
    req.on('error', reject); req.end(body);
  });
  const t = { label, child, agent, cpu: [], wall: [],
    create: () => call('POST', '/api/v1/namespaces/default/secrets', JSON.stringify({ metadata: { name: `s${created++}` }, data: { v: VALUE } })),
    get: () => call('GET', `/api/v1/namespaces/default/secrets/g${got++ % 100}`),
  };
  for (let i = 0; i < 100; i++) await call('POST', '/api/v1/namespaces/default/secrets', JSON.stringify({ metadata: { name: `g${i}` }, data: { v: VALUE } }));
  targets.push(t);
}
async function run(t, n) {
  const op = MODE === 'create' ? t.create : t.get;
  let i = 0;
  const c0 = await cpuOf(t.child), w0 = performance.now();
  await Promise.all(Array.from({ length: 16 }, async () => { while (i < n) { i++; await op(); } }));
  const wall = (performance.now() - w0) / n;
  return { cpu: ((await cpuOf(t.child)) - c0) / n, wall };
}
for (const t of targets) await run(t, 1000);
// PROF_DIR: each server profiles its measured rounds (https-server.mjs writes the .cpuprofile there).
if (process.env.PROF_DIR) for (const t of targets) t.child.send('prof-start');
const loads = [loadavg()[0]];
for (let r = 0; r < ROUNDS; r++) {
  const order = targets.map((_, i) => targets[(i + r) % targets.length]);
  for (const t of order) { const m = await run(t, N); t.cpu.push(m.cpu); t.wall.push(m.wall); }
  loads.push(loadavg()[0]);
}
const med = (a) => { const s = [...a].sort((x, y) => x - y); return s[s.length >> 1]; };
console.log(`${MODE}: ${ROUNDS} rotated rounds of ${N}, 16 in flight; load 1-min ${Math.min(...loads).toFixed(1)}-${Math.max(...loads).toFixed(1)}`);
const base = targets[0];
for (const t of targets) console.log(`${t.label}: server CPU µs/op ${med(t.cpu).toFixed(0)} (base/this ${(med(base.cpu) / med(t.cpu)).toFixed(2)}), wall µs/op ${(1000 * med(t.wall)).toFixed(0)} (base/this ${(med(base.wall) / med(t.wall)).toFixed(2)})`);
for (const t of targets) {
  const paired = med(t.cpu.map((c, i) => base.cpu[i] / c));
  const { gc } = last.get(t.child);
  console.log(`${t.label}: paired median of each round's base/this CPU ${paired.toFixed(3)}; V8 GC ${gc.pauses} pauses, ${gc.ms.toFixed(0)} ms (wall) over the run`);
}
if (process.env.PROF_DIR) await Promise.all(targets.map((t) => new Promise((r) => { t.child.once('message', r); t.child.send('prof-stop'); })));
for (const t of targets) { t.agent.destroy(); t.child.send('exit'); }
