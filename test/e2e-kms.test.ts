// The seed's strongest row with three real processes: `coffer up` (the API server, on a real etcd) encrypting with
// KMS v2 through `coffer kms-plugin`, whose KEK is a Transit key of `coffer keyserver`; kubectl as the client. Status
// polling and the write deadline are shortened (1 s, 10 s) so rotation and outages play out in seconds. The deadline
// leaves room for a slow Status round trip on a loaded machine: with 4 s, a poll late by a few seconds expired the write
// state in the middle of the healthy cases (seen on Node 24 at load 20).
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decodeEncryptedObject } from '../src/kms/kms-v2-encrypted-object.js';
import { openEtcdStore } from '../src/storage/etcd/etcd-store.js';
import { startEtcd, type EtcdProcess } from '../src/storage/etcd/testing/etcd-process.js';
import { COFFER_BIN, freePort, run, runWithInput, until } from './support/processes.js';

const PREFIX = 'k8s:enc:kms:v2:coffer:';
const CANARY = 'kms-e2e-canary-7f3a9c';
const secretValue = (json: string) => (JSON.parse(json) as { data: { value: string } }).data.value;

void describe('KMS v2 end to end: API server, kms-plugin and keyserver as separate processes, on etcd', () => {
  let dir: string;
  let etcd: EtcdProcess;
  let up: ChildProcess;
  let logs = '';
  const dataDir = () => join(dir, 'data');
  const keyDir = () => `${dataDir()}.keys`;
  const kubectl = async (...args: string[]) =>
    (await run('kubectl', ['--kubeconfig', join(dataDir(), 'kubeconfig'), '--cache-dir', join(dir, 'kube-cache'), ...args])).stdout;
  const logLines = () => logs.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
  const childPid = (name: string) => logLines().filter((l) => l.msg === 'child ready' && l.process === name).map((l) => l.pid as number).at(-1)!;
  const keyserverUrl = () => logLines().find((l) => l.keyserver)!.keyserver as string;

  async function stored(): Promise<Map<string, Buffer>> {
    const store = await openEtcdStore({ endpoints: etcd.endpoints });
    try {
      const { kvs } = await store.list('/registry/secrets/');
      return new Map(kvs.map((kv) => [kv.key, Buffer.from(kv.value)]));
    } finally {
      await store.close();
    }
  }
  const keyIdOf = (value: Buffer) => {
    assert.ok(value.subarray(0, PREFIX.length).toString('latin1') === PREFIX, 'stored as a KMS v2 envelope of provider "coffer"');
    return decodeEncryptedObject(value.subarray(PREFIX.length)).keyId;
  };
  async function transit(method: string, path: string, body?: unknown): Promise<void> {
    const token = (await readFile(join(keyDir(), 'keyserver-root.token'), 'utf8')).trim();
    const res = await fetch(`${keyserverUrl()}/v1/${path}`, { method, headers: { 'X-Vault-Token': token }, ...(body ? { body: JSON.stringify(body) } : {}) });
    assert.ok(res.ok, `${method} ${path}: ${res.status} ${await res.text()}`);
  }
  /** `coffer transform decrypt` with the same configuration: a fresh engine asking the plugin, no cache of the server's. */
  async function decryptReport(key: string, value: Buffer): Promise<string> {
    const args = [COFFER_BIN, 'transform', 'decrypt', '--encryption-config', join(keyDir(), 'encryption-config-kms.yaml'), '--key', key, '--output', 'json'];
    const { stdout, stderr } = await runWithInput(process.execPath, args, value);
    assert.ok(stdout.includes(Buffer.from(CANARY).toString('base64')), `${key} decrypts to its Secret`);
    return stderr;
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'coffer-e2e-kms-'));
    etcd = await startEtcd();
    const port = await freePort();
    up = spawn(
      process.execPath,
      [COFFER_BIN, 'up', '--data-dir', dataDir(), '--listen', `127.0.0.1:${port}`, '--store', 'etcd', '--etcd-endpoints', etcd.endpoints.join(','),
        '--kms-v2-status-interval', '1', '--kms-v2-write-ttl', '10'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    up.stderr!.on('data', (c: Buffer) => (logs += c.toString()));
    await new Promise<void>((resolve, reject) => {
      up.stdout!.on('data', (c: Buffer) => c.toString().includes('export KUBECONFIG=') && resolve());
      up.once('exit', (code) => reject(new Error(`coffer up exited with ${code}: ${logs.slice(-3000)}`)));
    });
  });
  after(async () => {
    if (up.exitCode === null) {
      const exited = new Promise((r) => up.once('exit', r));
      up.kill('SIGTERM');
      await exited;
    }
    await etcd.stop();
    await rm(dir, { recursive: true, force: true });
    await rm(keyDir(), { recursive: true, force: true });
  });

  void it('stores Secrets created with kubectl as KMS v2 envelopes, with no plaintext', async () => {
    for (const name of ['s1', 's2']) await kubectl('create', 'secret', 'generic', name, `--from-literal=value=${CANARY}`);
    const values = await stored();
    assert.equal(values.size, 2);
    for (const value of values.values()) {
      assert.ok(keyIdOf(value).length > 0);
      assert.ok(!value.includes(CANARY) && !value.includes(Buffer.from(CANARY).toString('base64')));
    }
  });

  void it('rotates the KEK in the key server: new writes carry the new key_id, old ones read and are stale until replaced', async () => {
    const before = await stored();
    const oldKeyId = keyIdOf(before.get('/registry/secrets/default/s1')!);
    await transit('POST', 'transit/keys/coffer-kek/rotate');
    let n = 0;
    await until(async () => {
      await kubectl('create', 'secret', 'generic', `after-rotation-${++n}`, `--from-literal=value=${CANARY}`);
      return keyIdOf((await stored()).get(`/registry/secrets/default/after-rotation-${n}`)!) !== oldKeyId;
    }, 'a write with the new key_id', 20_000);
    assert.equal(secretValue(await kubectl('get', 'secret', 's1', '-o', 'json')), Buffer.from(CANARY).toString('base64'));
    assert.match(await decryptReport('/registry/secrets/default/s1', before.get('/registry/secrets/default/s1')!), /stale: yes/);

    await runWithInput('kubectl', ['--kubeconfig', join(dataDir(), 'kubeconfig'), '--cache-dir', join(dir, 'kube-cache'), 'replace', '-f', '-'], await kubectl('get', 'secrets', '-A', '-o', 'json'));
    // The old KEK version may now be retired: nothing stored still needs it.
    await transit('POST', 'transit/keys/coffer-kek/config', { min_decryption_version: 2 });
    const after = await stored();
    const newKeyId = keyIdOf(after.get(`/registry/secrets/default/after-rotation-${n}`)!);
    for (const [key, value] of after) {
      assert.equal(keyIdOf(value), newKeyId, `${key} was re-encrypted`);
      assert.match(await decryptReport(key, value), /stale: no/);
    }
  });

  void it('keeps reading through a key server outage, refuses writes after the deadline, and recovers by itself', async () => {
    const keyserver = childPid('keyserver');
    process.kill(keyserver, 'SIGSTOP'); // hangs every call, as a dead network would
    try {
      await until(async () => {
        try {
          await kubectl('create', 'secret', 'generic', `outage-${Date.now()}`, `--from-literal=value=${CANARY}`);
          return false;
        } catch (e) {
          const stderr = (e as { stderr: string }).stderr;
          // A 503 ServiceUnavailable with the reason (issue 11); kubectl prints its message without a prefix.
          assert.match(stderr, /failed to create secret unable to transform key .*expired at/);
          assert.ok(!stderr.includes(CANARY), 'the error names no secret');
          return true;
        }
      }, 'writes to be refused', 30_000);
      assert.equal(secretValue(await kubectl('get', 'secret', 's1', '-o', 'json')), Buffer.from(CANARY).toString('base64'), 'cached reads go on');
    } finally {
      process.kill(keyserver, 'SIGCONT');
    }
    await until(async () => {
      try {
        await kubectl('create', 'secret', 'generic', 'after-outage', `--from-literal=value=${CANARY}`);
        return true;
      } catch {
        return false;
      }
    }, 'writes to work again', 30_000);
  });

  void it('recovers when the plugin is killed, its stale socket replaced by the restarted plugin', async () => {
    const plugin = childPid('kms-plugin');
    process.kill(plugin, 'SIGKILL');
    await until(() => childPid('kms-plugin') !== plugin, 'the plugin to be restarted', 20_000);
    await until(async () => {
      try {
        await kubectl('create', 'secret', 'generic', 'after-plugin-restart', `--from-literal=value=${CANARY}`);
        return true;
      } catch {
        return false;
      }
    }, 'writes through the restarted plugin', 30_000);
    assert.equal(secretValue(await kubectl('get', 'secret', 'after-plugin-restart', '-o', 'json')), Buffer.from(CANARY).toString('base64'));
  });

  void it('logs no canary, token or key', async () => {
    const token = (await readFile(join(keyDir(), 'keyserver-root.token'), 'utf8')).trim();
    for (const secret of [CANARY, Buffer.from(CANARY).toString('base64'), token]) assert.ok(!logs.includes(secret));
    // The plugin's token exists only in its memory (handed over wrapped on stdin): no key-server token of any kind in the logs.
    assert.doesNotMatch(logs, /hvs\.[A-Za-z0-9]{20,}/);
  });
});
