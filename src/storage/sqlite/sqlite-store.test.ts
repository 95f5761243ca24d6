import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { link, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3-multiple-ciphers';
import { DecryptError, InvalidError, UnavailableError } from '../../lib/errors.js';
import { runStoreContract } from '../store.contract.js';
import { CompactedError, type WatchEvent } from '../store.js';
import { prefixEnd, SQLITE_FILE_NAME, SqliteStore, type SqliteStoreOptions } from './sqlite-store.js';

const text = (s: string) => new TextEncoder().encode(s);

async function openTemp(encrypted: boolean) {
  const root = await mkdtemp(join(tmpdir(), 'coffer-sqlite-'));
  let encryptionKeyFile: string | undefined;
  if (encrypted) {
    encryptionKeyFile = join(root, 'store.key');
    await writeFile(encryptionKeyFile, randomBytes(32), { mode: 0o600 });
  }
  const store = await SqliteStore.open({ dataDir: join(root, 'data'), encryptionKeyFile });
  return {
    store,
    async cleanup() {
      await store.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}

runStoreContract('sqlite (plain)', () => openTemp(false));
runStoreContract('sqlite (encrypted)', () => openTemp(true));

/** A temp root per test file; each test works in its own subdirectory. */
let root: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'coffer-sqlite-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

async function freshDirs(): Promise<{ dataDir: string; keyFile: string }> {
  const base = join(root, randomUUID());
  await mkdir(base);
  const keyFile = join(base, 'store.key');
  await writeFile(keyFile, randomBytes(32), { mode: 0o600 });
  return { dataDir: join(base, 'data'), keyFile };
}

/** Every file in the directory (the store file and its WAL), searched byte by byte. */
async function filesContaining(dir: string, needle: Uint8Array): Promise<string[]> {
  const hits: string[] = [];
  for (const name of await readdir(dir)) {
    if ((await readFile(join(dir, name))).includes(Buffer.from(needle))) hits.push(name);
  }
  return hits;
}

async function withStore<T>(opts: SqliteStoreOptions, fn: (s: SqliteStore) => Promise<T>): Promise<T> {
  const s = await SqliteStore.open(opts);
  try {
    return await fn(s);
  } finally {
    await s.close();
  }
}

void describe('sqlite store: the file at rest', () => {
  void it('plain: a marker written through the store is found by a raw byte search; encrypted: it is not', async () => {
    for (const encrypted of [false, true]) {
      const { dataDir, keyFile } = await freshDirs();
      const marker = text(`coffer-marker-${randomUUID()}`);
      const keyMarker = `keymarker-${randomUUID()}`;
      const opts = { dataDir, encryptionKeyFile: encrypted ? keyFile : undefined };
      await withStore(opts, async (s) => {
        await s.create(`/registry/secrets/default/${keyMarker}`, marker);
        const names = await readdir(dataDir);
        assert.ok(names.includes(`${SQLITE_FILE_NAME}-wal`), `a WAL exists while open: ${names.join(', ')}`);
        assert.ok(!names.some((n) => n.endsWith('-shm')), 'no shared-memory file (exclusive locking)');
        const hits = await filesContaining(dataDir, marker);
        const keyHits = await filesContaining(dataDir, text(keyMarker));
        if (encrypted) {
          assert.deepEqual(hits, [], 'encrypted: no value in any file while open');
          assert.deepEqual(keyHits, [], 'encrypted: no key name either');
        } else {
          assert.deepEqual(hits, [`${SQLITE_FILE_NAME}-wal`], 'plain: the value is in the WAL right after the write');
          assert.deepEqual(keyHits, [`${SQLITE_FILE_NAME}-wal`]);
        }
      });
      const header = (await readFile(join(dataDir, SQLITE_FILE_NAME))).subarray(0, 16).toString('latin1');
      const hits = await filesContaining(dataDir, marker);
      if (encrypted) {
        assert.deepEqual(hits, [], 'encrypted: nothing after close either');
        assert.notEqual(header, 'SQLite format 3\0', 'not even the SQLite header is readable');
      } else {
        assert.deepEqual(hits, [SQLITE_FILE_NAME], 'plain: checkpointed into the main file at close');
        assert.equal(header, 'SQLite format 3\0');
      }
    }
  });

  void it('compaction leaves no superseded value behind in a plain file (secure_delete)', async () => {
    const { dataDir } = await freshDirs();
    const old = text(`coffer-old-${randomUUID()}`);
    const current = text(`coffer-new-${randomUUID()}`);
    await withStore({ dataDir }, async (s) => {
      // Neighbours on the same pages, so freed bytes stay in pages that survive (without secure_delete they would).
      for (let i = 0; i < 20; i++) await s.create(`/registry/pad/${i}`, randomBytes(1500));
      const r1 = await s.create('/registry/secrets/default/a', Buffer.concat([old, randomBytes(1500)]));
      for (let i = 20; i < 40; i++) await s.create(`/registry/pad/${i}`, randomBytes(1500));
      await s.update('/registry/secrets/default/a', current, { ifRevision: r1 });
      const r3 = await s.create('/registry/secrets/default/b', text('b'));
      await s.compact(r3);
    });
    assert.deepEqual(await filesContaining(dataDir, old), []);
    assert.deepEqual(await filesContaining(dataDir, current), [SQLITE_FILE_NAME]);
  });

  void it('opening an encrypted store without its key, or with a wrong one, fails clearly', async () => {
    const { dataDir, keyFile } = await freshDirs();
    await withStore({ dataDir, encryptionKeyFile: keyFile }, async (s) => {
      await s.create('/registry/secrets/default/a', text('v'));
    });
    await assert.rejects(SqliteStore.open({ dataDir }), (e: Error) => {
      assert.ok(e instanceof DecryptError);
      assert.match(e.message, /is encrypted/);
      assert.match(e.message, /key file/);
      return true;
    });
    const wrong = join(dataDir, '..', 'wrong.key');
    await writeFile(wrong, randomBytes(32));
    await assert.rejects(SqliteStore.open({ dataDir, encryptionKeyFile: wrong }), (e: Error) => {
      assert.ok(e instanceof DecryptError);
      assert.match(e.message, /encryption key is wrong/);
      return true;
    });
    // The same key written as hex (with a newline, as `openssl rand -hex 32` writes it) opens the store.
    const hexFile = join(dataDir, '..', 'hex.key');
    await writeFile(hexFile, `${(await readFile(keyFile)).toString('hex').toUpperCase()}\n`);
    const value = await withStore({ dataDir, encryptionKeyFile: hexFile }, (s) => s.get('/registry/secrets/default/a'));
    assert.equal(Buffer.from(value.kv!.value).toString(), 'v');
  });

  void it('a plain store opened with a key says the file is not encrypted', async () => {
    const { dataDir, keyFile } = await freshDirs();
    await withStore({ dataDir }, async (s) => void (await s.create('/registry/a', text('v'))));
    await assert.rejects(SqliteStore.open({ dataDir, encryptionKeyFile: keyFile }), /the file is not encrypted/);
  });

  void it('refuses a key file inside the data directory, however it is reached', async () => {
    const { dataDir, keyFile } = await freshDirs();
    await mkdir(dataDir);
    const inside = join(dataDir, 'store.key');
    await writeFile(inside, randomBytes(32));
    const viaLink = join(dataDir, '..', 'data-link');
    await symlink(dataDir, viaLink);
    const hardLinked = join(dataDir, 'sub');
    await mkdir(hardLinked);
    await link(keyFile, join(hardLinked, 'innocent-name'));
    const cases: [string, SqliteStoreOptions][] = [
      ['key file in the data dir', { dataDir, encryptionKeyFile: inside }],
      ['key reached through a symlinked path', { dataDir, encryptionKeyFile: join(viaLink, 'store.key') }],
      ['data dir given as a symlink', { dataDir: viaLink, encryptionKeyFile: inside }],
      ['a hard link to the key in the data dir', { dataDir, encryptionKeyFile: keyFile }],
    ];
    for (const [what, opts] of cases) {
      await assert.rejects(SqliteStore.open(opts), (e: Error) => {
        assert.ok(e instanceof InvalidError, what);
        assert.match(e.message, /inside the data directory/, what);
        assert.match(e.message, /^encryptionKeyFile \(--store-encryption-key-file\): .* would get the key with what it protects/, what);
        return true;
      });
    }
    assert.deepEqual((await readdir(dataDir)).sort(), ['store.key', 'sub'], 'no store file was created');
  });

  void it('refuses a key file that does not hold a 256-bit key, without echoing it', async () => {
    const { dataDir } = await freshDirs();
    const bad = join(dataDir, '..', 'passphrase.key');
    await writeFile(bad, 'correct horse battery staple\n');
    await assert.rejects(SqliteStore.open({ dataDir, encryptionKeyFile: bad }), (e: Error) => {
      assert.ok(e instanceof InvalidError);
      assert.match(e.message, /32 raw bytes or 64 hex digits/);
      assert.ok(!e.message.includes('horse'));
      return true;
    });
    await assert.rejects(SqliteStore.open({ dataDir, encryptionKeyFile: join(dataDir, '..', 'missing.key') }), /cannot read/);
  });

  void it('one process owns a data directory at a time', async () => {
    const { dataDir } = await freshDirs();
    await withStore({ dataDir }, async () => {
      await assert.rejects(SqliteStore.open({ dataDir }), (e: Error) => e instanceof UnavailableError && /in use/.test(e.message));
    });
  });

  void it('keeps revisions, data and the compaction mark across a reopen', async () => {
    const { dataDir, keyFile } = await freshDirs();
    const opts = { dataDir, encryptionKeyFile: keyFile };
    const { r2, r3 } = await withStore(opts, async (s) => {
      assert.equal(await s.currentRevision(), 1, 'an empty store is at revision 1, like etcd');
      const r1 = await s.create('/registry/a', text('a1'));
      const r2 = await s.update('/registry/a', text('a2'), { ifRevision: r1 });
      await s.compact(r2);
      const r3 = await s.create('/registry/b', text('b1'));
      await s.delete('/registry/b');
      return { r2, r3 };
    });
    await withStore(opts, async (s) => {
      assert.equal(await s.currentRevision(), r3 + 1);
      await assert.rejects(s.get('/registry/a', { revision: r2 - 1 }), CompactedError);
      assert.equal((await s.get('/registry/b', { revision: r3 })).kv?.modRevision, r3);
      assert.ok((await s.create('/registry/c', text('c'))) > r3 + 1);
      assert.deepEqual(s.integrityCheck(), ['ok']);
    });
  });

  void it('moves a file from before the (name, id, deleted) index onto it, and counts from the index alone', async () => {
    const { dataDir } = await freshDirs();
    const opts = { dataDir };
    await withStore(opts, async (s) => {
      for (const n of ['a', 'b', 'c']) await s.create(`/registry/x/${n}`, text(n));
      await s.delete('/registry/x/b');
    });
    // The file as Coffer wrote it before: the index on (name, id) only.
    const file = join(dataDir, SQLITE_FILE_NAME);
    const old = new Database(file);
    old.exec('DROP INDEX kv_name_id_deleted; CREATE INDEX kv_name_id ON kv (name, id);');
    old.close();
    await withStore(opts, async (s) => {
      const page = await s.list('/registry/x/', { limit: 1 });
      assert.deepEqual([page.kvs.map((kv) => kv.key), page.more, page.count], [['/registry/x/a'], true, 2]);
      assert.deepEqual(s.integrityCheck(), ['ok']);
    });
    const db = new Database(file, { readonly: true });
    try {
      const indexes = db.prepare(`SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'kv'`).pluck().all();
      assert.deepEqual(indexes, ['kv_name_id_deleted']);
      // The count behind remainingItemCount, as the store asks it: no read of the table's rows (their values).
      const plan = db
        .prepare(
          `EXPLAIN QUERY PLAN SELECT count(*) FROM kv AS k WHERE k.name >= ? AND k.name < ?
             AND k.id = (SELECT max(n.id) FROM kv AS n WHERE n.name = k.name AND n.id <= ?) AND k.deleted = 0`,
        )
        .all('/registry/x/', '/registry/x0', 100) as { detail: string }[];
      const reads = plan.filter((p) => /^(SCAN|SEARCH) /.test(p.detail));
      assert.ok(reads.length > 0 && reads.every((p) => p.detail.includes('USING COVERING INDEX')), JSON.stringify(plan));
    } finally {
      db.close();
    }
  });
});

void describe('sqlite store: watchers that fall behind', () => {
  const limits = { pageEvents: 4, maxQueuedEvents: 8, maxQueuedBytes: 1 << 20 };

  void it('replays history in pages, then buffers live events, then catches up from the log after overflowing', async () => {
    const { dataDir } = await freshDirs();
    await withStore({ dataDir, watchLimits: limits }, async (s) => {
      const start = await s.currentRevision();
      const revs: number[] = [];
      for (let i = 0; i < 10; i++) revs.push(await s.create(`/registry/w/h${i}`, text(String(i))));
      const controller = new AbortController();
      const it = s.watch('/registry/w/', { fromRevision: start, signal: controller.signal })[Symbol.asyncIterator]();
      const got: number[] = [];
      const take = async (n: number) => {
        for (let i = 0; i < n; i++) {
          const r = await it.next();
          assert.equal(r.done, false);
          got.push(revisionOf(r.value));
        }
      };
      await take(10); // history, in pages of 4, ending live
      for (let i = 0; i < 50; i++) revs.push(await s.create(`/registry/w/l${i}`, text(String(i)))); // overflows 8
      await take(50);
      for (let i = 0; i < 3; i++) revs.push(await s.create(`/registry/w/m${i}`, text(String(i)))); // live again
      await take(3);
      assert.deepEqual(got, revs);
      controller.abort();
      assert.equal((await it.next()).done, true);
    });
  });

  void it('a watch from a revision not reached yet starts after it', async () => {
    const { dataDir } = await freshDirs();
    await withStore({ dataDir }, async (s) => {
      const from = (await s.currentRevision()) + 2;
      const it = s.watch('/registry/', { fromRevision: from, signal: AbortSignal.timeout(5000) })[Symbol.asyncIterator]();
      const first = it.next();
      const revs = [];
      for (let i = 0; i < 3; i++) revs.push(await s.create(`/registry/f${i}`, text('v')));
      assert.equal(revs[1], from);
      assert.equal(revisionOf((await first).value as WatchEvent), revs[2]);
      await it.return?.();
    });
  });

  void it('a watcher that fell behind past a compaction ends with CompactedError', async () => {
    const { dataDir } = await freshDirs();
    await withStore({ dataDir, watchLimits: limits }, async (s) => {
      const start = await s.currentRevision();
      const it = s.watch('/registry/w/', { fromRevision: start, signal: AbortSignal.timeout(5000) })[Symbol.asyncIterator]();
      let last = await s.create('/registry/w/k', text('0'));
      assert.equal(revisionOf((await it.next()).value as WatchEvent), last);
      for (let i = 1; i <= 30; i++) last = await s.update('/registry/w/k', text(String(i)), { ifRevision: last });
      await s.compact(last);
      await assert.rejects(async () => {
        for (;;) if ((await it.next()).done) return;
      }, CompactedError);
    });
  });
});

void describe('sqlite store: a create\'s watch event', () => {
  void it('is made at the commit from a copy of the value, and equals the event read back from the log', async () => {
    const { dataDir } = await freshDirs();
    await withStore({ dataDir }, async (s) => {
      const start = await s.currentRevision();
      const live = s.watch('/registry/c/', { fromRevision: start, signal: AbortSignal.timeout(5000) })[Symbol.asyncIterator]();
      const first = live.next(); // live before the create: its event is the one made at the commit
      const value = text('created value');
      const rev = await s.create('/registry/c/k', value);
      value.fill(0); // the caller's buffer is its own again once create returns
      const made = (await first).value as WatchEvent;
      await live.return?.();
      const replayed = s.watch('/registry/c/', { fromRevision: start, signal: AbortSignal.timeout(5000) })[Symbol.asyncIterator]();
      const read = (await replayed.next()).value as WatchEvent;
      await replayed.return?.();
      for (const e of [made, read]) {
        assert.equal(e.type, 'put');
        assert.equal(e.prev, undefined);
        if (e.type !== 'put') continue;
        assert.deepEqual({ ...e.kv, value: Buffer.from(e.kv.value).toString() }, { key: '/registry/c/k', value: 'created value', createRevision: rev, modRevision: rev });
      }
    });
  });
});

void describe('sqlite store: crash safety', () => {
  for (const encrypted of [false, true]) {
    void it(`kill -9 during a stream of writes loses no acknowledged write (${encrypted ? 'encrypted' : 'plain'})`, { timeout: 30_000 }, async () => {
      const { dataDir, keyFile } = await freshDirs();
      const acked = await runWriterUntilKilled(dataDir, encrypted ? keyFile : '', 300);
      assert.ok(acked.length >= 300);
      await withStore({ dataDir, encryptionKeyFile: encrypted ? keyFile : undefined }, async (s) => {
        assert.deepEqual(s.integrityCheck(), ['ok']);
        const current = await s.currentRevision();
        assert.ok(current >= acked.at(-1)!.revision);
        for (const a of acked) {
          const { kv } = await s.get(a.key, { revision: a.revision });
          assert.equal(kv?.modRevision, a.revision, `${a.key}@${a.revision}`);
          assert.equal(Buffer.from(kv.value).toString(), a.value);
        }
        // At most the one write in flight at the kill got past the last acknowledgement.
        assert.ok(current - acked.at(-1)!.revision <= 1, `current ${current}, last ack ${acked.at(-1)!.revision}`);
      });
    });
  }
});

function revisionOf(e: WatchEvent): number {
  return e.type === 'put' ? e.kv.modRevision : e.revision;
}

/** Starts the writer child, waits for `count` acknowledgements, kills it with SIGKILL, returns every ack it printed. */
async function runWriterUntilKilled(dataDir: string, keyFile: string, count: number) {
  const script = fileURLToPath(new URL('./sqlite-crash-writer.ts', import.meta.url));
  // The test's own TypeScript loader (npm test's, or tsx's), not a second one started in the child.
  const child = spawn(process.execPath, [...process.execArgv, script, dataDir, keyFile], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`writer gave too few acks; stderr: ${err}`)), 20_000);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.split('\n').length > count) {
        clearTimeout(timer);
        child.kill('SIGKILL');
        resolve();
      }
    });
    child.on('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  assert.equal(await exited, 'SIGKILL', `writer was killed mid-stream, not exited; stderr: ${err}`);
  // A line cut by the kill is not an acknowledgement.
  return out
    .split('\n')
    .filter((line) => line.endsWith('x'))
    .map((line) => {
      const [key, revision, value] = line.split(' ');
      return { key: key!, revision: Number(revision), value: value! };
    });
}

void describe('prefixEnd', () => {
  void it('is the least string above every string with the prefix, in byte order', () => {
    assert.equal(prefixEnd('/registry/'), '/registry0');
    assert.equal(prefixEnd('a\u{10FFFF}'), 'b');
    assert.equal(prefixEnd('\u{10FFFF}'), undefined);
    assert.equal(prefixEnd(''), undefined);
    assert.equal(prefixEnd('a\uD7FF'), 'a\uE000');
    assert.equal(prefixEnd('a\u{1F600}'), 'a\u{1F601}');
  });
});
