// The key server's storage: one SQLite file whose every value is sealed, after Vault's barrier. The root key seals
// only the keyring entry, which holds a random barrier key; the barrier key seals everything else with AES-256-GCM and
// the entry's storage path as associated data, so a sealed value moved to another path (or another row swapped in)
// fails to open instead of being read as something it is not. Paths are in the clear, as in Vault's storage: they name
// things (key names, secret paths, token hashes) but hold no key material, secret value or token.
//
// better-sqlite3 is synchronous and this process holds the file's exclusive lock, so a handler's read-modify-write
// without an await in between is atomic.
import { openDatabase, type SqliteDatabase } from '../lib/sqlite-database.js';
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { chmod, mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { CofferError, DecryptError, InvalidError } from '../lib/errors.js';
import { publicRandomBytes } from '../lib/public-random.js';

export const STORAGE_FILE_NAME = 'keyserver.db';
const KEYRING_PATH = 'core/keyring';
const FORMAT = 1; // first byte of every sealed value, so the layout can change later
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
/** Bound of the opened-metadata cache (entries); it is emptied when full. */
const METADATA_CACHE_ENTRIES = 4096;
/** Bound of the opened-key cache (key versions); it is wiped and emptied when full. */
const KEY_CACHE_ENTRIES = 1024;

export class WrongRootKeyError extends DecryptError {}

export class SealedStorage {
  readonly file: string;
  /** True when this open created the storage (and so the caller should mint a root token). */
  readonly created: boolean;
  private closed = false;
  /**
   * Opened and parsed entries that hold no key material or secret value (token entries, key metadata), deep-frozen, so
   * a request neither decrypts nor parses them again (a transit call read three: its token and its key twice); any
   * write or delete of a path drops its entry first, so a rolled-back transaction leaves nothing stale, and being
   * frozen, no caller can change the kept copy in place (a caller that changes one works on its own copy).
   */
  private readonly metadata = new Map<string, unknown>();
  /**
   * Opened key material (transit key versions), as Vault keeps a transit key's versions in memory in its policy cache
   * (sdk/helper/keysutil LockManager) rather than unsealing one per request. Dropped and zero-filled on any write or
   * delete of its path, and at close.
   */
  private readonly keys = new Map<string, Buffer>();
  private readonly getStmt;
  private readonly putStmt;
  private readonly deleteStmt;
  private readonly listStmt;

  private constructor(
    private readonly db: SqliteDatabase,
    private readonly barrierKey: Buffer,
    opts: { file: string; created: boolean },
  ) {
    this.file = opts.file;
    this.created = opts.created;
    this.getStmt = db.prepare<[string], { value: Buffer }>('SELECT value FROM entries WHERE path = ?');
    this.putStmt = db.prepare<[string, Buffer]>('INSERT INTO entries (path, value) VALUES (?, ?) ON CONFLICT (path) DO UPDATE SET value = excluded.value');
    this.deleteStmt = db.prepare<[string]>('DELETE FROM entries WHERE path = ?');
    this.listStmt = db.prepare<[string, string], { path: string }>('SELECT path FROM entries WHERE path >= ? AND path < ? ORDER BY path');
  }

  /**
   * Opens (creating when absent) the storage in dataDir. A root key that does not open the keyring is an error that
   * says so; nothing is written in that case.
   */
  static async open(dataDir: string, rootKey: Uint8Array): Promise<SealedStorage> {
    if (rootKey.length !== 32) throw new InvalidError(`root key: want 32 bytes, got ${rootKey.length}`);
    const dir = resolve(dataDir);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await chmod(dir, 0o700);
    const file = join(dir, STORAGE_FILE_NAME);
    const db = openDatabase(file);
    try {
      await chmod(file, 0o600);
      // EXCLUSIVE: one key server per data directory (the atomicity above depends on it). secure_delete: overwritten
      // and deleted sealed values are zeroed, so a destroyed secret's ciphertext does not linger in free pages.
      db.pragma('locking_mode = EXCLUSIVE');
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      db.pragma('temp_store = MEMORY');
      db.pragma('secure_delete = ON');
      db.exec('CREATE TABLE IF NOT EXISTS entries (path TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID');
      const row = db.prepare<[string], { value: Buffer }>('SELECT value FROM entries WHERE path = ?').get(KEYRING_PATH);
      let barrierKey: Buffer;
      let created = false;
      if (row) {
        try {
          barrierKey = openSealed(rootKey, KEYRING_PATH, row.value);
        } catch (e) {
          throw new WrongRootKeyError(`the root key does not open the key server storage ${file}: wrong root key file or passphrase`, { cause: e });
        }
        if (barrierKey.length !== 32) throw new DecryptError(`${file}: keyring entry holds ${barrierKey.length} bytes, want 32`);
      } else {
        barrierKey = randomBytes(32);
        db.prepare('INSERT INTO entries (path, value) VALUES (?, ?)').run(KEYRING_PATH, seal(rootKey, KEYRING_PATH, barrierKey));
        created = true;
      }
      return new SealedStorage(db, barrierKey, { file, created });
    } catch (e) {
      db.close();
      throw e;
    }
  }

  /** The opened bytes at path; the caller zero-fills them when they are secret. */
  get(path: string): Buffer | undefined {
    this.check(path);
    const row = this.getStmt.get(path);
    if (!row) return undefined;
    try {
      return openSealed(this.barrierKey, path, row.value);
    } catch (e) {
      throw new DecryptError(`cannot open the stored value at ${JSON.stringify(path)}: it was altered or moved`, { cause: e });
    }
  }

  getJson<T>(path: string): T | undefined {
    const bytes = this.get(path);
    if (!bytes) return undefined;
    try {
      return JSON.parse(bytes.toString('utf8')) as T;
    } finally {
      bytes.fill(0);
    }
  }

  /**
   * getJson for entries that are not secret, served from memory after the first open: the same deep-frozen object to
   * every caller (one that changes it must copy it first; an attempt to change it in place throws). Never for key
   * material or secret values: those are opened per use and wiped.
   */
  getMetadataJson<T>(path: string): DeepReadonly<T> | undefined {
    let value = this.metadata.get(path);
    if (value === undefined) {
      const bytes = this.get(path);
      if (!bytes) return undefined;
      value = deepFreeze(JSON.parse(bytes.toString('utf8')) as unknown);
      if (this.metadata.size >= METADATA_CACHE_ENTRIES) this.metadata.clear();
      this.metadata.set(path, value);
    } else {
      this.check(path);
    }
    return value as DeepReadonly<T>;
  }

  /**
   * A copy of the key material at path, opened once and kept (see `keys`); the caller zero-fills the copy. Only for
   * key material this process uses on every request; other secret values are opened per use with get().
   */
  getKey(path: string): Buffer | undefined {
    let key = this.keys.get(path);
    if (key === undefined) {
      key = this.get(path);
      if (!key) return undefined;
      if (this.keys.size >= KEY_CACHE_ENTRIES) this.dropKeys();
      this.keys.set(path, key);
    } else {
      this.check(path);
    }
    return Buffer.from(key);
  }

  put(path: string, value: Uint8Array): void {
    this.check(path);
    this.forget(path);
    this.putStmt.run(path, seal(this.barrierKey, path, value));
  }

  putJson(path: string, value: unknown): void {
    const bytes = Buffer.from(JSON.stringify(value), 'utf8');
    try {
      this.put(path, bytes);
    } finally {
      bytes.fill(0);
    }
  }

  delete(path: string): void {
    this.check(path);
    this.forget(path);
    this.deleteStmt.run(path);
  }

  /** Every stored path that starts with prefix, sorted (UTF-8 byte order). */
  list(prefix: string): string[] {
    this.check(prefix);
    // The upper bound: the smallest string greater than every string with this prefix.
    return this.listStmt.all(prefix, `${prefix}\u{10FFFF}`).map((r) => r.path).filter((p) => p !== KEYRING_PATH);
  }

  /** Runs fn in one SQLite transaction: all of its writes land, or none. */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.metadata.clear();
    this.dropKeys();
    this.db.close();
    this.barrierKey.fill(0);
  }

  /** Drops what is kept in memory for path, before it is written or deleted. */
  private forget(path: string): void {
    this.metadata.delete(path);
    this.keys.get(path)?.fill(0);
    this.keys.delete(path);
  }

  private dropKeys(): void {
    for (const key of this.keys.values()) key.fill(0);
    this.keys.clear();
  }

  private check(path: string): void {
    if (this.closed) throw new CofferError(`key server storage ${this.file} is closed`);
    if (path.startsWith('core/')) throw new InvalidError(`storage path ${JSON.stringify(path)} is reserved`);
  }
}

export type DeepReadonly<T> = T extends (infer E)[] ? readonly DeepReadonly<E>[] : T extends object ? { readonly [K in keyof T]: DeepReadonly<T[K]> } : T;

/** Freezes a parsed JSON value and everything in it. */
function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

function seal(key: Uint8Array, path: string, plaintext: Uint8Array): Buffer {
  const nonce = publicRandomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(Buffer.from(path, 'utf8'));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([Buffer.of(FORMAT), nonce, body, cipher.getAuthTag()]);
}

function openSealed(key: Uint8Array, path: string, sealed: Buffer): Buffer {
  if (sealed.length < 1 + NONCE_BYTES + TAG_BYTES || sealed[0] !== FORMAT) {
    throw new DecryptError(`sealed value at ${JSON.stringify(path)} is malformed (format ${sealed[0]}, ${sealed.length} bytes)`);
  }
  const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(1, 1 + NONCE_BYTES));
  decipher.setAAD(Buffer.from(path, 'utf8'));
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
  return Buffer.concat([decipher.update(sealed.subarray(1 + NONCE_BYTES, sealed.length - TAG_BYTES)), decipher.final()]);
}
