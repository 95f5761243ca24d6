// `coffer up`'s default KMS stack keeps no reusable key-server credential on the node's disk (issue 11 defect 9): the
// plugin's token is minted at each (re)start, handed over response-wrapped on stdin, bound to 127.0.0.1, and the
// previous one revoked. With --kms-caller-auth the plugin answers Encrypt/Decrypt only to coffer up's own API server
// (a caller secret handed over on the same pipes), so another process on the node that opens the socket unwraps
// nothing. Checked on a real `coffer up` with its real keyserver and kms-plugin processes.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readdir, readFile, rm, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePort, until } from '../../test/support/processes.js';
import { GrpcKmsV2Client } from '../kms/grpc-v2-client.js';
import { ApiClient } from '../lab/api-client.js';

const BIN = new URL('../../bin/coffer.js', import.meta.url).pathname;
const TOKEN_SHAPE = /hvs\.[A-Za-z0-9]{20,}/;

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await filesUnder(p)));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

void describe('coffer up: the kms-plugin credential', () => {
  let dir: string;
  let child: ChildProcess;
  let stderr = '';
  let port: number;
  const dataDir = () => join(dir, 'data');
  const keyDir = () => `${dataDir()}.keys`;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'coffer-kms-stack-'));
    port = await freePort();
    child = spawn(process.execPath, [BIN, 'up', '--data-dir', dataDir(), '--listen', `127.0.0.1:${port}`, '--no-controller', '--kms-caller-auth'], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (c: Buffer) => c.toString().includes('\n') && resolve());
      child.once('exit', (code) => reject(new Error(`coffer up exited with ${code}: ${stderr.slice(-3000)}`)));
    });
  });
  after(async () => {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGINT');
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
    await rm(keyDir(), { recursive: true, force: true });
  });

  const logLines = () => stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
  const pluginPid = () => logLines().filter((l) => l.msg === 'child ready' && l.process === 'kms-plugin').map((l) => l.pid as number).at(-1);

  /** Live tokens the key server issued to the plugin, by accessor, read with the root token from the key directory. */
  async function pluginTokens(): Promise<{ accessor: string; bound: unknown; policies: unknown }[]> {
    const { keyserverPort } = JSON.parse(await readFile(join(dataDir(), 'kms-stack.json'), 'utf8')) as { keyserverPort: number };
    const root = (await readFile(join(keyDir(), 'keyserver-root.token'), 'utf8')).trim();
    const call = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`http://127.0.0.1:${keyserverPort}/v1/${path}`, { method, headers: { 'X-Vault-Token': root }, ...(body ? { body: JSON.stringify(body) } : {}) });
      return (await res.json()) as { data: Record<string, unknown> };
    };
    const out = [];
    for (const accessor of (await call('LIST', 'auth/token/accessors')).data.keys as string[]) {
      const d = (await call('POST', 'auth/token/lookup-accessor', { accessor })).data;
      if (d.display_name === 'token-kms-plugin') out.push({ accessor, bound: d.bound_cidrs, policies: d.policies });
    }
    return out;
  }

  void it('writes no key-server token anywhere in the data directory, and the plugin starts without a warning', async () => {
    const files = await filesUnder(dataDir());
    assert.ok(files.some((f) => f.endsWith(join('kms-plugin', 'config.yaml'))));
    for (const f of files) {
      assert.doesNotMatch((await readFile(f)).toString('latin1'), TOKEN_SHAPE, `${f} holds something token-shaped`);
    }
    assert.match(await readFile(join(dataDir(), 'kms-plugin', 'config.yaml'), 'utf8'), /type: wrapped-token/);
    const noisy = logLines().filter((l) => (l.level as number) >= 40 && /kms|vault/.test(JSON.stringify([l.component, l.process, l.backend])));
    assert.deepEqual(noisy.map((l) => l.msg), []);
    assert.doesNotMatch(stderr, /\b403\b/);
  });

  void it('mints a fresh bound token at each plugin restart and revokes the previous one', async () => {
    const before = await pluginTokens();
    assert.equal(before.length, 1);
    assert.deepEqual(before[0]!.bound, ['127.0.0.1/32']);
    assert.deepEqual(before[0]!.policies, ['coffer-kms-plugin', 'default']);
    const first = pluginPid()!;
    process.kill(first, 'SIGKILL');
    await until(() => pluginPid() !== undefined && pluginPid() !== first, 'the plugin restart', 60_000);
    const afterRestart = await pluginTokens();
    assert.equal(afterRestart.length, 1);
    assert.notEqual(afterRestart[0]!.accessor, before[0]!.accessor);
  });

  void it('with --kms-caller-auth: the API server writes and reads through the (restarted) plugin, another caller of its socket is refused', async () => {
    const api = await ApiClient.fromDataDir(dataDir(), `https://127.0.0.1:${port}`);
    await until(async () => (await api.request('POST', '/api/v1/namespaces/default/secrets', { body: { metadata: { name: 'after-restart' }, stringData: { v: 'x' } } })).status === 201, 'a write through the restarted plugin', 60_000);
    assert.equal((await api.request('GET', '/api/v1/namespaces/default/secrets/after-restart')).status, 200);
    const endpoint = `unix://${join(dataDir(), 'kms-plugin', 'kms.sock')}`;
    const outsider = new GrpcKmsV2Client(endpoint, { timeoutMs: 5000 });
    try {
      const status = await outsider.status();
      await assert.rejects(outsider.encrypt(Buffer.alloc(32, 1), { uid: 'lab' }), /UNAUTHENTICATED/);
      await assert.rejects(outsider.decrypt(Buffer.alloc(32, 1), { uid: 'lab', keyId: status.keyId, annotations: {} }), /UNAUTHENTICATED/);
    } finally {
      outsider.close();
    }
    assert.match(await readFile(join(dataDir(), 'kms-plugin', 'config.yaml'), 'utf8'), /^callerSecret: stdin$/m);
  });
});
