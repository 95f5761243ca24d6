#!/usr/bin/env node
// Starts the compiled CLI (dist/, built by `npm run build`, which `npm install` in a checkout and `npm pack` run) when
// it is at least as new as the sources; otherwise (a checkout edited since its last build, or never built) it runs the
// TypeScript sources through tsx, a development dependency. An installed package has no src/, so it always takes
// dist/ and needs no TypeScript tooling, no writable temp directory and no compile step at start.
import { mkdirSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const here = new URL('.', import.meta.url);
const entry = new URL('../dist/cli/coffer.js', here);
const sources = new URL('../src/', here);

function mtime(url) {
  try {
    return statSync(url).mtimeMs;
  } catch {
    return undefined;
  }
}

/** True when a file or directory under dir (a directory's mtime moves when a file is added, removed or renamed) is newer than t. */
function newerThan(dir, t) {
  if (mtime(dir) > t) return true;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = new URL(e.isDirectory() ? `${e.name}/` : e.name, dir);
    if (e.isDirectory() ? newerThan(p, t) : e.name.endsWith('.ts') && mtime(p) > t) return true;
  }
  return false;
}

// COFFER_FROM_SOURCES=1 forces the sources, =0 the build (benchmarks measure the build while sources are edited).
const force = process.env.COFFER_FROM_SOURCES;
const built = mtime(entry);
const hasSources = mtime(sources) !== undefined;
if (built !== undefined && force !== '1' && (!hasSources || force === '0' || !newerThan(sources, built))) {
  await import(entry.href);
} else if (hasSources) {
  // tsx caches compiled files in <tmpdir>/tsx-<uid>, created with a recursive mkdir, which never returns under
  // /proc (TMPDIR=/proc): without a temp directory that takes the cache, run tsx without it.
  try {
    mkdirSync(join(tmpdir(), `tsx-${process.geteuid?.() ?? 'user'}`));
  } catch (e) {
    if (e.code !== 'EEXIST') process.env.TSX_DISABLE_CACHE = '1';
  }
  const { register } = await import('tsx/esm/api');
  register();
  await import(new URL('../src/cli/coffer.ts', here).href);
} else {
  process.stderr.write('coffer: dist/ is missing; run `npm run build`\n');
  process.exit(1);
}
