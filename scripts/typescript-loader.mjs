// `--import` entry of every test file's process under `npm test` (scripts/test.mjs): registers
// scripts/typescript-hooks.mjs, which loads .ts modules from the run's compiled copy (COFFER_COMPILED_TS), and turns on
// source maps so that a failure's stack points at the .ts lines.
import { register } from 'node:module';

const outDir = process.env.COFFER_COMPILED_TS;
if (!outDir) throw new Error('COFFER_COMPILED_TS is not set: scripts/test.mjs sets it after compiling the tree');
process.setSourceMapsEnabled(true);
register('./typescript-hooks.mjs', import.meta.url, { data: { outDir } });
