// Test helpers: an in-process key server on a free loopback port in a temporary directory, and a minimal Vault API
// call that returns status and parsed body. Not a client library: it hides nothing a test needs to see.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Clock } from '../../lib/clock.js';
import { startKeyserver, type RunningKeyserver } from '../keyserver.js';

export type Dict = Record<string, unknown>;
/** A response body as tests see it: Vault's envelope (or an error body); deeper fields are read with a cast. */
export type VaultBody = Dict & { data: Dict; auth: Dict & { client_token: string; accessor: string }; errors?: string[]; warnings: string[] | null };
export interface VaultReply {
  status: number;
  body: VaultBody;
  text: string;
}

export interface TestKeyserver extends RunningKeyserver {
  dir: string;
  dataDir: string;
  rootKey: Buffer;
  rootToken: string;
  call(method: string, path: string, opts?: { body?: unknown; token?: string | null; headers?: Record<string, string> }): Promise<VaultReply>;
  /** Closes the server and removes the temporary directory. */
  dispose(): Promise<void>;
}

export async function startTestKeyserver(opts?: { clock?: Clock }): Promise<TestKeyserver> {
  const dir = await mkdtemp(join(tmpdir(), 'coffer-keyserver-'));
  const dataDir = join(dir, 'data');
  const rootKey = randomBytes(32);
  const ks = await startKeyserver({ dataDir, rootKey, listen: '127.0.0.1:0', ...(opts?.clock ? { clock: opts.clock } : {}) });
  const rootToken = ks.rootToken!;
  return {
    ...ks,
    dir,
    dataDir,
    rootKey,
    rootToken,
    call: (method, path, o) => vaultCall(ks.url, method, path, { token: o?.token === undefined ? rootToken : o.token, body: o?.body, headers: o?.headers }),
    async dispose() {
      await ks.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export async function vaultCall(
  url: string,
  method: string,
  path: string,
  o: { token?: string | null; body?: unknown; headers?: Record<string, string> | undefined },
): Promise<VaultReply> {
  const headers: Record<string, string> = { ...(o.token ? { 'X-Vault-Token': o.token } : {}), ...o.headers };
  const res = await fetch(`${url}/v1/${path}`, {
    method,
    headers,
    ...(o.body === undefined ? {} : { body: typeof o.body === 'string' ? o.body : JSON.stringify(o.body) }),
  });
  const text = await res.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = text;
  }
  return { status: res.status, body: body as VaultBody, text };
}
