// `npm run bench -- kms`: the KMS plugin (`coffer kms-plugin`) and its key server, each figure next to a baseline
// measured in this run:
//   1. plugin Encrypt/Decrypt RPCs per second (32 bytes, 16 in flight) with the `local` and `vault-transit` backends,
//      as ratios to a bare grpc-js echo service (same payload, same kind of unix socket, same client call path; the
//      plugins and the echo service run in this process, client and server sharing one event loop alike); the
//      vault-transit ones also against a bare HTTP round trip (keep-alive, 16 in flight) to a Node server in its own
//      process that does nothing, the floor under any call to a key server - and so is the backend's own call (its
//      HTTP client and the key server, the gRPC hop left out), which has the target;
//   2. API server Secret creates per second (1 KiB, 16 in flight) with KMS v2 (and v1) through the plugin running as
//      its own process, as ratios to identity;
//   3. KMS v1 against v2 through that one plugin: key server calls per 1,000 creates (counted from the key server's
//      audit log; plugin RPCs from the plugin's /metrics) and the time to list 5,000 Secrets after an API server
//      restart, with the Decrypt calls the restart and the lists cost.
// The key server is a child process (`coffer keyserver`), provisioned as `coffer up` does (transit key + token).
import * as grpc from '@grpc/grpc-js';
import { fromJSON } from '@grpc/proto-loader';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import type { INamespace } from 'protobufjs';
import { startApiServer, type RunningApiServer } from '../src/apiserver/api-server.js';
import { KEK_NAME, provisionKeyserver, writePluginTokenFileUnsafe } from '../src/stack/kms-stack.js';
import { loadEncryptionConfiguration } from '../src/encryption/encryption-config.js';
import { EncryptionEngine } from '../src/encryption/encryption-engine.js';
import { GrpcKmsV2Client } from '../src/kms/grpc-v2-client.js';
import { callUnary } from '../src/kms/grpc-unary.js';
import { startKmsPlugin } from '../src/kms-plugin/kms-plugin.js';
import type { BackendConfig } from '../src/kms-plugin/plugin-config.js';
import type { KeyManager } from '../src/kms-plugin/key-manager.js';
import { createKeyManager } from '../src/kms-plugin/key-manager-factory.js';
import { SYSTEM_CLOCK } from '../src/lib/clock.js';
import { superviseProcess, type SupervisedProcess } from '../src/lib/process-supervisor.js';
import { SqliteStore } from '../src/storage/sqlite/sqlite-store.js';
import { printRows, type BenchRow } from './measure.js';

const CONCURRENCY = 16;
const RPC_MS = 1000;
const CREATE_MS = 1500;
// 9 interleaved rounds, as the apiserver suite: with 3, two runs a minute apart on an idle machine read the
// vault-transit Encrypt row at 0.56 and 0.34 (docs/performance.md). BENCH_ROUNDS overrides.
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 9);
const LIST_SECRETS = 5000;
const SECRET_VALUE = randomBytes(768).toString('base64'); // 1 KiB once base64-encoded
const COFFER_BIN = new URL('../bin/coffer.js', import.meta.url).pathname;
const silent = pino({ level: 'silent' });

// ---------------------------------------------------------------------------------------------------------------
// Measuring helpers

/** Runs `op` with CONCURRENCY in flight for `ms`; returns completed operations per second. */
async function rate(op: () => Promise<unknown>, ms: number): Promise<number> {
  let done = 0;
  const start = performance.now();
  const end = start + ms;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < end) {
        await op();
        done++;
      }
    }),
  );
  return (done * 1000) / (performance.now() - start);
}

function median(xs: number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  return s[Math.floor(s.length / 2)]!;
}

/** Every op in every round (interleaved, so drift hits all alike); returns the median rate of each. */
async function interleaved(ops: (() => Promise<unknown>)[], ms: number): Promise<number[]> {
  for (const op of ops) await rate(op, 100); // warm-up: connections, JIT, first seeds
  const samples: number[][] = ops.map(() => []);
  for (let r = 0; r < ROUNDS; r++) {
    for (const [i, op] of ops.entries()) samples[i]!.push(await rate(op, ms));
  }
  return samples.map(median);
}

// ---------------------------------------------------------------------------------------------------------------
// The bare echo service: a unary protobuf `bytes` message each way, served by grpc-js on a unix socket.

