// What the reliability tests put `coffer up` under: real HTTPS clients (the admin token and CA `coffer up` wrote)
// creating Secrets as fast as the server takes them, and a record of every write the server acknowledged, to check
// afterwards that none was lost.
import { readFile } from 'node:fs/promises';
import { Agent, request } from 'node:https';
import { join } from 'node:path';
import { identityOf } from '../../src/lib/process-identity.js';
import { until } from '../support/processes.js';

export interface ApiClient {
  call(method: string, path: string, body?: unknown): Promise<{ status: number; body: string }>;
  close(): void;
}

/** An HTTPS client for the `coffer up` whose data directory is dataDir, listening on url. */
export async function apiClient(dataDir: string, url: string): Promise<ApiClient> {
  const ca = await readFile(join(dataDir, 'ca.crt'));
  const token = (await readFile(join(dataDir, 'admin.token'), 'utf8')).trim();
  const agent = new Agent({ keepAlive: true, maxSockets: 8, ca });
  return {
    call: (method, path, body) =>
      new Promise((resolve, reject) => {
        const payload = body === undefined ? undefined : JSON.stringify(body);
        const req = request(new URL(path, url), {
          method,
          agent,
          timeout: 15_000,
          headers: { Authorization: `Bearer ${token}`, ...(payload ? { 'Content-Type': 'application/json' } : {}) },
        });
        req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timed out`)));
        req.on('error', reject);
        req.on('response', (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (text += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
          res.on('error', reject);
        });
        req.end(payload);
      }),
    close: () => agent.destroy(),
  };
}

/** Writers creating Secrets in `default` until stopped; `acked` holds every write answered 201, name -> value. */
export class WriteLoad {
  readonly acked = new Map<string, string>();
  failures = 0;
  private running = true;
  private readonly loops: Promise<void>[];
  private ackWaiters: { count: number; resolve: () => void }[] = [];

  constructor(client: ApiClient, prefix: string, writers = 4) {
    this.loops = Array.from({ length: writers }, (_, w) => this.loop(client, `${prefix}-${w}`));
  }

  private async loop(client: ApiClient, prefix: string): Promise<void> {
    for (let i = 0; this.running; i++) {
      const name = `${prefix}-${i}`;
      const value = `value-of-${name}`;
      try {
        const r = await client.call('POST', '/api/v1/namespaces/default/secrets', {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name },
          data: { v: Buffer.from(value).toString('base64') },
        });
        if (r.status === 201) {
          this.acked.set(name, value);
          this.ackWaiters = this.ackWaiters.filter((w) => (this.acked.size >= w.count ? (w.resolve(), false) : true));
          continue;
        }
        this.failures++;
      } catch {
        this.failures++; // refused or reset: the server is down, which is the point
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Resolves once `more` further writes have been acknowledged. */
  acks(more: number): Promise<void> {
    const count = this.acked.size + more;
    return new Promise((resolve) => (this.acked.size >= count ? resolve() : this.ackWaiters.push({ count, resolve })));
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }
}

/** Fails unless every acknowledged write is in the store with its value (one LIST). */
export async function assertNoneLost(client: ApiClient, acked: ReadonlyMap<string, string>): Promise<void> {
  const r = await client.call('GET', '/api/v1/namespaces/default/secrets');
  if (r.status !== 200) throw new Error(`LIST secrets answered ${r.status}: ${r.body.slice(0, 300)}`);
  const stored = new Map(
    (JSON.parse(r.body) as { items: { metadata: { name: string }; data?: { v?: string } }[] }).items.map((s) => [s.metadata.name, Buffer.from(s.data?.v ?? '', 'base64').toString()]),
  );
  const lost = [...acked].filter(([name, value]) => stored.get(name) !== value).map(([name]) => name);
  if (lost.length > 0) throw new Error(`${lost.length} of ${acked.size} acknowledged writes lost, e.g. ${lost.slice(0, 5).join(', ')}`);
}

/** The pid a `coffer up` child's pid file records (written by lib/process-supervisor.ts while it runs). */
export async function recordedPid(pidFile: string): Promise<number | undefined> {
  const text = await readFile(pidFile, 'utf8').catch(() => undefined);
  return text ? (JSON.parse(text) as { pid: number }).pid : undefined;
}

export const isAlive = (pid: number) => identityOf(pid) !== undefined;

export async function untilGone(pid: number, what: string, ms = 30_000): Promise<void> {
  await until(() => !isAlive(pid), what, ms);
}
