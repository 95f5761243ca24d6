// `coffer kms-plugin` as a process: the ready line, a KMS v2 call over its socket, /livez, and a clean SIGTERM that
// removes the socket.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { access, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { GrpcKmsV2Client } from '../kms/grpc-v2-client.js';

// coffer.ts (the program) is not touched here: a two-line program registers just this command, as coffer.ts does.
const PROGRAM = `
import { Command } from 'commander';
import { registerKmsPluginCommand } from './src/cli/kms-plugin-command.ts';
const program = new Command('coffer');
registerKmsPluginCommand(program);
await program.parseAsync(process.argv.slice(1), { from: 'user' });
`;

void describe('coffer kms-plugin (process)', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'coffer-kms-cli-'));
    await writeFile(join(dir, 'kek'), randomBytes(32).toString('base64'));
    await writeFile(join(dir, 'kms.yaml'), `endpoint: unix://${join(dir, 'config.sock')}\nbackend:\n  type: local\n  keyFiles: [kek]\n`);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  void it('prints a ready line, serves, and on SIGTERM exits 0 and removes its socket', async () => {
    const endpointFlag = `unix://${join(dir, 'flag.sock')}`;
    // The test's own TypeScript loader (npm test's, or tsx's), not a second one started in the child.
    const child = spawn(
      process.execPath,
      [...process.execArgv, '--input-type=module', '-e', PROGRAM, 'kms-plugin', '--config', join(dir, 'kms.yaml'), '--endpoint', endpointFlag, '--health-listen', '127.0.0.1:0', '--log-level', 'warn'],
      { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const line = await new Promise<string>((resolve, reject) => {
        const rl = createInterface({ input: child.stdout });
        rl.once('line', resolve);
        void exited.then((code) => reject(new Error(`exited ${code} before ready: ${stderr}`)));
      });
      const m = /^coffer kms-plugin ready endpoint=(\S+) health=(http:\/\/127\.0\.0\.1:\d+)$/.exec(line);
      assert.ok(m, line);
      assert.equal(m[1], endpointFlag);
      assert.match(stderr, /DEVELOPMENT ONLY/);
      const client = new GrpcKmsV2Client(m[1], { timeoutMs: 3000 });
      try {
        assert.equal((await client.status()).healthz, 'ok');
      } finally {
        client.close();
      }
      assert.equal((await fetch(`${m[2]}/livez`)).status, 200);
      child.kill('SIGTERM');
      assert.equal(await exited, 0);
      await assert.rejects(access(join(dir, 'flag.sock')));
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
