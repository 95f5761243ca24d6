// Starts real etcd processes for tests and benchmarks: loopback only, free ports, a temp data dir each, stopped by PID.
// Readiness is read from etcd's plain-HTTP metrics listener (/health), which answers the same way whether the client
// port speaks TLS, requires client certificates or has auth enabled, so the harness needs no credentials.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { freeLoopbackPorts } from '../../../lib/free-port.js';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { accessSync, constants } from 'node:fs';
import { randomUUID } from 'node:crypto';

const HOST = '127.0.0.1';
const START_TIMEOUT_MS = 20_000;
const STOP_GRACE_MS = 5_000;
const LOG_TAIL_CHARS = 4_000;

export interface EtcdTlsOptions {
  caFile: string;
  certFile: string;
  keyFile: string;
  /** --client-cert-auth: refuse clients without a certificate signed by caFile. */
  clientCertAuth?: boolean;
}

export interface StartEtcdOptions {
  /** Serve the client port over TLS (https) with this server certificate. */
  tls?: EtcdTlsOptions;
  /** Extra etcd flags, e.g. ["--auto-compaction-retention=1"]. */
  extraArgs?: string[];
}

export interface EtcdProcess {
  endpoints: string[];
  pid: number;
  dataDir: string;
  /** SIGTERM, then SIGKILL after a grace period; removes the data dir. Safe to call twice. */
  stop(): Promise<void>;
}

export interface EtcdMember {
  name: string;
  endpoint: string;
  pid: number;
  dataDir: string;
  /** Graceful stop (SIGTERM, then SIGKILL); removes the data dir. */
  stop(): Promise<void>;
  /** SIGKILL, as a crash: the data dir stays until the cluster is stopped. */
  kill(): Promise<void>;
}

export interface EtcdCluster {
  members: EtcdMember[];
  endpoints: string[];
  stop(): Promise<void>;
}

// Every child still alive when the test process exits is killed, so a crashed or interrupted test leaves no etcd behind.
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/** Free loopback ports for etcd's client and peer URLs (see lib/free-port.ts for why not bind(0)). */
export async function freePorts(count: number): Promise<number[]> {
  return freeLoopbackPorts(count, HOST);
}

interface MemberPlan {
  name: string;
  clientPort: number;
  peerPort: number;
  metricsPort: number;
  dataDir: string;
}

interface Spawned {
  child: ChildProcess;
  pid: number;
  log: () => string;
  exited: Promise<void>;
}

/** The etcd binary on PATH; a missing one is named by its Debian package, since the tests cannot run without it. */
function etcdBinary(): string {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, 'etcd');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  throw new Error('etcd is not installed (no "etcd" on PATH): install the Debian package etcd-server (apt-get install -y etcd-server)');
}

function spawnMember(binary: string, plan: MemberPlan, cluster: string, token: string, opts: StartEtcdOptions): Spawned {
  const scheme = opts.tls ? 'https' : 'http';
  const clientUrl = `${scheme}://${HOST}:${plan.clientPort}`;
  const peerUrl = `http://${HOST}:${plan.peerPort}`;
  const args = [
    `--name=${plan.name}`,
    `--data-dir=${plan.dataDir}`,
    `--listen-client-urls=${clientUrl}`,
    `--advertise-client-urls=${clientUrl}`,
    `--listen-peer-urls=${peerUrl}`,
    `--initial-advertise-peer-urls=${peerUrl}`,
    `--listen-metrics-urls=http://${HOST}:${plan.metricsPort}`,
    `--initial-cluster=${cluster}`,
    `--initial-cluster-state=new`,
    `--initial-cluster-token=${token}`,
    // Short timeouts so a killed leader is replaced within a test's patience (defaults: 100 ms / 1000 ms).
    '--heartbeat-interval=50',
    '--election-timeout=500',
    '--logger=zap',
    '--log-outputs=stderr',
    '--log-level=warn',
  ];
  if (opts.tls) {
    args.push(`--trusted-ca-file=${opts.tls.caFile}`, `--cert-file=${opts.tls.certFile}`, `--key-file=${opts.tls.keyFile}`);
    if (opts.tls.clientCertAuth) args.push('--client-cert-auth');
  }
  args.push(...(opts.extraArgs ?? []));

  // etcd also reads ETCD_* variables (ETCD_LISTEN_CLIENT_URLS, ...); none from the caller's environment leak in.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ETCD_')));
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
  let tail = '';
  const keep = (chunk: Buffer) => {
    tail = (tail + chunk.toString('utf8')).slice(-LOG_TAIL_CHARS);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  live.add(child);
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      live.delete(child);
      resolve();
    });
    child.once('error', (err) => {
      live.delete(child);
      tail += `\n${String(err)}`;
      resolve();
    });
  });
  return { child, pid: child.pid ?? -1, log: () => tail, exited };
}

