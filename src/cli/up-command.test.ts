// `coffer up` as users start it: KMS v2 by default through its own kms-plugin and keyserver processes, their root key
// kept outside the data directory, extra users from a token file limited by a policy file (as kubectl reports it),
// and a clean exit on SIGINT that stops the children too.
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { freePort, startCoffer } from '../../test/support/processes.js';
import { lockDataDir } from '../lib/data-dir-lock.js';
import { SqliteStore } from '../storage/sqlite/sqlite-store.js';

const BIN = new URL('../../bin/coffer.js', import.meta.url).pathname;
const run = promisify(execFile);

void describe('coffer up', () => {
  let dir: string;
  let child: ChildProcess;
  let stdout = '';
  let stderr = '';
  const dataDir = () => join(dir, 'data');

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'coffer-up-'));
    await writeFile(join(dir, 'tokens.csv'), 'alice-secret-token,alice,1001,"dev"\n');
    await writeFile(join(dir, 'policy.yaml'), 'rules:\n  - groups: [dev]\n    verbs: [get, list, watch]\n    resources: [secrets]\n    namespaces: [default]\n');
    const port = await freePort();
    child = spawn(process.execPath, [BIN, 'up', '--data-dir', dataDir(), '--listen', `127.0.0.1:${port}`,
      '--token-auth-file', join(dir, 'tokens.csv'), '--authorization-policy-file', join(dir, 'policy.yaml')], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (c: Buffer) => {
        stdout += c.toString();
        if (stdout.includes('\n')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`coffer up exited with ${code}: ${stderr}`)));
    });
  });
  after(async () => {
    if (child.exitCode === null) child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
    await rm(`${dataDir()}.keys`, { recursive: true, force: true });
  });

  /** The JSON log lines (stderr also has the dashboard's one-time sign-in link, printed as plain text). */
  const logLines = () => stderr.split('\n').filter((l) => l.startsWith('{'));
  /** PIDs of the children coffer up reported ready (keyserver, kms-plugin). */
  const childPids = () =>
    logLines().map((l) => JSON.parse(l) as { msg?: string; pid?: number }).filter((l) => l.msg === 'child ready').map((l) => l.pid!);

  const kubectl = (args: string[], kubeconfig = join(dataDir(), 'kubeconfig')) =>
    run('kubectl', ['--kubeconfig', kubeconfig, '--cache-dir', join(dir, 'cache'), ...args]);

  void it('prints only the KUBECONFIG line on stdout and logs where everything is', async () => {
    assert.equal(stdout, `export KUBECONFIG=${join(dataDir(), 'kubeconfig')}\n`);
    const ready = logLines().map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'coffer API server ready')!;
    // The dashboard is built after the ready line (its code loads then), and prints its link when it is.
    const link = /^Dashboard: open https:\/\/127\.0\.0\.1:\d+\/dashboard\/login\?once=[A-Za-z0-9_-]{43} \(one-time sign-in link\)$/m;
    while (!link.test(stderr)) await once(child.stderr!, 'data');
    assert.equal(ready.encryptionConfig, join(`${dataDir()}.keys`, 'encryption-config-kms.yaml'));
    assert.equal(ready.kubeconfig, join(dataDir(), 'kubeconfig'));
  });

  void it('encrypts with KMS v2 through the plugin, the key server root key beside the data directory, owner-only', async () => {
    const keys = `${dataDir()}.keys`;
    assert.equal((await stat(keys)).mode & 0o777, 0o700);
    for (const f of ['encryption-config-kms.yaml', 'keyserver-root.key', 'keyserver-root.token']) assert.equal((await stat(join(keys, f))).mode & 0o777, 0o600, f);
    assert.equal((await stat(dataDir())).mode & 0o777, 0o700);
    const config = parseYaml(await readFile(join(keys, 'encryption-config-kms.yaml'), 'utf8')) as { resources: { providers: Record<string, { endpoint?: string }>[] }[] };
    assert.deepEqual(Object.keys(config.resources[0]!.providers[0]!), ['kms']);
    assert.equal(config.resources[0]!.providers[0]!.kms!.endpoint, `unix://${join(dataDir(), 'kms-plugin', 'kms.sock')}`);
    assert.equal(childPids().length, 2, 'keyserver and kms-plugin run as their own processes');
  });

  void it('lets token-file users do what the policy allows and answers the rest as kube does', async () => {
    await kubectl(['create', 'secret', 'generic', 'canary', '--from-literal=value=canary-s3cr3t-value']);
    const aliceConfig = join(dir, 'alice.kubeconfig');
    const admin = parseYaml(await readFile(join(dataDir(), 'kubeconfig'), 'utf8')) as { users: { user: { token: string } }[] };
    admin.users[0]!.user.token = 'alice-secret-token';
    await writeFile(aliceConfig, JSON.stringify(admin));
    assert.match((await kubectl(['get', 'secrets', '-o', 'name'], aliceConfig)).stdout, /secret\/canary/);
    await assert.rejects(
      kubectl(['delete', 'secret', 'canary'], aliceConfig),
      /Error from server \(Forbidden\): secrets "canary" is forbidden: User "alice" cannot delete resource "secrets" in API group "" in the namespace "default"/,
    );
    admin.users[0]!.user.token = 'not-a-token';
    await writeFile(aliceConfig, JSON.stringify(admin));
    await assert.rejects(kubectl(['get', 'secrets'], aliceConfig), /You must be logged in to the server \(Unauthorized\)/);
  });

  void it('exits 0 on SIGINT, stopping its children, having stored the Secret with KMS v2 and logged no secret', async () => {
    const exited = new Promise<number | null>((r) => child.once('exit', r));
    child.kill('SIGINT');
    assert.equal(await exited, 0);
    const store = await SqliteStore.open({ dataDir: join(dataDir(), 'store') });
    try {
      const { kv } = await store.get('/registry/secrets/default/canary');
      const stored = Buffer.from(kv!.value);
      assert.ok(stored.toString('latin1').startsWith('k8s:enc:kms:v2:coffer:'));
      assert.ok(!stored.includes('canary-s3cr3t-value'));
    } finally {
      await store.close();
    }
    const token = (await readFile(join(dataDir(), 'admin.token'), 'utf8')).trim();
    for (const secret of [token, 'alice-secret-token', 'canary-s3cr3t-value']) assert.ok(!stderr.includes(secret), 'logs hold no secret');
    assert.match(stderr, /"msg":"stopped"/);
    // A healthy run prints no Node warning (the garbage collector's informers once tripped MaxListenersExceededWarning).
    assert.doesNotMatch(stderr, /Warning:/);
    for (const pid of childPids()) assert.throws(() => process.kill(pid, 0), /ESRCH/, `child ${pid} stopped`);
  });
});

void describe('coffer up stopped right after ready', () => {
  void it('exits 0 on SIGTERM while the dashboard and the controller are still loading, and frees its data directory', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'coffer-up-quick-stop-'));
    try {
      // Both start after the ready line (their code loads then); a stop at that moment must not wait for them, nor hang.
      const up = await startCoffer(['up', '--data-dir', join(dir, 'data'), '--listen', `127.0.0.1:${await freePort()}`, '--encryption', 'aesgcm'], /^export KUBECONFIG=/m, 'coffer up');
      const exited = new Promise<number | null>((r) => up.child.proc.once('exit', r));
      up.child.proc.kill('SIGTERM');
      assert.equal(await exited, 0, up.child.out());
      assert.match(up.child.out(), /"msg":"stopped"/);
      lockDataDir(join(dir, 'data')).release(); // throws while another process holds it
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
