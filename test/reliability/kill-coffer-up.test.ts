// kill -9 of `coffer up` under load, five times over the same data directory (issue 11, defect 4): every write the
// server acknowledged survives, the key server and plugin children die with their parent (their lifeline closes)
// instead of living on and holding the store, the port and the socket, and each restart comes up cleanly. In the last
// round the key server is stopped (SIGSTOP) first, so it cannot act on its lifeline: the next start must find it
// through its pid file and end it.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePort, startCoffer, type CofferChild } from '../support/processes.js';
import { apiClient, assertNoneLost, isAlive, recordedPid, untilGone, WriteLoad } from './load.js';

const ROUNDS = 5;

void describe('kill -9 of coffer up under load', () => {
  let dir: string;
  let running: CofferChild | undefined;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'coffer-kill-up-'));
  });
  after(async () => {
    running?.proc.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });

  void it(`loses no acknowledged write in ${ROUNDS} rounds, and every restart is clean`, async () => {
    const dataDir = join(dir, 'data');
    const port = await freePort();
    const url = `https://127.0.0.1:${port}`;
    const acked = new Map<string, string>();
    let deaf: number | undefined; // a child stopped (SIGSTOP) before its parent's kill: it cannot act on its lifeline
    for (let round = 1; round <= ROUNDS + 1; round++) {
      const started = Date.now();
      // startCoffer fails the test if this start exits instead of serving (the defect: "database is locked",
      // "keyserver exited before it was ready" while the previous run's children lived on).
      const up = await startCoffer(['up', '--data-dir', dataDir, '--listen', `127.0.0.1:${port}`], /export KUBECONFIG=/, `coffer up, start ${round}`);
      running = up.child;
      const startSeconds = (Date.now() - started) / 1000;
      if (deaf !== undefined) {
        // The start found it through its pid file (same pid, start time and command line) and ended it.
        assert.ok(!isAlive(deaf), `the leftover key server ${deaf} was ended by the start`);
        assert.match(up.child.out(), /a child left by an earlier run is still running; ending it/);
        deaf = undefined;
      }
      const client = await apiClient(dataDir, url);
      try {
        await assertNoneLost(client, acked);
        if (round > ROUNDS) {
          console.log(`start ${round}: ${acked.size} acknowledged writes over ${ROUNDS} kill -9 rounds, 0 lost`);
          await up.child.stop();
          assert.equal(up.child.proc.exitCode, 0);
          break;
        }
        const children = await Promise.all(['keyserver/keyserver.pid', 'kms-plugin/kms-plugin.pid'].map((f) => recordedPid(join(dataDir, f))));
        assert.ok(children.every((pid) => pid !== undefined), 'both children recorded their pid');
        const load = new WriteLoad(client, `round${round}`);
        await load.acks(25);
        if (round === ROUNDS) {
          deaf = children[0]!;
          process.kill(deaf, 'SIGSTOP');
        }
        const exited = new Promise((r) => up.child.proc.once('exit', r));
        up.child.proc.kill('SIGKILL');
        await exited;
        await load.stop();
        for (const [k, v] of load.acked) acked.set(k, v);
        const killedAt = Date.now();
        for (const pid of children) if (pid !== deaf) await untilGone(pid, `child ${pid} to exit after its parent was killed`);
        if (deaf !== undefined) assert.ok(isAlive(deaf), 'the stopped key server outlived its parent');
        console.log(
          `round ${round}: started in ${startSeconds.toFixed(1)} s, ${load.acked.size} writes acknowledged, ${load.failures} failed, ` +
            `children gone ${((Date.now() - killedAt) / 1000).toFixed(1)} s after kill -9`,
        );
      } finally {
        client.close();
      }
    }
  });
});