async function waitHealthy(s: Spawned, metricsPort: number, deadline: number): Promise<void> {
  let exited = false;
  void s.exited.then(() => (exited = true));
  for (;;) {
    if (exited) throw new Error(`etcd exited during start-up (exit code ${s.child.exitCode}):\n${s.log()}`);
    try {
      const res = await fetch(`http://${HOST}:${metricsPort}/health`, { signal: AbortSignal.timeout(1_000) });
      const body = (await res.json()) as { health?: string };
      if (res.ok && body.health === 'true') return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`etcd did not become healthy within ${START_TIMEOUT_MS} ms:\n${s.log()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Sends SIGTERM (or SIGKILL), waits for the exit, escalating to SIGKILL after a grace period. */
async function terminate(s: Spawned, signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
  if (s.child.exitCode !== null || s.child.signalCode !== null || s.pid === -1) return;
  s.child.kill(signal);
  let timer: NodeJS.Timeout | undefined;
  const grace = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), STOP_GRACE_MS)));
  const outcome = await Promise.race([s.exited.then(() => 'exited' as const), grace]);
  clearTimeout(timer);
  if (outcome === 'timeout') {
    s.child.kill('SIGKILL');
    await s.exited;
  }
}

async function planMembers(count: number): Promise<MemberPlan[]> {
  const ports = await freePorts(count * 3);
  return Promise.all(
    Array.from({ length: count }, async (_, i) => ({
      name: `m${i}`,
      clientPort: ports[i * 3]!,
      peerPort: ports[i * 3 + 1]!,
      metricsPort: ports[i * 3 + 2]!,
      dataDir: await mkdtemp(join(tmpdir(), `coffer-etcd-m${i}-`)),
    })),
  );
}

async function startMembers(count: number, opts: StartEtcdOptions): Promise<{ plans: MemberPlan[]; spawned: Spawned[] }> {
  const binary = etcdBinary();
  for (const arg of opts.extraArgs ?? []) {
    // The harness alone chooses addresses, so nothing it starts ever listens beyond loopback.
    if (/^--?(listen|advertise|initial-advertise|initial-cluster)/.test(arg)) {
      throw new Error(`extraArgs may not set addresses or membership: ${arg}`);
    }
  }
  const plans = await planMembers(count);
  const cluster = plans.map((p) => `${p.name}=http://${HOST}:${p.peerPort}`).join(',');
  const token = `coffer-test-${randomUUID()}`;
  const spawned = plans.map((p) => spawnMember(binary, p, cluster, token, opts));
  try {
    const deadline = Date.now() + START_TIMEOUT_MS;
    await Promise.all(spawned.map((s, i) => waitHealthy(s, plans[i]!.metricsPort, deadline)));
    return { plans, spawned };
  } catch (err) {
    await Promise.all(spawned.map((s) => terminate(s, 'SIGKILL')));
    await Promise.all(plans.map((p) => rm(p.dataDir, { recursive: true, force: true })));
    throw err;
  }
}

/** Ports found free can be taken by someone else before etcd binds them; start again with new ones when that happens. */
async function startWithRetry(count: number, opts: StartEtcdOptions) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startMembers(count, opts);
    } catch (err) {
      if (attempt >= 3 || !String((err as Error).message).includes('address already in use')) throw err;
    }
  }
}

function endpointOf(plan: MemberPlan, opts: StartEtcdOptions): string {
  return `${opts.tls ? 'https' : 'http'}://${HOST}:${plan.clientPort}`;
}

/** One etcd member on 127.0.0.1, healthy when the promise resolves. */
export async function startEtcd(opts: StartEtcdOptions = {}): Promise<EtcdProcess> {
  const { plans, spawned } = await startWithRetry(1, opts);
  const plan = plans[0]!;
  const s = spawned[0]!;
  let stopping: Promise<void> | undefined;
  return {
    endpoints: [endpointOf(plan, opts)],
    pid: s.pid,
    dataDir: plan.dataDir,
    stop: () =>
      (stopping ??= (async () => {
        await terminate(s, 'SIGTERM');
        await rm(plan.dataDir, { recursive: true, force: true });
      })()),
  };
}

/** A cluster of `size` members on 127.0.0.1, all healthy when the promise resolves. */
export async function startEtcdCluster(size: number, opts: StartEtcdOptions = {}): Promise<EtcdCluster> {
  const { plans, spawned } = await startWithRetry(size, opts);
  const members = plans.map((plan, i): EtcdMember => {
    const s = spawned[i]!;
    let stopping: Promise<void> | undefined;
    return {
      name: plan.name,
      endpoint: endpointOf(plan, opts),
      pid: s.pid,
      dataDir: plan.dataDir,
      stop: () =>
        (stopping ??= (async () => {
          await terminate(s, 'SIGTERM');
          await rm(plan.dataDir, { recursive: true, force: true });
        })()),
      kill: () => terminate(s, 'SIGKILL'),
    };
  });
  return {
    members,
    endpoints: members.map((m) => m.endpoint),
    // One at a time: a leader stopped together with its followers waits for a leadership transfer that cannot
    // happen, until the grace period runs out.
    stop: async () => {
      for (const m of members) await m.stop();
    },
  };
}
