// Coffer's SQLite store, read while `coffer up` may be running. The server holds the file's exclusive lock (see
// storage/sqlite/sqlite-schema.ts), so no second connection can open it; instead the database file and its WAL are
// copied into a private temporary directory and the copy is opened. The copy is consistent: the WAL is only appended
// to between resets, a checkpoint copies into the main file only pages the WAL still holds, and a reset changes the
// WAL header's salt - so a copy of the main file followed by a copy of the WAL, with the same WAL header before and
// after, recovers to the last commit in the copied WAL (a half-written last frame fails its checksum and is ignored).
import { copyFile, mkdtemp, open, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { CofferError, InvalidError } from '../lib/errors.js';
import { SQLITE_FILE_NAME, SqliteStore } from '../storage/sqlite/sqlite-store.js';
import { pagedEntries, type Source } from './source.js';

export interface SqliteSourceOptions {
  /** `coffer up`'s --data-dir; the store lives in <data-dir>/store/coffer.db. A directory holding coffer.db works too. */
  dataDir: string;
  storeEncryptionKeyFile?: string;
}

const WAL_HEADER_BYTES = 32;
const COPY_ATTEMPTS = 5;

/** The directory holding coffer.db: `<data-dir>/store`, or the directory itself. */
export async function storeDir(dataDir: string): Promise<string> {
  for (const dir of [join(dataDir, 'store'), dataDir]) {
    if (await stat(join(dir, SQLITE_FILE_NAME)).then((s) => s.isFile(), () => false)) return dir;
  }
  throw new InvalidError(`no Coffer store in ${JSON.stringify(dataDir)} (looked for store/${SQLITE_FILE_NAME} and ${SQLITE_FILE_NAME})`, { field: '--data-dir' });
}

async function walHeader(file: string): Promise<Buffer | undefined> {
  const handle = await open(file, 'r').catch(() => undefined);
  if (!handle) return undefined;
  try {
    const buf = Buffer.alloc(WAL_HEADER_BYTES);
    const { bytesRead } = await handle.read(buf, 0, WAL_HEADER_BYTES, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

const sameHeader = (a: Buffer | undefined, b: Buffer | undefined) => (a === undefined ? b === undefined : b !== undefined && a.equals(b));

/** Copies coffer.db and coffer.db-wal into `into`, retrying while a WAL reset happens during the copy. */
export async function copyStoreFiles(dir: string, into: string): Promise<void> {
  const db = join(dir, SQLITE_FILE_NAME);
  const wal = `${db}-wal`;
  for (let attempt = 1; attempt <= COPY_ATTEMPTS; attempt++) {
    const before = await walHeader(wal);
    await copyFile(db, join(into, SQLITE_FILE_NAME));
    await rm(join(into, `${SQLITE_FILE_NAME}-wal`), { force: true });
    if (before !== undefined) await copyFile(wal, join(into, `${SQLITE_FILE_NAME}-wal`)).catch(() => undefined);
    const copied = await walHeader(join(into, `${SQLITE_FILE_NAME}-wal`));
    if (sameHeader(before, await walHeader(wal)) && sameHeader(before, copied)) return;
  }
  throw new CofferError(`the store in ${JSON.stringify(dir)} changed its WAL during every one of ${COPY_ATTEMPTS} copies; try again`);
}

export async function openSqliteSource(opts: SqliteSourceOptions): Promise<Source> {
  const dir = await storeDir(resolve(opts.dataDir));
  // Private: the copy holds whatever the store holds (ciphertext, and plaintext of unencrypted resources).
  const copy = await mkdtemp(join(tmpdir(), 'coffer-store-copy-'));
  let store: SqliteStore;
  try {
    await copyStoreFiles(dir, copy);
    store = await SqliteStore.open({
      dataDir: copy,
      ...(opts.storeEncryptionKeyFile ? { encryptionKeyFile: resolve(opts.storeEncryptionKeyFile) } : {}),
      synchronous: 'normal',
    });
  } catch (e) {
    await rm(copy, { recursive: true, force: true });
    throw e;
  }
  return {
    description: `coffer store ${join(dir, SQLITE_FILE_NAME)}`,
    entries: (prefix, o) => pagedEntries(store, prefix, o),
    async close() {
      await store.close();
      await rm(copy, { recursive: true, force: true });
    },
  };
}
