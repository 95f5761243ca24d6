// The embedded store's file: connection settings and the log-structured table that gives etcd's MVCC semantics, after
// the idea of k3s's kine. Every write appends a row; the row's id is the store revision. A key's value at revision R is
// its newest row with id <= R (absent when that row is a deletion). Rows carry the previous value so a watch event is
// complete even after compaction removed the row it replaced.
import type { Database } from 'better-sqlite3-multiple-ciphers';
import { CofferError } from '../../lib/errors.js';

export const SCHEMA_VERSION = 1;

/** Durability of an acknowledged write. See applyPragmas. */
export type Synchronous = 'full' | 'normal';

/**
 * Connection settings, applied after the key (if any) and before any other read.
 *
 * - locking_mode: NORMAL, so that the checkpoint worker (wal-checkpointer.ts) can open a second connection to the
 *   file; one process still owns it, through the lock file (sqlite-store.ts, acquireOwnerLock). The WAL's index is
 *   then the -shm file beside it, deleted with the WAL at close. EXCLUSIVE (what the store used before checkpoints
 *   left the event loop, kept for `walCheckpoint: 'inline'`): no second connection at all, the index in heap memory.
 * - journal_mode=WAL: readers never block the writer; a commit is one append.
 * - synchronous=NORMAL: a commit does not fsync; the file stays consistent (SQLite syncs around checkpoints). With
 *   the store's default, 'full', the store fsyncs the WAL itself after commits, off the event loop, before it answers
 *   them, so an acknowledged write survives power loss, as etcd's does (the group commit in sqlite-store.ts). With
 *   'normal' it does not: a write survives kill -9 (committed frames are in the OS page cache, which outlives the
 *   process) but may be lost if the machine loses power. (While the checkpoint worker runs, the store's connection
 *   is set to OFF; see sqlite-store.ts, open.)
 * - temp_store=MEMORY: sorts and temporary tables never spill plaintext to a temp file.
 * - secure_delete=ON: pages freed by compaction are zeroed, so superseded Secret values do not linger on the disk.
 */
export function applyPragmas(db: Database, opts: { exclusive: boolean } = { exclusive: true }): void {
  if (opts.exclusive) db.pragma('locking_mode = EXCLUSIVE');
  const mode = db.pragma('journal_mode = WAL', { simple: true });
  if (mode !== 'wal') throw new CofferError(`store file ${db.name}: could not switch to WAL mode (got ${String(mode)})`);
  db.pragma('synchronous = NORMAL');
  db.pragma('temp_store = MEMORY');
  db.pragma('secure_delete = ON');

  db.pragma('foreign_keys = OFF');
}

/** Creates the tables on first use and checks the version on later ones. Runs in one write transaction. */
export function migrate(db: Database): void {
  db.transaction(() => {
    db.exec(`
      CREATE TABLE IF NOT EXISTS kv (
        id INTEGER PRIMARY KEY AUTOINCREMENT, -- the store revision of this write
        name TEXT NOT NULL,                    -- the key; BINARY collation = UTF-8 byte order, as etcd sorts keys
        created INTEGER NOT NULL,              -- 1 when this write made the key exist (first write, or after a delete)
        deleted INTEGER NOT NULL,              -- 1 for a deletion (a tombstone)
        create_revision INTEGER NOT NULL,      -- revision of the write that created the key, as etcd's create_revision
        prev_revision INTEGER NOT NULL,        -- id of the key's previous row, 0 if none
        value BLOB,                            -- the stored bytes; NULL for a deletion
        old_value BLOB                         -- the value this write replaced or deleted; NULL for a create
      );
      -- deleted rides along so that counting a range's live keys (remainingItemCount of a paged LIST) reads the index
      -- alone: through the table it read every row's page (0.3-0.9 s at 100,000 Secrets; 0.06-0.11 s this way).
      -- Files from before it had (name, id), which this one serves as well; older Coffer versions rebuild theirs.
      CREATE INDEX IF NOT EXISTS kv_name_id_deleted ON kv (name, id, deleted);
      DROP INDEX IF EXISTS kv_name_id;
      CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
    `);
    const version = db.prepare(`SELECT value FROM meta WHERE name = 'schema_version'`).pluck().get() as
      | number
      | undefined;
    if (version === undefined) {
      db.prepare(`INSERT INTO meta (name, value) VALUES ('schema_version', ?), ('compact_revision', 0)`).run(
        SCHEMA_VERSION,
      );
      // Like etcd, an empty store is at revision 1 and the first write gets revision 2: revision 0 means "any" to the
      // Kubernetes API (resourceVersion "0"), so no real state may carry it.
      db.prepare(`INSERT INTO sqlite_sequence (name, seq) VALUES ('kv', 1)`).run();
    } else if (version !== SCHEMA_VERSION) {
      throw new CofferError(
        `store file ${db.name} has schema version ${version}; this Coffer understands version ${SCHEMA_VERSION}`,
      );
    }
  }).immediate();
}
