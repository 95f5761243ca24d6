// Runs the test files given as arguments with node:test, in the order given, `COFFER_TEST_CONCURRENCY` at a time
// (scripts/test.mjs starts it with `--import tsx`, which each test file's process inherits). `node --test` on Node 20
// sorts its file list, so the slowest files could not start first through it; run() keeps the order.
import { resolve } from 'node:path';
import { run } from 'node:test';
import { spec } from 'node:test/reporters';

const concurrency = Number(process.env.COFFER_TEST_CONCURRENCY ?? 2);
if (!Number.isInteger(concurrency) || concurrency < 1) {
  console.error(`COFFER_TEST_CONCURRENCY must be a positive integer, not ${process.env.COFFER_TEST_CONCURRENCY}`);
  process.exit(2);
}
const stream = run({ files: process.argv.slice(2).map((f) => resolve(f)), concurrency });
// A failing test marked todo is reported but fails nothing, as with `node --test` (the contract suites mark the known
// disagreements of a backend that way).
stream.on('test:fail', (data) => {
  if (!data.todo && !data.skip) process.exitCode = 1;
});
stream.compose(spec).pipe(process.stdout);
