// The lab's client of a Coffer API server: HTTPS with the server's CA and the admin token, read from the data
// directory as kubectl would read them from the kubeconfig. Responses are returned as bytes, so callers can search and
// wipe them; nothing here logs a body.
import { request } from 'node:https';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface ApiResponse {
  status: number;
  body: Buffer;
}

export class ApiClient {
  private constructor(
    private readonly url: URL,
    private readonly ca: Buffer,
    private readonly token: string,
  ) {}

  static async fromDataDir(dataDir: string, url: string): Promise<ApiClient> {
    const [ca, token] = await Promise.all([readFile(join(dataDir, 'ca.crt')), readFile(join(dataDir, 'admin.token'), 'utf8')]);
    return new ApiClient(new URL(url), ca, token.trim());
  }

  request(method: string, path: string, opts: { body?: unknown; signal?: AbortSignal } = {}): Promise<ApiResponse> {
    const payload = opts.body === undefined ? undefined : Buffer.from(JSON.stringify(opts.body));
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: this.url.hostname,
          port: this.url.port,
          path,
          method,
          ca: this.ca,
          headers: {
            authorization: `Bearer ${this.token}`,
            accept: 'application/json',
            ...(payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {}),
          },
          ...(opts.signal ? { signal: opts.signal } : {}),
          agent: false,
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

  /** A request that must succeed (2xx); the error names the method, path and status, never the body sent. */
  async must(method: string, path: string, opts: { body?: unknown; signal?: AbortSignal } = {}): Promise<ApiResponse> {
    const res = await this.request(method, path, opts);
    if (res.status < 200 || res.status > 299) {
      let reason = '';
      try {
        const r = (JSON.parse(res.body.toString('utf8')) as { reason?: unknown }).reason;
        reason = typeof r === 'string' ? r : '';
      } catch {
        // not a Status object
      }
      throw new Error(`${method} ${path}: HTTP ${res.status}${reason ? ` (${reason})` : ''}`);
    }
    return res;
  }
}

export function secretPath(namespace: string, name?: string): string {
  return `/api/v1/namespaces/${namespace}/secrets${name ? `/${name}` : ''}`;
}
