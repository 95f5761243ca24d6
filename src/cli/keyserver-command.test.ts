import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createInterface } from 'node:readline';
import { startKeyserver } from '../keyserver/keyserver.js';
import { vaultCall } from '../keyserver/testing/test-keyserver.js';

const COMMAND_MODULE = resolve(import.meta.dirname, 'keyserver-command.ts');
// coffer.ts is not ours to change, so the test builds the same program around registerKeyserverCommand.
const PROGRAM = `
import { Command } from 'commander';
import { registerKeyserverCommand } from ${JSON.stringify(COMMAND_MODULE)};
const program = new Command('coffer').exitOverride();
registerKeyserverCommand(program);
try {
  await program.parseAsync(process.argv.slice(1), { from: 'user' });
} catch (e) {
  process.stderr.write('error: ' + (e instanceof Error ? e.message : String(e)) + '\\n');
  process.exitCode = 1;
}
`;

function runCoffer(args: string[]): { child: ChildProcess; firstLine: Promise<string>; exit: Promise<number | null>; stderr: () => string } {
  // The test's own TypeScript loader (npm test's, or tsx's), not a second one started in the child.
  const child = spawn(process.execPath, [...process.execArgv, '--input-type=module', '-e', PROGRAM, 'keyserver', ...args], {
    cwd: resolve(import.meta.dirname, '../..'),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const lines = createInterface({ input: child.stdout });
  const firstLine = new Promise<string>((res) => lines.once('line', res));
  const exit = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  return { child, firstLine, exit, stderr: () => err };
}

void describe('coffer keyserver', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'coffer-keyserver-cli-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  void it('starts on port 0, reports its URL on stdout, writes the root token file (0600) and the ready file, and stops on SIGTERM', async () => {
    const dataDir = join(dir, 'data');
    const tokenFile = join(dir, 'root.token');
    const readyFile = join(dir, 'ready.json');
    const args = ['--data-dir', dataDir, '--root-key-file', join(dir, 'keys', 'root.key'), '--init', '--listen', '127.0.0.1:0', '--root-token-file', tokenFile, '--ready-file', readyFile, '--log-level', 'warn'];
    const run = runCoffer(args);
    const line = await Promise.race([run.firstLine, run.exit.then((c) => `exited ${c}: ${run.stderr()}`)]);
    const m = /^keyserver listening on (http:\/\/127\.0\.0\.1:\d+)$/.exec(line);
    assert.ok(m, line);
    const url = m[1]!;
    const token = (await readFile(tokenFile, 'utf8')).trim();
    assert.match(token, /^hvs\.[A-Za-z0-9]{32}$/);
    assert.equal((await stat(tokenFile)).mode & 0o777, 0o600);
    assert.deepEqual(JSON.parse(await readFile(readyFile, 'utf8')), { url, pid: run.child.pid });
    assert.equal(line.includes(token) || run.stderr().includes(token), false);
    assert.equal((await vaultCall(url, 'GET', 'auth/token/lookup-self', { token })).status, 200);
    assert.equal((await vaultCall(url, 'PUT', 'secret/data/x', { token, body: { data: { k: 'v' } } })).status, 200);
    run.child.kill('SIGTERM');
    assert.equal(await run.exit, 0);

    // Restart: same key file, no new root token needed, data still there.
    const again = runCoffer(args.filter((a) => a !== '--init'));
    const url2 = /on (\S+)$/.exec(await again.firstLine)![1]!;
    assert.deepEqual((await vaultCall(url2, 'GET', 'secret/data/x', { token })).body.data.data, { k: 'v' });
    again.child.kill('SIGTERM');
    assert.equal(await again.exit, 0);
  });

  void it('fails clearly without a root key, with a root key in the data dir, or without a root token file on first start', async () => {
    const cases: [string[], RegExp][] = [
      [['--data-dir', join(dir, 'a'), '--root-token-file', join(dir, 'a.token')], /give --root-key-file or --passphrase-file/],
      [['--data-dir', join(dir, 'b'), '--root-key-file', join(dir, 'b', 'root.key'), '--init', '--root-token-file', join(dir, 'b.token')], /is inside the data directory/],
      // `D/..keys` is a directory inside D, not D's parent: issue 11 found this one accepted.
      [['--data-dir', join(dir, 'b'), '--root-key-file', join(dir, 'b', '..keys', 'root.key'), '--init', '--root-token-file', join(dir, 'b.token')], /--root-key-file: \S+\/b\/\.\.keys\/root\.key is inside the data directory/],
      [['--data-dir', join(dir, 'c'), '--root-key-file', join(dir, 'c.key'), '--init'], /give --root-token-file to receive the root token/],
      [['--data-dir', join(dir, 'd'), '--root-key-file', join(dir, 'd.key'), '--init', '--root-token-file', join(dir, 'd.token'), '--listen', '0.0.0.0:0'], /0\.0\.0\.0 is not a loopback address; .*needs TLS/],
    ];
    // Started together: each is a separate process (its own directories) that loads the command through tsx, about
    // a second each; one after the other they were most of this file's time.
    const runs = cases.map(([args]) => runCoffer(args));
    const exits = await Promise.all(runs.map((r) => r.exit));
    cases.forEach(([args, message], i) => {
      assert.equal(exits[i], 1, args.join(' '));
      assert.match(runs[i]!.stderr(), message);
    });
  });

  void it('refuses a non-loopback address without TLS in the library too', async () => {
    await assert.rejects(startKeyserver({ dataDir: join(dir, 'lib'), rootKey: Buffer.alloc(32, 1), listen: '192.0.2.1:8200' }), /listen: 192\.0\.2\.1 is not a loopback address/);
  });
});
