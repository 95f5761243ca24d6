// Long: one Store backend: schema, revisions, compaction, watch fan-out and group commit share one connection and its locks.
// The default Store: one SQLite file in a data directory, optionally encrypted as a whole (the seed's "file system
// encryption" row: a stolen disk or backup yields no Secret, no key name, nothing but ciphertext).
//
// All SQLite calls are synchronous (better-sqlite3) and this process holds the file's exclusive lock, so the revision
// counter and the compaction mark live in memory.
//
// Group commit (synchronous 'full'): SQLite commits without syncing (synchronous=NORMAL) and the store then fsyncs the
// WAL itself, off the event loop, once for every commit that came before the fsync started. A write is visible (reads
// run at the durable revision, which excludes its row), published to watchers and answered only after an fsync that
// covers it, so "acknowledged" and "seen by anyone" both still mean "survives power loss"; and the event loop serves
// requests while the disk syncs instead of blocking in every commit. Writers still see each other's rows at once
// (they read the newest row of a key), so they keep their order, as the transactions of one etcd batch do.
import { openDatabase, type SqliteDatabase } from '../../lib/sqlite-database.js';
import { closeSync, constants, fdatasync, fsyncSync, openSync, readSync } from 'node:fs';
import { chmod, mkdir, readFile, realpath } from 'node:fs/promises';
import { setImmediate as yieldTurn } from 'node:timers/promises';
import { promisify } from 'node:util';
import { join } from 'node:path';
import {
  AlreadyExistsError,
  CofferError,
  DecryptError,
  InvalidError,
  NotFoundError,
  UnavailableError,
} from '../../lib/errors.js';
import {
  CompactedError,
  RevisionConflictError,
  type KeyValue,
  type ListResult,
  type Store,
  type WatchEvent,
} from '../store.js';
import { refuseKeyFileInDataDir } from '../../lib/key-file-location.js';
import { DEFAULT_KEY_PREFIX, validateKey, validateWrite } from '../write-validation.js';
import { applyPragmas, migrate, type Synchronous } from './sqlite-schema.js';
import { DEFAULT_WATCH_LIMITS, WatchHub, type WatchHubLimits } from './watch-hub.js';

export interface SqliteStoreOptions {
  /** Directory holding the store file (created, mode 0700, if missing). */
  dataDir: string;
  /** Writes outside this prefix are refused. Default "/registry/". */
  prefix?: string;
  /**
   * Encrypts the whole file (SQLCipher 4 format via SQLite3MultipleCiphers). The file holds the 256-bit key itself:
   * 32 raw bytes, or 64 hex digits (a trailing newline is fine), e.g. `head -c 32 /dev/urandom > store.key` or
   * `openssl rand -hex 32 > store.key`. It is used as a raw key, without a passphrase KDF: it is already full-entropy,
   * and a passphrase would be the weak point a disk thief attacks. It must live outside dataDir.
   */
  encryptionKeyFile?: string;
  /** 'full' (default): an acknowledged write survives power loss. 'normal': it survives a process crash. */
  synchronous?: Synchronous;
  /** Buffering limits of slow watchers (tests lower them). */
  watchLimits?: Partial<WatchHubLimits>;
  /** @internal The WAL's fsync (tests hold it back to see what waits for it). Default: fdatasync. */
  syncWal?: (fd: number) => Promise<void>;
}

/** The store's file inside dataDir (its WAL is `coffer.db-wal`; exclusive locking means there is no -shm). */
export const SQLITE_FILE_NAME = 'coffer.db';

const SQLITE_HEADER = Buffer.from('SQLite format 3\0', 'latin1');
const HEX = Buffer.from('0123456789abcdef', 'latin1');
/**
 * Revisions one compaction transaction covers. Each batch rewrites the index pages of every key it touches, so small
 * batches multiply the writes (1,000 made a 100,000-revision compaction 3.5 times slower than 10,000); what one batch
 * holds the event loop for is measured by `npm run bench -- scale` (docs/performance.md).
 */
const COMPACT_BATCH_IDS = 10_000;
/** Paged LISTs whose next page's count is remembered (see remainingCounts). */
const REMAINING_COUNTS = 1_024;

