// The HTTP edge: turns a request on the wire into a logical request (method → operation, token headers, path cleaning,
// body decoding, wrapping TTL; Vault's http/logical.go and http/handler.go) and the router's result back into a
// response, auditing each one.
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Server, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { AuditLog } from './audit-log.js';
import { RequestFraming } from './http-edge-framing.js';
import { formatRfc3339Nano } from './kv-v2-store.js';
import { isJsonObject, JsonSyntaxError, parseJson, stringifyJson } from './lossless-json.js';
import { parseBoolText, type RequestData } from './request-fields.js';
import { parseWrapTtlHeader } from './response-wrapping.js';
import { VaultError } from './vault-error.js';
import type { RouterInput, RouterResult, VaultRouter } from './vault-router.js';

/** Vault's default max_request_size. */
export const MAX_REQUEST_BYTES = 32 * 1024 * 1024;

/** What the edge needs of a request: Node's IncomingMessage, or a LIST request parsed from the raw bytes. */
export interface EdgeRequest {
  method: string;
  url: string;
  /** A header's first value, as Go's Header.Get gives Vault (Node joins repeated unknown headers with ", "). */
  header(name: string): string | undefined;
  remoteAddress: string;
  body(): Promise<Buffer | VaultError>;
}

interface EdgeOptions {
  router: VaultRouter;
  audit: AuditLog;
  log: Logger;
}

export function createRequestListener(o: EdgeOptions) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const edgeReq: EdgeRequest = {
      method: req.method ?? '',
      url: req.url ?? '/',
      header: (name) => firstHeader(req.rawHeaders, name),
      remoteAddress: req.socket.remoteAddress ?? '',
      body: () => readBody(req),
    };
    void respond(edgeReq, o).then(({ status, text }) => {
      // One writeHead with every header, rather than setHeader per header (each validated and stored on its own).
      res.writeHead(
        status,
        text === undefined
          ? { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' }
          : { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', 'Content-Length': Buffer.byteLength(text) },
      );
      res.end(req.method === 'HEAD' ? undefined : text);
    });
  };
}

/**
 * A header's first value (Go's Header.Get), from the request's raw name/value list: `headersDistinct` builds an
 * object of arrays of every header on first use, for the two or three a request is asked for.
 */
function firstHeader(raw: readonly string[], name: string): string | undefined {
  for (let i = 0; i < raw.length; i += 2) {
    const n = raw[i]!;
    if (n.length === name.length && n.toLowerCase() === name) return raw[i + 1];
  }
  return undefined;
}

/** The most a LIST request (head and any body) may hold, and how long its bytes may take to arrive: LIST carries no data. */
const LIST_REQUEST_MAX = 64 * 1024;
const LIST_READ_TIMEOUT_MS = 10_000;

/**
 * Node's HTTP parser knows no LIST method and rejects it before any request event; Vault clients use it (the Go SDK's
 * ListPolicies, the CLI). A LIST is therefore read from the socket's bytes - whatever TCP splits them into - answered,
 * and the connection closed (Node's parser cannot continue on it). Vault reads a LIST's data from the query only, so a
 * body, framed by Content-Length, is read and dropped.
 *
 * The parser rejects a LIST (`clientError`, HPE_INVALID_METHOD) at its "S", having consumed "LI" - in this packet or an
 * earlier one, right after the previous request's last byte, which may be a body's "}" as well as a line end. The
 * connection's `RequestFraming` (see `followRequestFraming`), given this packet up to the error, tells whether the
 * request in progress consumed exactly "LI" ("UNLI" of UNLINK, or "LI" as a body's last bytes, is not a LIST). The
 * rest of the request line may still be on its way ("S", then "T /v1/..."): `parseListRequest` checks it.
 */