const ECHO_PROTO: INamespace = {
  nested: {
    bench: {
      nested: {
        Echo: { methods: { Echo: { requestType: 'EchoMessage', responseType: 'EchoMessage', comment: '' } } },
        EchoMessage: { fields: { data: { type: 'bytes', id: 1 } } },
      },
    },
  },
};

async function startEchoServer(dir: string): Promise<{ call(data: Buffer): Promise<unknown>; close(): Promise<void> }> {
  const def = fromJSON(ECHO_PROTO, { keepCase: false, defaults: true, bytes: Buffer });
  const Echo = (grpc.loadPackageDefinition(def) as unknown as Record<string, Record<string, grpc.ServiceClientConstructor>>).bench!.Echo!;
  const endpoint = `unix://${join(dir, 'echo.sock')}`;
  const server = new grpc.Server();
  // Answered through a promise, as the KMS server answers its handlers.
  server.addService(Echo.service, {
    Echo: (call: { request: { data: Buffer } }, cb: (e: null, v: unknown) => void) => {
      void Promise.resolve({ data: call.request.data }).then((v) => cb(null, v));
    },
  });
  await new Promise<void>((res, rej) => server.bindAsync(endpoint, grpc.ServerCredentials.createInsecure(), (e) => (e ? rej(e) : res())));
  const client = new Echo(endpoint, grpc.credentials.createInsecure(), { 'grpc.default_authority': 'localhost' });
  return {
    // The same call path the KMS clients use (waitForReady, deadline).
    call: (data) => callUnary(client, 'Echo', { data }, { endpoint, timeoutMs: 3000 }),
    close: async () => {
      client.close();
      await new Promise<void>((res) => server.tryShutdown(() => res()));
    },
  };
}

