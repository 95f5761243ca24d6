import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { identityOf, type ProcessIdentity } from './process-identity.js';
import { superviseProcess } from './process-supervisor.js';

const logger = pino({ level: 'silent' });
const node = (script: string) => ({ command: process.execPath, args: ['-e', script] });
const FIXTURE = new URL('./testing/supervisor-fixture.ts', import.meta.url).pathname;
const waitFor = async (cond: () => boolean, what: string, ms = 5_000) => {
  for (const end = Date.now() + ms; Date.now() < end; ) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  assert.fail(`timed out waiting for ${what}`);
};
const alive = (pid: number) => identityOf(pid) !== undefined;

void describe('superviseProcess', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'coffer-supervisor-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  void it('resolves ready with the ready line and restarts a child after kill -9, SIGTERM and SIGINT from others', async () => {
    const p = superviseProcess({
      name: 'test',
      ...node('console.log("noise"); console.log("serving on port " + (4000 + process.pid % 10)); setTimeout(() => process.exit(0), 600_000)'),
      ready: /serving on port (\d+)/,
      logger,
      restartDelayMs: 10,
    });
    const m = await p.ready;
    assert.match(m[1]!, /^400\d$/);
    // Only a stop the supervisor asked for is final: an exit by someone else's signal is restarted like a crash.
    for (const [i, signal] of (['SIGKILL', 'SIGTERM', 'SIGINT'] as const).entries()) {
      const before = p.pid()!;
      process.kill(before, signal);
      await waitFor(() => p.restarts() === i + 1 && p.pid() !== undefined && p.pid() !== before, `the restart after ${signal}`);
    }
    await p.stop();
    assert.equal(p.pid(), undefined);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(p.restarts(), 3, 'no restart after stop()');
  });

  void it('rejects ready when the child exits before it is ready, and does not restart it', async () => {
    const p = superviseProcess({ name: 'test', ...node('process.exit(3)'), ready: /never/, logger, restartDelayMs: 10 });
    await assert.rejects(p.ready, /test exited before it was ready \(code 3/);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(p.restarts(), 0);
  });

  void it('stop escalates to SIGKILL when the child ignores SIGTERM', async () => {
    const p = superviseProcess({
      name: 'stubborn',
      ...node('process.on("SIGTERM", () => {}); console.log("ready"); setInterval(() => {}, 1000)'),
      ready: /ready/,
      logger,
    });
    await p.ready;
    const started = Date.now();
    await p.stop(100);
    assert.ok(Date.now() - started < 5_000);
    assert.equal(p.pid(), undefined);
  });

  void it('records the running child in its pid file and forgets it on exit', async () => {
    const pidFile = join(dir, 'recorded.pid');
    const p = superviseProcess({ name: 'test', ...node('console.log("ready"); setInterval(() => {}, 1000)'), ready: /ready/, logger, pidFile });
    await p.ready;
    const record = JSON.parse(await readFile(pidFile, 'utf8')) as ProcessIdentity;
    assert.deepEqual(record, { ...identityOf(p.pid()!), pidFile });
    assert.deepEqual(record.cmdline.slice(1), ['-e', 'console.log("ready"); setInterval(() => {}, 1000)']);
    await p.stop();
    await assert.rejects(readFile(pidFile), { code: 'ENOENT' });
  });

  /** Starts the fixture parent (a real supervisor process); resolves with it and its ready child's pid. */
  const startParent = async (pidFile: string) => {
    // The test's own TypeScript loader (npm test's, or tsx's), not a second one started in the child.
    const parent = spawn(process.execPath, [...process.execArgv, FIXTURE, 'parent', pidFile], { stdio: ['ignore', 'pipe', 'inherit'] });
    const childPid = await new Promise<number>((resolve, reject) => {
      let out = '';
      parent.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        const m = /child (\d+)\n/.exec(out);
        if (m) resolve(Number(m[1]));
      });
      parent.once('exit', (code) => reject(new Error(`fixture parent exited with ${code}`)));
    });
    return { parent, childPid };
  };

  void it('a child whose parent is killed with -9 reads EOF on its lifeline and exits', async () => {
    const { parent, childPid } = await startParent(join(dir, 'lifeline.pid'));
    assert.ok(alive(childPid));
    const gone = new Promise((r) => parent.once('exit', r));
    parent.kill('SIGKILL');
    await gone;
    await waitFor(() => !alive(childPid), 'the orphaned child to exit', 30_000);
  });

  void it('a first start ends a child an earlier run left behind (one deaf to its lifeline)', async () => {
    const pidFile = join(dir, 'leftover.pid');
    const { parent, childPid } = await startParent(pidFile);
    process.kill(childPid, 'SIGSTOP'); // stopped, it cannot act on the lifeline: a hung child
    const gone = new Promise((r) => parent.once('exit', r));
    parent.kill('SIGKILL');
    await gone;
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(alive(childPid), 'the stopped child outlived its parent');
    const p = superviseProcess({ name: 'test', ...node('console.log("ready"); setInterval(() => {}, 1000)'), ready: /ready/, logger, pidFile });
    await p.ready;
    assert.ok(!alive(childPid), 'the leftover was ended before the new child started');
    await p.stop();
  });

  void it('never signals a process whose pid was recycled, or one recorded by a copy of the data directory', async () => {
    const stranger = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    const pidFile = join(dir, 'recycled.pid');
    try {
      await waitFor(() => alive(stranger.pid!), 'the stranger to start');
      const real = { ...identityOf(stranger.pid!)!, pidFile };
      const records = [
        { ...real, startTime: String(Number(real.startTime) - 1) },
        { ...real, cmdline: ['coffer', 'keyserver'] },
        { ...real, bootId: 'another-boot' },
        { ...real, pidFile: join(dir, 'original', 'recycled.pid') }, // a copy of a data directory whose original runs
      ];
      for (const record of records) {
        await writeFile(pidFile, JSON.stringify(record));
        const p = superviseProcess({ name: 'test', ...node('console.log("ready"); setInterval(() => {}, 1000)'), ready: /ready/, logger, pidFile });
        await p.ready;
        await p.stop();
        assert.ok(alive(stranger.pid!), `the stranger lives (record ${JSON.stringify(record).slice(0, 80)})`);
      }
    } finally {
      stranger.kill('SIGKILL');
    }
  });

  void it('hands each (re)start fresh stdin bytes over a pipe that stays open', async () => {
    let n = 0;
    const p = superviseProcess({
      name: 'test',
      ...node('process.stdin.once("data", (d) => console.log("got " + d.toString().trim())); setInterval(() => {}, 1000)'),
      ready: /got (\S+)/,
      logger,
      restartDelayMs: 10,
      stdin: async () => Buffer.from(`credential-${++n}\n`),
    });
    assert.equal((await p.ready)[1], 'credential-1');
    const first = p.pid()!;
    process.kill(first, 'SIGKILL');
    await waitFor(() => p.restarts() === 1 && p.pid() !== undefined && p.pid() !== first, 'the restart');
    assert.equal(n, 2);
    await p.stop();
  });
});
