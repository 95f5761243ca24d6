// The scale suite's HTTP side: one keep-alive connection pool per API server, creates with many in flight, a LIST
// read page by page, and watchers that time one change's fan-out. Bodies are read and dropped; nothing is logged.
import { Agent, request } from 'node:https';
import { randomBytes } from 'node:crypto';
import { bearerRequest, readBearerCredentials } from '../../src/lib/bearer-https.js';

export interface ApiTarget {
  url: string;
  agent: Agent;
  token: string;
}

export async function apiTarget(dataDir: string, url: string, sockets: number): Promise<ApiTarget> {
  const { ca, token } = await readBearerCredentials(dataDir);
  return { url, agent: new Agent({ keepAlive: true, maxSockets: sockets, ca }), token };
}

export function call(t: ApiTarget, method: string, path: string, body?: string): Promise<{ status: number; body: Buffer }> {
  return bearerRequest(t.url, { method, path, token: t.token, agent: t.agent, ...(body === undefined ? {} : { body }) });
}

async function must(t: ApiTarget, method: string, path: string, body?: string): Promise<Buffer> {
  const r = await call(t, method, path, body);
  if (r.status < 200 || r.status > 299) throw new Error(`${method} ${path}: HTTP ${r.status}`);
  return r.body;
}

export const NAMESPACE = 'scale';
const VALUE = randomBytes(768).toString('base64'); // 1 KiB once base64-encoded, as the other benchmarks

export async function ensureNamespace(t: ApiTarget): Promise<void> {
  const r = await call(t, 'POST', '/api/v1/namespaces', JSON.stringify({ metadata: { name: NAMESPACE } }));
  if (r.status !== 201 && r.status !== 409) throw new Error(`create namespace ${NAMESPACE}: HTTP ${r.status}`);
}

const secretBody = (name: string) => JSON.stringify({ metadata: { name }, data: { v: VALUE } });

/**
 * Creates Secrets `${prefix}-${from}` .. `${prefix}-${to - 1}` with `inFlight` requests at once, spread round-robin
 * over the targets (one client pool per server); calls `progress` after each. Returns the seconds it took.
 */
export async function createSecrets(
  targets: ApiTarget[],
  prefix: string,
  from: number,
  to: number,
  inFlight: number,
  progress?: (done: number) => void | Promise<void>,
): Promise<number> {
  let next = from;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < to) {
        const i = next++;
        await must(targets[i % targets.length]!, 'POST', `/api/v1/namespaces/${NAMESPACE}/secrets`, secretBody(`${prefix}-${i}`));
        await progress?.(i + 1);
      }
    }),
  );
  return (performance.now() - start) / 1000;
}

/** Creates for `ms` milliseconds with `inFlight` at once over the targets; returns creates per second. */
export async function createRate(targets: ApiTarget[], prefix: string, inFlight: number, ms: number): Promise<number> {
  let next = 0;
  let done = 0;
  const end = performance.now() + ms;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (performance.now() < end) {
        const i = next++;
        await must(targets[i % targets.length]!, 'POST', `/api/v1/namespaces/${NAMESPACE}/secrets`, secretBody(`${prefix}-${i}`));
        done++;
      }
    }),
  );
  return (done * 1000) / (performance.now() - start);
}

/** Reads every Secret of the namespace page by page (limit, continue) and returns the item count and seconds taken. */
export async function pagedList(t: ApiTarget, limit: number): Promise<{ items: number; pages: number; seconds: number }> {
  const start = performance.now();
  let items = 0;
  let pages = 0;
  let cont = '';
  do {
    const q = `limit=${limit}${cont ? `&continue=${encodeURIComponent(cont)}` : ''}`;
    const page = JSON.parse((await must(t, 'GET', `/api/v1/namespaces/${NAMESPACE}/secrets?${q}`)).toString('utf8')) as {
      items: unknown[];
      metadata: { continue?: string };
    };
    items += page.items.length;
    pages++;
    cont = page.metadata.continue ?? '';
  } while (cont);
  return { items, pages, seconds: (performance.now() - start) / 1000 };
}

export async function listRevision(t: ApiTarget): Promise<string> {
  const page = JSON.parse((await must(t, 'GET', `/api/v1/namespaces/${NAMESPACE}/secrets?limit=1`)).toString('utf8')) as {
    metadata: { resourceVersion: string };
  };
  return page.metadata.resourceVersion;
}

/**
 * Opens `count` watches from the current revision (each on its own connection, as separate clients would), creates one
 * Secret, and returns each watcher's delay from just before the create to the moment its ADDED event arrived.
 */
export async function watchFanOut(t: ApiTarget, count: number, name: string, timeoutMs: number): Promise<number[]> {
  const rv = await listRevision(t);
  const agent = new Agent({ keepAlive: false, maxSockets: Infinity, ca: t.agent.options.ca });
  let t0 = 0;
  const delays: number[] = [];
  const requests: ReturnType<typeof request>[] = [];
  const opened: Promise<void>[] = [];
  const arrived: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    let markOpen!: () => void;
    opened.push(new Promise<void>((r) => (markOpen = r)));
    arrived.push(
      new Promise<void>((resolve, reject) => {
        const req = request(
          `${t.url}/api/v1/namespaces/${NAMESPACE}/secrets?watch=1&resourceVersion=${rv}`,
          { agent, headers: { authorization: `Bearer ${t.token}` } },
          (res) => {
            if (res.statusCode !== 200) return reject(new Error(`watch: HTTP ${res.statusCode}`));
            markOpen();
            let buf = '';
            res.on('data', (c: Buffer) => {
              buf += c.toString('utf8');
              if (buf.includes(`"name":"${name}"`)) {
                delays.push(performance.now() - t0);
                resolve();
                req.destroy();
              }
            });
          },
        );
        req.on('error', (e) => (delays.length >= count ? resolve() : reject(e)));
        requests.push(req);
        req.end();
      }),
    );
  }
  try {
    await Promise.all(opened);
    t0 = performance.now();
    await must(t, 'POST', `/api/v1/namespaces/${NAMESPACE}/secrets`, secretBody(name));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(arrived),
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`${count - delays.length} of ${count} watchers got nothing in ${timeoutMs} ms`)), timeoutMs))),
    ]).finally(() => clearTimeout(timer));
    return delays;
  } finally {
    for (const r of requests) r.destroy();
    agent.destroy();
  }
}

export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}
