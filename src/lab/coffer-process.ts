// One `coffer up` API server as its own OS process, as a control-plane node runs it: the ram attack dumps exactly this
// process, and restarts are real restarts (a fresh process, nothing carried over in memory). It runs with
// --no-controller: the API server alone, in every row (the External Secrets row runs `coffer controller` as its own
// process, as ESO runs in its own pod).
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApiClient } from './api-client.js';
import { stopChild } from './cleanup.js';

const COFFER_BIN = fileURLToPath(new URL('../../bin/coffer.js', import.meta.url));
/** How long a child may take to start; LAB_START_TIMEOUT_MS raises it on a loaded machine (shared CI runners). */
export const START_TIMEOUT_MS = Number(process.env.LAB_START_TIMEOUT_MS) || 30_000;
const LOG_TAIL = 4_000;

export interface CofferUpArgs {
  dataDir: string;
  encryptionConfig: string;
  store: 'sqlite' | 'etcd';
  etcdEndpoints?: string[];
  storeEncryptionKeyFile?: string;
  kmsNoDekCache?: boolean;
  /** `--kms-caller-auth`: handed over on coffer up's stdin, as a supervisor would (never in a file). */
  kmsCallerSecret?: string;
}

export interface RunningCoffer {
  pid: number;
  url: string;
  /** The admin kubeconfig `coffer up` wrote (in its data directory, on the node's disk). */
  kubeconfig: string;
  client: ApiClient;
  /** The last stderr lines (pino JSON), for error messages. Coffer logs no Secret value. */
  logTail(): string;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.listen(0, '127.0.0.1', resolve);
  });
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

export function cofferUpArgv(a: CofferUpArgs, port: number): string[] {
  const argv = [COFFER_BIN, 'up', '--data-dir', a.dataDir, '--listen', `127.0.0.1:${port}`, '--encryption-config', a.encryptionConfig];
  argv.push('--store', a.store, '--log-level', 'warn', '--no-controller');
  if (a.store === 'etcd') argv.push('--etcd-endpoints', (a.etcdEndpoints ?? []).join(','));
  if (a.storeEncryptionKeyFile) argv.push('--store-encryption-key-file', a.storeEncryptionKeyFile);
  if (a.kmsNoDekCache) argv.push('--kms-no-dek-cache');
  if (a.kmsCallerSecret) argv.push('--kms-caller-auth');
  return argv;
}

/** Starts `coffer up` and waits for its `export KUBECONFIG=` line; `onChild` registers the child for cleanup at once. */
export async function startCoffer(a: CofferUpArgs, opts: { onChild?: (c: ChildProcess) => void } = {}): Promise<RunningCoffer> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    try {
      return await startOnce(a, port, opts.onChild);
    } catch (e) {
      // Another process can take the free port between our check and coffer's bind; try a new one.
      if (attempt >= 3 || !String((e as Error).message).includes('EADDRINUSE')) throw e;
    }
  }
}

async function startOnce(a: CofferUpArgs, port: number, onChild?: (c: ChildProcess) => void): Promise<RunningCoffer> {
  const child = spawn(process.execPath, cofferUpArgv(a, port), { stdio: ['pipe', 'pipe', 'pipe'] });
  onChild?.(child);
  child.stdin.on('error', () => undefined); // a child that exits early closes the pipe; its exit is handled below
  child.stdin.end(a.kmsCallerSecret ? `${a.kmsCallerSecret}\n` : undefined);
  let tail = '';
  let kubeconfig = join(a.dataDir, 'kubeconfig');
  child.stderr.on('data', (c: Buffer) => (tail = (tail + c.toString('utf8')).slice(-LOG_TAIL)));
  try {
    await new Promise<void>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`coffer up did not start within ${START_TIMEOUT_MS} ms: ${tail}`)), START_TIMEOUT_MS);
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString('utf8');
        const m = /export KUBECONFIG=(\S+)\n/.exec(out);
        if (m) {
          kubeconfig = m[1]!;
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code, sig) => {
        clearTimeout(timer);
        reject(new Error(`coffer up exited (${code ?? sig}) before it was ready: ${tail}`));
      });
      child.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
  } catch (e) {
    await stopChild(child, 1_000);
    throw e;
  }
  const url = `https://127.0.0.1:${port}`;
  return {
    pid: child.pid!,
    url,
    kubeconfig,
    client: await ApiClient.fromDataDir(a.dataDir, url),
    logTail: () => tail,
    stop: () => stopChild(child),
  };
}
