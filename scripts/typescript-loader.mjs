// `--import` entry of every test file's process under `npm test` (scripts/test.mjs): registers
// scripts/typescript-hooks.mjs, which loads .ts modules compiled once into a cache shared by the run's processes, and
// turns on source maps so that a failure's stack points at the .ts lines (as tsx does).
import { register } from 'node:module';

process.setSourceMapsEnabled(true);
register('./typescript-hooks.mjs', import.meta.url);
