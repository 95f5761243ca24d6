// One running `coffer up` per data directory. The lock is a kernel lock (an fcntl write lock, taken through SQLite,
// which the project already links), not a pid file: the kernel drops it the moment its holder dies, even by kill -9,
// so there is never a stale lock to judge or break, and two starts racing for it cannot both win. The holder's pid is
// read from /proc/locks, which names whoever holds the lock now.
import { openDatabase } from './sqlite-database.js';
import { closeSync, openSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { CofferError } from './errors.js';

export const LOCK_FILE_NAME = 'coffer.lock';

export interface DataDirLock {
  readonly file: string;
  /** Drops the lock (exiting does too). */
  readonly release: () => void;
}

/** The pid holding a POSIX lock on file, from /proc/locks (Linux); undefined when it cannot be told. */
function lockHolder(file: string): number | undefined {
  try {
    const ino = statSync(file).ino;
    for (const line of readFileSync('/proc/locks', 'utf8').split('\n')) {
      // "1: POSIX  ADVISORY  WRITE 23720 fe:00:2146407 1073741824 1073742335": pid, then major:minor:inode
      const m = /^\d+: POSIX\s+\S+\s+\S+\s+(\d+) [0-9a-f]+:[0-9a-f]+:(\d+) /.exec(line);
      if (m && Number(m[2]) === ino && Number(m[1]) > 0) return Number(m[1]);
    }
  } catch {
    // no /proc/locks
  }
  return undefined;
}

/**
 * Takes dataDir's lock (the directory must exist) or throws at once, naming the directory and the pid that holds it.
 * `flag` is how the user named the directory (--data-dir).
 */
export function lockDataDir(dataDir: string, flag = '--data-dir'): DataDirLock {
  const file = join(dataDir, LOCK_FILE_NAME);
  closeSync(openSync(file, 'a', 0o600)); // owner-only from the start; SQLite would create it with the umask's mode
  const db = openDatabase(file, { timeout: 0 });
  try {
    db.exec('BEGIN EXCLUSIVE'); // held, never committed, until release() or exit
  } catch (e) {
    db.close();
    if ((e as { code?: string }).code !== 'SQLITE_BUSY') throw new CofferError(`cannot lock the data directory ${dataDir} (${file}): ${(e as Error).message}`, { cause: e });
    const pid = lockHolder(file);
    throw new CofferError(
      `the data directory ${dataDir} is in use by another coffer up (${pid ? `pid ${pid}` : 'pid unknown'}, holding ${file}); ` +
        `stop that one first, or give this one another ${flag}`,
    );
  }
  return { file, release: () => db.close() };
}
