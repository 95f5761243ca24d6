// One rule for every option that names a key file (--store-encryption-key-file, the key server's --root-key-file and
// --passphrase-file): the file must not live inside the data directory, or whoever copies the data directory (a
// backup, a disk image, a stolen volume) gets the key with what it protects. "Inside" is judged on the real files:
// symbolic links are resolved on both sides (also for paths that do not exist yet, through their nearest existing
// ancestor), and a hard link to the key anywhere in the data directory counts as the key being there.
import { lstat, readdir, realpath, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { InvalidError } from './errors.js';

/** The real path of p, resolving its nearest existing ancestor when p itself does not exist (yet). */
async function realPathOf(p: string): Promise<string> {
  let head = resolve(p);
  let tail = '';
  for (;;) {
    try {
      return join(await realpath(head), tail);
    } catch {
      const parent = dirname(head);
      if (parent === head) return resolve(p);
      tail = join(basename(head), tail);
      head = parent;
    }
  }
}

/** True when `path` is `dir` or below it. `dir/..keys` is a name inside dir, not its parent. */
export function isWithin(dir: string, path: string): boolean {
  const rel = relative(dir, path);
  return rel === '' || (!isAbsolute(rel) && rel !== '..' && !rel.startsWith(`..${sep}`));
}

/** Whether dir holds, anywhere below it, a directory entry for the same file as `target` (a hard link). */
async function holdsLinkTo(dir: string, target: { dev: number; ino: number }): Promise<boolean> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return false; // not there (yet), or not readable: no link we could be copying either
  }
  for (const entry of entries) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (await holdsLinkTo(p, target)) return true;
    } else if (entry.isFile()) {
      const s = await lstat(p).catch(() => undefined);
      if (s && s.ino === target.ino && s.dev === target.dev) return true;
    }
  }
  return false;
}

/**
 * Throws an InvalidError naming `flag` and the file when `file` is inside `dataDir` (see above); resolves otherwise.
 * A file that does not exist yet is judged by where it would be created.
 */
export async function refuseKeyFileInDataDir(flag: string, file: string, dataDir: string): Promise<void> {
  const [realDir, realFile] = await Promise.all([realPathOf(dataDir), realPathOf(file)]);
  let where: string | undefined;
  if (isWithin(realDir, realFile)) where = `is inside the data directory ${resolve(dataDir)}${realFile === resolve(file) ? '' : ` (it resolves to ${realFile})`}`;
  else {
    const s = await stat(realFile).catch(() => undefined);
    // Only a file with more than one name can have one inside the data directory; most keys are spared the walk.
    if (s && s.nlink > 1 && (await holdsLinkTo(realDir, s))) where = `has a hard link inside the data directory ${resolve(dataDir)}`;
  }
  if (where) {
    throw new InvalidError(
      `${file} ${where}: whoever copies the data directory (a backup, a disk image, a stolen volume) would get the ` +
        `key with what it protects; keep the key elsewhere (another disk, a secret mount, a tmpfs)`,
      { field: flag },
    );
  }
}
