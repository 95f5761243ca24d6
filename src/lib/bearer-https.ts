// One HTTPS request to a Coffer API server with its admin bearer token, the body returned as bytes (callers search,
// parse or wipe it; nothing here logs a body). Shared by the lab's API client and the scale benchmark, which read the
// server's CA and token from its data directory as kubectl reads them from the kubeconfig.
import { readFile } from 'node:fs/promises';
import { request, type Agent } from 'node:https';
import { join } from 'node:path';

export interface BearerCredentials {
  /** The server's CA (`<data-dir>/ca.crt`). */
  ca: Buffer;
  /** The admin token (`<data-dir>/admin.token`), trimmed. */
  token: string;
}

export async function readBearerCredentials(dataDir: string): Promise<BearerCredentials> {
  const [ca, token] = await Promise.all([readFile(join(dataDir, 'ca.crt')), readFile(join(dataDir, 'admin.token'), 'utf8')]);
  return { ca, token: token.trim() };
}

export interface BearerRequest {
  method: string;
  /** Path and query, sent as given (not normalized: the lab sends odd paths on purpose). */
  path: string;
  token: string;
  /** The CA to trust, unless the agent carries it. */
  ca?: Buffer;
  /** A keep-alive pool, or false for a connection of its own. */
  agent?: Agent | false;
  body?: string | Buffer;
  signal?: AbortSignal;
}

export function bearerRequest(url: string, r: BearerRequest): Promise<{ status: number; body: Buffer }> {
  const payload = typeof r.body === 'string' ? Buffer.from(r.body) : r.body;
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: hostname,
        port,
        path: r.path,
        method: r.method,
        headers: {
          authorization: `Bearer ${r.token}`,
          accept: 'application/json',
          ...(payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {}),
        },
        ...(r.ca ? { ca: r.ca } : {}),
        ...(r.agent !== undefined ? { agent: r.agent } : {}),
        ...(r.signal ? { signal: r.signal } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}