export function createListFallback(o: EdgeOptions) {
  return (err: Error & { code?: string; rawPacket?: Buffer; bytesParsed?: number }, socket: Duplex & { remoteAddress?: string }): void => {
    const raw = err.rawPacket ?? Buffer.alloc(0);
    const at = err.bytesParsed ?? -1;
    const framing = framings.get(socket)?.();
    if (err.code !== 'HPE_INVALID_METHOD' || !socket.writable || !framing || at < 0 || at >= raw.length) return refuse(socket);
    framing.push(raw.subarray(0, at));
    if (!framing.consumedExactly('LI') || !'ST '.startsWith(raw.subarray(at, at + 3).toString('latin1'))) return refuse(socket);
    socket.removeAllListeners('data');
    socket.removeAllListeners('end');
    answerList(socket, Buffer.concat([Buffer.from('LI'), raw.subarray(at)]), o);
  };
}

/** Each connection's request framing from its last point between two requests up to the packet being parsed. */
const framings = new WeakMap<Duplex, () => RequestFraming>();

/**
 * Slots of Node's HTTP parser callbacks (src/node_http_parser.cc: kOnMessageBegin = 0, kOnExecute = 5; read by
 * lib/_http_common.js from the binding, which is not public).
 */
const ON_MESSAGE_BEGIN = 0;
const ON_EXECUTE = 5;

/** What is used of the parser Node's HTTP server attaches to a connection (lib/_http_server.js). */
interface NodeHttpParser {
  [ON_MESSAGE_BEGIN]: unknown;
  [ON_EXECUTE]: unknown;
  _consumed?: boolean;
  incoming: IncomingMessage | null;
  getCurrentBuffer(): Buffer;
}

const NONE = Symbol('no request in progress');

/**
 * Follows the request framing of each connection for the LIST fallback, without feeding Node's parser from JavaScript.
 * `event` is where the server attaches its parser: 'connection' (http) or 'secureConnection' (https); this listener runs
 * after Node's.
 *
 * Node's parser reads a connection's socket itself (`parser.consume`: no JavaScript per packet but one callback after
 * it); a 'data' listener would take that away (lib/_http_server.js `unconsume`) and make every packet an event fed to
 * the parser from JavaScript, as the bare server is not. So no bytes are copied while the parser is between requests
 * at the end of a packet - a kept-alive client's usual case, each request arriving whole - which the parser's own
 * callbacks tell: a request begun (kOnMessageBegin) and none in progress at the packet's end. Only a packet that ends
 * inside a request is copied (`getCurrentBuffer`) into a framing begun at that request's packet, which starts between
 * requests; a body's packets are only counted.
 *
 * Where the parser is fed from 'data' events anyway (a socket without a native handle), every packet is followed.
 */
export function followRequestFraming(server: Server, event: 'connection' | 'secureConnection'): void {
  server.on(event, (socket: Socket & { parser?: NodeHttpParser | null }) => {
    const parser = socket.parser;
    if (!parser) return; // no parser, no fallback: every clientError is refused
    const execute = parser[ON_EXECUTE];
    if (parser._consumed && typeof execute === 'function' && parser[ON_MESSAGE_BEGIN] === null) {
      /** What `parser.incoming` was when the request in progress began (the request before it), or NONE. */
      let begunAfter: IncomingMessage | null | typeof NONE = NONE;
      /** The framing since the start of the packet where the request in progress began, once a packet ended inside it. */
      let framing: RequestFraming | undefined;
      parser[ON_MESSAGE_BEGIN] = () => {
        begunAfter = parser.incoming;
      };
      parser[ON_EXECUTE] = (ret: unknown) => {
        if (typeof ret === 'number') {
          if (begunAfter !== NONE) {
            const incoming = parser.incoming;
            if (incoming !== begunAfter && incoming?.complete) begunAfter = NONE; // its head parsed and its body read
          }
          if (begunAfter === NONE) framing = undefined;
          else {
            framing ??= new RequestFraming();
            if (!framing.skipBody(ret)) framing.push(parser.getCurrentBuffer());
          }
        }
        return (execute as (ret: unknown) => unknown)(ret);
      };
      framings.set(socket, () => framing ?? new RequestFraming());
      return;
    }
    const framing = new RequestFraming();
    framings.set(socket, () => framing);
    // After Node's own 'data' listener: a packet the parser rejects reaches the fallback before it reaches the framing.
    socket.on('data', (chunk: Buffer) => framing.push(chunk));
  });
}