interface Row {
  id: number;
  name: string;
  created: number;
  deleted: number;
  create_revision: number;
  prev_revision: number;
  value: Buffer | null;
  old_value: Buffer | null;
}
type Latest = Pick<Row, 'id' | 'deleted' | 'create_revision'>;
type KvRow = Pick<Row, 'id' | 'name' | 'deleted' | 'create_revision' | 'value'>;
/** Keys whose newest revision the store keeps for revisionOf (a name and a number each). */
const LATEST_REVISIONS = 4096;
/** What a read returns; old_value (needed only by watch events) is left in the file. */
const KV_COLUMNS = 'id, name, deleted, create_revision, value';
interface ListParams {
  from: string;
  upper: string;
  revision: number;
  limit: number;
}
interface CompactParams {
  lo: number;
  hi: number;
  revision: number;
}
interface EventParams {
  after: number;
  through: number;
  prefix: string;
  upper: string;
  limit: number;
}

export class SqliteStore implements Store {
  readonly file: string;
  readonly encrypted: boolean;
  private readonly prefix: string;
  private readonly hub: WatchHub;
  /** The durable revision: reads run at it, watchers have heard of everything up to it. */
  private revision: number;
  /** The newest revision committed to SQLite; ahead of `revision` while its fsync is pending. */
  private written: number;
  private compactRevision: number;
  private closed = false;
  /** Commits waiting for the WAL's fsync, in revision order (always empty with synchronous 'normal'). */
  private readonly unsynced: Unsynced[] = [];
  /** The fsync loop while it runs. */
  private syncing: Promise<void> | undefined;
  /** Settles when the newest commit is durable. */
  private newest: Promise<void> = Promise.resolve();
  /** Set when an fsync failed: what was committed may not be on the disk, so the store serves nothing more. */
  private failed: Error | undefined;
  /**
   * Keys left after a page of a paged LIST, by the revision, range and start key of the page that follows it. Counting
   * them walks every remaining key (300 ms at 100,000 Secrets), once per page: a LIST by 500 of 100,000 took 117 s.
   * A revision's rows never change (compaction only removes what no read at or above it sees), so the count a page
   * found, less the page, is the next page's count.
   */
  private readonly remainingCounts = new Map<string, number>();
  /**
   * The newest revision (0: absent) of the keys revisionOf was asked about, so that the check of a cached GET does
   * not reach SQLite. Exact, not a guess: every write to the file goes through this store (the connection holds it
   * with locking_mode EXCLUSIVE), and a write becomes readable in reveal, which drops its key's entry in the same
   * step; compaction never removes a key's newest row (nor makes an absent key present). Bounded, oldest first.
   */
  private readonly latestRevisions = new Map<string, number>();

  // Prepared once: a statement per call would cost more than the insert itself.
  private readonly latestMeta;
  private readonly latestAt;
  private readonly latestRevision;
  private readonly kvById;
  private readonly rowById;
  private readonly insertCreate;
  private readonly insertUpdate;
  private readonly insertDelete;
  private readonly listRange;
  private readonly listOpen;
  private readonly countRange;
  private readonly countOpen;
  private readonly eventsRange;
  private readonly eventsOpen;
  private readonly compactRows;
  private readonly forgetOldValues;
  private readonly setCompactRevision;
  private readonly createTx;
  private readonly updateTx;
  private readonly deleteTx;
  private readonly firstId;
  private readonly compactBatchTx;

