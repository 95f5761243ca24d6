// Compaction of a long history through Coffer's Store, on SQLite and on a 3-member etcd: the history is written fast
// (SQLite with synchronous=normal, etcd with raw puts at 64 in flight), then compacted by the Store as the API server's
// compaction loop would, with the file reopened as `coffer up` opens it (synchronous=full). Reported: how long the
// compaction took, and for SQLite, which compacts in batches on the API server's event loop, how long that loop was
// held at most (what a request arriving during the compaction could wait) and how many reads, asked every 10 ms, were
// answered while it ran. SQLite's compaction runs twice on copies of the same history, checkpoints inline (SQLite's
// automatic checkpoint in the commit, as before) and in the store's worker thread; before it, creates into two
// stores side by side give the commits' synchronous time both ways.
import { randomBytes } from 'node:crypto';
import { cp, rm } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Etcd3 } from 'etcd3';
import { openEtcdStore } from '../../src/storage/etcd/etcd-store.js';
import { startEtcdCluster } from '../../src/storage/etcd/testing/etcd-process.js';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.js';

const KEYS = 1_000;
const VALUE = randomBytes(256);
const keyOf = (i: number) => `/registry/secrets/history/k${i % KEYS}`;

/** Where the store checkpoints: SQLite's automatic checkpoint in the commit (as before), or the worker thread. */
const CHECKPOINTS = { inline: 'inline', worker: {} } as const;
type Checkpoints = keyof typeof CHECKPOINTS;

/** The synchronous part of every commit (what it holds the event loop for), timed around the store's transaction. */
function timeCommits(store: SqliteStore): number[] {
  const times: number[] = [];
  const s = store as unknown as { commit: (key: string, tx: () => unknown) => Promise<unknown> };
  const commit = s.commit.bind(store);
  s.commit = (key, tx) =>
    commit(key, () => {
      const start = performance.now();
      try {
        return tx();
      } finally {
        times.push(performance.now() - start);
      }
    });
  return times;
}

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
const load = () => loadavg().map((l) => l.toFixed(1)).join(' ');

/**
 * Creates of 1 KiB Secrets at 32 in flight into two stores side by side, one checkpointing inline and one in the
 * worker, in interleaved rounds of 10,000: the commits' synchronous time (p50, p99, max, how many held the event loop
 * over 5 ms) and CPU per create.
 */
async function commitTimes(creates: number, work: string): Promise<[string, string][]> {
  const value = randomBytes(1024);
  const runs = await Promise.all(
    (Object.keys(CHECKPOINTS) as Checkpoints[]).map(async (name) => {
      const store = await SqliteStore.open({ dataDir: join(work, `commits-${name}`), walCheckpoint: CHECKPOINTS[name] });
      return { name, store, times: timeCommits(store), cpuUs: 0, done: 0 };
    }),
  );
  const round = Math.min(10_000, creates);
  const loads: string[] = [load()];
  try {
    for (let r = 0; runs[0]!.done < creates; r++) {
      for (const run of r % 2 === 0 ? runs : [...runs].reverse()) {
        const cpu = process.cpuUsage();
        const end = Math.min(run.done + round, creates);
        let next = run.done;
        await Promise.all(
          Array.from({ length: 32 }, async () => {
            while (next < end) await run.store.create(`/registry/secrets/ns/s${next++}`, value);
          }),
        );
        run.done = end;
        const used = process.cpuUsage(cpu);
        run.cpuUs += used.user + used.system;
      }
    }
    loads.push(load());
    return runs.map(({ name, store, times, cpuUs }) => {
      const sorted = [...times].sort((a, b) => a - b);
      const long = times.filter((t) => t > 5);
      const stats = store.checkpointStats();
      return [
        `SQLite: ${creates} creates, checkpoints ${name === 'inline' ? 'in the commit (before)' : 'in a worker (after)'}`,
        `commit p50 ${quantile(sorted, 0.5).toFixed(3)} ms, p99 ${quantile(sorted, 0.99).toFixed(2)} ms, ` +
          `p99.9 ${quantile(sorted, 0.999).toFixed(1)} ms, max ${sorted.at(-1)!.toFixed(1)} ms; ` +
          `${long.length} over 5 ms (${long.reduce((a, b) => a + b, 0).toFixed(0)} ms in all); ${(cpuUs / creates).toFixed(0)} µs CPU/create` +
          (stats ? `; worker: ${stats.checkpoints} checkpoints (${stats.paused} with writes held, ${stats.pausedMs.toFixed(0)} ms)` : '') +
          `; load ${loads.join(' → ')}`,
      ];
    });
  } finally {
    for (const run of runs) await run.store.close();
  }
}

