// `npm run bench -- operations`: the operations toolkit's speed as ratios to a baseline measured in the same run.
// - status over 10,000 Secrets (aesgcm, ~1 KiB) on a live etcd and from a snapshot of it, in objects per second, next
//   to a raw `etcdctl get --prefix` of the same keys (process start included in both: each is one command);
// - reencrypt through the API server (GET + PUT of each stale object, 8 in flight) next to the same API server's plain
//   update rate (a PUT that changes the object, 8 in flight).
// Run alone with: node --import tsx bench/operations.bench.ts
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { request, Agent } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { Etcd3 } from 'etcd3';
import { startApiServer } from '../src/apiserver/api-server.js';
import { loadEncryptionConfiguration } from '../src/encryption/encryption-config.js';
import { EncryptionEngine } from '../src/encryption/encryption-engine.js';
import type { GroupResource } from '../src/encryption/group-resource.js';
import { contextForKey } from '../src/encryption/transformer.js';
import { openEtcdSource } from '../src/operations/etcd-source.js';
import { KubeClient } from '../src/operations/kube-client.js';
import { reencrypt } from '../src/operations/reencrypt.js';
import { scanSource } from '../src/operations/scan.js';
import { openSnapshotSource } from '../src/operations/snapshot-source.js';
import type { Source } from '../src/operations/source.js';
import { startEtcd } from '../src/storage/etcd/testing/etcd-process.js';
import { SqliteStore } from '../src/storage/sqlite/sqlite-store.js';
import { printRows, type BenchRow } from './measure.js';

const exec = promisify(execFile);
const OBJECTS = 10_000;
const ROUNDS = 3;
const UPDATE_OBJECTS = 600;
const IN_FLIGHT = 8;
const SECRETS = { group: '', resource: 'secrets' } satisfies GroupResource;
const config = (providers: string) =>
  loadEncryptionConfiguration(`apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n  - resources: [secrets]\n    providers:\n${providers}`);
const gcm = `      - aesgcm: {keys: [{name: k1, secret: ${randomBytes(32).toString('base64')}}]}\n`;
const cbc = `      - aescbc: {keys: [{name: k0, secret: ${randomBytes(32).toString('base64')}}]}\n`;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return (performance.now() - start) / 1000;
}

async function scanAll(open: () => Promise<Source>, cfg: ReturnType<typeof config>): Promise<void> {
  const source = await open();
  try {
    const scan = await scanSource(source, { prefix: '/registry/', config: cfg, resources: ['secrets'] });
    if (scan.total !== OBJECTS) throw new Error(`scanned ${scan.total} objects, wanted ${OBJECTS}`);
  } finally {
    await source.close();
  }
}