  private constructor(
    private readonly db: SqliteDatabase,
    opts: { file: string; encrypted: boolean; prefix: string; watchLimits: WatchHubLimits },
    /** The WAL, open for the store's own fsync; undefined with synchronous 'normal' (no fsync at all). */
    private readonly walFd: number | undefined,
    private readonly syncWal: (fd: number) => Promise<void>,
  ) {
    this.file = opts.file;
    this.encrypted = opts.encrypted;
    this.prefix = opts.prefix;
    this.revision = db.prepare(`SELECT seq FROM sqlite_sequence WHERE name = 'kv'`).pluck().get() as number;
    this.written = this.revision;
    this.compactRevision = db.prepare(`SELECT value FROM meta WHERE name = 'compact_revision'`).pluck().get() as number;

    this.latestMeta = db.prepare<[string], Latest>(
      `SELECT id, deleted, create_revision FROM kv WHERE name = ? ORDER BY id DESC LIMIT 1`,
    );
    this.latestAt = db.prepare<[string, number], KvRow>(
      `SELECT ${KV_COLUMNS} FROM kv WHERE name = ? AND id <= ? ORDER BY id DESC LIMIT 1`,
    );
    // From the (name, id, deleted) index alone: no table row, no value copied out (a cached GET's read, revisionOf).
    this.latestRevision = db
      .prepare<[string, number], number | null>(
        `SELECT CASE WHEN deleted = 0 THEN id END FROM kv WHERE name = ? AND id <= ? ORDER BY id DESC LIMIT 1`,
      )
      .pluck();
    this.kvById = db.prepare<[number], KvRow>(`SELECT ${KV_COLUMNS} FROM kv WHERE id = ?`);
    this.rowById = db.prepare<[number], Row>(`SELECT * FROM kv WHERE id = ?`);
    // Positional parameters: binding them is measurably cheaper than named ones on this hot path.
    this.insertCreate = db.prepare<[number, string, number, number, Uint8Array]>(
      `INSERT INTO kv (id, name, created, deleted, create_revision, prev_revision, value, old_value)
       VALUES (?, ?, 1, 0, ?, ?, ?, NULL)`,
    );
    // The replaced value is copied inside SQLite; it never has to cross into JavaScript on the write path.
    this.insertUpdate = db.prepare<[number, Uint8Array, number]>(
      `INSERT INTO kv (id, name, created, deleted, create_revision, prev_revision, value, old_value)
       SELECT ?, name, 0, 0, create_revision, id, ?, value FROM kv WHERE id = ?`,
    );
    this.insertDelete = db.prepare<[number, number]>(
      `INSERT INTO kv (id, name, created, deleted, create_revision, prev_revision, value, old_value)
       SELECT ?, name, 0, 1, create_revision, id, NULL, value FROM kv WHERE id = ?`,
    );
    // Walks the (name, id) index in key order and keeps each key's newest row at the revision, so LIMIT stops early.
    const listSql = (upper: boolean) =>
      `SELECT ${KV_COLUMNS} FROM kv AS k
       WHERE k.name >= :from ${upper ? 'AND k.name < :upper' : ''}
         AND k.id = (SELECT max(n.id) FROM kv AS n WHERE n.name = k.name AND n.id <= :revision)
         AND k.deleted = 0
       ORDER BY k.name LIMIT :limit`;
    this.listRange = db.prepare<[ListParams], KvRow>(listSql(true));
    this.listOpen = db.prepare<[Omit<ListParams, 'upper'>], KvRow>(listSql(false));
    // The same rows counted, values unread: remainingItemCount of a paged LIST.
    const countSql = (upper: boolean) =>
      `SELECT count(*) AS n FROM kv AS k
       WHERE k.name >= :from ${upper ? 'AND k.name < :upper' : ''}
         AND k.id = (SELECT max(n.id) FROM kv AS n WHERE n.name = k.name AND n.id <= :revision)
         AND k.deleted = 0`;
    this.countRange = db.prepare<[Omit<ListParams, 'limit'>], { n: number }>(countSql(true));
    this.countOpen = db.prepare<[Omit<ListParams, 'upper' | 'limit'>], { n: number }>(countSql(false));
    // Walks the log forward from the cursor up to the durable revision; "+name" keeps the planner off the name index,
    // which would read every revision of every key under the prefix and sort them.
    const eventsSql = (upper: boolean) =>
      `SELECT * FROM kv WHERE id > :after AND id <= :through AND +name >= :prefix ${upper ? 'AND +name < :upper' : ''}
       ORDER BY id LIMIT :limit`;
    this.eventsRange = db.prepare<[EventParams], Row>(eventsSql(true));
    this.eventsOpen = db.prepare<[Omit<EventParams, 'upper'>], Row>(eventsSql(false));
    // Compaction works through the log in batches of ids [lo, hi) below the compact revision. It removes the rows that
    // no read at or above the compact revision can see: deletions, and values a newer row (still at or below it)
    // replaced. Everything from the compact revision on stays, so watches from there stay complete.
    this.compactRows = db.prepare<[CompactParams]>(
      `DELETE FROM kv WHERE id >= :lo AND id < :hi AND (deleted = 1 OR EXISTS (
         SELECT 1 FROM kv AS newer WHERE newer.name = kv.name AND newer.id > kv.id AND newer.id <= :revision))`,
    );
    // Values replaced before the compact revision: no watch can start early enough to need them as previous values,
    // and a plain file should not keep old Secret versions once history is gone.
    this.forgetOldValues = db.prepare<[Omit<CompactParams, 'revision'>]>(
      `UPDATE kv SET old_value = NULL WHERE id >= :lo AND id < :hi AND old_value IS NOT NULL`,
    );
    this.firstId = db.prepare<[], number>(`SELECT min(id) FROM kv`).pluck();
    this.setCompactRevision = db.prepare<[number]>(`UPDATE meta SET value = ? WHERE name = 'compact_revision'`);

    this.createTx = db.transaction((key: string, value: Uint8Array): number => {
      const latest = this.latestMeta.get(key);
      if (latest && latest.deleted === 0) throw new AlreadyExistsError(`key ${JSON.stringify(key)} already exists`);
      const revision = this.written + 1;
      this.insertCreate.run(revision, key, revision, latest?.id ?? 0, value);
      return revision;
    });
    this.updateTx = db.transaction((key: string, value: Uint8Array, ifRevision: number): number => {
      const latest = this.latestMeta.get(key);
      this.checkRevision(key, latest, ifRevision);
      const revision = this.written + 1;
      this.insertUpdate.run(revision, value, latest!.id);
      return revision;
    });
    this.deleteTx = db.transaction((key: string, ifRevision: number | undefined) => {
      const latest = this.latestMeta.get(key);
      if (!latest || latest.deleted === 1) throw new NotFoundError(`key ${JSON.stringify(key)} not found`);
      if (ifRevision !== undefined) this.checkRevision(key, latest, ifRevision);
      const revision = this.written + 1;
      this.insertDelete.run(revision, latest.id);
      return { revision, prev: toKeyValue(this.kvById.get(latest.id)!) };
    });
    this.compactBatchTx = db.transaction((params: CompactParams) => {
      this.compactRows.run(params);
      this.forgetOldValues.run({ lo: params.lo, hi: params.hi });
    });

    this.hub = new WatchHub((prefix, after, limit) => this.readEventsAfter(prefix, after, limit), opts.watchLimits);
  }

