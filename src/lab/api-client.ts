// The lab's client of a Coffer API server: HTTPS with the server's CA and the admin token, read from the data
// directory as kubectl would read them from the kubeconfig. Responses are returned as bytes, so callers can search and
// wipe them; nothing here logs a body.
import { bearerRequest, readBearerCredentials } from '../lib/bearer-https.js';

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
    const { ca, token } = await readBearerCredentials(dataDir);
    return new ApiClient(new URL(url), ca, token);
  }

  request(method: string, path: string, opts: { body?: unknown; signal?: AbortSignal } = {}): Promise<ApiResponse> {
    return bearerRequest(this.url.href, {
      method,
      path,
      token: this.token,
      ca: this.ca,
      agent: false,
      ...(opts.body === undefined ? {} : { body: JSON.stringify(opts.body) }),
      ...(opts.signal ? { signal: opts.signal } : {}),
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
