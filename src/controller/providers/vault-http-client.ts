// A minimal client for Vault's HTTP API (developer.hashicorp.com/vault/api-docs, docs/keyserver.md): JSON bodies, X-Vault-Token and
// X-Vault-Namespace headers, `{"errors":[...]}` on failure, 404 meaning "absent". Built on node:http(s) so a store's
// caBundle can be trusted for this connection only, without touching process-wide TLS settings.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { UnavailableError } from '../../lib/errors.js';

export interface VaultResponse {
  status: number;
  body: Record<string, unknown> | undefined;
}

export interface VaultHttpOptions {
  server: string;
  caBundle?: Buffer;
  headers?: Record<string, string>;
  timeoutMs?: number;
}

export class VaultHttpError extends UnavailableError {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export class VaultHttpClient {
  private readonly base: URL;
  constructor(private readonly opts: VaultHttpOptions) {
    this.base = new URL(opts.server.endsWith('/') ? opts.server : `${opts.server}/`);
  }

  /** Sends one request; throws VaultHttpError for non-2xx answers except 404, which is returned to the caller. */
  async send(
    method: string,
    path: string,
    opts: { signal: AbortSignal; token?: string; namespace?: string; body?: unknown; query?: Record<string, string> },
  ): Promise<VaultResponse> {
    const url = new URL(`v1/${path.replace(/^\/+/, '')}`, this.base);
    for (const [k, v] of Object.entries(opts.query ?? {})) url.searchParams.set(k, v);
    const headers: Record<string, string> = { ...this.opts.headers, 'X-Vault-Request': 'true' };
    if (opts.token) headers['X-Vault-Token'] = opts.token;
    if (opts.namespace) headers['X-Vault-Namespace'] = opts.namespace;
    const payload = opts.body === undefined ? undefined : Buffer.from(JSON.stringify(opts.body));
    if (payload) headers['Content-Type'] = 'application/json';
    const requestFn = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = requestFn(
        url,
        {
          method,
          headers,
          signal: opts.signal,
          timeout: this.opts.timeoutMs ?? 30_000,
          ...(this.opts.caBundle ? { ca: this.opts.caBundle } : {}),
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`timed out after ${this.opts.timeoutMs ?? 30_000}ms`)));
      req.on('error', (e) => reject(new UnavailableError(`${method} ${url.origin}/v1/${path}: ${e.message}`, { cause: e })));
      req.end(payload);
    });
    let body: Record<string, unknown> | undefined;
    if (text.trim() !== '') {
      try {
        body = JSON.parse(text) as Record<string, unknown>;
      } catch {
        body = undefined;
      }
    }
    if (status === 404 || (status >= 200 && status < 300)) return { status, body };
    const errors = Array.isArray(body?.errors) ? (body.errors as unknown[]).map(String) : [];
    const detail = errors.length ? errors.join('; ').replace(/\s+/g, ' ').trim() : `HTTP ${status}`;
    throw new VaultHttpError(status, `Error making API request. URL: ${method} ${url.origin}/v1/${path} Code: ${status}. Errors: ${detail}`);
  }
}