function refuse(socket: Duplex): void {
  if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
  else socket.destroy();
}

/**
 * Runs `then` once the answers to the connection's earlier requests are written: a LIST pipelined behind requests still
 * being answered is answered after them, in order (RFC 9112 section 9.3.2). Node's server keeps the response being
 * written as `socket._httpMessage` and hands the socket to the next queued one when it finishes (lib/_http_server.js
 * resOnFinish, which runs before this 'finish' listener).
 */
function afterEarlierResponses(socket: Duplex & { _httpMessage?: ServerResponse | null; destroyed: boolean }, then: () => void): void {
  const pending = socket._httpMessage;
  if (!pending || socket.destroyed) return then();
  const next = () => {
    pending.off('finish', next).off('close', next);
    afterEarlierResponses(socket, then);
  };
  pending.once('finish', next).once('close', next);
}

/** Reads a LIST request on from `first` (bounded in size and time), answers it and closes the connection. */
function answerList(socket: Duplex & { remoteAddress?: string }, first: Buffer, o: EdgeOptions): void {
  let buf = Buffer.from(first);
  let done = false;
  const timer = setTimeout(() => finish(undefined), LIST_READ_TIMEOUT_MS);
  const finish = (req: EdgeRequest | undefined) => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    socket.removeListener('data', onData);
    socket.removeListener('end', onEnd);
    if (!req) return refuse(socket);
    void respond(req, o).then(({ status, text }) => {
      const body = Buffer.from(text ?? '', 'utf8');
      afterEarlierResponses(socket, () =>
        socket.end(
          `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nContent-Type: application/json\r\nCache-Control: no-store\r\n` +
            `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n${body.toString('latin1')}`,
          'latin1',
        ),
      );
    });
  };
  const onData = (chunk: Buffer) => {
    buf = Buffer.concat([buf, chunk]);
    const parsed = parseListRequest(buf, socket.remoteAddress ?? '');
    if (parsed === 'incomplete') {
      if (buf.length > LIST_REQUEST_MAX) finish(undefined);
      return;
    }
    finish(parsed);
  };
  const onEnd = () => finish(undefined);
  socket.on('data', onData);
  socket.on('end', onEnd);
  onData(Buffer.alloc(0));
  socket.resume();
}

/** A complete LIST request from the bytes so far, 'incomplete' while more must come, undefined when malformed. */
export function parseListRequest(buf: Buffer, remoteAddress: string): EdgeRequest | 'incomplete' | undefined {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return 'incomplete';
  const head = buf.subarray(0, end).toString('latin1');
  const lines = head.split('\r\n');
  const line = /^LIST (\S+) HTTP\/1\.[01]$/.exec(lines[0]!);
  if (!line) return undefined;
  const headers = new Map<string, string[]>();
  for (const h of lines.slice(1)) {
    const colon = h.indexOf(':');
    if (colon <= 0) return undefined;
    const name = h.slice(0, colon).trim().toLowerCase();
    headers.set(name, [...(headers.get(name) ?? []), h.slice(colon + 1).trim()]);
  }
  if (headers.has('transfer-encoding')) return undefined; // no LIST client streams a body; refuse rather than guess its framing
  const length = headers.get('content-length');
  if (length && (length.length > 1 || !/^\d{1,9}$/.test(length[0]!))) return undefined;
  if (buf.length - (end + 4) < Number(length?.[0] ?? 0)) return 'incomplete';
  return { method: 'LIST', url: line[1]!, header: (name) => headers.get(name)?.[0], remoteAddress, body: async () => Buffer.alloc(0) };
}