  /** Opens (creating if needed) the store in opts.dataDir. */
  static async open(opts: SqliteStoreOptions): Promise<SqliteStore> {
    const prefix = opts.prefix ?? DEFAULT_KEY_PREFIX;
    await mkdir(opts.dataDir, { recursive: true, mode: 0o700 });
    const file = join(opts.dataDir, SQLITE_FILE_NAME);
    const key = opts.encryptionKeyFile === undefined ? undefined : await readStoreKeyFile(opts.encryptionKeyFile, opts.dataDir);
    // Created owner-only before SQLite touches it; SQLite gives the WAL the same mode.
    closeSync(openSync(file, constants.O_RDWR | constants.O_CREAT, 0o600));
    await chmod(file, 0o600);

    let db: SqliteDatabase | undefined;
    let walFd: number | undefined;
    try {
      db = openDatabase(file, { timeout: 1000 });
      if (key) {
        db.pragma(`cipher = 'sqlcipher'`);
        db.key(key);
      }
      // The first read is where a wrong key, a missing key or a foreign owner shows up.
      db.prepare('SELECT count(*) FROM sqlite_master').get();
      const synchronous = opts.synchronous ?? 'full';
      applyPragmas(db);
      migrate(db);
      walFd = synchronous === 'full' ? openWal(file, opts.dataDir) : undefined;
      return new SqliteStore(
        db,
        { file, encrypted: key !== undefined, prefix, watchLimits: { ...DEFAULT_WATCH_LIMITS, ...opts.watchLimits } },
        walFd,
        opts.syncWal ?? fdatasyncAsync,
      );
    } catch (e) {
      if (walFd !== undefined) closeSync(walFd);
      db?.close();
      throw explainOpenError(e, file, key !== undefined);
    } finally {
      key?.fill(0);
    }
  }

