// `coffer reencrypt` against a real `coffer up` (SQLite store, read while it runs): a run killed with SIGKILL half-way
// and started again from its checkpoint rewrites no finished object again and misses none; the progress bar shows in a
// pseudo-terminal (util-linux `script`).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runStatus } from '../src/operations/status.js';
import { COFFER_BIN, run, until } from './support/processes.js';
import { coffer, configYaml, createNamespace, createSecret, readSecrets, startUpWithConfig, writeConfigAndWait, type RunningUp } from './support/operations.js';

const N = 60;
const CANARY = 'reencrypt-canary-93b2';
const cbc = `aescbc: {keys: [{name: old, secret: ${randomBytes(32).toString('base64')}}]}`;
const gcm = `aesgcm: {keys: [{name: new, secret: ${randomBytes(32).toString('base64')}}]}`;

void describe('coffer reencrypt through a real coffer up, killed and resumed', () => {
  let dir: string;
  let up: RunningUp;
  let configFile: string;
  const dataDir = () => join(dir, 'data');
  const expected = new Map<string, string>();

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'coffer-ops-reencrypt-'));
    configFile = join(dir, 'encryption-config.yaml');
    await writeConfigAndWait(undefined, configFile, configYaml([cbc, 'identity: {}']));
    up = await startUpWithConfig(dataDir(), configFile);
    await createNamespace(up.client, 'team');
    for (let i = 0; i < N; i++) {
      const ns = i % 2 ? 'team' : 'default';
      await createSecret(up.client, ns, `s${i}`, `${CANARY}-${i}`);
      expected.set(`${ns}/s${i}`, `${CANARY}-${i}`);
    }
    // The rotation's promote step: aesgcm writes from now on, aescbc only reads.
    await writeConfigAndWait(up, configFile, configYaml([gcm, cbc, 'identity: {}']));
  });
  after(async () => {
    await up?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const staleNow = async () => (await runStatus({ source: { etcdPrefix: '/registry', dataDir: dataDir() }, encryptionConfig: configFile, resources: ['secrets'] })).scan.resources[0]!.stale;
  async function secretPuts(): Promise<number> {
    const text = (await up.client.request('GET', '/metrics')).body.toString();
    return [...text.matchAll(/^apiserver_request_total\{([^}]*)\} (\d+)$/gm)]
      .filter(([, labels]) => /verb="PUT"/.test(labels!) && /resource="secrets"/.test(labels!))
      .reduce((n, m) => n + Number(m[2]), 0);
  }

  void it('reads the store while coffer up holds it: every Secret stale after the switch to aesgcm', async () => {
    assert.equal(await staleNow(), N);
  });

  void it('resumes after SIGKILL from the checkpoint: finished objects not rewritten again, none missed', async () => {
    const checkpoint = join(dir, 'reencrypt.checkpoint');
    const args = [COFFER_BIN, 'reencrypt', '--kubeconfig', up.kubeconfig, '--data-dir', dataDir(), '--encryption-config', configFile, '--checkpoint', checkpoint, '--concurrency', '2'];
    const putsBefore = await secretPuts();
    const first = spawn(process.execPath, [...args, '--qps', '8'], { stdio: 'ignore' });
    const exited = new Promise((r) => first.once('exit', r));
    const doneLines = async () => (await readFile(checkpoint, 'utf8').catch(() => '')).split('\n').filter((l) => l.startsWith('done ')).length;
    await until(async () => (await doneLines()) >= 15, 'the first run to finish 15 objects', 120_000);
    first.kill('SIGKILL');
    await exited;
    const finished = await doneLines();
    assert.ok(finished < N, `killed half-way (${finished} of ${N} done)`);
    assert.deepEqual(await readSecrets(up.client), expected, 'every Secret reads after the crash');

    const second = await coffer([...args.slice(1), '--qps', '100']);
    assert.equal(second.code, 0, second.stdout + second.stderr);
    const m = /reencrypt: (\d+) objects: (\d+) rewritten, (\d+) already done \(checkpoint\)/.exec(second.stdout)!;
    assert.ok(m, second.stdout);
    assert.equal(Number(m[1]), N);
    assert.equal(Number(m[3]), finished, 'every object the checkpoint lists is skipped');
    assert.equal(Number(m[2]), N - finished, 'every other object is rewritten');
    assert.match(second.stdout, /verification: 0 stale objects remain/);
    const puts = (await secretPuts()) - putsBefore;
    // Each object once, plus at most the two in flight when the first run died (those are rewritten once more).
    assert.ok(puts >= N && puts <= N + 2, `${puts} PUTs for ${N} objects`);
    assert.equal(await staleNow(), 0);
    assert.deepEqual(await readSecrets(up.client), expected);
    assert.ok(!second.stdout.includes(CANARY) && !second.stderr.includes(CANARY));
  });

  void it('draws a progress bar in a pseudo-terminal', async () => {
    const command = [process.execPath, COFFER_BIN, 'reencrypt', '--kubeconfig', up.kubeconfig, '--qps', '200'].map((a) => `'${a}'`).join(' ');
    const { stdout: raw } = await run('script', ['-qfec', command, '/dev/null'], { maxBuffer: 16 * 1024 * 1024 });
    assert.ok(raw.includes('\r\u001b[Kreencrypt ['), 'redrawn in place: carriage return, erase line');
    const stdout = raw.replaceAll('\u001b[K', '');
    assert.match(stdout, /\rreencrypt \[#+\.*\] \d+\/60 [\d.]+\/s ETA/);
    assert.match(stdout, /reencrypt \[#{30}\] 60\/60 /);
    assert.match(stdout, /reencrypt: 60 objects: 60 rewritten/);
  });
});