async function respond(req: EdgeRequest, o: EdgeOptions): Promise<{ status: number; text: string | undefined }> {
  const started = performance.now();
  let result: EdgeResult;
  try {
    result = await handle(req, o.router);
  } catch (e) {
    o.log.error({ error: e instanceof Error ? e.message : String(e) }, 'key server request failed');
    result = { requestId: randomUUID(), status: 500, body: { errors: ['internal error'] }, accessor: undefined, operation: 'read', error: 'internal error', path: '' };
  }
  result = await audit(req, result, started, o);
  return { status: result.status, text: result.body === undefined ? undefined : stringifyJson(result.body) };
}

type EdgeResult = RouterResult & { path: string };

async function handle(req: EdgeRequest, router: VaultRouter): Promise<EdgeResult> {
  const url = req.url;
  const q = url.indexOf('?');
  const rawPath = q < 0 ? url : url.slice(0, q);
  const fail = (status: number, errors: string[], path = ''): EdgeResult => ({ requestId: randomUUID(), status, body: { errors }, accessor: undefined, operation: 'read', error: errors.join('; ') || undefined, path });
  if (!rawPath.startsWith('/v1/')) return fail(404, [], rawPath);
  let path = rawPath.slice('/v1/'.length);
  if (path.includes('%')) {
    try {
      path = decodeURIComponent(path);
    } catch {
      return fail(400, ['invalid percent-encoding in the request path'], rawPath);
    }
  }
  // Vault sits behind Go's ServeMux, which cleans `a//b` into `a/b`; ESO can produce such paths (keys with a leading /).
  if (path.includes('//')) path = path.replace(/\/{2,}/g, '/');
  if (path.startsWith('/')) path = path.slice(1);
  if (path.includes('..') && path.split('/').includes('..')) return fail(400, ['relative paths not supported'], path);

  const namespace = req.header('x-vault-namespace')?.trim() ?? '';
  if (!['', 'root', 'root/'].includes(namespace)) {
    return fail(400, [`namespaces are not supported by this key server: X-Vault-Namespace ${JSON.stringify(namespace)}`], path);
  }

  let operation: RouterInput['operation'];
  let data: RequestData = {};
  /** The query's fields, each its first value (a write's data comes from its body alone). */
  const fromQuery = (): Record<string, string> => {
    if (q < 0) return {};
    const query = new URLSearchParams(url.slice(q + 1));
    return Object.fromEntries([...query.keys()].map((k) => [k, query.get(k)!]));
  };
  switch (req.method) {
    case 'GET':
    case 'HEAD': {
      const fields = fromQuery();
      data = fields;
      const list = fields.list;
      if (list !== undefined) {
        const flag = parseBoolText(list);
        if (flag === undefined) return fail(400, [], path);
        delete data.list;
        operation = flag ? 'list' : 'read';
      } else operation = 'read';
      break;
    }
    case 'LIST':
      data = fromQuery();
      operation = 'list';
      break;
    case 'DELETE':
      data = fromQuery();
      operation = 'delete';
      break;
    case 'POST':
    case 'PUT':
    case 'PATCH': {
      const contentType = (req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
      if (req.method === 'PATCH' && contentType !== 'application/merge-patch+json') {
        return fail(415, [`PATCH requires Content-Type of application/merge-patch+json, provided ${contentType}`], path);
      }
      const body = await req.body();
      if (body instanceof VaultError) return { ...fail(body.status, [...body.errors], path) };
      try {
        data = decodeBody(body, contentType);
      } catch (e) {
        return fail(400, [`failed to decode JSON input: ${e instanceof Error ? e.message : String(e)}`], path);
      } finally {
        body.fill(0);
      }
      operation = req.method === 'PATCH' ? 'patch' : 'write';
      break;
    }
    default:
      return fail(405, [], path);
  }
  if (operation === 'list' && !path.endsWith('/')) path += '/';
  let wrapTtlSeconds: number | undefined;
  try {
    wrapTtlSeconds = parseWrapTtlHeader(req.header('x-vault-wrap-ttl'));
  } catch (e) {
    return fail(400, [...(e as VaultError).errors], path);
  }
  const format = req.header('x-vault-wrap-format');
  if (wrapTtlSeconds && format && format !== 'token') {
    return fail(400, [`X-Vault-Wrap-Format ${JSON.stringify(format)} is not supported by this key server: it wraps in token format only`], path);
  }

  let token = req.header('x-vault-token') || undefined;
  const authorization = req.header('authorization');
  if (!token && authorization?.startsWith('Bearer ')) token = authorization.slice('Bearer '.length).trim() || undefined;
  const result = await router.handle({ operation, path, data, clientToken: token, remoteAddress: req.remoteAddress, ...(wrapTtlSeconds ? { wrapTtlSeconds } : {}) });
  return { ...result, path };
}

/** The body, bounded. Read through events: an async iterator over the request showed in a transit call's profile. */
function readBody(req: IncomingMessage): Promise<Buffer | VaultError> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      chunks.push(chunk);
      if (size <= MAX_REQUEST_BYTES) return;
      req.off('data', onData).off('end', onEnd);
      req.destroy(); // read no further, as the async iterator this replaced did on its early return
      for (const c of chunks) c.fill(0);
      resolve(new VaultError(413, ['http: request body too large']));
    };
    const onEnd = () => {
      const body = Buffer.concat(chunks);
      for (const c of chunks) c.fill(0);
      resolve(body);
    };
    req.on('data', onData).once('end', onEnd).on('error', reject); // a later error finds the promise settled
  });
}

