// Runs the test files given as arguments with node:test, in the order given, `COFFER_TEST_CONCURRENCY` at a time
// (scripts/test.mjs starts it with `--import` of its TypeScript loader, which each test file's process inherits).
// `node --test` on Node 20 sorts its file list, so the slowest files could not start first through it; run() keeps
// the order. An argument `--then=<n>` starts a phase: the files after it run once all before it have finished, n at a
// time (scripts/test.mjs runs the files with a latency bound last, with no heavy file beside them).
import { writeFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { run } from 'node:test';
import { spec } from 'node:test/reporters';

/** A positive integer from `text`, or exit 2 naming `what`. */
function count(text, what) {
  const n = Number(text);
  if (Number.isInteger(n) && n >= 1) return n;
  console.error(`${what} must be a positive integer, not ${text}`);
  process.exit(2);
}

const phases = [{ concurrency: count(process.env.COFFER_TEST_CONCURRENCY ?? 2, 'COFFER_TEST_CONCURRENCY'), files: [] }];
for (const arg of process.argv.slice(2)) {
  const then = /^--then=(.*)$/.exec(arg);
  if (then) phases.push({ concurrency: count(then[1], '--then'), files: [] });
  else phases.at(-1).files.push(resolve(arg));
}

// Each file's own duration (node:test reports a file as a test named by its path), so that the run order above and
// the slow files can be checked from any run's output; COFFER_TEST_TIMES=<file> also writes them all as JSON.
const fileMs = new Map();
// And the sum of its top-level tests' durations (they run one after the other): the rest is its process's start and
// whatever kept it alive after its last test, such as an uncleared timer (test/reliability/kill-children.test.ts
// idled 90 s after its tests on a race timeout's timer).
const testsMs = new Map();
function observe({ type, data }) {
  // A failing test marked todo is reported but fails nothing, as with `node --test` (the contract suites mark the
  // known disagreements of a backend that way).
  if (type === 'test:fail' && !data.todo && !data.skip) process.exitCode = 1;
  if (type !== 'test:complete' || data.nesting !== 0) return;
  if (data.name === data.file) fileMs.set(data.file, data.details.duration_ms);
  else if (data.file) testsMs.set(data.file, (testsMs.get(data.file) ?? 0) + data.details.duration_ms);
}

// Each run() ends with its own summary (diagnostics "tests <n>", "pass <n>", ...); the phases' are added up into one.
const SUMMARY = /^(tests|suites|pass|fail|cancelled|skipped|todo|duration_ms) (\d+(?:\.\d+)?)$/;
const phasesRun = phases.filter((p) => p.files.length > 0);
async function* allPhases() {
  const totals = new Map();
  for (const { concurrency, files } of phasesRun) {
    for await (const event of run({ files, concurrency })) {
      observe(event);
      const m = event.type === 'test:diagnostic' && event.data.nesting === 0 && event.data.file === undefined ? SUMMARY.exec(event.data.message) : null;
      if (m) totals.set(m[1], (totals.get(m[1]) ?? 0) + Number(m[2]));
      else yield event;
    }
  }
  for (const [name, n] of totals) yield { type: 'test:diagnostic', data: { nesting: 0, message: `${name} ${n}` } };
}
/** A file whose process took this much longer than its tests is listed (its start is 0.3-3 s); the runner's test sets less. */
const OUTLIVED_MS = Number(process.env.COFFER_TEST_OUTLIVED_MS ?? 10_000);
const report = Readable.from(allPhases()).compose(spec);
const atATime = phasesRun.map((p) => p.concurrency).join(', then ');
// After the reporter's own summary (the composed stream ends after its last line).
report.on('end', () => {
  const rows = [...fileMs].sort((a, b) => b[1] - a[1]).map(([f, ms]) => [relative(process.cwd(), f), Math.round(ms)]);
  process.stderr.write(`slowest test files (wall ms, ${atATime} at a time):\n`);
  for (const [f, ms] of rows.slice(0, 15)) process.stderr.write(`  ${String(ms).padStart(7)}  ${f}\n`);
  const outlived = [...fileMs].map(([f, ms]) => [f, Math.round(ms - (testsMs.get(f) ?? 0))]).filter(([, ms]) => ms > OUTLIVED_MS);
  if (outlived.length > 0) process.stderr.write('test files whose process outlived their tests (ms after the tests, start included):\n');
  for (const [f, ms] of outlived) process.stderr.write(`  ${String(ms).padStart(7)}  ${relative(process.cwd(), f)}\n`);
  if (process.env.COFFER_TEST_TIMES) writeFileSync(process.env.COFFER_TEST_TIMES, `${JSON.stringify(Object.fromEntries(rows), null, 1)}\n`);
});
report.pipe(process.stdout);
