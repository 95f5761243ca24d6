// An etcd snapshot file (`etcdctl snapshot save`), read with etcd's own tooling so keys and values come back exactly
// as etcd stored them: `etcdctl snapshot restore` into a private temporary directory (which also checks the
// snapshot's integrity hash), then a temporary single-member etcd on free loopback ports, read like a live one.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { CofferError, InvalidError } from '../lib/errors.js';
import { openEtcdSource } from './etcd-source.js';
import type { Source } from './source.js';

const HOST = '127.0.0.1';
const START_TIMEOUT_MS = 30_000;
const run = promisify(execFile);

/** etcd reads ETCD_* and etcdctl ETCDCTL_* variables; none of the caller's may redirect the temporary member. */
function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ETCD_') && !k.startsWith('ETCDCTL_')));
}

async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, () => new Promise<ReturnType<typeof createServer>>((ok, fail) => {
      const s = createServer();
      s.once('error', fail);
      s.listen(0, HOST, () => ok(s));
    })),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise<void>((ok) => s.close(() => ok()))));
  return ports;
}

function missing(tool: string, pkg: string, e: unknown): Error {
  return (e as NodeJS.ErrnoException).code === 'ENOENT'
    ? new CofferError(`${tool} is not installed (needed to read a snapshot): install the Debian package ${pkg}`)
    : (e as Error);
}

async function waitHealthy(child: ChildProcess, metricsPort: number, log: () => string): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new CofferError(`the temporary etcd exited during start-up: ${log()}`);
    const healthy = await fetch(`http://${HOST}:${metricsPort}/health`, { signal: AbortSignal.timeout(1_000) })
      .then(async (r) => r.ok && ((await r.json()) as { health?: string }).health === 'true', () => false);
    if (healthy) return;
    if (Date.now() > deadline) throw new CofferError(`the temporary etcd did not become healthy within ${START_TIMEOUT_MS} ms: ${log()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function openSnapshotSource(snapshot: string): Promise<Source> {
  const file = resolve(snapshot);
  if (!(await stat(file).then((s) => s.isFile(), () => false))) {
    throw new InvalidError(`${JSON.stringify(snapshot)} is not a file`, { field: '--snapshot' });
  }
  const dir = await mkdtemp(join(tmpdir(), 'coffer-snapshot-'));
  let child: ChildProcess | undefined;
  const stop = async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child!.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child!.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const [clientPort, peerPort, metricsPort] = await freePorts(3);
    const peerUrl = `http://${HOST}:${peerPort}`;
    const member = ['--name', 'restore', '--initial-cluster', `restore=${peerUrl}`, '--initial-advertise-peer-urls', peerUrl];
    const dataDir = join(dir, 'data');
    await run('etcdctl', ['snapshot', 'restore', file, '--data-dir', dataDir, ...member, '--initial-cluster-token', `coffer-${randomUUID()}`], {
      env: { ...cleanEnv(), ETCDCTL_API: '3' },
    }).catch((e: unknown) => {
      const err = missing('etcdctl', 'etcd-client', e);
      throw err === e ? new CofferError(`etcdctl snapshot restore ${JSON.stringify(snapshot)} failed: ${((e as { stderr?: string }).stderr ?? (e as Error).message).trim()}`) : err;
    });
    const clientUrl = `http://${HOST}:${clientPort}`;
    let log = '';
    child = spawn('etcd', [
      '--data-dir', dataDir, ...member,
      '--listen-client-urls', clientUrl, '--advertise-client-urls', clientUrl,
      '--listen-peer-urls', peerUrl, '--listen-metrics-urls', `http://${HOST}:${metricsPort}`,
      '--log-level', 'warn', '--logger', 'zap',
    ], { stdio: ['ignore', 'ignore', 'pipe'], env: cleanEnv() });
    child.stderr!.on('data', (c: Buffer) => (log = (log + c.toString()).slice(-2000)));
    const spawned = new Promise<void>((ok, fail) => {
      child!.once('spawn', ok);
      child!.once('error', (e) => fail(missing('etcd', 'etcd-server', e)));
    });
    await spawned;
    await waitHealthy(child, metricsPort!, () => log);
    const source = await openEtcdSource({ endpoints: [clientUrl] }, `etcd snapshot ${file}`);
    return {
      description: source.description,
      entries: (prefix, o) => source.entries(prefix, o),
      async close() {
        await source.close();
        await stop();
      },
    };
  } catch (e) {
    await stop();
    throw e;
  }
}
