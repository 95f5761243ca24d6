// `npm run bench -- scale [--size N]`: Coffer with many Secrets, on SQLite and on a 3-member etcd, through real
// `coffer up` processes (aesgcm at rest, the compiled build): create rate, LIST paged by 500 end to end, a restart and
// its first full LIST, 1,000 watchers receiving one change (fan-out p50/p99), the API server's RSS per 10,000 Secrets,
// compaction of a long history, and 1/2/3 API servers on one etcd. Default size 10,000 (a few minutes here);
// --size 100000 is the issue's scale. Figures are reported, not asserted: docs/performance.md keeps the results.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startCoffer, type RunningCoffer } from '../../src/lab/coffer-process.js';
import { startEtcdCluster, type EtcdCluster } from '../../src/storage/etcd/testing/etcd-process.js';
import { apiTarget, createRate, createSecrets, ensureNamespace, pagedList, percentile, watchFanOut, type ApiTarget } from './api-load.js';
import { compactionRows } from './compaction.js';
import { rssMiB } from './rss.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const IN_FLIGHT = 32;
const PAGE = 500;
const WATCHERS = 1_000;
const RSS_STEP = 10_000;

const PARTS = ['sqlite', 'etcd', 'compaction', 'etcd-compaction', 'scale-out'] as const;
type Part = (typeof PARTS)[number];

export interface ScaleOptions {
  size: number;
  /** Revisions of the compaction's history (default 10 × size). */
  history: number;
  /**
   * The parts to run (default all); `--only compaction --history 1000000` is the SQLite compaction alone,
   * `--only etcd-compaction` the etcd one.
   */
  only?: Part;
}

export function parseScaleArgs(argv: string[]): ScaleOptions {
  const value = (flag: string) => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const size = Number(value('--size') ?? 10_000);
  if (!Number.isInteger(size) || size < 1_000) throw new Error(`--size: want an integer ≥ 1000, got ${JSON.stringify(value('--size'))}`);
  const history = Number(value('--history') ?? size * 10);
  if (!Number.isInteger(history) || history < 1_000) throw new Error(`--history: want an integer ≥ 1000, got ${JSON.stringify(value('--history'))}`);
  const only = value('--only');
  if (only !== undefined && !(PARTS as readonly string[]).includes(only)) throw new Error(`--only: want one of ${PARTS.join(', ')}, got ${JSON.stringify(only)}`);
  return { size, history, ...(only ? { only: only as Part } : {}) };
}

type Row = [string, string];

function table(title: string, rows: Row[]): void {
  console.log(`\n## ${title}\n\n| measure | value |\n|---|---:|`);
  for (const [k, v] of rows) console.log(`| ${k} | ${v} |`);
}

async function encryptionConfig(dir: string): Promise<string> {
  const file = join(dir, 'encryption-config.yaml');
  const yaml = [
    'apiVersion: apiserver.config.k8s.io/v1',
    'kind: EncryptionConfiguration',
    'resources:',
    '  - resources: [secrets]',
    '    providers:',
    '      - aesgcm:',
    '          keys:',
    `            - {name: k1, secret: ${randomBytes(32).toString('base64')}}`,
    '      - identity: {}',
    '',
  ].join('\n');
  await writeFile(file, yaml, { mode: 0o600 });
  return file;
}

async function up(dataDir: string, config: string, etcd?: EtcdCluster): Promise<{ coffer: RunningCoffer; target: ApiTarget }> {
  const coffer = await startCoffer({
    dataDir,
    encryptionConfig: config,
    store: etcd ? 'etcd' : 'sqlite',
    ...(etcd ? { etcdEndpoints: etcd.endpoints } : {}),
  });
  return { coffer, target: await apiTarget(dataDir, coffer.url, IN_FLIGHT) };
}

