// A single etcd on 127.0.0.1 with a data directory the lab chooses: the deployment's etcd (possibly on a gocryptfs
// mount), and the attacker's own etcd started on a copied data directory (--force-new-cluster, as anyone restoring
// a stolen member directory does). Stopped by PID.
import { spawn, type ChildProcess } from 'node:child_process';
import { stopChild } from './cleanup.js';
import { freePort } from './coffer-process.js';

const START_TIMEOUT_MS = 20_000;

export interface RunningEtcd {
  endpoint: string;
  pid: number;
  child: ChildProcess;
  stop(): Promise<void>;
}

export async function runEtcd(dataDir: string, opts: { forceNewCluster?: boolean; onChild?: (c: ChildProcess) => void } = {}): Promise<RunningEtcd> {
  const [client, peer, metrics] = [await freePort(), await freePort(), await freePort()];
  const clientUrl = `http://127.0.0.1:${client}`;
  const peerUrl = `http://127.0.0.1:${peer}`;
  const args = [
    '--name=lab',
    `--data-dir=${dataDir}`,
    `--listen-client-urls=${clientUrl}`,
    `--advertise-client-urls=${clientUrl}`,
    `--listen-peer-urls=${peerUrl}`,
    `--initial-advertise-peer-urls=${peerUrl}`,
    `--initial-cluster=lab=${peerUrl}`,
    `--listen-metrics-urls=http://127.0.0.1:${metrics}`,
    '--log-level=error',
    '--logger=zap',
  ];
  if (opts.forceNewCluster) args.push('--force-new-cluster');
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ETCD_')));
  const child = spawn('etcd', args, { stdio: ['ignore', 'ignore', 'pipe'], env });
  opts.onChild?.(child);
  let tail = '';
  child.stderr.on('data', (c: Buffer) => (tail = (tail + c.toString()).slice(-2000)));
  const failed = new Promise<never>((_, reject) => {
    child.once('error', (e) => reject(new Error(`etcd could not start (Debian package etcd-server): ${e.message}`)));
    child.once('exit', (code) => reject(new Error(`etcd exited with ${code}: ${tail}`)));
  });
  failed.catch(() => undefined);
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    const healthy = await Promise.race([
      fetch(`http://127.0.0.1:${metrics}/health`, { signal: AbortSignal.timeout(1000) })
        .then(async (r) => r.ok && ((await r.json()) as { health?: string }).health === 'true')
        .catch(() => false),
      failed,
    ]);
    if (healthy) break;
    if (Date.now() > deadline) {
      await stopChild(child, 1000);
      throw new Error(`etcd did not become healthy within ${START_TIMEOUT_MS} ms: ${tail}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { endpoint: clientUrl, pid: child.pid!, child, stop: () => stopChild(child) };
}
