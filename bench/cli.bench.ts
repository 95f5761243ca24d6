// `npm run bench -- cli`: how fast the installed `coffer` starts and how much memory it holds, as ratios to a bare
// `node -e 0` (and an idle `node` process) measured in the same run, rounds interleaved so drift hits both:
//   1. `coffer --help`: wall time and peak RSS (targets 0.3 s, 80 MB);
//   2. `coffer kms-plugin` and `coffer keyserver` idle: RSS two seconds after their ready line (target 80 MB);
//   3. `coffer up --encryption aesgcm`: time from spawn to its ready line, on a fresh data directory and on a second
//      start of the same one (target 1 s);
//   4. `coffer up` with its default KMS v2 stack (it starts `coffer keyserver` and `coffer kms-plugin` and waits for
//      the plugin's Status): the same two starts (target 3 s).
// It builds dist/ first and runs it through bin/coffer.js with COFFER_FROM_SOURCES=0, so what is measured is the
// compiled CLI a user installs, even if sources are edited during the run.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const ROOT = new URL('..', import.meta.url).pathname;
const COFFER_BIN = join(ROOT, 'bin/coffer.js');
const ROUNDS = 5;
const ENV = { ...process.env, COFFER_FROM_SOURCES: '0' };
const IDLE_MS = 2000;
/** Prints the process's peak RSS (KiB) and CPU time (µs) to stderr at exit; loaded into the baseline and the candidate alike. */
const REPORT_PEAK_RSS = `data:text/javascript,process.on('exit',()=>{const u=process.resourceUsage();process.stderr.write('\\npeak-rss-kib='+u.maxRSS+' cpu-us='+(u.userCPUTime+u.systemCPUTime)+'\\n')})`;

interface Run {
  seconds: number;
  peakMib: number;
  cpuSeconds: number;
}

function runToExit(args: string[]): Run {
  const start = performance.now();
  const r = spawnSync(process.execPath, ['--import', REPORT_PEAK_RSS, ...args], { encoding: 'utf8', cwd: ROOT, env: ENV });
  const seconds = (performance.now() - start) / 1000;
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  const kib = Number(/peak-rss-kib=(\d+)/.exec(r.stderr)?.[1]);
  return { seconds, peakMib: kib / 1024, cpuSeconds: Number(/cpu-us=(\d+)/.exec(r.stderr)?.[1]) / 1e6 };
}