  async get(key: string, opts: { revision?: number; signal?: AbortSignal } = {}) {
    this.enter(opts.signal);
    const revision = this.readRevision(opts.revision);
    const row = this.latestAt.get(key, revision);
    return { revision, kv: row && row.deleted === 0 ? toKeyValue(row) : undefined };
  }

  async revisionOf(key: string, opts: { signal?: AbortSignal } = {}): Promise<number | undefined> {
    this.enter(opts.signal);
    let revision = this.latestRevisions.get(key);
    if (revision === undefined) {
      revision = this.latestRevision.get(key, this.revision) ?? 0;
      if (this.latestRevisions.size >= LATEST_REVISIONS) this.latestRevisions.delete(this.latestRevisions.keys().next().value!);
      this.latestRevisions.set(key, revision);
    }
    return revision === 0 ? undefined : revision;
  }

  async list(
    prefix: string,
    opts: { revision?: number; limit?: number; startKey?: string; signal?: AbortSignal } = {},
  ): Promise<ListResult> {
    this.enter(opts.signal);
    const revision = this.readRevision(opts.revision);
    const limit = opts.limit !== undefined && opts.limit > 0 ? opts.limit : undefined;
    const from =
      opts.startKey !== undefined && Buffer.compare(Buffer.from(opts.startKey), Buffer.from(prefix)) > 0
        ? opts.startKey
        : prefix;
    const upper = prefixEnd(prefix);
    // One row more than asked tells whether there is more.
    const sqlLimit = limit === undefined ? -1 : limit + 1;
    const rows =
      upper === undefined
        ? this.listOpen.all({ from, revision, limit: sqlLimit })
        : this.listRange.all({ from, upper, revision, limit: sqlLimit });
    const more = limit !== undefined && rows.length > limit;
    if (!more) return { revision, kvs: rows.map(toKeyValue), more };
    rows.length = limit;
    const counted = (start: string) => `${revision}:${upper?.length ?? -1}:${upper ?? ''}${start}`;
    const count =
      this.remainingCounts.get(counted(from)) ??
      (upper === undefined ? this.countOpen.get({ from, revision }) : this.countRange.get({ from, upper, revision }))!.n;
    this.remainingCounts.delete(counted(from));
    if (this.remainingCounts.size >= REMAINING_COUNTS) this.remainingCounts.delete(this.remainingCounts.keys().next().value!);
    // Nothing sorts between a key and the key followed by NUL, where the API server continues.
    this.remainingCounts.set(counted(`${rows[limit - 1]!.name}\0`), count - limit);
    return { revision, kvs: rows.map(toKeyValue), more, count };
  }

  async create(key: string, value: Uint8Array, opts: { signal?: AbortSignal } = {}): Promise<number> {
    this.enter(opts.signal);
    validateWrite(key, value, { prefix: this.prefix });
    return this.commit(key, () => this.createTx.immediate(key, value), value);
  }

  async update(key: string, value: Uint8Array, opts: { ifRevision: number; signal?: AbortSignal }): Promise<number> {
    this.enter(opts.signal);
    validateWrite(key, value, { prefix: this.prefix });
    return this.commit(key, () => this.updateTx.immediate(key, value, opts.ifRevision));
  }

  async delete(key: string, opts: { ifRevision?: number; signal?: AbortSignal } = {}) {
    this.enter(opts.signal);
    validateKey(key, { prefix: this.prefix });
    return this.commit(key, () => this.deleteTx.immediate(key, opts.ifRevision));
  }

