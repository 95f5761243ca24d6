// scripts/run-test-files.mjs, the runner behind `npm test`: its exit status decides CI. A failing test fails the run;
// a failing test marked todo (the contract suites' known disagreements) does not, as with `node --test`; a file that
// crashes fails it. The first CI run of this runner exited 1 with 0 failures because it counted todo tests.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

const RUNNER = join(import.meta.dirname, '..', 'scripts', 'run-test-files.mjs');

void describe('npm test runner', () => {
  let dir: string;
  const file = async (name: string, text: string) => {
    const p = join(dir, name);
    await writeFile(p, text);
    return p;
  };
  // Without this test's own NODE_TEST_CONTEXT, which would make the runner report to this process instead of deciding.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NODE_TEST_CONTEXT'));
  // The runner and these files are JavaScript: no TypeScript loader (tsx cost each of these processes 0.35 s of CPU).
  const runner = (...files: string[]) => spawnSync(process.execPath, [RUNNER, ...files], { encoding: 'utf8', env }).status;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'coffer-runner-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  void it('exits 0 when the only failures are todo, 1 on a failing test or a crashing file', async () => {
    const todo = await file('todo.test.mjs', "import { it } from 'node:test';\nit('known', { todo: 'a known gap' }, () => { throw new Error('x'); });\nit('fine', () => {});\n");
    const failing = await file('failing.test.mjs', "import { it } from 'node:test';\nit('fails', () => { throw new Error('y'); });\n");
    const crashing = await file('crashing.test.mjs', 'process.exit(3);\n');
    assert.equal(runner(todo), 0);
    assert.equal(runner(todo, failing), 1);
    assert.equal(runner(crashing), 1);
  });

  void it("ends with each file's wall time, slowest first, and writes them all to COFFER_TEST_TIMES", async () => {
    const quick = await file('quick.test.mjs', "import { it } from 'node:test';\nit('quick', () => {});\n");
    const slow = await file('slow.test.mjs', "import { it } from 'node:test';\nit('slow', () => new Promise((r) => setTimeout(r, 300)));\n");
    const times = join(dir, 'times.json');
    const r = spawnSync(process.execPath, [RUNNER, quick, slow], { encoding: 'utf8', env: { ...env, COFFER_TEST_TIMES: times } });
    assert.equal(r.status, 0, r.stderr);
    // Both files, slowest first, with paths relative to the working directory. (Which of the two is slower is not
    // asserted: each file's time includes its process's start, which varies by seconds on a loaded machine.)
    const lines = /^slowest test files \(wall ms, [^)]+ at a time\):\n((?: +\d+ {2}\S+\n)+)/m.exec(r.stderr);
    assert.ok(lines, r.stderr);
    const printed = lines[1]!.trimEnd().split('\n').map((l) => l.trim().split(/ +/) as [string, string]);
    assert.deepEqual(printed.map(([, f]) => join(process.cwd(), f)).sort(), [quick, slow].sort());
    assert.ok(Number(printed[0]![0]) >= Number(printed[1]![0]), 'slowest first');
    const json = Object.entries(JSON.parse(await readFile(times, 'utf8')) as Record<string, number>);
    assert.deepEqual(json.map(([f, ms]) => [f, String(ms)]), printed.map(([ms, f]) => [f, ms]), 'the JSON holds the same times');
    assert.ok(json.find(([f]) => join(process.cwd(), f) === slow)![1] >= 300, 'slow.test.mjs waited 300 ms');
  });

  void it('runs the files after --then=<n> once all before it have finished, n at a time, and sums up both phases', async () => {
    // scripts/test.mjs runs the files with a latency bound that way, after the others, with no heavy file beside them.
    const marker = join(dir, 'first-done');
    const first = await file('first.test.mjs', `import { it } from 'node:test';\nimport { writeFileSync } from 'node:fs';\nit('first', async () => { await new Promise((r) => setTimeout(r, 300)); writeFileSync(${JSON.stringify(marker)}, ''); });\n`);
    const other = await file('other.test.mjs', "import { it } from 'node:test';\nit('other', () => {});\n");
    const later = await file('later.test.mjs', `import { it } from 'node:test';\nimport assert from 'node:assert';\nimport { existsSync } from 'node:fs';\nit('later', () => assert.ok(existsSync(${JSON.stringify(marker)}), 'started before the first phase ended'));\n`);
    const r = spawnSync(process.execPath, [RUNNER, first, other, '--then=1', later], { encoding: 'utf8', env: { ...env, COFFER_TEST_CONCURRENCY: '3' } });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.deepEqual(r.stdout.match(/^ℹ (tests|pass|fail) \d+$/gm), ['ℹ tests 3', 'ℹ pass 3', 'ℹ fail 0'], r.stdout);
    assert.match(r.stderr, /^slowest test files \(wall ms, 3, then 1 at a time\):$/m);
    const failing = await file('failing2.test.mjs', "import { it } from 'node:test';\nit('fails', () => { throw new Error('z'); });\n");
    assert.equal(runner(other, '--then=1', failing), 1, 'a failure in the last phase fails the run');
  });

  void it('lists a file whose process outlived its tests', async () => {
    // An uncleared timer keeps the file's process (and a runner slot) busy after its last test, as a race timeout's
    // 90 s timer did in test/reliability/kill-children.test.ts.
    const lingering = await file('lingering.test.mjs', "import { it } from 'node:test';\nit('leaves a timer', () => { setTimeout(() => {}, 3000); });\n");
    const quick = await file('quick2.test.mjs', "import { it } from 'node:test';\nit('quick', () => {});\n");
    const r = spawnSync(process.execPath, [RUNNER, lingering, quick], { encoding: 'utf8', env: { ...env, COFFER_TEST_OUTLIVED_MS: '2000' } });
    assert.equal(r.status, 0, r.stderr);
    const listed = /^test files whose process outlived their tests .*\n((?: +\d+ {2}\S+\n)+)/m.exec(r.stderr);
    assert.ok(listed, r.stderr);
    const rows = listed[1]!.trimEnd().split('\n').map((l) => l.trim().split(/ +/) as [string, string]);
    assert.deepEqual(rows.map(([, f]) => join(process.cwd(), f)), [lingering]);
    assert.ok(Number(rows[0]![0]) >= 2000);
  });
});