/** A Node HTTP server in its own process that reads a request and answers `{}`; PUTs to it, keep-alive. */
async function startBareHttpServer(): Promise<{ call(): Promise<void>; close(): Promise<void> }> {
  const code = `require('node:http').createServer((q, s) => { q.resume(); q.on('end', () => s.writeHead(200, { 'Content-Type': 'application/json' }).end('{}')); })
    .listen(0, '127.0.0.1', function () { console.log('listening ' + this.address().port); });`;
  const proc = superviseProcess({ name: 'bare-http', command: process.execPath, args: ['-e', code], ready: /^listening (\d+)/, logger: silent });
  const port = Number((await proc.ready)[1]);
  const agent = new HttpAgent({ keepAlive: true, maxSockets: CONCURRENCY });
  const body = JSON.stringify({ plaintext: randomBytes(32).toString('base64') });
  return {
    call: () =>
      new Promise<void>((resolve, reject) => {
        const req = httpRequest({ host: '127.0.0.1', port, path: '/v1/transit/encrypt/k', method: 'PUT', agent, headers: { 'Content-Type': 'application/json', 'Content-Length': body.length } }, (res) => {
          res.resume();
          res.on('end', resolve);
        });
        req.on('error', reject);
        req.end(body);
      }),
    close: async () => {
      agent.destroy();
      await proc.stop();
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// The key server (child process, as `coffer up` runs it) and its audit log, which counts every call made to it.

interface Keyserver {
  url: string;
  auditLog: string;
  pluginTokenFile: string;
  process: SupervisedProcess;
}

async function startKeyserverProcess(dir: string): Promise<Keyserver> {
  const ksDir = join(dir, 'keyserver');
  const keyDir = join(dir, 'keys');
  await mkdir(keyDir, { recursive: true, mode: 0o700 });
  const auditLog = join(dir, 'keyserver-audit.log');
  const rootTokenFile = join(keyDir, 'keyserver-root.token');
  const proc = superviseProcess({
    name: 'keyserver',
    command: process.execPath,
    args: [
      COFFER_BIN, 'keyserver',
      '--data-dir', ksDir,
      '--root-key-file', join(keyDir, 'keyserver-root.key'),
      '--init',
      '--root-token-file', rootTokenFile,
      '--listen', '127.0.0.1:0',
      '--audit-log', auditLog,
      '--log-level', 'warn',
    ],
    ready: /^keyserver listening on (\S+)/,
    logger: silent,
  });
  try {
    const url = (await proc.ready)[1]!;
    const pluginTokenFile = join(keyDir, 'plugin-vault-token');
    await provisionKeyserver(url, rootTokenFile, silent);
    await writePluginTokenFileUnsafe(url, rootTokenFile, pluginTokenFile);
    return { url, auditLog, pluginTokenFile, process: proc };
  } catch (e) {
    await proc.stop();
    throw e;
  }
}

interface KeyserverCalls {
  encrypt: number;
  decrypt: number;
  other: number;
  total: number;
}

/** Audit log lines written since `mark()`, by kind (transit encrypt, transit decrypt, anything else). */
interface AuditCounter {
  mark(): Promise<void>;
  since(): Promise<KeyserverCalls>;
  /** Waits until the audit log has stopped growing for half a second. */
  settle(): Promise<void>;
}

async function auditCounter(file: string): Promise<AuditCounter> {
  let offset = 0;
  return {
    async settle() {
      let size = -1;
      for (;;) {
        const now = (await stat(file)).size;
        if (now === size) return;
        size = now;
        await new Promise((res) => setTimeout(res, 500));
      }
    },
    async mark() {
      offset = (await stat(file)).size;
    },
    async since() {
      const text = (await readFile(file)).subarray(offset).toString('utf8');
      const calls = { encrypt: 0, decrypt: 0, other: 0, total: 0 };
      for (const line of text.slice(0, text.lastIndexOf('\n') + 1).split('\n')) {
        if (!line) continue;
        const path = (JSON.parse(line) as { path: string }).path;
        if (/^transit\/encrypt\//.test(path)) calls.encrypt++;
        else if (/^transit\/decrypt\//.test(path)) calls.decrypt++;
        else calls.other++;
        calls.total++;
      }
      return calls;
    },
  };
}

/** A running plugin as the benchmark sees it: its socket and its own count of gRPC calls by method. */
interface PluginHandle {
  endpoint: string;
  /** Completed gRPC calls by method (`v2/Encrypt`, `v1beta1/Decrypt`, ...), from the plugin's metrics. */
  calls(): Promise<Record<string, number>>;
  close(): Promise<void>;
}

/** In this process (for RPC rates: client and server share one event loop, as with the echo service). */
async function inProcessPlugin(dir: string, name: string, backend: BackendConfig): Promise<PluginHandle> {
  const plugin = await startKmsPlugin({
    logger: silent,
    config: { endpoint: `unix://${join(dir, `${name}.sock`)}`, healthListen: '127.0.0.1:0', statusCacheTtlMs: 20_000, statusErrorCacheTtlMs: 3000, timeoutMs: 3000, backend },
  });
  return {
    endpoint: plugin.endpoint,
    async calls() {
      const out: Record<string, number> = {};
      for (const v of (await plugin.metrics.operations.get()).values) {
        const m = String(v.labels.method);
        out[m] = (out[m] ?? 0) + v.value;
      }
      return out;
    },
    close: () => plugin.close(),
  };
}

/** `coffer kms-plugin --config` as its own process, as `coffer up` runs it; calls are read from its /metrics. */
async function childPlugin(dir: string, name: string, backendYaml: string, timeout: string): Promise<PluginHandle> {
  const config = join(dir, `${name}.yaml`);
  await writeFile(config, `endpoint: unix://${join(dir, `${name}.sock`)}\nhealthListen: 127.0.0.1:0\ntimeout: ${timeout}\nbackend:\n${backendYaml}`, { mode: 0o600 });
  const proc = superviseProcess({
    name,
    command: process.execPath,
    args: [COFFER_BIN, 'kms-plugin', '--config', config, '--log-level', 'error'],
    ready: /^coffer kms-plugin ready endpoint=(\S+) health=(\S+)/,
    logger: silent,
  });
  let ready: RegExpExecArray;
  try {
    ready = await proc.ready;
  } catch (e) {
    await proc.stop();
    throw e;
  }
  const healthUrl = ready[2]!;
  return {
    endpoint: ready[1]!,
    async calls() {
      const text = await (await fetch(`${healthUrl}/metrics`)).text();
      const out: Record<string, number> = {};
      for (const m of text.matchAll(/^coffer_kms_plugin_operations_total\{([^}]*)\} (\S+)$/gm)) {
        const method = /method="([^"]*)"/.exec(m[1]!)?.[1] ?? '';
        out[method] = (out[method] ?? 0) + Number(m[2]);
      }
      return out;
    },
    close: () => proc.stop(),
  };
}

function diff(after: Record<string, number>, before: Record<string, number>, method: string): number {
  return (after[method] ?? 0) - (before[method] ?? 0);
}

// ---------------------------------------------------------------------------------------------------------------
// API servers on SQLite, as bench/apiserver.bench.ts starts them; `restart` reopens store, engine and server.

function encryptionConfig(providerYaml: string): string {
  return `apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n  - resources: [secrets]\n    providers:\n${providerYaml}`;
}

/** A KMS provider; `timeout` is the kms field (default 3s, as kube-apiserver's). */
const kmsYaml = (version: 'v1' | 'v2', endpoint: string, timeout?: string) =>
  `      - kms:\n          apiVersion: ${version}\n          name: bench\n          endpoint: ${endpoint}\n${timeout ? `          timeout: ${timeout}\n` : ''}`;
const kmsV2Yaml = (endpoint: string) => kmsYaml('v2', endpoint);
const kmsV1Yaml = (endpoint: string) => kmsYaml('v1', endpoint);

interface BenchServer {
  /** Resolves with the response body; rejects on a status of 300 or more. */
  call(method: string, path: string, body?: string): Promise<Buffer>;
  create(): Promise<unknown>;
  /** How many times the API server's garbage collector logged a failed list or watch (it retries). */
  gcFailures(): number;
  /** Closes and reopens store, engine and server (optionally with other providers); resolves with the ms it took. */
  restart(providerYaml?: string): Promise<number>;
  close(): Promise<void>;
}

async function startBenchServer(label: string, providerYaml: string): Promise<BenchServer> {
  const dir = await mkdtemp(join(tmpdir(), 'coffer-bench-kms-api-'));
  let store: SqliteStore | undefined;
  let engine: EncryptionEngine | undefined;
  let server: RunningApiServer | undefined;
  let agent: Agent | undefined;
  let token = '';
  let next = 0;
  let yaml = providerYaml;
  let gcFailures = 0;
  const logger = pino({ level: 'warn' }, { write: (line: string) => void (line.includes('garbage collector') && gcFailures++) });
  const open = async () => {
    store = await SqliteStore.open({ dataDir: join(dir, 'store') });
    engine = await EncryptionEngine.create(loadEncryptionConfiguration(encryptionConfig(yaml)));
    server = await startApiServer({ dataDir: dir, host: '127.0.0.1', port: 0, store, engine, logger });
    const ca = await readFile(join(dir, 'ca.crt'), 'utf8');
    token = (await readFile(join(dir, 'admin.token'), 'utf8')).trim();
    agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY, ca });
  };
  const shut = async () => {
    agent?.destroy();
    await server?.close();
    await store?.close();
    engine?.close();
  };
  await open();
  const call = (method: string, path: string, body?: string) =>
    new Promise<Buffer>((resolve, reject) => {
      const req = request(
        `${server!.url}${path}`,
        { method, agent: agent!, headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks);
            if (res.statusCode! < 300) resolve(text);
            else reject(new Error(`${label}: ${method} ${path}: ${res.statusCode}: ${text.toString('utf8').slice(0, 300)}`));
          });
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  return {
    call,
    gcFailures: () => gcFailures,
    create: () => call('POST', '/api/v1/namespaces/default/secrets', JSON.stringify({ metadata: { name: `s${next++}` }, data: { v: SECRET_VALUE } })),
    async restart(providerYaml?: string) {
      await shut();
      if (providerYaml) yaml = providerYaml;
      const started = performance.now();
      await open();
      return performance.now() - started;
    },
    async close() {
      await shut();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// 1. Plugin RPCs against a bare echo

async function pluginRpcRows(
  echo: { call(data: Buffer): Promise<unknown> },
  bareHttp: { call(): Promise<void> },
  transitBackend: KeyManager,
  plugins: { name: string; plugin: PluginHandle; viaHttp?: boolean }[],
): Promise<BenchRow[]> {
  const payload = randomBytes(32);
  const clients = plugins.map((p) => ({ ...p, client: new GrpcKmsV2Client(p.plugin.endpoint, { timeoutMs: 3000 }) }));
  try {
    const signal = new AbortController().signal;
    const wrappedByBackend = await transitBackend.encrypt(payload, { uid: randomUUID(), signal });
    const ops: (() => Promise<unknown>)[] = [
      () => echo.call(payload),
      () => bareHttp.call(),
      // The plugin's backend call alone: its HTTP client and the key server, without the gRPC hop in front.
      () => transitBackend.encrypt(payload, { uid: randomUUID(), signal }),
      () => transitBackend.decrypt(wrappedByBackend.ciphertext, { uid: randomUUID(), keyId: wrappedByBackend.keyId, annotations: {}, signal }),
    ];
    for (const { client } of clients) {
      const wrapped = await client.encrypt(payload, { uid: randomUUID() });
      ops.push(() => client.encrypt(payload, { uid: randomUUID() }));
      ops.push(() => client.decrypt(wrapped.ciphertext, { uid: randomUUID(), keyId: wrapped.keyId, annotations: wrapped.annotations }));
    }
    const [echoRate, httpRate, backendEncrypt, backendDecrypt, ...rates] = await interleaved(ops, RPC_MS);
    const rows: BenchRow[] = [];
    for (const [method, r] of [['Encrypt', backendEncrypt!], ['Decrypt', backendDecrypt!]] as const) {
      rows.push({ name: `vault-transit backend → coffer keyserver: ${method}`, baseline: 'bare HTTP round trip (Node, own process)', opsPerSec: r, baselineOpsPerSec: httpRate!, ratio: r / httpRate!, target: 0.6 });
    }
    clients.forEach(({ name, viaHttp }, i) => {
      for (const [j, method] of ['Encrypt', 'Decrypt'].entries()) {
        const r = rates[i * 2 + j]!;
        rows.push({ name: `${name}: v2 ${method}`, baseline: 'bare grpc-js echo', opsPerSec: r, baselineOpsPerSec: echoRate!, ratio: r / echoRate! });
        if (viaHttp) rows.push({ name: `${name}: v2 ${method}`, baseline: 'bare HTTP round trip (Node, own process)', opsPerSec: r, baselineOpsPerSec: httpRate!, ratio: r / httpRate! });
      }
    });
    return rows;
  } finally {
    for (const { client } of clients) client.close();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// 2. API server creates against identity

async function createRows(local: PluginHandle, transit: PluginHandle): Promise<BenchRow[]> {
  const cases = [
    { name: 'identity', yaml: '      - identity: {}\n' },
    { name: 'kms v2, local backend', yaml: kmsV2Yaml(local.endpoint) },
    { name: 'kms v2, keyserver backend', yaml: kmsV2Yaml(transit.endpoint) },
    { name: 'kms v1, keyserver backend', yaml: kmsV1Yaml(transit.endpoint) },
  ];
  const servers: BenchServer[] = [];
  try {
    for (const c of cases) servers.push(await startBenchServer(c.name, c.yaml));
    const [identity, ...rates] = await interleaved(servers.map((s) => () => s.create()), CREATE_MS);
    return cases.slice(1).map((c, i) => ({
      name: `${c.name}: creates`,
      baseline: 'identity creates',
      opsPerSec: rates[i]!,
      baselineOpsPerSec: identity!,
      ratio: rates[i]! / identity!,
    }));
  } finally {
    for (const s of servers) await s.close();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// 3. KMS v1 against v2: key server calls per 1,000 creates; list of 5,000 after a restart. An API server start
// itself lists every Secret (its garbage collector's informer), so a restart is where the Decrypts happen; the
// table reports the restart and the first client list separately and together.

interface Calls {
  keyserver: KeyserverCalls;
  pluginDecrypts: number;
}

interface Phase {
  ms: number;
  /** Why it failed, when it did. */
  error?: string;
  calls: Calls;
}

interface V1V2Result {
  createsPerSec: number;
  createCalls: KeyserverCalls;
  createPluginEncrypts: number;
  /** Restart and first list with the default kms timeout (3s). */
  defaultTimeout: Phase;
  defaultTimeoutGcFailures: number;
  /** Restart, first list and second list with LONG_KMS_TIMEOUT, so that v1 finishes. */
  restart: Phase;
  list: Phase;
  secondList: Phase;
}

/** The kms timeout that lets v1's Decrypts of 5,000 Secrets finish; the plugin's backend timeout is raised to match. */
const LONG_KMS_TIMEOUT = '60s';
const TRANSIT_PLUGIN_TIMEOUT = '60s';

function errorKind(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  return /DEADLINE_EXCEEDED|UNAVAILABLE|RESOURCE_EXHAUSTED|INTERNAL/.exec(message)?.[0] ?? message.slice(0, 80);
}

async function v1v2Run(version: 'v1' | 'v2', plugin: PluginHandle, audit: AuditCounter): Promise<V1V2Result> {
  const server = await startBenchServer(`kms ${version}`, kmsYaml(version, plugin.endpoint));
  const decryptMethod = `${version === 'v1' ? 'v1beta1' : 'v2'}/Decrypt`;
  /** Runs `fn`, then waits for calls already sent to land, and counts the Decrypts it caused. */
  const phase = async (fn: () => Promise<unknown>): Promise<Phase> => {
    await audit.settle();
    await audit.mark();
    const before = await plugin.calls();
    const t = performance.now();
    let error: string | undefined;
    try {
      await fn();
    } catch (e) {
      error = errorKind(e);
    }
    const ms = performance.now() - t;
    await audit.settle();
    const calls = { keyserver: await audit.since(), pluginDecrypts: diff(await plugin.calls(), before, decryptMethod) };
    return { ms, calls, ...(error ? { error } : {}) };
  };
  const list = async () => {
    const body = await server.call('GET', '/api/v1/namespaces/default/secrets');
    const items = (JSON.parse(body.toString('utf8')) as { items: unknown[] }).items.length;
    if (items !== LIST_SECRETS) throw new Error(`kms ${version}: listed ${items} Secrets, expected ${LIST_SECRETS}`);
  };
  try {
    await audit.mark();
    const before = await plugin.calls();
    let left = LIST_SECRETS;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (left-- > 0) await server.create();
      }),
    );
    const createsPerSec = (LIST_SECRETS * 1000) / (performance.now() - started);
    await audit.settle();
    const createCalls = await audit.since();
    const createPluginEncrypts = diff(await plugin.calls(), before, `${version === 'v1' ? 'v1beta1' : 'v2'}/Encrypt`);

    const gcBefore = server.gcFailures();
    const defaultTimeout = await phase(async () => {
      await server.restart();
      await list();
    });
    const defaultTimeoutGcFailures = server.gcFailures() - gcBefore;

    const restart = await phase(() => server.restart(kmsYaml(version, plugin.endpoint, LONG_KMS_TIMEOUT)));
    const first = await phase(list);
    const secondList = await phase(list);
    return { createsPerSec, createCalls, createPluginEncrypts, defaultTimeout, defaultTimeoutGcFailures, restart, list: first, secondList };
  } finally {
    await server.close();
  }
}

function printV1V2(v1: V1V2Result, v2: V1V2Result): void {
  const per1k = (n: number) => ((n * 1000) / LIST_SECRETS).toFixed(1);
  const ratio = (a: number, b: number) => (b === 0 ? (a === 0 ? '1.00' : '∞') : (a / b).toFixed(2));
  const ms = (p: Phase) => (p.error ? `failed after ${p.ms.toFixed(0)} (${p.error})` : p.ms.toFixed(0));
  const rows: [string, string, string, string][] = [];
  const num = (name: string, a: number, b: number, digits = 0) => rows.push([name, a.toFixed(digits), b.toFixed(digits), ratio(a, b)]);
  const decrypts = (a: Phase, b: Phase) => {
    num('  plugin Decrypt RPCs', a.calls.pluginDecrypts, b.calls.pluginDecrypts);
    num('  key server transit/decrypt calls', a.calls.keyserver.decrypt, b.calls.keyserver.decrypt);
  };
  num('creates per second while seeding (16 in flight)', v1.createsPerSec, v2.createsPerSec);
  rows.push(['key server calls per 1,000 creates (all paths)', per1k(v1.createCalls.total), per1k(v2.createCalls.total), ratio(v1.createCalls.total, v2.createCalls.total)]);
  rows.push(['  of which transit/encrypt', per1k(v1.createCalls.encrypt), per1k(v2.createCalls.encrypt), ratio(v1.createCalls.encrypt, v2.createCalls.encrypt)]);
  rows.push(['plugin Encrypt RPCs per 1,000 creates', per1k(v1.createPluginEncrypts), per1k(v2.createPluginEncrypts), ratio(v1.createPluginEncrypts, v2.createPluginEncrypts)]);
  const d1 = v1.defaultTimeout;
  const d2 = v2.defaultTimeout;
  rows.push(['kms timeout 3s (default): restart + first list, ms', ms(d1), ms(d2), d1.error || d2.error ? '' : ratio(d1.ms, d2.ms)]);
  num('  garbage-collector informer list failures at start', v1.defaultTimeoutGcFailures, v2.defaultTimeoutGcFailures);
  decrypts(d1, d2);
  num(`kms timeout ${LONG_KMS_TIMEOUT}: restart (API server start lists every Secret), ms`, v1.restart.ms, v2.restart.ms);
  decrypts(v1.restart, v2.restart);
  rows.push([`  first list of ${LIST_SECRETS} after it, ms`, ms(v1.list), ms(v2.list), ratio(v1.list.ms, v2.list.ms)]);
  decrypts(v1.list, v2.list);
  num(`  restart + first list of ${LIST_SECRETS}, ms`, v1.restart.ms + v1.list.ms, v2.restart.ms + v2.list.ms);
  rows.push([`  second list of ${LIST_SECRETS}, ms`, ms(v1.secondList), ms(v2.secondList), ratio(v1.secondList.ms, v2.secondList.ms)]);
  decrypts(v1.secondList, v2.secondList);
  console.log(`\n## KMS v1 vs v2 through one plugin (vault-transit → coffer keyserver), ${LIST_SECRETS} Secrets of 1 KiB, v1 cachesize 1000\n`);
  console.log('| measure | kms v1 | kms v2 | v1/v2 |');
  console.log('|---|---:|---:|---:|');
  for (const [name, a, b, r] of rows) console.log(`| ${name} | ${a} | ${b} | ${r} |`);
}

// ---------------------------------------------------------------------------------------------------------------

export async function run(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'coffer-bench-kms-'));
  const closers: (() => Promise<void>)[] = [];
  try {
    const keyFile = join(dir, 'local-kek');
    await writeFile(keyFile, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
    const ks = await startKeyserverProcess(dir);
    closers.push(() => ks.process.stop());
    const transitBackend: BackendConfig = { type: 'vault-transit', address: ks.url, transitMount: 'transit', key: KEK_NAME, auth: { type: 'token', tokenFile: ks.pluginTokenFile } };
    const transitYaml = `  type: vault-transit\n  address: ${ks.url}\n  key: ${KEK_NAME}\n  auth:\n    type: token\n    tokenFile: ${ks.pluginTokenFile}\n`;
    const localYaml = `  type: local\n  keyFiles: [${keyFile}]\n`;

    {
      const echo = await startEchoServer(dir);
      const bareHttp = await startBareHttpServer();
      const local = await inProcessPlugin(dir, 'rpc-local', { type: 'local', keyFiles: [keyFile] });
      const transit = await inProcessPlugin(dir, 'rpc-transit', transitBackend);
      const backend = await createKeyManager(transitBackend, { logger: silent, clock: SYSTEM_CLOCK, timeoutMs: 3000 });
      try {
        printRows(
          `KMS plugin (in process): v2 RPCs over a unix socket, 32-byte plaintext, ${CONCURRENCY} in flight`,
          await pluginRpcRows(echo, bareHttp, backend, [
            { name: 'local', plugin: local },
            { name: 'vault-transit → coffer keyserver', plugin: transit, viaHttp: true },
          ]),
        );
      } finally {
        await backend.close();
        await transit.close();
        await local.close();
        await bareHttp.close();
        await echo.close();
      }
    }
    if (process.env.BENCH_KMS_RPC_ONLY) return;

    const local = await childPlugin(dir, 'kms-local', localYaml, '3s');
    closers.push(() => local.close());
    const transit = await childPlugin(dir, 'kms-transit', transitYaml, TRANSIT_PLUGIN_TIMEOUT);
    closers.push(() => transit.close());
    printRows(`API server: Secret creates over HTTPS through \`coffer kms-plugin\` (own process), 1 KiB, ${CONCURRENCY} in flight`, await createRows(local, transit));

    const audit = await auditCounter(ks.auditLog);
    const v1 = await v1v2Run('v1', transit, audit);
    const v2 = await v1v2Run('v2', transit, audit);
    printV1V2(v1, v2);
  } finally {
    for (const close of closers.reverse()) await close().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
}