  watch(prefix: string, opts: { fromRevision: number; signal: AbortSignal }): AsyncIterable<WatchEvent> {
    return this.hub.watch(prefix, opts);
  }

  async currentRevision(opts: { signal?: AbortSignal } = {}): Promise<number> {
    this.enter(opts.signal);
    return this.revision;
  }

  async compact(revision: number, opts: { signal?: AbortSignal } = {}): Promise<void> {
    this.enter(opts.signal);
    if (!Number.isSafeInteger(revision) || revision > this.revision) {
      throw new InvalidError(`cannot compact to revision ${revision}: the store is at revision ${this.revision}`);
    }
    // As etcd: compacting to the current compaction point or below is an error the caller can recognise.
    if (revision <= this.compactRevision) throw new CompactedError(revision, this.compactRevision);
    // Also as etcd: the mark first (reads and watches below it are refused from now on), then the rows in batches,
    // with the event loop free between them, so a long history does not stall requests. The batches start from the
    // oldest row, so a compaction cut short (a crash, close()) is finished by the next one.
    this.setCompactRevision.run(revision);
    this.compactRevision = revision;
    for (let lo = this.firstId.get() ?? revision; lo < revision; lo += COMPACT_BATCH_IDS) {
      this.compactBatchTx.immediate({ lo, hi: Math.min(lo + COMPACT_BATCH_IDS, revision), revision });
      await yieldTurn();
      if (this.closed || this.failed) return;
    }
    if (this.walFd !== undefined) await this.syncWal(this.walFd);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.syncing; // commits already made are answered first
    this.hub.close();
    this.db.close();
    if (this.walFd !== undefined) closeSync(this.walFd);
  }

  /** SQLite's own consistency check of the whole file; ['ok'] when it is intact. */
  integrityCheck(): string[] {
    this.enter(undefined);
    const rows = this.db.pragma('integrity_check') as { integrity_check: string }[];
    return rows.map((r) => r.integrity_check);
  }

  private enter(signal: AbortSignal | undefined): void {
    if (this.failed) throw this.failed;
    if (this.closed) throw new UnavailableError(`store ${this.file} is closed`);
    signal?.throwIfAborted();
  }

  /** The revision a read runs at; rejects revisions compaction removed or that do not exist yet. */
  private readRevision(requested: number | undefined): number {
    if (requested === undefined || requested === 0) return this.revision;
    if (!Number.isSafeInteger(requested) || requested < 0) throw new InvalidError(`invalid revision ${requested}`);
    if (requested > this.revision) {
      throw new InvalidError(`required revision ${requested} is a future revision (the store is at ${this.revision})`);
    }
    if (requested < this.compactRevision) throw new CompactedError(requested, this.compactRevision);
    return requested;
  }

  private checkRevision(key: string, latest: Latest | undefined, ifRevision: number): void {
    if (!latest || latest.deleted === 1) {
      throw new RevisionConflictError(
        `key ${JSON.stringify(key)} was expected at revision ${ifRevision} but does not exist`,
        undefined,
      );
    }
    if (latest.id !== ifRevision) {
      throw new RevisionConflictError(
        `key ${JSON.stringify(key)} was expected at revision ${ifRevision} but is at revision ${latest.id}`,
        toKeyValue(this.kvById.get(latest.id)!),
      );
    }
  }

  /**
   * Runs a write transaction and answers once it is durable. A refused write (conflict, already exists) is answered
   * only once the writes before it are durable too: its reason may be one of them. created: the value of a create,
   * whose watch event is then made from it rather than read back from the row just inserted (a create has no previous
   * value to read), when a watcher wants the key at commit time (the API server's garbage collector watches every
   * resource, so this was one SELECT per create).
   */
  private async commit<T extends number | { revision: number }>(key: string, tx: () => T, created?: Uint8Array): Promise<T> {
    let result: T;
    try {
      result = tx();
    } catch (e) {
      await this.newest;
      throw e;
    }
    const revision = typeof result === 'number' ? result : result.revision;
    this.written = revision;
    // A copy: the caller's buffer is its own once the call returns, and the event may wait in a watcher's queue.
    const event: WatchEvent | undefined =
      created && this.hub.wants(key)
        ? { type: 'put', kv: { key, value: Buffer.from(created), createRevision: revision, modRevision: revision } }
        : undefined;
    if (this.walFd === undefined) {
      this.reveal(key, revision, event);
      return result;
    }
    const durable = new Promise<void>((resolve, reject) => this.unsynced.push({ key, revision, event, resolve, reject }));
    this.newest = durable;
    this.syncing ??= this.syncLoop(this.walFd);
    await durable;
    return result;
  }

