#!/usr/bin/env node
// `npm run build` (run by `prepare`, so by `npm install` in a checkout and by `npm pack`): compiles src/ to dist/ with
// tsc, so the installed `coffer` runs plain JavaScript with no TypeScript tooling. dist/ mirrors src/ at the same depth,
// so paths computed from import.meta.url (proto/, bin/, deploy/crds/) are the same for both.
//
// The new tree is written beside dist/ and swapped in by rename: a `coffer` process started from this checkout
// during a build sees either the old complete tree or the new one (bin/coffer.js falls back to the sources when
// dist/ is missing), never a half-written one.
import { spawnSync } from 'node:child_process';
import { cpSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const next = join(root, `dist.building-${process.pid}`);
const old = join(root, `dist.old-${process.pid}`);
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');

process.stderr.write('coffer: compiling TypeScript to dist/ ...\n');
const r = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json'), '--outDir', next], { stdio: 'inherit' });
if (r.status !== 0) {
  rmSync(next, { recursive: true, force: true });
  process.exit(r.status ?? 1);
}
// Assets that are not TypeScript, at the same place relative to the module that reads them.
for (const asset of ['dashboard/web/dist']) cpSync(join(root, 'src', asset), join(next, asset), { recursive: true });
try {
  renameSync(join(root, 'dist'), old);
} catch (e) {
  if (e.code !== 'ENOENT') throw e;
}
renameSync(next, join(root, 'dist'));
rmSync(old, { recursive: true, force: true });
process.stderr.write('coffer: built dist/\n');
