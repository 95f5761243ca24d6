// `npm run bench -- storage`: puts/s and gets/s of 1 KiB values on the SQLite store (plain and encrypted), each as a
// ratio to raw better-sqlite3 on a simple key-value table (name TEXT PRIMARY KEY, value BLOB) in a file with the same
// cipher and pragmas, measured in the same run: inserts one transaction each, gets by primary key.
// Target (issue 3): store puts >= 0.7 of raw inserts.
// The etcd rows come from bench/storage-etcd.bench.ts (owned by the etcd backend) when that file exists.
import Database from 'better-sqlite3-multiple-ciphers';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyPragmas, type Synchronous } from '../src/storage/sqlite/sqlite-schema.js';
import { SqliteStore } from '../src/storage/sqlite/sqlite-store.js';
import { compare, printRows, type BenchRow } from './measure.js';

const VALUE = randomBytes(1024);
const PRELOADED = 2000;

interface Setup {
  name: string;
  encrypted: boolean;
  synchronous: Synchronous;
}

const SETUPS: Setup[] = [
  { name: 'plain', encrypted: false, synchronous: 'full' },
  { name: 'encrypted', encrypted: true, synchronous: 'full' },
  // Without an fsync per commit, the store's own overhead is what is left to see.
  { name: 'plain, synchronous=NORMAL', encrypted: false, synchronous: 'normal' },
  { name: 'encrypted, synchronous=NORMAL', encrypted: true, synchronous: 'normal' },
];

export async function run(): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'coffer-bench-storage-'));
  const rows: BenchRow[] = [];
  try {
    const keyFile = join(root, 'store.key');
    const key = randomBytes(32);
    await writeFile(keyFile, key, { mode: 0o600 });
    for (const [i, setup] of SETUPS.entries()) {
      const store = await SqliteStore.open({
        dataDir: join(root, `store-${i}`),
        encryptionKeyFile: setup.encrypted ? keyFile : undefined,
        synchronous: setup.synchronous,
      });
      const dir = join(root, `raw-${i}`);
      await mkdir(dir);
      try {
        rows.push(...(await measureSetup(setup, store, dir, setup.encrypted ? key : undefined)));
      } finally {
        await store.close();
      }
    }
  } finally {
    await rm(root, { recursive: true, force: true });
  }
  printRows('storage: SQLite store vs raw better-sqlite3 (1 KiB values)', rows);
  await etcdRows();
}

async function measureSetup(setup: Setup, store: SqliteStore, dir: string, key?: Buffer): Promise<BenchRow[]> {
  // The baseline for the target: the least a keyed SQLite table costs (the key is the primary key, so SQLite keeps a
  // key index, as any key-value table must). For reference, the same inserts into a table with no key index at all.
  const keyed = openRaw(join(dir, 'keyed.db'), key, setup.synchronous, 'name TEXT PRIMARY KEY, value BLOB');
  const bare = openRaw(join(dir, 'bare.db'), key, setup.synchronous, 'id INTEGER PRIMARY KEY, name TEXT, value BLOB');
  try {
    const insertKeyed = keyed.prepare('INSERT INTO t (name, value) VALUES (?, ?)');
    const insertKeyedTx = keyed.transaction((name: string) => insertKeyed.run(name, VALUE));
    const insertBare = bare.prepare('INSERT INTO t (name, value) VALUES (?, ?)');
    const insertBareTx = bare.transaction((name: string) => insertBare.run(name, VALUE));
    const select = keyed.prepare<[string], { value: Buffer }>('SELECT value FROM t WHERE name = ?');
    let n = 0;
    const puts = await compare(
      () => insertKeyedTx.immediate(`/registry/bench/k${n++}`),
      () => store.create(`/registry/bench/k${n++}`, VALUE),
      { ms: 400, rounds: 3 },
    );
    const putsBare = await compare(
      () => insertBareTx.immediate(`/registry/bench/k${n++}`),
      () => store.create(`/registry/bench/k${n++}`, VALUE),
      { ms: 400, rounds: 3 },
    );
    for (let i = 0; i < PRELOADED; i++) {
      insertKeyedTx.immediate(`/registry/preload/k${i}`);
      await store.create(`/registry/preload/k${i}`, VALUE);
    }
    let g = 0;
    const gets = await compare(
      () => select.get(`/registry/preload/k${g++ % PRELOADED}`),
      () => store.get(`/registry/preload/k${g++ % PRELOADED}`),
      { ms: 400, rounds: 3 },
    );
    const row = (op: string, m: Comparison, baseline: string, target?: number): BenchRow => ({
      name: `SQLite store ${op} (${setup.name})`,
      baseline,
      opsPerSec: m.candidate,
      baselineOpsPerSec: m.baseline,
      ratio: m.ratio,
      target,
    });
    return [
      row('put', puts, 'raw insert, keyed table, 1 txn each', 0.7),
      row('put', putsBare, 'raw insert, table without key index (reference)'),
      row('get', gets, 'raw get by primary key'),
    ];
  } finally {
    keyed.close();
    bare.close();
  }
}

type Comparison = Awaited<ReturnType<typeof compare>>;

/** A baseline table in its own file, with the store's cipher and pragmas. */
function openRaw(file: string, key: Buffer | undefined, synchronous: Synchronous, columns: string): Database.Database {
  const db = new Database(file);
  if (key) {
    db.pragma(`cipher = 'sqlcipher'`);
    db.key(Buffer.from(`x'${key.toString('hex')}'`, 'latin1'));
  }
  applyPragmas(db);
  // 'full': SQLite's own fsync in every commit, the plain way to make an acknowledged insert durable.
  if (synchronous === 'full') db.pragma('synchronous = FULL');
  db.exec(`CREATE TABLE t (${columns})`);
  return db;
}

// ---- etcd rows: written by the etcd backend's owner in bench/storage-etcd.bench.ts --------------------------------
// That module exports `etcdRows(): Promise<BenchRow[]>` (etcd store puts/gets vs raw etcd3 at the same concurrency).
async function etcdRows(): Promise<void> {
  if (!existsSync(new URL('./storage-etcd.bench.ts', import.meta.url))) {
    console.log('\n(etcd rows skipped: bench/storage-etcd.bench.ts does not exist yet)');
    return;
  }
  const modulePath = './storage-etcd.bench.js';
  const mod = (await import(modulePath)) as { etcdRows?: () => Promise<BenchRow[]> };
  if (typeof mod.etcdRows !== 'function') {
    console.log('\n(etcd rows skipped: bench/storage-etcd.bench.ts exports no etcdRows())');
    return;
  }
  printRows('storage: etcd store vs raw etcd3', await mod.etcdRows());
}