/** JSON unless the client says form-urlencoded and the body does not start like JSON (Vault's sniffing). */
function decodeBody(body: Buffer, contentType: string): RequestData {
  const text = body.toString('utf8');
  if (text.trim() === '') return {};
  if (contentType === 'application/x-www-form-urlencoded' && !/^\s*[[{]/.test(text)) {
    const form = new URLSearchParams(text);
    return Object.fromEntries([...form.keys()].map((k) => [k, form.getAll(k).join(',')]));
  }
  let value;
  try {
    value = parseJson(text);
  } catch (e) {
    if (e instanceof JsonSyntaxError) throw e;
    throw new JsonSyntaxError('invalid JSON');
  }
  if (!isJsonObject(value)) throw new JsonSyntaxError('the body must be a JSON object');
  return value;
}

/** The last audit timestamp and the millisecond it names: requests that end in the same millisecond share its text. */
let lastAuditMs = -1;
let lastAuditTime = '';

function auditTime(ms: number): string {
  if (ms !== lastAuditMs) {
    lastAuditMs = ms;
    lastAuditTime = formatRfc3339Nano(ms);
  }
  return lastAuditTime;
}

async function audit(req: EdgeRequest, result: EdgeResult, started: number, o: EdgeOptions): Promise<EdgeResult> {
  try {
    await o.audit.write({
      time: auditTime(Date.now()),
      request_id: result.requestId,
      remote_address: req.remoteAddress,
      method: req.method,
      operation: result.operation,
      path: result.path,
      accessor: result.accessor ?? '',
      status: result.status,
      error: result.error || undefined, // left out of the line when there is none (JSON.stringify skips undefined)
      duration_ms: Math.round((performance.now() - started) * 1000) / 1000,
    });
  } catch (e) {
    // An unaudited request is refused, as Vault refuses requests when no audit device can record them.
    o.log.error({ error: e instanceof Error ? e.message : String(e) }, 'audit log write failed; refusing the request');
    return { ...result, status: 500, body: { errors: ['internal error: the audit log cannot be written'] } };
  }
  return result;
}
