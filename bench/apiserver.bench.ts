// `npm run bench -- apiserver`: Secret creates and gets per second over HTTPS (1 KiB, 16 in flight) with identity,
// aesgcm and KMS v2 (the base64 test plugin over gRPC), as ratios to identity and to raw store creates, all
// measured in this run on the same kind of SQLite store.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startApiServer } from '../src/apiserver/api-server.js';
import { loadEncryptionConfiguration } from '../src/encryption/encryption-config.js';
import { EncryptionEngine } from '../src/encryption/encryption-engine.js';
import { startBase64KmsPlugin } from '../src/kms/testing/base64-kms-plugin.js';
import { SqliteStore } from '../src/storage/sqlite/sqlite-store.js';
import { printRows, type BenchRow } from './measure.js';

const CONCURRENCY = 16;
const DURATION_MS = 3000;
const VALUE = randomBytes(768).toString('base64'); // 1 KiB once base64-encoded

function providers(kmsEndpoint: string): Record<string, string> {
  return {
    identity: '      - identity: {}\n',
    aesgcm: `      - aesgcm:\n          keys:\n            - name: k\n              secret: ${randomBytes(32).toString('base64')}\n`,
    'kms v2': `      - kms:\n          apiVersion: v2\n          name: bench\n          endpoint: ${kmsEndpoint}\n`,
  };
}

/** Runs `op` with CONCURRENCY in flight for DURATION_MS; returns completed operations per second. */
async function throughput(op: (i: number) => Promise<void>): Promise<number> {
  let next = 0;
  let done = 0;
  const end = Date.now() + DURATION_MS;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (Date.now() < end) {
        await op(next++);
        done++;
      }
    }),
  );
  return (done * 1000) / DURATION_MS;
}

async function measureServer(name: string, providerYaml: string): Promise<{ creates: number; gets: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'coffer-bench-api-'));
  const store = await SqliteStore.open({ dataDir: join(dir, 'store') });
  const engine = await EncryptionEngine.create(
    loadEncryptionConfiguration(`apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n  - resources: [secrets]\n    providers:\n${providerYaml}`),
  );
  const server = await startApiServer({ dataDir: dir, host: '127.0.0.1', port: 0, store, engine });
  const ca = await readFile(join(dir, 'ca.crt'), 'utf8');
  const token = (await readFile(join(dir, 'admin.token'), 'utf8')).trim();
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY, ca });
  const call = (method: string, path: string, body?: string) =>
    new Promise<void>((resolve, reject) => {
      const req = request(`${server.url}${path}`, { method, agent, headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' } }, (res) => {
        res.resume();
        res.on('end', () => (res.statusCode! < 300 ? resolve() : reject(new Error(`${name}: ${method} ${path}: ${res.statusCode}`))));
      });
      req.on('error', reject);
      req.end(body);
    });
  try {
    const creates = await throughput((i) =>
      call('POST', '/api/v1/namespaces/default/secrets', JSON.stringify({ metadata: { name: `s${i}` }, data: { v: VALUE } })),
    );
    const gets = await throughput((i) => call('GET', `/api/v1/namespaces/default/secrets/s${i % 100}`));
    return { creates, gets };
  } finally {
    agent.destroy();
    await server.close();
    await store.close();
    engine.close();
    await rm(dir, { recursive: true, force: true });
  }
}

async function rawStoreCreates(): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), 'coffer-bench-raw-'));
  const store = await SqliteStore.open({ dataDir: join(dir, 'store') });
  const value = randomBytes(1024);
  try {
    return await throughput((i) => store.create(`/registry/secrets/default/s${i}`, value).then(() => undefined));
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

export async function run(): Promise<void> {
  const plugin = await startBase64KmsPlugin();
  try {
    const raw = await rawStoreCreates();
    const results: Record<string, { creates: number; gets: number }> = {};
    for (const [name, yaml] of Object.entries(providers(plugin.endpoint))) results[name] = await measureServer(name, yaml);
    const identity = results.identity!;
    const rows: BenchRow[] = [];
    for (const [name, r] of Object.entries(results)) {
      rows.push({ name: `${name}: creates`, baseline: 'identity creates', opsPerSec: r.creates, baselineOpsPerSec: identity.creates, ratio: r.creates / identity.creates });
      rows.push({ name: `${name}: creates`, baseline: 'raw store creates', opsPerSec: r.creates, baselineOpsPerSec: raw, ratio: r.creates / raw });
      rows.push({ name: `${name}: gets`, baseline: 'identity gets', opsPerSec: r.gets, baselineOpsPerSec: identity.gets, ratio: r.gets / identity.gets });
    }
    printRows(`API server: Secrets over HTTPS, 1 KiB, ${CONCURRENCY} in flight`, rows);
  } finally {
    await plugin.close();
  }
}
