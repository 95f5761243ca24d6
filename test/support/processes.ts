// Small helpers shared by the end-to-end tests that drive real processes (coffer, kubectl).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';

export const COFFER_BIN = new URL('../../bin/coffer.js', import.meta.url).pathname;
export const run = promisify(execFile);

export { freeLoopbackPort as freePort } from '../../src/lib/free-port.js';

/** Polls `check` (sync or async) until it holds; fails naming `what` after `ms`. */
export async function until(check: () => boolean | Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const start = Date.now();
  for (;;) {
    if (await check()) return;
    if (Date.now() - start > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Runs a command with `input` on stdin; rejects with its stderr when it fails. */
export function runWithInput(command: string, args: string[], input: string | Buffer, env?: NodeJS.ProcessEnv): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, env ? { env } : {});
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('close', (code) => (code === 0 ? resolve({ stdout, stderr }) : reject(new Error(`${command} ${args.join(' ')}: ${stderr}`))));
    child.stdin.end(input);
  });
}

export interface CofferChild {
  proc: ChildProcess;
  /** Everything it wrote to stdout and stderr so far. */
  out: () => string;
  /** SIGTERM, and wait for the exit. */
  stop(): Promise<void>;
}

/** Starts `coffer <args>`; resolves once its output matches `ready`, with the match. */
export function startCoffer(args: string[], ready: RegExp, what: string): Promise<{ child: CofferChild; match: RegExpExecArray }> {
  const proc = spawn(process.execPath, [COFFER_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const child: CofferChild = {
    proc,
    out: () => out,
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await exited;
    },
  };
  return new Promise((resolve, reject) => {
    const onData = (c: Buffer) => {
      out += c.toString();
      const match = ready.exec(out);
      if (match) resolve({ child, match });
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', onData);
    proc.once('exit', (code) => reject(new Error(`${what} exited with ${code}: ${out.slice(-3000)}`)));
  });
}
