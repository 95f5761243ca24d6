// The one client for Vault's HTTP API (and OpenBao's, and `coffer keyserver`'s) that every part of Coffer uses: the KMS
// plugin's vault-transit backend, the External Secrets vault provider, the KMS stack `coffer up` provisions, the
// operations commands and the lab. JSON in, the standard envelope or `{"errors": [...]}` out (Vault's
// http/handler.go), with one set of rules: every call has a deadline, an answer larger than MAX_RESPONSE_BYTES or not
// JSON is an error, an unreachable server is an UnavailableError naming the call, and a non-2xx answer is left to the
// caller, who turns it into an error with vaultError (or its own words). Its own kept-alive HTTP/1.1 connections
// (vault-connection-pool.ts) rather than fetch, because Node 20's fetch cannot be given a CA bundle for one connection
// without undici's Agent, which is not a dependency here, and rather than node:http, whose per-call objects cost a
// transit call twice a bare round trip's client CPU.
import { InvalidError, NotFoundError, UnavailableError } from '../errors.js';
import { ConnectionPool } from './vault-connection-pool.js';

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

/** Where a call goes: the encoded path and query, kept per path for calls without a query. */
interface Target {
  /** Path and query, encoded. */
  path: string;
  /** `origin + pathname`, for error messages. */
  where: string;
}

/** Targets kept per client, by path (calls without a query): a URL parse per call showed in a transit call's profile. */
const MAX_KEPT_TARGETS = 256;