/** One store's figures: creates, RSS growth, paged LIST, restart + first LIST, watcher fan-out. */
async function storeRows(kind: 'sqlite' | 'etcd', size: number, work: string): Promise<Row[]> {
  const etcd = kind === 'etcd' ? await startEtcdCluster(3) : undefined;
  const dataDir = join(work, `${kind}-coffer`);
  const config = await encryptionConfig(work);
  let running = await up(dataDir, config, etcd);
  const rows: Row[] = [];
  try {
    await ensureNamespace(running.target);
    const rss: string[] = [`0: ${rssMiB(running.coffer.pid).toFixed(0)}`];
    const seconds = await createSecrets([running.target], 's', 0, size, IN_FLIGHT, (done) => {
      if (done % RSS_STEP === 0) rss.push(`${done / 1000}k: ${rssMiB(running.coffer.pid).toFixed(0)}`);
    });
    rows.push([`creates of ${size} Secrets (1 KiB, ${IN_FLIGHT} in flight)`, `${(size / seconds).toFixed(0)}/s (${seconds.toFixed(1)} s)`]);
    rows.push([`RSS of coffer up while creating (MiB, by Secrets stored)`, rss.join(', ')]);

    const list = await pagedList(running.target, PAGE);
    if (list.items !== size) throw new Error(`paged LIST returned ${list.items} Secrets, want ${size}`);
    rows.push([`LIST of ${size} by ${PAGE} (${list.pages} pages)`, `${list.seconds.toFixed(2)} s (${(size / list.seconds).toFixed(0)} items/s)`]);
    rows.push([`RSS after the LIST (MiB)`, rssMiB(running.coffer.pid).toFixed(0)]);

    await running.coffer.stop();
    const restartStart = performance.now();
    running = await up(dataDir, config, etcd);
    const ready = (performance.now() - restartStart) / 1000;
    const first = await pagedList(running.target, PAGE);
    if (first.items !== size) throw new Error(`first LIST after restart returned ${first.items} Secrets, want ${size}`);
    rows.push([`restart: ready`, `${ready.toFixed(2)} s`]);
    rows.push([`restart: first LIST of ${size} by ${PAGE}`, `${first.seconds.toFixed(2)} s`]);

    const delays = await watchFanOut(running.target, WATCHERS, 'fan-out', 60_000);
    rows.push([`${WATCHERS} watchers, one change: fan-out p50 / p99`, `${percentile(delays, 50).toFixed(0)} ms / ${percentile(delays, 99).toFixed(0)} ms`]);
    rows.push([`RSS after ${WATCHERS} watchers (MiB)`, rssMiB(running.coffer.pid).toFixed(0)]);
    return rows;
  } finally {
    running.target.agent.destroy();
    await running.coffer.stop();
    await etcd?.stop();
  }
}

/** Aggregate create rate of 1, 2 and 3 API servers on one 3-member etcd, interleaved rounds, medians, as ratios to one. */
async function scaleOutRows(work: string): Promise<Row[]> {
  const etcd = await startEtcdCluster(3);
  const config = await encryptionConfig(work);
  const servers: { coffer: RunningCoffer; target: ApiTarget }[] = [];
  try {
    for (let i = 0; i < 3; i++) servers.push(await up(join(work, `scale-out-${i}`), config, etcd));
    await ensureNamespace(servers[0]!.target);
    const rates: number[][] = [[], [], []];
    let round = 0;
    for (let r = 0; r < 3; r++) {
      for (let n = 1; n <= 3; n++) {
        const targets = servers.slice(0, n).map((s) => s.target);
        rates[n - 1]!.push(await createRate(targets, `o${round++}`, IN_FLIGHT, 4_000));
      }
    }
    const med = rates.map((xs) => [...xs].sort((a, b) => a - b)[1]!);
    return med.map((m, i): Row => [`${i + 1} API server${i ? 's' : ''} on one 3-member etcd, creates`, `${m.toFixed(0)}/s (×${(m / med[0]!).toFixed(2)})`]);
  } finally {
    for (const s of servers) {
      s.target.agent.destroy();
      await s.coffer.stop();
    }
    await etcd.stop();
  }
}

export async function run(argv: string[] = []): Promise<void> {
  const { size, history, only } = parseScaleArgs(argv);
  const wanted = (part: Part) => only === undefined || only === part;
  // Measure what users run: the compiled build (bin/coffer.js takes dist/ with COFFER_FROM_SOURCES=0). The compaction
  // alone runs the Store in this process and starts no coffer.
  if (only !== 'compaction' && only !== 'etcd-compaction') {
    const built = spawnSync(process.execPath, [join(ROOT, 'scripts/build.mjs')], { stdio: 'inherit' });
    if (built.status !== 0) throw new Error('npm run build failed');
    process.env.COFFER_FROM_SOURCES = '0';
  }
  const work = await mkdtemp(join(tmpdir(), 'coffer-bench-scale-'));
  try {
    console.log(`\n# scale: ${only === undefined ? `${size} Secrets` : `only ${only}`}`);
    if (wanted('sqlite')) table(`scale: SQLite, ${size} Secrets`, await storeRows('sqlite', size, work));
    if (wanted('etcd')) table(`scale: 3-member etcd, ${size} Secrets`, await storeRows('etcd', size, work));
    // Alone, `--only compaction` is SQLite's and `--only etcd-compaction` etcd's: writing a long history to etcd takes far
    // longer than compacting it.
    if (only === undefined || only === 'compaction' || only === 'etcd-compaction') {
      const stores: ('sqlite' | 'etcd')[] = only === 'compaction' ? ['sqlite'] : only === 'etcd-compaction' ? ['etcd'] : ['sqlite', 'etcd'];
      table(`scale: compaction of a history of ${history} revisions`, await compactionRows(history, work, stores));
    }
    if (wanted('scale-out')) table('scale: API servers on one etcd', await scaleOutRows(work));
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) await run(process.argv.slice(2));
