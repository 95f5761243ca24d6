import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ensureServerCredentials } from '../tls/server-credentials.js';
import { VaultHttpClient, type VaultRequest } from './vault-http-client.js';

// A server that never answers: every call stays in flight until the client gives up on it.
void void describe('VaultHttpClient: deadlines and cancellation', () => {
  let server: Server;
  let address: string;
  let arrived = 0;

  before(async () => {
    server = createServer((req: IncomingMessage) => {
      req.resume();
      arrived++;
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    address = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  async function until(what: string, ok: () => boolean): Promise<void> {
    for (let i = 0; i < 1_000 && !ok(); i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(ok(), `never happened: ${what}`);
  }

  void it('cancels every call on a shared signal with one listener on it (no MaxListenersExceededWarning)', async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      const client = new VaultHttpClient({ address, timeoutMs: 60_000 });
      const shared = new AbortController();
      const before = arrived;
      const calls = Array.from({ length: 20 }, () => client.request('PUT', 'transit/encrypt/k', { body: { plaintext: 'AA==' }, signal: shared.signal }));
      await until('20 requests at the server', () => arrived - before === 20);
      shared.abort();
      for (const r of await Promise.allSettled(calls)) {
        assert.equal(r.status, 'rejected');
        assert.match((r.reason as Error).message, /^PUT http:\/\/127\.0\.0\.1:\d+\/v1\/transit\/encrypt\/k: cancelled$/);
      }
      await new Promise((r) => setImmediate(r)); // warnings are emitted on a later tick
      assert.deepEqual(warnings.map((w) => w.name), []);
      // A signal aborted before the call: nothing is sent.
      const sent = arrived;
      await assert.rejects(client.request('GET', 'sys/health', { signal: shared.signal }), /cancelled before it was sent/);
      assert.equal(arrived, sent);
    } finally {
      process.off('warning', onWarning);
    }
  });

  void it('gives up at the deadline and says so', async () => {
    const client = new VaultHttpClient({ address, timeoutMs: 200 });
    await assert.rejects(client.request('GET', 'sys/health'), /^UnavailableError: GET http:\/\/127\.0\.0\.1:\d+\/v1\/sys\/health: timed out$/);
  });
});

// The request target is kept per path; a query, a path prefix in the address and an IPv6 literal still go where a URL
// would send them.
void describe('VaultHttpClient: request targets', () => {
  let server: Server;
  const seen: { method: string; url: string; body: string; host: string }[] = [];

  before(async () => {
    server = createServer((req: IncomingMessage, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (body += c));
      req.on('end', () => {
        seen.push({ method: req.method!, url: req.url!, body, host: req.headers.host ?? '' });
        res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"data":{"ok":true}}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '::1', resolve));
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  void it('sends each call to its path and query, with its JSON body', async () => {
    const port = (server.address() as AddressInfo).port;
    const client = new VaultHttpClient({ address: `http://[::1]:${port}/prefix`, timeoutMs: 5000 });
    for (let i = 0; i < 2; i++) {
      const res = await client.request('PUT', '/transit/encrypt/k', { body: { plaintext: 'w6k=' } });
      assert.deepEqual(res, { status: 200, body: { data: { ok: true } } });
      await client.request('GET', 'secret/metadata/a b', { query: { list: 'true' } });
      await client.request('GET', 'secret/metadata/a b');
    }
    assert.deepEqual(
      seen.map((s) => [s.method, s.url, s.body, s.host]),
      [0, 1].flatMap(() => [
        ['PUT', '/prefix/v1/transit/encrypt/k', '{"plaintext":"w6k="}', `[::1]:${port}`],
        ['GET', '/prefix/v1/secret/metadata/a%20b?list=true', '', `[::1]:${port}`],
        ['GET', '/prefix/v1/secret/metadata/a%20b', '', `[::1]:${port}`],
      ]),
    );
  });
});

// The client's own connections: what it writes, when it reuses a connection, and what it makes of a server that
// frames its answers in other ways, closes connections or breaks off. A raw TCP server, to see and send exact bytes.
void describe('VaultHttpClient: kept-alive connections', () => {
  let server: NetServer;
  let address: string;
  let connections = 0;
  const heads: string[] = [];
  /** How the server answers each request, by its path. */
  const answers: Record<string, (s: Socket) => void> = {
    '/v1/ok': (s) => s.write('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 20\r\n\r\n{"data":{"ok":true}}'),
    '/v1/chunked-close': (s) => s.end('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n8\r\n{"data":\r\n3\r\n{}}\r\n0\r\n\r\n'),
    '/v1/close-idle': (s) => {
      s.write('HTTP/1.1 204 No Content\r\n\r\n');
      setTimeout(() => s.end(), 20); // the server ends a kept-alive connection while it is idle
    },
    '/v1/cut': (s) => s.end('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"da'),
    '/v1/garbage': (s) => s.write('SSH-2.0-OpenSSH\r\n\r\n'),
    '/v1/not-json': (s) => s.write('HTTP/1.1 502 Bad Gateway\r\nContent-Length: 5\r\n\r\nnope!'),
  };

  before(async () => {
    server = createNetServer((s) => {
      connections++;
      let buf = '';
      s.on('data', (d: Buffer) => {
        buf += d.toString('latin1');
        for (let end = buf.indexOf('\r\n\r\n'); end >= 0; end = buf.indexOf('\r\n\r\n')) {
          const head = buf.slice(0, end);
          const length = Number(/\r\ncontent-length: (\d+)/i.exec(head)?.[1] ?? 0);
          if (buf.length < end + 4 + length) return;
          heads.push(`${head}\r\n\r\n${buf.slice(end + 4, end + 4 + length)}`);
          buf = buf.slice(end + 4 + length);
          answers[head.split(' ')[1]!]!(s);
        }
      });
      s.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    address = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  void it('sends one head with its headers and body, and carries the next calls on the same connection', async () => {
    const client = new VaultHttpClient({ address, timeoutMs: 5000, namespace: 'team-a', headers: { 'X-Extra': 'e', accept: 'text/plain' } });
    try {
      const first = connections;
      heads.length = 0;
      assert.deepEqual(await client.request('PUT', 'ok', { token: Buffer.from('hvs.T'), body: { plaintext: 'w6k=' } }), { status: 200, body: { data: { ok: true } } });
      assert.deepEqual(await client.request('GET', 'ok', { namespace: 'team-b', headers: { 'X-Vault-Wrap-TTL': '60s' } }), { status: 200, body: { data: { ok: true } } });
      assert.equal((await client.request('POST', 'ok')).status, 200);
      assert.equal(connections - first, 1);
      const host = `Host: 127.0.0.1:${(server.address() as AddressInfo).port}`;
      const common = `${host}\r\nAccept: application/json\r\nX-Vault-Request: true\r\nConnection: keep-alive\r\nX-Extra: e\r\n`;
      assert.deepEqual(heads, [
        `PUT /v1/ok HTTP/1.1\r\n${common}X-Vault-Token: hvs.T\r\nX-Vault-Namespace: team-a\r\nContent-Type: application/json\r\nContent-Length: 20\r\n\r\n{"plaintext":"w6k="}`,
        `GET /v1/ok HTTP/1.1\r\n${common}X-Vault-Wrap-TTL: 60s\r\nX-Vault-Namespace: team-b\r\n\r\n`,
        `POST /v1/ok HTTP/1.1\r\n${common}X-Vault-Namespace: team-a\r\nContent-Length: 0\r\n\r\n`,
      ]);
    } finally {
      client.close();
    }
  });

  void it('opens a new connection after one the server closes, chunked or idle, and says when an answer is cut off', async () => {
    const client = new VaultHttpClient({ address, timeoutMs: 5000 });
    try {
      const first = connections;
      assert.deepEqual(await client.request('GET', 'chunked-close'), { status: 200, body: { data: {} } });
      assert.deepEqual(await client.request('GET', 'close-idle'), { status: 204, body: undefined });
      await new Promise((r) => setTimeout(r, 100));
      assert.deepEqual(await client.request('GET', 'ok', { keepRaw: true }), { status: 200, body: { data: { ok: true } }, raw: Buffer.from('{"data":{"ok":true}}') });
      assert.equal(connections - first, 3);
      await assert.rejects(client.request('GET', 'cut'), /^UnavailableError: GET http:\/\/127\.0\.0\.1:\d+\/v1\/cut: cannot reach Vault: ECONNRESET$/);
      await assert.rejects(client.request('GET', 'garbage'), /^UnavailableError: GET http:\/\/127\.0\.0\.1:\d+\/v1\/garbage: cannot reach Vault: HPE_INVALID_RESPONSE$/);
      await assert.rejects(client.request('GET', 'not-json'), /^UnavailableError: GET http:\/\/127\.0\.0\.1:\d+\/v1\/not-json: HTTP 502 with a body that is not JSON$/);
      assert.equal((await client.request('GET', 'ok')).status, 200);
    } finally {
      client.close();
    }
  });

  void it('refuses a header that could end its line, naming the header and never its value', async () => {
    const client = new VaultHttpClient({ address, timeoutMs: 5000 });
    try {
      const sent = heads.length;
      const secret = 'hvs.s3cret';
      const refused: VaultRequest[] = [{ token: `${secret}\r\nX-Evil: 1` }, { token: Buffer.from(`${secret}\n`) }, { namespace: 'a\rb' }, { headers: { 'X-A': `${secret}\r\n` } }, { headers: { 'Bad Name': 'v' } }];
      for (const req of refused) {
        await assert.rejects(client.request('PUT', 'ok', req), (e: Error) => e.name === 'InvalidError' && /header|HTTP token/.test(e.message) && !e.message.includes(secret));
      }
      await assert.rejects(client.request('GET\r\n', 'ok'), /is not an HTTP token/);
      assert.equal(heads.length, sent);
      assert.throws(() => new VaultHttpClient({ address, timeoutMs: 1, headers: { 'X-A': 'x\ny' } }), /header X-A holds a character HTTP does not allow/);
    } finally {
      client.close();
    }
  });
});

// HTTPS: the client's CA bundle is trusted for its own connections, a server it does not trust is refused, and a
// kept-alive connection carries the next calls.
void describe('VaultHttpClient: HTTPS', () => {
  let server: HttpsServer;
  let address: string;
  let ca: string;
  let dir: string;
  let tlsConnections = 0;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vault-http-client-'));
    const { credentials } = await ensureServerCredentials(dir, { listenHost: '127.0.0.1' });
    ca = credentials.caPem;
    server = createHttpsServer({ cert: credentials.certPem, key: credentials.keyPem }, (req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(200, { 'Content-Type': 'application/json' }).end(`{"data":{"url":${JSON.stringify(req.url)}}}`));
    });
    server.on('secureConnection', () => tlsConnections++);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    address = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await rm(dir, { recursive: true, force: true });
  });

  void it('trusts its CA bundle, refuses an unknown server and keeps its connection', async () => {
    const client = new VaultHttpClient({ address, timeoutMs: 5000, ca: Buffer.from(ca) });
    const untrusting = new VaultHttpClient({ address, timeoutMs: 5000 });
    try {
      const first = tlsConnections;
      for (let i = 0; i < 3; i++) assert.deepEqual(await client.request('PUT', 'transit/encrypt/k', { body: {} }), { status: 200, body: { data: { url: '/v1/transit/encrypt/k' } } });
      assert.equal(tlsConnections - first, 1);
      await assert.rejects(untrusting.request('GET', 'sys/health'), /cannot reach Vault: (SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)$/);
    } finally {
      client.close();
      untrusting.close();
    }
  });
});