  /** fsyncs the WAL until every commit is covered; one fsync answers all the commits made before it started. */
  private async syncLoop(fd: number): Promise<void> {
    while (this.unsynced.length > 0) {
      const covered = this.unsynced.splice(0);
      try {
        await this.syncWal(fd);
      } catch (e) {
        this.failed = new UnavailableError(
          `store ${this.file}: fsync of its write-ahead log failed (${(e as Error).message}); ` +
            `the store refuses every request until it is reopened`,
          { cause: e },
        );
        for (const w of [...covered, ...this.unsynced.splice(0)]) w.reject(this.failed);
        break;
      }
      // One turn: these revisions become readable and reach watchers in order, and their writers are answered.
      for (const w of covered) {
        this.reveal(w.key, w.revision, w.event);
        w.resolve();
      }
    }
    this.syncing = undefined;
  }

  /**
   * A durable revision becomes the read revision and watchers hear of it, in one synchronous step. event: the write's
   * event if the commit made it (a watcher that started since reads the row).
   */
  private reveal(key: string, revision: number, event?: WatchEvent): void {
    this.revision = revision;
    this.latestRevisions.delete(key);
    this.hub.publish(key, revision, () => event ?? toEvent(this.rowById.get(revision)!));
  }

  private readEventsAfter(prefix: string, after: number, limit: number): WatchEvent[] {
    if (this.closed) return [];
    // Events after `after` start at after+1; compaction keeps every row from compactRevision on.
    if (after + 1 < this.compactRevision) throw new CompactedError(after + 1, this.compactRevision);
    const upper = prefixEnd(prefix);
    const through = this.revision;
    const rows =
      upper === undefined
        ? this.eventsOpen.all({ after, through, prefix, limit })
        : this.eventsRange.all({ after, through, prefix, upper, limit });
    return rows.map(toEvent);
  }
}

interface Unsynced {
  key: string;
  revision: number;
  /** The write's watch event, when the commit made it. */
  event: WatchEvent | undefined;
  resolve: () => void;
  reject: (e: Error) => void;
}

const fdatasyncAsync = promisify(fdatasync);

/**
 * Opens the store's WAL for the group commit's own fsync, and fsyncs the directory once so the WAL's own entry is
 * durable too (SQLite does that itself only when it syncs the WAL, which it no longer does at commit). In exclusive
 * locking mode SQLite keeps this file, the same inode, for as long as it has the database open.
 */
