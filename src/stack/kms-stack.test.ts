// `coffer up`'s default KMS stack keeps no reusable key-server credential on the node's disk (issue 11 defect 9): the
// plugin's token is minted at each (re)start, handed over response-wrapped on stdin, bound to 127.0.0.1, and the
// previous one revoked. Checked on a real `coffer up` with its real keyserver and kms-plugin processes.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readdir, readFile, rm, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePort, until } from '../../test/support/processes.js';

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
  const dataDir = () => join(dir, 'data');
  const keyDir = () => `${dataDir()}.keys`;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'coffer-kms-stack-'));
    child = spawn(process.execPath, [BIN, 'up', '--data-dir', dataDir(), '--listen', `127.0.0.1:${await freePort()}`, '--no-controller'], { stdio: ['ignore', 'pipe', 'pipe'] });
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
});
