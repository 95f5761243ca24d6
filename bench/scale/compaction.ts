// Compaction of a long history through Coffer's Store, on SQLite and on a 3-member etcd: the history is written fast
// (SQLite with synchronous=normal, etcd with raw puts at 64 in flight), then compacted by the Store as the API server's
// compaction loop would, with the file reopened as `coffer up` opens it (synchronous=full). Reported: how long the
// compaction took, and for SQLite, which compacts in batches on the API server's event loop, how long that loop was
// held at most (what a request arriving during the compaction could wait) and how many reads, asked every 10 ms, were
// answered while it ran.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Etcd3 } from 'etcd3';
import { openEtcdStore } from '../../src/storage/etcd/etcd-store.js';
import { startEtcdCluster } from '../../src/storage/etcd/testing/etcd-process.js';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.js';

const KEYS = 1_000;
const VALUE = randomBytes(256);
const keyOf = (i: number) => `/registry/secrets/history/k${i % KEYS}`;

async function sqliteCompaction(revisions: number, work: string): Promise<[string, string]> {
  const dataDir = join(work, 'compaction-sqlite');
  const writer = await SqliteStore.open({ dataDir, synchronous: 'normal' });
  const revs = new Map<string, number>();
  for (let i = 0; i < revisions; i++) {
    const key = keyOf(i);
    const prev = revs.get(key);
    revs.set(key, prev === undefined ? await writer.create(key, VALUE) : await writer.update(key, VALUE, { ifRevision: prev }));
  }
  await writer.close();
  const store = await SqliteStore.open({ dataDir });
  try {
    const rev = await store.currentRevision();
    const stall = monitorEventLoopDelay({ resolution: 10 });
    let reads = 0;
    const reader = setInterval(() => void store.get(keyOf(reads)).then(() => reads++), 10);
    stall.enable();
    const start = performance.now();
    await store.compact(rev);
    const seconds = (performance.now() - start) / 1000;
    stall.disable();
    clearInterval(reader);
    return [
      `SQLite: compact ${revisions} revisions (${KEYS} keys)`,
      `${seconds.toFixed(2)} s; event loop held ${(stall.max / 1e6).toFixed(0)} ms at most, ${reads} reads answered meanwhile`,
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
  if (stores.includes('sqlite')) rows.push(await sqliteCompaction(revisions, work));
  if (stores.includes('etcd')) rows.push(await etcdCompaction(revisions));
  return rows;
}
