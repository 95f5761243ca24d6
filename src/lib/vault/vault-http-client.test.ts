import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { VaultHttpClient } from './vault-http-client.js';

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