/** Spawns, waits for a stdout line matching `ready`, waits `idleMs`, reads VmRSS, and stops the process. */
/**
 * User + system CPU seconds a process has used so far (/proc/<pid>/stat fields 14 and 15, in clock ticks of 1/100 s):
 * on a loaded machine, what a start costs whatever the wait for a core.
 */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function runUntilReady(args: string[], ready: RegExp, idleMs: number, cwd = ROOT): Promise<{ readySeconds: number; cpuAtReady: number; rssMib: number }> {
  const start = performance.now();
  const child = spawn(process.execPath, args, { cwd, env: ENV, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    const [readySeconds, cpuAtReady] = await new Promise<[number, number]>((resolve, reject) => {
      const lines = createInterface({ input: child.stdout });
      lines.on('line', (line) => {
        if (ready.test(line)) resolve([(performance.now() - start) / 1000, cpuSeconds(child.pid!)]);
      });
      child.once('exit', (code) => reject(new Error(`node ${args.join(' ')} exited ${code} before ready: ${stderr.slice(-2000)}`)));
    });
    await new Promise((r) => setTimeout(r, idleMs));
    const status = await readFile(`/proc/${child.pid}/status`, 'utf8');
    const kib = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1]);
    return { readySeconds, cpuAtReady, rssMib: kib / 1024 };
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

interface Row {
  name: string;
  value: number;
  unit: string;
  baselineName: string;
  baseline: number;
  /** Absent for a row given as context. */
  target?: number;
}

function printTable(rows: Row[]): void {
  console.log('\n## cli: start time and memory of the compiled `coffer`\n');
  console.log('| case | value | baseline | baseline value | ratio | target (absolute) |');
  console.log('|---|---:|---|---:|---:|---:|');
  for (const r of rows) {
    const target = r.target === undefined ? '(context)' : `≤ ${r.target} ${r.unit} ${r.value <= r.target ? 'met' : 'MISSED'}`;
    console.log(`| ${r.name} | ${r.value.toFixed(2)} ${r.unit} | ${r.baselineName} | ${r.baseline.toFixed(2)} ${r.unit} | ${(r.value / r.baseline).toFixed(2)} | ${target} |`);
  }
}

export async function run(): Promise<void> {
  const built = spawnSync(process.execPath, [join(ROOT, 'scripts/build.mjs')], { stdio: 'inherit' });
  if (built.status !== 0) throw new Error('npm run build failed');
  const dir = await mkdtemp(join(tmpdir(), 'coffer-cli-bench-'));
  try {
    const base: Run[] = [];
    const help: Run[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      base.push(runToExit(['-e', '0']));
      help.push(runToExit([COFFER_BIN, '--help']));
    }

    // Idle processes: a bare node process idling, the plugin (local backend) and the key server.
    await writeFile(join(dir, 'kek'), randomBytes(32).toString('base64'), { mode: 0o600 });
    await writeFile(join(dir, 'plugin.yaml'), `endpoint: unix://${join(dir, 'kms.sock')}\nhealthListen: 127.0.0.1:0\nbackend:\n  type: local\n  keyFiles: [kek]\n`);
    const idleBase: number[] = [];
    const plugin: number[] = [];
    const keyserver: number[] = [];
    for (let i = 0; i < 3; i++) {
      idleBase.push((await runUntilReady(['-e', "console.log('ready'); setInterval(() => {}, 1000)"], /^ready$/, IDLE_MS)).rssMib);
      plugin.push((await runUntilReady([COFFER_BIN, 'kms-plugin', '--config', join(dir, 'plugin.yaml'), '--log-level', 'warn'], /^coffer kms-plugin ready/, IDLE_MS)).rssMib);
      const ks = join(dir, `keyserver-${i}`);
      keyserver.push(
        (
          await runUntilReady(
            [COFFER_BIN, 'keyserver', '--data-dir', ks, '--root-key-file', `${ks}.key`, '--init', '--root-token-file', `${ks}.token`, '--listen', '127.0.0.1:0', '--log-level', 'warn'],
            /^keyserver listening on /,
            IDLE_MS,
          )
        ).rssMib,
      );
    }

    // `coffer up --encryption aesgcm`: fresh data directory (certificates generated), then a restart on it.
    const upBase: number[] = [];
    const upBaseCpu: number[] = [];
    const upFresh: number[] = [];
    const upAgain: number[] = [];
    const upAgainCpu: number[] = [];
    const kmsFresh: number[] = [];
    const kmsAgain: number[] = [];
    for (let i = 0; i < 3; i++) {
      const base = runToExit(['-e', '0']);
      upBase.push(base.seconds);
      upBaseCpu.push(base.cpuSeconds);
      const up = (encryption: string, dataDir: string) => [COFFER_BIN, 'up', '--encryption', encryption, '--listen', '127.0.0.1:0', '--data-dir', join(dir, dataDir), '--log-level', 'warn'];
      upFresh.push((await runUntilReady(up('aesgcm', `up-${i}`), /^export KUBECONFIG=/, 0)).readySeconds);
      const again = await runUntilReady(up('aesgcm', `up-${i}`), /^export KUBECONFIG=/, 0);
      upAgain.push(again.readySeconds);
      upAgainCpu.push(again.cpuAtReady);
      kmsFresh.push((await runUntilReady(up('kms', `kms-${i}`), /^export KUBECONFIG=/, 0)).readySeconds);
      kmsAgain.push((await runUntilReady(up('kms', `kms-${i}`), /^export KUBECONFIG=/, 0)).readySeconds);
    }

    const nodeStart = median(base.map((r) => r.seconds));
    printTable([
      { name: 'coffer --help, wall time', value: median(help.map((r) => r.seconds)), unit: 's', baselineName: 'node -e 0', baseline: nodeStart, target: 0.3 },
      { name: 'coffer --help, peak RSS', value: median(help.map((r) => r.peakMib)), unit: 'MiB', baselineName: 'node -e 0', baseline: median(base.map((r) => r.peakMib)), target: 80 },
      { name: 'coffer kms-plugin (local backend), idle RSS', value: median(plugin), unit: 'MiB', baselineName: 'idle node', baseline: median(idleBase), target: 80 },
      { name: 'coffer keyserver, idle RSS', value: median(keyserver), unit: 'MiB', baselineName: 'idle node', baseline: median(idleBase), target: 80 },
      { name: 'coffer up --encryption aesgcm, ready (fresh data dir)', value: median(upFresh), unit: 's', baselineName: 'node -e 0', baseline: median(upBase), target: 1 },
      { name: 'coffer up --encryption aesgcm, ready (restart)', value: median(upAgain), unit: 's', baselineName: 'node -e 0', baseline: median(upBase), target: 1 },
      { name: 'coffer up --encryption aesgcm, CPU time at ready (restart)', value: median(upAgainCpu), unit: 's', baselineName: 'node -e 0 CPU', baseline: median(upBaseCpu) },
      { name: 'coffer up (KMS v2: keyserver + kms-plugin), ready (fresh data dir)', value: median(kmsFresh), unit: 's', baselineName: 'node -e 0', baseline: median(upBase), target: 3 },
      { name: 'coffer up (KMS v2: keyserver + kms-plugin), ready (restart)', value: median(kmsAgain), unit: 's', baselineName: 'node -e 0', baseline: median(upBase), target: 3 },
    ]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