// What node:http accepts in a header (lib/_http_common.js: checkIsHttpToken, checkInvalidHeaderChar): a token for
// a name or method, no control character but tab in a value, so that no value can end the line it is on.
const TOKEN = /^[\^_`a-zA-Z\-0-9!#$%&'*+.|~]+$/;
const INVALID_VALUE = /[^\t\x20-\x7e\x80-\xff]/;
/** Headers the client writes itself: a caller's header of the same name is dropped, as it was overridden before. */
const OWN_HEADERS = new Set(['host', 'connection', 'content-length', 'content-type', 'transfer-encoding', 'accept', 'x-vault-request', 'x-vault-token', 'x-vault-namespace']);

/** Methods sent without a Content-Length when they carry no body, as node:http sends them (useChunkedEncodingByDefault). */
const NO_BODY_METHODS = new Set(['GET', 'HEAD', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT']);

/** Header lines for extra headers, checked; the error names the header, never its value. */
function headerLines(headers: Record<string, string> | undefined): string {
  let lines = '';
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (!TOKEN.test(name)) throw new InvalidError(`header name ${JSON.stringify(name)} is not an HTTP token`);
    if (INVALID_VALUE.test(String(value))) throw new InvalidError(`header ${name} holds a character HTTP does not allow`);
    if (!OWN_HEADERS.has(name.toLowerCase())) lines += `${name}: ${String(value)}\r\n`;
  }
  return lines;
}

export class VaultHttpClient {
  private readonly base: URL;
  private readonly targets = new Map<string, Target>();
  private readonly pool: ConnectionPool;
  /** The head lines every call sends: Host, Accept, X-Vault-Request, the client's extra headers. */
  private readonly fixedHead: string;

  constructor(private readonly opts: VaultHttpOptions) {
    this.base = new URL(opts.address.endsWith('/') ? opts.address : `${opts.address}/`);
    const https = this.base.protocol === 'https:';
    if (!https && this.base.protocol !== 'http:') throw new InvalidError(`Vault address ${JSON.stringify(opts.address)} is not http(s)://`);
    this.pool = new ConnectionPool({
      https,
      // As node:http's urlToHttpOptions: an IPv6 literal without its brackets.
      hostname: this.base.hostname.startsWith('[') ? this.base.hostname.slice(1, -1) : this.base.hostname,
      port: Number(this.base.port || (https ? 443 : 80)),
      ca: https ? opts.ca : undefined,
    });
    // Host as node:http writes it: the port only when not the scheme's default (URL.host drops a default port).
    this.fixedHead = `Host: ${this.base.host}\r\nAccept: application/json\r\nX-Vault-Request: true\r\nConnection: keep-alive\r\n${headerLines(opts.headers)}`;
  }

  private target(path: string, query: Record<string, string> | undefined): Target {
    const kept = query ? undefined : this.targets.get(path);
    if (kept) return kept;
    const url = new URL(`v1/${path.replace(/^\/+/, '')}`, this.base);
    for (const [k, v] of Object.entries(query ?? {})) url.searchParams.set(k, v);
    const t: Target = { path: `${url.pathname}${url.search}`, where: `${url.origin}${url.pathname}` };
    if (!query) {
      if (this.targets.size >= MAX_KEPT_TARGETS) this.targets.clear();
      this.targets.set(path, t);
    }
    return t;
  }

  get address(): string {
    return this.opts.address;
  }

  /** Closes the kept-alive connections (idle ones also close by themselves after a few seconds). */
  close(): void {
    this.pool.close();
  }

  /** One request; resolves with any HTTP status (callers decide), rejects with UnavailableError when Vault is unreachable. */
  request(method: string, path: string, o: VaultRequest = {}): Promise<VaultResponse> {
    return new Promise<VaultResponse>((resolve, reject) => {
      const target = this.target(path, o.query && Object.keys(o.query).length > 0 ? o.query : undefined);
      const where = () => `${method} ${target.where}`;
      if (o.signal?.aborted) {
        reject(new UnavailableError(`${where()}: cancelled before it was sent`));
        return;
      }
      let head = `${method} ${target.path} HTTP/1.1\r\n${this.fixedHead}`;
      try {
        if (!TOKEN.test(method)) throw new InvalidError(`method ${JSON.stringify(method)} is not an HTTP token`);
        if (o.headers) head += headerLines(o.headers);
        if (o.token && o.token.length > 0) {
          const token = typeof o.token === 'string' ? o.token : Buffer.from(o.token).toString('latin1');
          if (INVALID_VALUE.test(token)) throw new InvalidError('header X-Vault-Token holds a character HTTP does not allow');
          head += `X-Vault-Token: ${token}\r\n`;
        }
        const namespace = o.namespace ?? this.opts.namespace;
        if (namespace) {
          if (INVALID_VALUE.test(namespace)) throw new InvalidError('header X-Vault-Namespace holds a character HTTP does not allow');
          head += `X-Vault-Namespace: ${namespace}\r\n`;
        }
      } catch (e) {
        reject(new InvalidError(`${where()}: ${(e as Error).message}`));
        return;
      }
      const payload = o.body === undefined ? undefined : JSON.stringify(o.body);
      // Head and body in one string, one socket write.
      const request =
        payload === undefined
          ? `${head}${NO_BODY_METHODS.has(method) ? '' : 'Content-Length: 0\r\n'}\r\n`
          : `${head}Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(payload)}\r\n\r\n${payload}`;
      // One timer per call, dropped when it settles: AbortSignal.timeout and AbortSignal.any per call were a large
      // part of a transit call's client CPU.
      let forget: (() => void) | undefined;
      const settle = () => {
        clearTimeout(timer);
        forget?.();
      };
      const abort = this.pool.send(
        request,
        method === 'HEAD',
        MAX_RESPONSE_BYTES,
        (res) => {
          settle();
          const bytes = res.body;
          let body: Record<string, unknown> | undefined;
          if (bytes.length > 0) {
            const text = bytes.toString('utf8');
            if (text.trim() !== '') {
              try {
                const parsed: unknown = JSON.parse(text);
                if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) body = parsed as Record<string, unknown>;
              } catch {
                reject(new UnavailableError(`${where()}: HTTP ${res.status} with a body that is not JSON`));
                return;
              }
            }
          }
          resolve(o.keepRaw ? { status: res.status, body, raw: bytes } : { status: res.status, body });
        },
        (e) => {
          settle();
          reject(unreachable(where(), e, undefined));
        },
      );
      const stop = (why: 'timed out' | 'cancelled') => {
        settle();
        abort();
        reject(unreachable(where(), new Error(why), why));
      };
      const timer = setTimeout(() => stop('timed out'), this.opts.timeoutMs).unref();
      if (o.signal) forget = whenAborted(o.signal, () => stop('cancelled'));
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
