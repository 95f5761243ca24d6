import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import { superviseProcess } from './process-supervisor.js';

const logger = pino({ level: 'silent' });
const node = (script: string) => ({ command: process.execPath, args: ['-e', script] });
const waitFor = async (cond: () => boolean, what: string) => {
  for (let i = 0; i < 200; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  assert.fail(`timed out waiting for ${what}`);
};

void describe('superviseProcess', () => {
  void it('resolves ready with the ready line and restarts the child after a crash', async () => {
    const p = superviseProcess({
      name: 'test',
      ...node('console.log("noise"); console.log("serving on port " + (4000 + process.pid % 10)); setInterval(() => {}, 1000)'),
      ready: /serving on port (\d+)/,
      logger,
      restartDelayMs: 10,
    });
    const m = await p.ready;
    assert.match(m[1]!, /^400\d$/);
    const first = p.pid();
    assert.ok(first);
    process.kill(first, 'SIGKILL');
    await waitFor(() => p.restarts() === 1 && p.pid() !== undefined && p.pid() !== first, 'the restart');
    const second = p.pid()!;
    process.kill(second, 'SIGTERM'); // a clean stop by someone else (Ctrl-C reaches the whole group): no restart
    await waitFor(() => p.pid() === undefined, 'the exit');
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(p.restarts(), 1);
    await p.stop();
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