async function statusRows(): Promise<BenchRow[]> {
  const etcd = await startEtcd();
  const dir = await mkdtemp(join(tmpdir(), 'coffer-bench-ops-'));
  const raw = new Etcd3({ hosts: etcd.endpoints });
  const cfg = config(gcm);
  const engine = await EncryptionEngine.create(cfg);
  try {
    const t = engine.transformerFor(SECRETS);
    for (let i = 0; i < OBJECTS; i += 200) {
      await Promise.all(Array.from({ length: 200 }, async (_, j) => {
        const key = `/registry/secrets/ns-${(i + j) % 10}/s-${i + j}`;
        await raw.put(key).value(Buffer.from(await t.toStorage(randomBytes(1024), contextForKey(key)))).exec();
      }));
    }
    const snapshot = join(dir, 'snapshot.db');
    const env = { ...process.env, ETCDCTL_API: '3' };
    await exec('etcdctl', ['--endpoints', etcd.endpoints[0]!, 'snapshot', 'save', snapshot], { env });
    const etcdctl = () => exec('etcdctl', ['--endpoints', etcd.endpoints[0]!, 'get', '--prefix', '/registry/secrets/'], { env, maxBuffer: 256 * 1024 * 1024 });
    const base: number[] = [];
    const live: number[] = [];
    const snap: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      base.push(OBJECTS / (await timed(etcdctl)));
      live.push(OBJECTS / (await timed(() => scanAll(() => openEtcdSource({ endpoints: etcd.endpoints }), cfg))));
      snap.push(OBJECTS / (await timed(() => scanAll(() => openSnapshotSource(snapshot), cfg))));
    }
    const b = median(base);
    return [
      { name: `status, ${OBJECTS} Secrets, live etcd`, baseline: 'etcdctl get --prefix', opsPerSec: median(live), baselineOpsPerSec: b, ratio: median(live) / b },
      { name: `status, ${OBJECTS} Secrets, snapshot (restore + temporary etcd)`, baseline: 'etcdctl get --prefix', opsPerSec: median(snap), baselineOpsPerSec: b, ratio: median(snap) / b },
    ];
  } finally {
    engine.close();
    raw.close();
    await etcd.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

/** An engine whose configuration the benchmark swaps, as a reload would. */
class SwappableEngine {
  constructor(public current: EncryptionEngine) {}
  transformerFor(gr: GroupResource) {
    return this.current.transformerFor(gr);
  }
}

async function reencryptRows(): Promise<BenchRow[]> {
  const dir = await mkdtemp(join(tmpdir(), 'coffer-bench-reencrypt-'));
  const store = await SqliteStore.open({ dataDir: join(dir, 'store') });
  const before = await EncryptionEngine.create(config(cbc));
  const engine = new SwappableEngine(before);
  const server = await startApiServer({ dataDir: dir, host: '127.0.0.1', port: 0, store, engine });
  const ca = await readFile(join(dir, 'ca.crt'), 'utf8');
  const token = (await readFile(join(dir, 'admin.token'), 'utf8')).trim();
  const agent = new Agent({ keepAlive: true, maxSockets: IN_FLIGHT, ca });
  const call = (method: string, path: string, body?: unknown) =>
    new Promise<Buffer>((resolve, reject) => {
      const req = request(`${server.url}${path}`, { method, agent, headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => (res.statusCode! < 300 ? resolve(Buffer.concat(chunks)) : reject(new Error(`${method} ${path}: ${res.statusCode}`))));
      });
      req.on('error', reject);
      req.end(body === undefined ? undefined : JSON.stringify(body));
    });
  const client = await KubeClient.fromFile(server.kubeconfigPath, { maxSockets: IN_FLIGHT });
  const after = await EncryptionEngine.create(config(gcm + cbc));
  try {
    const value = randomBytes(1024).toString('base64');
    for (let i = 0; i < UPDATE_OBJECTS; i += IN_FLIGHT) {
      await Promise.all(Array.from({ length: IN_FLIGHT }, (_, j) => call('POST', '/api/v1/namespaces/default/secrets', { metadata: { name: `s${i + j}` }, data: { v: value } })));
    }
    // Baseline: plain updates (each changes the object, so each is written), IN_FLIGHT at once.
    const objects = (await Promise.all(Array.from({ length: UPDATE_OBJECTS }, (_, i) => call('GET', `/api/v1/namespaces/default/secrets/s${i}`)))).map(
      (b) => JSON.parse(b.toString()) as { metadata: Record<string, unknown>; data: Record<string, string> },
    );
    let next = 0;
    const updates = await timed(() =>
      Promise.all(Array.from({ length: IN_FLIGHT }, async () => {
        while (next < objects.length) {
          const o = objects[next++]!;
          await call('PUT', `/api/v1/namespaces/default/secrets/${String(o.metadata.name)}`, { ...o, data: { ...o.data, u: 'MQ==' } });
        }
      })),
    );
    // Candidate: the same server now writes with aesgcm, so every object is stale; reencrypt rewrites them all.
    engine.current = after;
    let summary: Awaited<ReturnType<typeof reencrypt>> | undefined;
    const rewrite = await timed(async () => {
      summary = await reencrypt(client, { resources: ['secrets'], qps: Infinity, concurrency: IN_FLIGHT, progress: { isTTY: false, write: () => true } });
    });
    if (summary!.rewritten !== UPDATE_OBJECTS) throw new Error(`reencrypt rewrote ${summary!.rewritten}`);
    const u = UPDATE_OBJECTS / updates;
    const r = UPDATE_OBJECTS / rewrite;
    return [{ name: `reencrypt, ${UPDATE_OBJECTS} stale Secrets, ${IN_FLIGHT} in flight`, baseline: 'plain PUT updates', opsPerSec: r, baselineOpsPerSec: u, ratio: r / u }];
  } finally {
    client.close();
    agent.destroy();
    await server.close();
    await store.close();
    before.close();
    after.close();
    await rm(dir, { recursive: true, force: true });
  }
}

export async function run(): Promise<void> {
  printRows('Operations: encryption status and reencrypt', [...(await statusRows()), ...(await reencryptRows())]);
}

if (import.meta.url === pathToFileURL(process.argv[1]!).href) await run();
