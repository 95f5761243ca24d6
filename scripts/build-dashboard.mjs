#!/usr/bin/env node
// Bundles the dashboard's front end (src/dashboard/web: preact + htm + uPlot) into src/dashboard/web/dist with the
// esbuild that tsx already brings. The bundle is committed and shipped, so installing Coffer needs no build step and
// the page loads nothing from anywhere else; src/dashboard/web-bundle.test.ts fails when it is out of date.
//   node scripts/build-dashboard.mjs [outdir]
import { copyFile, mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const web = fileURLToPath(new URL('../src/dashboard/web/', import.meta.url));
const outdir = process.argv[2] ?? `${web}dist`;
await mkdir(outdir, { recursive: true });
await build({
  entryPoints: { app: `${web}app.js` },
  bundle: true,
  minify: true,
  format: 'esm',
  target: 'es2020',
  outdir,
  legalComments: 'eof',
  logLevel: 'warning',
});
await build({ entryPoints: { app: `${web}app.css` }, bundle: true, minify: true, outdir, logLevel: 'warning' });
await copyFile(`${web}index.html`, `${outdir}/index.html`);
