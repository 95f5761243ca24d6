// A real API server over real HTTPS for tests in this folder and the fuzz suites: SQLite in a temp dir, an encryption
// engine of the test's choosing, and a small client that sends raw request targets (no URL normalization, so
// `%2e%2e` reaches the server as sent).
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadEncryptionConfiguration } from '../../encryption/encryption-config.js';
import { EncryptionEngine } from '../../encryption/encryption-engine.js';
import { SqliteStore } from '../../storage/sqlite/sqlite-store.js';
import { startApiServer, type ApiServerOptions, type RunningApiServer } from '../api-server.js';

export interface Reply {
  status: number;
  text: string;
  headers: Record<string, string | string[] | undefined>;
  /** The raw header lines, as sent (Latin-1 view of the bytes). */
  rawHeaders: string[];
  json: () => Record<string, unknown>;
}

export interface CallOptions {
  body?: string | Buffer;
  contentType?: string;
  /** false: no Authorization header (anonymous). */
  auth?: boolean;
  headers?: Record<string, string>;
}

export interface TestApiServer {
  server: RunningApiServer;
  dir: string;
  call(method: string, path: string, opts?: CallOptions): Promise<Reply>;
  close(): Promise<void>;
}

const IDENTITY = `apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
  - resources: [secrets]
    providers:
      - identity: {}
`;

export async function startTestApiServer(opts: { engine?: ApiServerOptions['engine'] & { close(): void }; logger?: ApiServerOptions['logger'] } = {}): Promise<TestApiServer> {
  const dir = await mkdtemp(join(tmpdir(), 'coffer-api-test-'));
  const store = await SqliteStore.open({ dataDir: join(dir, 'store') });
  const engine = opts.engine ?? (await EncryptionEngine.create(loadEncryptionConfiguration(IDENTITY)));
  const server = await startApiServer({ dataDir: dir, host: '127.0.0.1', port: 0, store, engine, compactionIntervalMs: 0, ...(opts.logger ? { logger: opts.logger } : {}) });
  const ca = await readFile(join(dir, 'ca.crt'), 'utf8');
  const token = (await readFile(join(dir, 'admin.token'), 'utf8')).trim();
  const url = new URL(server.url);
  return {
    server,
    dir,
    call(method, path, o = {}) {
      return new Promise((resolve, reject) => {
        const req = request(
          {
            host: url.hostname,
            port: url.port,
            path,
            method,
            ca,
            headers: {
              ...(o.auth === false ? {} : { Authorization: `Bearer ${token}` }),
              ...(o.body !== undefined ? { 'Content-Type': o.contentType ?? 'application/json', 'Content-Length': String(Buffer.byteLength(o.body)) } : {}),
              ...o.headers,
            },
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => {
              const text = Buffer.concat(chunks).toString();
              resolve({ status: res.statusCode ?? 0, text, headers: res.headers, rawHeaders: res.rawHeaders, json: () => JSON.parse(text) as Record<string, unknown> });
            });
          },
        );
        req.on('error', reject);
        req.end(o.body);
      });
    },
    async close() {
      await server.close();
      await store.close();
      engine.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
