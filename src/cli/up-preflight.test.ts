// What `coffer up` checks before it starts anything or writes a file: every flag, the data directory's lock (one
// `coffer up` per data directory, answered at once with the holder's pid), and the --listen port.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { COFFER_BIN, freePort, startCoffer } from '../../test/support/processes.js';
import { lockDataDir } from '../lib/data-dir-lock.js';
import { runUp, type UpOptions } from './up-command.js';

/** Runs `coffer up <args>` to its exit; resolves with the exit code and everything it printed. */
function up(args: string[]): Promise<{ code: number | null; out: string }> {
  const proc = spawn(process.execPath, [COFFER_BIN, 'up', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout.on('data', (c: Buffer) => (out += c.toString()));
  proc.stderr.on('data', (c: Buffer) => (out += c.toString()));
  return new Promise((resolve) => proc.once('close', (code) => resolve({ code, out })));
}

/** `coffer up`'s flags as commander hands them over (its defaults), plus `flags`; in this process, logging nothing. */
async function upInProcess(flags: string[]): Promise<void> {
  const o: Record<string, unknown> = { dataDir: '.coffer', listen: '127.0.0.1:6443', encryption: 'kms', store: 'sqlite' };
  for (let i = 0; i < flags.length; i += 2) o[flags[i]!.slice(2).replace(/-([a-z])/g, (_, c: string) => c.toUpperCase())] = flags[i + 1];
  const running = await runUp(o as unknown as UpOptions, pino({ level: 'silent' }));
  await running.close();
  assert.fail(`coffer up ${flags.join(' ')} started`);
}

const exists = (p: string) => readdir(p).then(() => true, () => false);

void describe('coffer up preflight', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'coffer-up-preflight-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  void it('refuses a bad flag naming it, before it creates the data directory or starts a child', async () => {
    const inUse = join(dir, 'keyed');
    await mkdir(inUse);
    await writeFile(join(inUse, 'store.key'), Buffer.alloc(32, 7), { mode: 0o600 });
    const file = (name: string, text: string) => writeFile(join(dir, name), text, { mode: 0o600 }).then(() => join(dir, name));
    const [shortKey, badTokens, badPolicy, pem] = await Promise.all([
      file('short.key', 'short\n'),
      file('tokens.csv', 'only-a-token\n'),
      file('policy.yaml', 'rules: 5\n'),
      file('client.pem', 'not checked before the endpoints\n'),
    ]);
    const etcd = ['--store', 'etcd', '--etcd-endpoints'];
    // With the default (kms) encryption, a flag checked late would show as a started key server: its files land in
    // the data directory and its root key in the key directory, both asserted absent below.
    const cases: [string, string[], RegExp][] = [
      ['unknown store', ['--store', 'foo'], /error: --store: must be sqlite or etcd, got "foo"/],
      ['etcd without endpoints', ['--store', 'etcd'], /error: --etcd-endpoints: is required with --store etcd/],
      ['etcd flag with sqlite', ['--etcd-endpoints', 'http://127.0.0.1:2379'], /error: --etcd-endpoints: is for --store etcd, and the store is sqlite/],
      ['etcd endpoint not http', [...etcd, 'ftp://etcd:2379'], /error: --etcd-endpoints: "ftp:\/\/etcd:2379" is not an http:\/\/ or https:\/\/ URL with host and port/],
      ['etcd certificate without key', [...etcd, 'https://127.0.0.1:2379', '--etcd-certfile', pem], /error: --etcd-keyfile: is required with --etcd-certfile/],
      ['etcd key without certificate', [...etcd, 'https://127.0.0.1:2379', '--etcd-keyfile', pem], /error: --etcd-certfile: is required with --etcd-keyfile/],
      ['etcd certificate without CA', [...etcd, 'https://127.0.0.1:2379', '--etcd-certfile', pem, '--etcd-keyfile', pem], /error: --etcd-cafile: is required with a client certificate/],
      ['etcd TLS over http', [...etcd, 'http://127.0.0.1:2379', '--etcd-cafile', pem], /error: --etcd-endpoints: "http:\/\/127.0.0.1:2379" is plain http but TLS files were given/],
      ['etcd store key', [...etcd, 'http://127.0.0.1:2379', '--store-encryption-key-file', shortKey], /error: --store-encryption-key-file: encrypts the SQLite file; it does not apply to --store etcd/],
      ['store key too short', ['--store-encryption-key-file', shortKey], /error: --store-encryption-key-file: the store encryption key file \S+short\.key must hold a 256-bit key: 32 raw bytes or 64 hex digits \(got 6 bytes\)/],
      ['unknown encryption', ['--encryption', 'rot13'], /error: --encryption: must be kms or aesgcm, got "rot13"/],
      ['caller auth with aesgcm', ['--encryption', 'aesgcm', '--kms-caller-auth', 'true'], /error: --kms-caller-auth: applies to KMS plugins, and --encryption is aesgcm/],
      ['bad listen', ['--listen', 'localhost'], /error: --listen: want host:port, got "localhost"/],
      ['listen port out of range', ['--listen', '127.0.0.1:65536'], /error: --listen: port out of range: 65536/],
      ['zero ttl', ['--kms-v2-write-ttl', '0'], /error: --kms-v2-write-ttl: want a number of seconds > 0, got "0"/],
      ['status interval not a number', ['--kms-v2-status-interval', 'soon'], /error: --kms-v2-status-interval: want a number of seconds > 0, got "soon"/],
      ['reload interval negative', ['--encryption-config-reload-interval', '-5'], /error: --encryption-config-reload-interval: want a number of seconds > 0, got "-5"/],
      ['missing token file', ['--token-auth-file', join(dir, 'absent.csv')], /error: --token-auth-file: cannot read \S+absent\.csv: ENOENT/],
      ['malformed token file', ['--token-auth-file', badTokens], /error: --token-auth-file: \S+tokens\.csv line 1: want token,user,uid\[,"groups"\]/],
      ['malformed policy file', ['--authorization-policy-file', badPolicy], /error: --authorization-policy-file: \S+policy\.yaml: rules: must be a list of rules/],
      ['missing encryption config', ['--encryption-config', join(dir, 'absent.yaml')], /error: --encryption-config: cannot read \S+absent\.yaml: ENOENT/],
      ['malformed encryption config', ['--encryption-config', badPolicy], /error: --encryption-config: /],
    ];
    for (const [what, args, message] of cases) {
      const data = join(dir, what.replaceAll(' ', '-'));
      await assert.rejects(upInProcess(['--data-dir', data, ...args]), (e: Error) => {
        assert.match(`error: ${e.message}`, message, what);
        return true;
      });
      assert.equal(await exists(data), false, `${what}: no data directory`);
      assert.equal(await exists(`${data}.keys`), false, `${what}: no key directory`);
    }
    // A data directory that cannot be one: a file, below a file, or under /proc (where a recursive mkdir never returns).
    for (const [data, message] of [
      [shortKey, /: --data-dir: cannot use \S+short\.key: \S+short\.key is not a directory$/],
      [join(shortKey, 'sub'), /: --data-dir: cannot use \S+short\.key\/sub: ENOTDIR at /],
      ['/proc/coffer-data', /: --data-dir: cannot create \/proc\/coffer-data: ENOENT$/],
    ] as const) {
      await assert.rejects(upInProcess(['--data-dir', data]), message);
      assert.equal(await exists(`${data}.keys`), false, `${data}: no key directory`);
    }
    // The logger's flags are checked by the command before any of this.
    for (const [args, message] of [
      [['--log-level', 'loud'], /^error: --log-level: must be one of trace, debug, info, warn, error, fatal, silent, got "loud"$/m],
      [['--log-format', 'xml'], /^error: --log-format: must be json or text, got "xml"$/m],
    ] as const) {
      const data = join(dir, args[0].slice(2));
      const r = await up(['--data-dir', data, ...args]);
      assert.equal(r.code, 1);
      assert.match(r.out, message);
      assert.equal(r.out.trim().split('\n').length, 1, `only the error: ${r.out}`);
      assert.equal(await exists(data), false, `${args[0]}: no data directory`);
    }
    const keyedConfig = join(inUse, 'encryption-config.yaml');
    await writeFile(keyedConfig, `kind: EncryptionConfiguration\napiVersion: apiserver.config.k8s.io/v1\nresources:\n  - resources: [secrets]\n    providers:\n      - aesgcm:\n          keys:\n            - name: k\n              secret: ${Buffer.alloc(32, 1).toString('base64')}\n`);
    await assert.rejects(upInProcess(['--data-dir', inUse, '--encryption-config', keyedConfig]), new RegExp(`--encryption-config: ${keyedConfig} is inside the data directory ${inUse}`));
    await rm(keyedConfig);
    // Issue 11: only <data-dir>/store/ was checked, so a key file in the data directory itself was accepted.
    const r = await up(['--data-dir', inUse, '--store-encryption-key-file', join(inUse, 'store.key')]);
    assert.equal(r.code, 1);
    assert.match(r.out, new RegExp(`error: --store-encryption-key-file: ${join(inUse, 'store.key')} is inside the data directory ${inUse}`));
    assert.doesNotMatch(r.out, /child ready|listening/, 'nothing started');
    assert.deepEqual(await readdir(inUse), ['store.key'], 'nothing written');
  });

  void it('answers a second coffer up on a data directory in use at once, naming it and the pid holding it', async () => {
    const data = join(dir, 'shared');
    const first = await startCoffer(['up', '--data-dir', data, '--listen', `127.0.0.1:${await freePort()}`, '--encryption', 'aesgcm', '--no-controller'], /export KUBECONFIG=/, 'first coffer up');
    try {
      const before = (await readdir(data)).sort();
      const second = await up(['--data-dir', data, '--listen', `127.0.0.1:${await freePort()}`]);
      assert.equal(second.code, 1);
      assert.match(second.out, new RegExp(`error: the data directory ${data} is in use by another coffer up \\(pid ${first.child.proc.pid}, holding \\S+coffer.lock\\); stop that one first`));
      // With the default (kms) encryption it would have started a key server and a plugin; the lock came first.
      assert.equal(second.out.trim().split('\n').length, 1, `only the error: ${second.out}`);
      assert.deepEqual((await readdir(data)).sort(), before, 'the second start wrote nothing');
    } finally {
      await first.child.stop();
    }
    // The lock dies with its holder: the directory is free again.
    lockDataDir(data).release();
  });

  void it('opens the store before it starts a child: an etcd it cannot reach fails the start with nothing but the lock written', async () => {
    const data = join(dir, 'no-etcd');
    await assert.rejects(upInProcess(['--data-dir', data, '--store', 'etcd', '--etcd-endpoints', `http://127.0.0.1:${await freePort()}`]), /: cannot reach etcd at http:\/\/127\.0\.0\.1:\d+/);
    assert.deepEqual(await readdir(data), ['coffer.lock']);
    assert.equal(await exists(`${data}.keys`), false, 'no key server was started');
  });

  void it('reports --listen in use before it starts anything, with what to do', async () => {
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    const port = (taken.address() as { port: number }).port;
    try {
      const data = join(dir, 'port');
      await assert.rejects(upInProcess(['--data-dir', data, '--listen', `127.0.0.1:${port}`]), (e: Error) => {
        assert.match(e.message, new RegExp(`^--listen: failed to listen on 127.0.0.1:${port}: bind: address already in use; .*give this one another --listen`));
        return true;
      });
      assert.deepEqual(await readdir(data), ['coffer.lock'], 'nothing but the lock written');
      assert.equal(await exists(`${data}.keys`), false);
    } finally {
      taken.close();
    }
  });
});
