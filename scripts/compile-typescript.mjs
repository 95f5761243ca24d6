// How `npm test` runs TypeScript: each .ts module is compiled once into a cache shared by every test file's process,
// and loaded from there by scripts/typescript-hooks.mjs, instead of through tsx: `node --import tsx -e ''` costs about
// 0.35 s more CPU than `node -e ''` (tsx's own bundle and esbuild's service in the main and the hooks thread), paid by
// each of the 200 test files' processes (docs/performance.md, "`npm test` time", "Sixth session").
// The options are tsx's (node_modules/tsx/dist: target the running Node, keepNames, minifyWhitespace, a source map,
// tsconfig.json's compilerOptions), so a test sees the same code as under tsx. An entry is named by a hash of the
// file's path, its content and the options, so an edited file is compiled again and two runs never disagree (tsx's
// cache, <tmpdir>/tsx-<uid>, works the same way).
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/** Folders of the repository whose TypeScript a test file can import. */
export const TYPESCRIPT_DIRS = ['src', 'test', 'bench', 'scripts'];

const ROOT = resolve(import.meta.dirname, '..');
const ESBUILD_VERSION = JSON.parse(readFileSync(join(ROOT, 'node_modules', 'esbuild', 'package.json'), 'utf8')).version;

/** The cache directory: COFFER_TS_CACHE, else <tmpdir>/coffer-ts-<uid>. */
export const cacheDir = () => process.env.COFFER_TS_CACHE || join(tmpdir(), `coffer-ts-${process.geteuid?.() ?? 'user'}`);

/** tsconfig.json's compilerOptions, for esbuild (it reads the few that change its output). */
export function readTsconfig(root = ROOT) {
  return { compilerOptions: JSON.parse(readFileSync(join(root, 'tsconfig.json'), 'utf8')).compilerOptions };
}

/** esbuild's transform options for one file. */
export function transformOptions(file, tsconfigRaw) {
  return {
    loader: 'ts',
    format: 'esm',
    target: `node${process.versions.node}`,
    sourcefile: file,
    sourcemap: 'inline',
    sourcesContent: false,
    minifyWhitespace: true,
    keepNames: true,
    tsconfigRaw,
  };
}

/** Where the compiled copy of `file` with this `source` is kept. */
export function cachePath(dir, file, source, tsconfigRaw) {
  const h = createHash('sha256');
  for (const part of [ESBUILD_VERSION, JSON.stringify(transformOptions(file, tsconfigRaw)), source]) h.update(part).update('\0');
  return join(dir, `${h.digest('hex').slice(0, 40)}.js`);
}

/**
 * Creates the cache directory (mode 0700) and refuses one that another user owns or can write: its files are run as
 * code. (A directory in a shared /tmp can be made by anyone first.)
 */
export function ensureCacheDir(dir) {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = statSync(dir);
  const uid = process.geteuid?.();
  if ((uid !== undefined && st.uid !== uid) || (st.mode & 0o022) !== 0) {
    throw new Error(`${dir}: the TypeScript cache must be a directory of this user that no one else can write (COFFER_TS_CACHE names another)`);
  }
}

/** Writes a cache entry whole (a rename), so that a process reading it never sees half of it. */
export function writeEntry(path, code) {
  const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}`;
  writeFileSync(tmp, code);
  renameSync(tmp, path);
}

function typescriptFiles(dir) {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (e) {
    if (e.code === 'ENOENT') return [];
    throw e;
  }
  return entries.flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' ? [] : typescriptFiles(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

/**
 * Compiles the .ts files of root's TYPESCRIPT_DIRS that the cache lacks, all at once (esbuild compiles them in
 * parallel), so that the test files' processes find them there. Returns how many files there are and how many were
 * compiled.
 */
export async function compileTypescript(root = ROOT, dir = cacheDir()) {
  ensureCacheDir(dir);
  const tsconfigRaw = readTsconfig(root);
  const files = TYPESCRIPT_DIRS.flatMap((d) => typescriptFiles(resolve(root, d)));
  const missing = files.map((file) => {
    const source = readFileSync(file, 'utf8');
    return { file, source, out: cachePath(dir, file, source, tsconfigRaw) };
  }).filter(({ out }) => !existsSync(out));
  if (missing.length > 0) {
    // Imported only here: the test processes' hooks import this module for its helpers, and load esbuild only on a miss.
    const { transform } = await import('esbuild');
    await Promise.all(missing.map(async ({ file, source, out }) => writeEntry(out, (await transform(source, transformOptions(file, tsconfigRaw))).code)));
  }
  return { files: files.length, compiled: missing.length };
}
