// The one client for Vault's HTTP API (and OpenBao's, and `coffer keyserver`'s) that every part of Coffer uses: the KMS
// plugin's vault-transit backend, the External Secrets vault provider, the KMS stack `coffer up` provisions, the
// operations commands and the lab. JSON in, the standard envelope or `{"errors": [...]}` out (Vault's
// http/handler.go), with one set of rules: every call has a deadline, an answer larger than MAX_RESPONSE_BYTES or not
// JSON is an error, an unreachable server is an UnavailableError naming the call, and a non-2xx answer is left to the
// caller, who turns it into an error with vaultError (or its own words). node:http(s) rather than fetch because Node
// 20's fetch cannot be given a CA bundle for one connection without undici's Agent, which is not a dependency here.
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { InvalidError, NotFoundError, UnavailableError } from '../errors.js';

/** Vault said 403: the token is missing, expired, revoked, or lacks a policy. Auth reacts by logging in again. */
export class VaultForbiddenError extends UnavailableError {}

export interface VaultHttpOptions {
  /** `http(s)://host:port`, optionally with a path prefix; `/v1/<path>` is appended. */
  address: string;
  /** X-Vault-Namespace for every call (a call may name another). */
  namespace?: string;
  /** PEM CA bundle to trust instead of the system store, for this client's connections only. */
  ca?: Buffer;
  /** Extra headers sent with every call (a SecretStore's `headers`). */
  headers?: Record<string, string>;
  /** The deadline of one call, connection included. */
  timeoutMs: number;
}

export interface VaultRequest {
  token?: Uint8Array | string | undefined;
  body?: unknown;
  signal?: AbortSignal;
  /** X-Vault-Namespace for this call instead of the client's. */
  namespace?: string | undefined;
  query?: Record<string, string>;
  /** Extra headers for this call (X-Vault-Wrap-TTL, say). */
  headers?: Record<string, string>;
  /** Also return the answer's bytes as received (`raw`), which the caller then wipes. */
  keepRaw?: boolean;
}

export interface VaultResponse {
  status: number;
  body: Record<string, unknown> | undefined;
  /** The answer as received, when the call asked for it (keepRaw). */
  raw?: Buffer;
}

/**
 * The largest answer read: a KV read of a value as large as a Kubernetes Secret may be (1 MiB, JSON-escaped), with
 * room to spare; anything larger is not an answer Coffer can use, and is not buffered.
 */
export const MAX_RESPONSE_BYTES = 4 << 20;

/** Where a call goes, as node:http's request options (what it would derive from the URL on every call). */
interface Target {
  https: boolean;
  protocol: string;
  hostname: string;
  port: string;
  /** Path and query, encoded. */
  path: string;
  /** `origin + pathname`, for error messages. */
  where: string;
}

/** Targets kept per client, by path (calls without a query): a URL parse per call showed in a transit call's profile. */
const MAX_KEPT_TARGETS = 256;

export class VaultHttpClient {
  private readonly base: URL;
  private readonly targets = new Map<string, Target>();

  constructor(private readonly opts: VaultHttpOptions) {
    this.base = new URL(opts.address.endsWith('/') ? opts.address : `${opts.address}/`);
  }

  private target(path: string, query: Record<string, string> | undefined): Target {
    const kept = query ? undefined : this.targets.get(path);
    if (kept) return kept;
    const url = new URL(`v1/${path.replace(/^\/+/, '')}`, this.base);
    for (const [k, v] of Object.entries(query ?? {})) url.searchParams.set(k, v);
    const t: Target = {
      https: url.protocol === 'https:',
      protocol: url.protocol,
      // As node:http's urlToHttpOptions: an IPv6 literal without its brackets.
      hostname: url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname,
      port: url.port,
      path: `${url.pathname}${url.search}`,
      where: `${url.origin}${url.pathname}`,
    };
    if (!query) {
      if (this.targets.size >= MAX_KEPT_TARGETS) this.targets.clear();
      this.targets.set(path, t);
    }
    return t;
  }

  get address(): string {
    return this.opts.address;
  }