function openWal(file: string, dataDir: string): number {
  const fd = openSync(`${file}-wal`, constants.O_RDWR | constants.O_CREAT, 0o600);
  const dir = openSync(dataDir, constants.O_RDONLY);
  try {
    fsyncSync(fd); // what opening wrote (the schema of a new store)
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
  return fd;
}

function toKeyValue(row: KvRow): KeyValue {
  return { key: row.name, value: row.value!, createRevision: row.create_revision, modRevision: row.id };
}

function toEvent(row: Row): WatchEvent {
  const prev: KeyValue | undefined =
    row.created === 1
      ? undefined
      : { key: row.name, value: row.old_value!, createRevision: row.create_revision, modRevision: row.prev_revision };
  if (row.deleted === 1) return { type: 'delete', key: row.name, revision: row.id, prev };
  return prev ? { type: 'put', kv: toKeyValue(row), prev } : { type: 'put', kv: toKeyValue(row) };
}

/**
 * The smallest string above every string that starts with the prefix, in UTF-8 byte order (= code point order):
 * the last code point plus one. undefined when there is none (empty prefix, or only U+10FFFF).
 */
export function prefixEnd(prefix: string): string | undefined {
  const points = Array.from(prefix);
  while (points.length > 0) {
    const last = points.pop()!.codePointAt(0)!;
    if (last < 0x10ffff) {
      // U+D800..U+DFFF are not characters; the next one after U+D7FF in UTF-8 order is U+E000.
      const next = last === 0xd7ff ? 0xe000 : last + 1;
      return points.join('') + String.fromCodePoint(next);
    }
  }
  return undefined;
}

/**
 * Reads the key file and returns it as SQLite3MultipleCiphers' raw-key form `x'<64 hex>'`, in a Buffer the caller
 * zero-fills (no JavaScript string ever holds the key). Refuses a key file inside the data directory.
 */
export async function readStoreKeyFile(keyFile: string, dataDir: string): Promise<Buffer> {
  let realKey: string;
  try {
    realKey = await realpath(keyFile);
  } catch (e) {
    throw new InvalidError(`cannot read the store encryption key file ${keyFile}: ${(e as Error).message}`, { cause: e });
  }
  await refuseKeyFileInDataDir('encryptionKeyFile (--store-encryption-key-file)', keyFile, dataDir);
  const raw = await readFile(realKey);
  try {
    const bytes = decodeKey(raw);
    if (!bytes) {
      throw new InvalidError(
        `the store encryption key file ${keyFile} must hold a 256-bit key: 32 raw bytes or 64 hex digits ` +
          `(got ${raw.length} bytes); create one with: head -c 32 /dev/urandom > ${keyFile}`,
      );
    }
    const form = Buffer.alloc(3 + 64);
    form[0] = 0x78; // x
    form[1] = form[66] = 0x27; // '
    for (let i = 0; i < 32; i++) {
      form[2 + 2 * i] = HEX[bytes[i]! >> 4]!;
      form[3 + 2 * i] = HEX[bytes[i]! & 15]!;
    }
    bytes.fill(0);
    return form;
  } finally {
    raw.fill(0);
  }
}

function decodeKey(raw: Buffer): Buffer | undefined {
  if (raw.length === 32) return Buffer.from(raw);
  let end = raw.length;
  while (end > 0 && (raw[end - 1] === 0x0a || raw[end - 1] === 0x0d || raw[end - 1] === 0x20)) end--;
  if (end !== 64) return undefined;
  const out = Buffer.alloc(32);
  for (let i = 0; i < 64; i++) {
    const c = raw[i]! | 0x20; // lower-case letters; digits are unchanged
    const v = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x61 + 10 : -1;
    if (v < 0) {
      out.fill(0);
      return undefined;
    }
    out[i >> 1] = (out[i >> 1]! << 4) | v;
  }
  return out;
}

function explainOpenError(e: unknown, file: string, keyed: boolean): Error {
  const code = (e as { code?: unknown }).code;
  if (code === 'SQLITE_NOTADB') {
    const plainHeader = headerOf(file)?.equals(SQLITE_HEADER) ?? false;
    if (!keyed) {
      return new DecryptError(
        `cannot open store file ${file}: it is encrypted (or not a SQLite file); give its key file ` +
          `(encryptionKeyFile / --store-encryption-key-file)`,
        { cause: e },
      );
    }
    return new DecryptError(
      plainHeader
        ? `cannot open store file ${file} with an encryption key: the file is not encrypted`
        : `cannot open store file ${file}: the encryption key is wrong (or the file is not a Coffer store)`,
      { cause: e },
    );
  }
  if (code === 'SQLITE_BUSY') {
    return new UnavailableError(`store file ${file} is in use by another process (it holds the file's lock)`, {
      cause: e,
    });
  }
  if (e instanceof CofferError) return e;
  return new CofferError(`cannot open store file ${file}: ${(e as Error).message}`, { cause: e });
}

function headerOf(file: string): Buffer | undefined {
  try {
    const fd = openSync(file, 'r');
    try {
      const b = Buffer.alloc(16);
      return readSync(fd, b, 0, 16, 0) === 16 ? b : undefined;
    } finally {
      closeSync(fd);
    }
  } catch {
    return undefined;
  }
}