async function sqliteCompaction(revisions: number, work: string): Promise<[string, string][]> {
  const dataDir = join(work, 'compaction-sqlite');
  const writer = await SqliteStore.open({ dataDir, synchronous: 'normal' });
  const revs = new Map<string, number>();
  for (let i = 0; i < revisions; i++) {
    const key = keyOf(i);
    const prev = revs.get(key);
    revs.set(key, prev === undefined ? await writer.create(key, VALUE) : await writer.update(key, VALUE, { ifRevision: prev }));
  }
  await writer.close();
  // The same history compacted twice, checkpoints inline (as before) and in the worker, one after the other.
  const rows: [string, string][] = [];
  for (const name of Object.keys(CHECKPOINTS) as Checkpoints[]) {
    const copy = join(work, `compaction-sqlite-${name}`);
    await cp(dataDir, copy, { recursive: true });
    rows.push(await compactOnce(copy, revisions, name));
    await rm(copy, { recursive: true, force: true });
  }
  await rm(dataDir, { recursive: true, force: true });
  return rows;
}

async function compactOnce(dataDir: string, revisions: number, name: Checkpoints): Promise<[string, string]> {
  const store = await SqliteStore.open({ dataDir, walCheckpoint: CHECKPOINTS[name] });
  try {
    const rev = await store.currentRevision();
    const stall = monitorEventLoopDelay({ resolution: 10 });
    let reads = 0;
    const reader = setInterval(() => void store.get(keyOf(reads)).then(() => reads++), 10);
    const before = load();
    const cpu = process.cpuUsage();
    stall.enable();
    const start = performance.now();
    await store.compact(rev);
    const seconds = (performance.now() - start) / 1000;
    stall.disable();
    const used = process.cpuUsage(cpu);
    clearInterval(reader);
    const stats = store.checkpointStats();
    return [
      `SQLite: compact ${revisions} revisions (${KEYS} keys), checkpoints ${name === 'inline' ? 'in the commit (before)' : 'in a worker (after)'}`,
      `${seconds.toFixed(2)} s (main thread CPU ${((used.user + used.system) / 1e6).toFixed(1)} s); event loop held ${(stall.max / 1e6).toFixed(0)} ms at most, ` +
        `p99 ${(stall.percentile(99) / 1e6).toFixed(0)} ms; ${reads} reads answered meanwhile` +
        (stats ? `; worker: ${stats.checkpoints} checkpoints, ${stats.paused} with writes held (${stats.pausedMs.toFixed(0)} ms), longest ${stats.maxMs.toFixed(0)} ms` : '') +
        `; load ${before} → ${load()}`,
    ];
  } finally {
    await store.close();
  }
}

async function etcdCompaction(revisions: number): Promise<[string, string]> {
  const etcd = await startEtcdCluster(3);
  const raw = new Etcd3({ hosts: etcd.endpoints });
  const store = await openEtcdStore({ endpoints: etcd.endpoints });
  try {
    let next = 0;
    await Promise.all(
      Array.from({ length: 64 }, async () => {
        while (next < revisions) await raw.put(keyOf(next++)).value(VALUE).exec();
      }),
    );
    const rev = await store.currentRevision();
    let start = performance.now();
    await store.compact(rev); // as kube-apiserver: answered once applied, the history removed in the background
    const asked = (performance.now() - start) / 1000;
    // etcd removes compacted history in order, so a physical compaction one revision later returns once both are done.
    start = performance.now();
    await raw.put(keyOf(0)).value(VALUE).exec();
    await raw.kv.compact({ revision: rev + 1, physical: true }, { deadline: Date.now() + 3_600_000 });
    const removed = asked + (performance.now() - start) / 1000;
    return [`3-member etcd: compact ${revisions} revisions (${KEYS} keys)`, `${asked.toFixed(2)} s through the Store; history physically removed after ${removed.toFixed(2)} s`];
  } finally {
    raw.close();
    await store.close();
    await etcd.stop();
  }
}

export async function compactionRows(revisions: number, work: string, stores: ('sqlite' | 'etcd')[] = ['sqlite', 'etcd']): Promise<[string, string][]> {
  const rows: [string, string][] = [];
  if (stores.includes('sqlite')) {
    rows.push(...(await commitTimes(Math.min(100_000, revisions / 10), work)));
    rows.push(...(await sqliteCompaction(revisions, work)));
  }
  if (stores.includes('etcd')) rows.push(await etcdCompaction(revisions));
  return rows;
}