  /** One request; resolves with any HTTP status (callers decide), rejects with UnavailableError when Vault is unreachable. */
  request(method: string, path: string, o: VaultRequest = {}): Promise<VaultResponse> {
    const target = this.target(path, o.query && Object.keys(o.query).length > 0 ? o.query : undefined);
    const headers: Record<string, string> =
      this.opts.headers || o.headers ? { ...this.opts.headers, ...o.headers, Accept: 'application/json', 'X-Vault-Request': 'true' } : { Accept: 'application/json', 'X-Vault-Request': 'true' };
    if (o.token && o.token.length > 0) headers['X-Vault-Token'] = typeof o.token === 'string' ? o.token : Buffer.from(o.token).toString('latin1');
    const namespace = o.namespace ?? this.opts.namespace;
    if (namespace) headers['X-Vault-Namespace'] = namespace;
    // A string, not a Buffer: node:http then sends the head and the body in one write.
    const payload = o.body === undefined ? undefined : JSON.stringify(o.body);
    if (payload !== undefined) {
      headers['Content-Type'] = 'application/json';
      headers['Content-Length'] = String(Buffer.byteLength(payload));
    }
    const where = `${method} ${target.where}`;
    return new Promise<VaultResponse>((resolve, reject) => {
      if (o.signal?.aborted) {
        reject(new UnavailableError(`${where}: cancelled before it was sent`));
        return;
      }
      // One timer per call, dropped when it settles: AbortSignal.timeout and AbortSignal.any per call (and the listener
      // node:http adds to a request's signal) were a large part of a transit call's client CPU.
      let stopped: 'timed out' | 'cancelled' | undefined;
      let forget: (() => void) | undefined;
      const settle = () => {
        clearTimeout(timer);
        forget?.();
      };
      const fail = (e: Error) => {
        settle();
        reject(unreachable(where, e, stopped));
      };
      const send = target.https ? httpsRequest : httpRequest;
      const options = { protocol: target.protocol, hostname: target.hostname, port: target.port, path: target.path, method, headers, ...(this.opts.ca && target.https ? { ca: this.opts.ca } : {}) };
      const req = send(options, (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_RESPONSE_BYTES) req.destroy(new Error(`response larger than ${MAX_RESPONSE_BYTES} bytes`));
          else chunks.push(c);
        });
        res.on('error', fail);
        res.on('end', () => {
          settle();
          const bytes = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
          const text = bytes.toString('utf8');
          let body: Record<string, unknown> | undefined;
          if (text.trim() !== '') {
            try {
              const parsed: unknown = JSON.parse(text);
              if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) body = parsed as Record<string, unknown>;
            } catch {
              reject(new UnavailableError(`${where}: HTTP ${res.statusCode} with a body that is not JSON`));
              return;
            }
          }
          resolve({ status: res.statusCode ?? 0, body, ...(o.keepRaw ? { raw: bytes } : {}) });
        });
      });
      const stop = (why: 'timed out' | 'cancelled') => {
        stopped ??= why;
        req.destroy(new Error(why));
      };
      const timer = setTimeout(() => stop('timed out'), this.opts.timeoutMs).unref();
      if (o.signal) forget = whenAborted(o.signal, () => stop('cancelled'));
      req.on('error', fail);
      req.end(payload);
    });
  }
}

/** The calls in flight on each caller's signal; see whenAborted. */
const callsBySignal = new WeakMap<AbortSignal, Set<() => void>>();

/**
 * Runs `stop` when the signal aborts; returns the function that forgets it. One listener per signal, whatever the
 * number of calls in flight on it: a caller that passes one long-lived signal to every call (a plugin's close signal)
 * would otherwise collect a listener per call and trip MaxListenersExceededWarning above 10.
 */
function whenAborted(signal: AbortSignal, stop: () => void): () => void {
  let calls = callsBySignal.get(signal);
  if (!calls) {
    const set = new Set<() => void>();
    calls = set;
    callsBySignal.set(signal, set);
    signal.addEventListener('abort', () => set.forEach((f) => f()), { once: true });
  }
  calls.add(stop);
  return () => calls.delete(stop);
}

function unreachable(where: string, e: Error, stopped: 'timed out' | 'cancelled' | undefined): UnavailableError {
  if (stopped) return new UnavailableError(`${where}: ${stopped}`, { cause: e });
  const code = (e as NodeJS.ErrnoException).code;
  return new UnavailableError(`${where}: cannot reach Vault: ${code ?? e.message}`, { cause: e });
}

/** Vault's `errors` array, joined. Vault messages describe the request, never echo secret values. */
export function vaultErrorText(body: Record<string, unknown> | undefined): string {
  const errors = body?.errors;
  if (!Array.isArray(errors) || errors.length === 0) return 'no error message';
  return errors.map((e) => String(e).replace(/\s+/g, ' ').trim()).join('; ');
}

/** The lib error for a non-2xx answer: 400 = the request is wrong, 403 = auth, 404 = missing, anything else = Vault trouble. */
export function vaultError(what: string, res: VaultResponse): Error {
  const text = `${what}: Vault answered HTTP ${res.status}: ${vaultErrorText(res.body)}`;
  if (res.status === 400) return new InvalidError(text);
  if (res.status === 403) return new VaultForbiddenError(text);
  if (res.status === 404) return new NotFoundError(text);
  return new UnavailableError(text);
}

/** The `data` object of a success envelope, or an error saying which field is missing. */
export function envelopeData(what: string, res: VaultResponse): Record<string, unknown> {
  const data = res.body?.data;
  if (!data || typeof data !== 'object' || Array.isArray(data)) {
    throw new UnavailableError(`${what}: Vault answered HTTP ${res.status} without a data object`);
  }
  return data as Record<string, unknown>;
}
