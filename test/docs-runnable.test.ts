// The docs cannot drift from the code: every shell block of README.md and docs/*.md whose fence says `sh runnable`
// runs, in file order, with `bash -euo pipefail` against one fresh `coffer up` (default flags but a free port, started
// in a temp directory so `.coffer/` and `.coffer.keys/` are where the docs say), with KUBECONFIG exported as the docs
// tell the reader to, and `coffer` on PATH. Then `coffer up` is stopped and the blocks marked `sh runnable-stopped`
// (what the docs say to do with it stopped: read the store file, recover without the API server) run the same way.
// A block fails the test when any command in it fails.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

const ROOT = new URL('..', import.meta.url).pathname;
const COFFER_BIN = join(ROOT, 'bin/coffer.js');

interface Block {
  file: string;
  line: number;
  code: string;
  /** Runs once `coffer up` has stopped. */
  stopped: boolean;
}

/** The ```sh runnable and ```sh runnable-stopped blocks of one Markdown file. */
export function runnableBlocks(markdown: string, file: string): Block[] {
  const blocks: Block[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const fence = /^```sh (runnable|runnable-stopped)\s*$/.exec(lines[i]!);
    if (!fence) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i]!); i++) body.push(lines[i]!);
    assert.ok(i < lines.length, `${file}:${start + 1}: unterminated code block`);
    blocks.push({ file, line: start + 1, code: body.join('\n'), stopped: fence[1] === 'runnable-stopped' });
  }
  return blocks;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

const files = ['README.md', ...(await readdir(join(ROOT, 'docs'))).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`)];
const found = (await Promise.all(files.map(async (f) => runnableBlocks(await readFile(join(ROOT, f), 'utf8'), f)))).flat();
const blocks = [...found.filter((b) => !b.stopped), ...found.filter((b) => b.stopped)];

void describe('runnable shell blocks of the docs, against a fresh coffer up', () => {
  let dir: string;
  let up: ChildProcess;
  let env: NodeJS.ProcessEnv;
  let upLog = '';

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'coffer-docs-'));
    await mkdir(join(dir, 'bin'));
    await writeFile(join(dir, 'bin/coffer'), `#!/bin/sh\nexec "${process.execPath}" "${COFFER_BIN}" "$@"\n`);
    await chmod(join(dir, 'bin/coffer'), 0o755);
    // HOME too, so kubectl's discovery cache and any file a block writes stay in the temp directory.
    const { BASH_ENV: _bashEnv, ...inherited } = process.env; // no start-up file of this machine's shell
    env = { ...inherited, HOME: dir, PATH: `${join(dir, 'bin')}:${process.env.PATH ?? ''}`, KUBECONFIG: join(dir, '.coffer/kubeconfig') };
    up = spawn(process.execPath, [COFFER_BIN, 'up', '--listen', `127.0.0.1:${await freePort()}`], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    up.stderr!.on('data', (d: Buffer) => {
      upLog = (upLog + d.toString()).slice(-8000);
    });
    await new Promise<void>((resolve, reject) => {
      up.stdout!.on('data', (d: Buffer) => d.toString().includes('export KUBECONFIG=') && resolve());
      up.once('exit', (code) => reject(new Error(`coffer up exited ${code}: ${upLog}`)));
    });
  });
  async function stopUp(): Promise<number | null> {
    if (up && up.exitCode === null && up.signalCode === null) {
      up.kill('SIGTERM');
      await new Promise((r) => up.once('exit', r));
    }
    return up?.exitCode ?? null;
  }
  after(async () => {
    await stopUp();
    await rm(dir, { recursive: true, force: true });
  });

  void it('finds runnable blocks in README.md and docs/', () => {
    assert.ok(blocks.some((b) => b.file === 'README.md'));
    assert.ok(blocks.some((b) => b.file.startsWith('docs/')));
    assert.deepEqual(runnableBlocks('x\n```sh runnable\na\nb\n```\n```sh\nc\n```\n```sh runnable-stopped\nd\n```\n', 'm.md'), [
      { file: 'm.md', line: 2, code: 'a\nb', stopped: false },
      { file: 'm.md', line: 9, code: 'd', stopped: true },
    ]);
  });

  for (const block of blocks) {
    void it(`${block.file}:${block.line}${block.stopped ? ' (coffer up stopped)' : ''}`, async () => {
      if (block.stopped) assert.equal(await stopUp(), 0, upLog);
      const r = spawnSync('bash', ['--norc', '-euo', 'pipefail', '-c', block.code], { cwd: dir, env, encoding: 'utf8', timeout: 180_000 });
      assert.equal(r.status, 0, `${block.file}:${block.line} exited ${r.status ?? r.signal}\n--- block\n${block.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
    });
  }
});
