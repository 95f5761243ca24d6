// The HTTP edge over a raw socket: what TCP and a careless client do to a request, where fetch would hide it.
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTestKeyserver, type TestKeyserver } from './testing/test-keyserver.js';

/** Sends each part as its own write (its own TCP segment, with a pause between) and returns the raw answer. */
async function rawExchange(url: string, parts: (string | Buffer)[]): Promise<{ status: number; head: string; body: string }> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  socket.setNoDelay(true);
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  const closed = new Promise<void>((res) => socket.on('close', () => res()));
  await new Promise<void>((res) => socket.once('connect', () => res()));
  for (const p of parts) {
    socket.write(p);
    await sleep(50);
  }
  await closed;
  const text = Buffer.concat(chunks).toString('utf8');
  const cut = text.indexOf('\r\n\r\n');
  return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), head: text.slice(0, cut), body: text.slice(cut + 4) };
}

void describe('key server HTTP edge (raw socket)', () => {
  let ks: TestKeyserver;
  before(async () => {
    ks = await startTestKeyserver();
    assert.equal((await ks.call('PUT', 'secret/data/app', { body: { data: { a: '1' } } })).status, 200);
  });
  after(() => ks.dispose());

  const list = (token: string, extra = '') => `LIST /v1/secret/metadata HTTP/1.1\r\nHost: x\r\nX-Vault-Token: ${token}\r\n${extra}`;

  void it('answers a LIST whose head arrives in several packets (split in a header, before the blank line)', async () => {
    const text = `${list(ks.rootToken)}\r\n`;
    for (const cut of [5, 20, text.indexOf('X-Vault') + 3, text.length - 2, text.length - 1]) {
      const r = await rawExchange(ks.url, [text.slice(0, cut), text.slice(cut)]);
      assert.equal(r.status, 200, `cut at ${cut}: ${r.body}`);
      assert.deepEqual((JSON.parse(r.body) as { data: { keys: string[] } }).data.keys, ['app']);
    }
  });

  void it('answers a LIST whose method itself is split across packets ("LI", pause, "ST /v1/...")', async () => {
    const text = `${list(ks.rootToken)}\r\n`;
    for (const parts of [['LI', text.slice(2)], ['L', 'I', 'S', text.slice(3)], ['LIST', text.slice(4)], ['\r\nLI', text.slice(2)]]) {
      const r = await rawExchange(ks.url, parts);
      assert.equal(r.status, 200, `${JSON.stringify(parts.slice(0, -1))}: ${r.body}`);
      assert.deepEqual((JSON.parse(r.body) as { data: { keys: string[] } }).data.keys, ['app']);
    }
    // The other methods reach Node's parser intact, however their method is split.
    const get = `GET /v1/secret/data/app HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Vault-Token: ${ks.rootToken}\r\n\r\n`;
    for (const cut of [1, 2, 3, 4]) assert.equal((await rawExchange(ks.url, [get.slice(0, cut), get.slice(cut)])).status, 200, `GET cut at ${cut}`);
    // A method like LIST but not LIST stays Node's to refuse.
    assert.equal((await rawExchange(ks.url, ['LI', 'STX /v1/secret/metadata HTTP/1.1\r\n\r\n'])).status, 400);
    assert.equal((await rawExchange(ks.url, ['LI', 'SZ /v1/secret/metadata HTTP/1.1\r\n\r\n'])).status, 400);
  });

  void it('reads (and drops) a LIST body framed by Content-Length, however it is split', async () => {
    const r = await rawExchange(ks.url, [`${list(ks.rootToken, 'Content-Length: 7\r\n')}\r\n{"a"`, ':1}']);
    assert.equal(r.status, 200, r.body);
  });

  void it('answers a LIST that follows a GET on a kept-alive connection', async () => {
    const get = `GET /v1/sys/health HTTP/1.1\r\nHost: x\r\n\r\n`;
    const r = await rawExchange(ks.url, [get, `${list(ks.rootToken)}\r\n`]);
    const text = `${r.head}\r\n\r\n${r.body}`;
    assert.match(text, /^HTTP\/1\.1 200 OK/);
    assert.match(text, /"keys":\["app"\]/);
  });

  void it('answers a LIST split inside its method on a kept-alive connection, and no other method ending in "LI"', async () => {
    const get = `GET /v1/sys/health HTTP/1.1\r\nHost: x\r\n\r\n`;
    const rest = `${list(ks.rootToken)}\r\n`.slice(2);
    for (const parts of [[get, 'LI', rest], [get, 'L', `I${rest}`], [`${get}LI`, rest]]) {
      const r = await rawExchange(ks.url, parts);
      const text = `${r.head}\r\n\r\n${r.body}`;
      assert.match(text, /^HTTP\/1\.1 200 OK/);
      assert.match(text, /"keys":\["app"\]/, JSON.stringify(parts.map((p) => p.slice(0, 8))));
    }
    // UNLINK's "UNLI" is consumed the same way before the parser gives up at "S": not a LIST.
    const unlist = await rawExchange(ks.url, [get, 'UNLI', rest]);
    assert.match(`${unlist.head}\r\n\r\n${unlist.body}`, /HTTP\/1\.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n$/);
    assert.doesNotMatch(unlist.body, /"keys"/);
  });

  void it('answers a LIST split inside its method after a request whose body does not end in a line break', async () => {
    // The method follows the previous body's last byte ("}"), not a line end: only the body's framing says it begins there.
    const body = '{"data":{"a":"1"}}';
    const head = `PUT /v1/secret/data/app HTTP/1.1\r\nHost: x\r\nX-Vault-Token: ${ks.rootToken}\r\nContent-Type: application/json\r\n`;
    const put = `${head}Content-Length: ${body.length}\r\n\r\n${body}`;
    const chunked = `${head}Transfer-Encoding: chunked\r\n\r\n5\r\n${body.slice(0, 5)}\r\n${(body.length - 5).toString(16)};ext=1\r\n${body.slice(5)}\r\n0\r\nX-Trailer: t\r\n\r\n`;
    const rest = `${list(ks.rootToken)}\r\n`.slice(2);
    for (const parts of [[put, 'LI', rest], [`${put}LI`, rest], [`${put}L`, `I${rest}`], [put.slice(0, -3), `${put.slice(-3)}LI`, rest], [chunked, 'LI', rest], [`${chunked}\r\nLI`, rest]]) {
      const r = await rawExchange(ks.url, parts);
      const text = `${r.head}\r\n\r\n${r.body}`;
      const what = JSON.stringify(parts.map((p) => p.slice(-6)));
      assert.match(text, /^HTTP\/1\.1 200 OK/, what);
      assert.match(text, /"keys":\["app"\]/, what);
    }
    // Bytes inside a body are not a method: "LI" as the body's end, then "ST ..." is a request Node's parser refuses.
    const inBody = await rawExchange(ks.url, [`${head}Content-Length: 2\r\n\r\nLI`, rest]);
    assert.match(`${inBody.head}\r\n\r\n${inBody.body}`, /HTTP\/1\.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n$/);
    assert.doesNotMatch(inBody.body, /"keys"/);
  });

  void it('answers a LIST after pipelined requests and after a long body cut into many packets', async () => {
    const head = `PUT /v1/secret/data/app HTTP/1.1\r\nHost: x\r\nX-Vault-Token: ${ks.rootToken}\r\nContent-Type: application/json\r\n`;
    const get = `GET /v1/sys/health HTTP/1.1\r\nHost: x\r\n\r\n`;
    const text = `${list(ks.rootToken)}\r\n`;
    const rest = text.slice(2);
    const answers = (r: { head: string; body: string }) => `${r.head}\r\n\r\n${r.body}`;
    // Every request in one packet, the LIST last.
    const body = '{"data":{"a":"1"}}';
    const pipelined = await rawExchange(ks.url, [`${get}${head}Content-Length: ${body.length}\r\n\r\n${body}${get}${text}`]);
    assert.equal(answers(pipelined).match(/HTTP\/1\.1 200 OK/g)?.length, 4, answers(pipelined));
    assert.match(answers(pipelined), /"keys":\["app"\]/);
    // A body of 200 KB ending in "UN" (the start of UNLINK), in packets of any size, then "LI" and "ST ...": a LIST.
    const long = `${'x'.repeat(200_000)}UN`;
    const put = `${head}Content-Length: ${long.length}\r\n\r\n`;
    for (const parts of [
      [put + long.slice(0, 1000), long.slice(1000, 150_000), `${long.slice(150_000)}LI`, rest],
      [put, long, 'LI', rest],
      [put + long.slice(0, 70_000), long.slice(70_000), 'L', 'I', 'S', rest.slice(1)],
    ]) {
      const r = answers(await rawExchange(ks.url, parts));
      const what = JSON.stringify(parts.map((p) => p.length));
      assert.match(r, /^HTTP\/1\.1 400 /, what); // the PUT: not JSON
      assert.match(r, /"keys":\["app"\]/, what);
    }
    // The same body ending in "LI", then "ST ...": the body's bytes, not a method; Node's parser refuses "ST".
    const inBody = answers(await rawExchange(ks.url, [put, `${long.slice(0, -2)}LI`, rest]));
    assert.match(inBody, /HTTP\/1\.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n$/);
    assert.doesNotMatch(inBody, /"keys"/);
  });

  void it("leaves ordinary connections to Node's parser, which reads the socket itself", async () => {
    // A 'data' listener on the socket would make Node feed its parser from JavaScript events (lib/_http_server.js
    // unconsume): a cost per packet the bare Node server does not pay.
    const consumed: (boolean | undefined)[] = [];
    const onStart = (m: unknown) => consumed.push((m as { socket: Socket & { parser?: { _consumed?: boolean } } }).socket.parser?._consumed);
    subscribe('http.server.request.start', onStart);
    try {
      for (let i = 0; i < 3; i++) assert.equal((await ks.call('GET', 'sys/health', { token: null })).status, 200);
    } finally {
      unsubscribe('http.server.request.start', onStart);
    }
    assert.deepEqual(consumed, [true, true, true]);
  });

  void it('takes the first X-Vault-Token for every method, as Vault (Go Header.Get) does', async () => {
    const bogus = 'hvs.not-a-token';
    for (const [first, second, status] of [
      [ks.rootToken, bogus, 200],
      [bogus, ks.rootToken, 403],
    ] as const) {
      const l = await rawExchange(ks.url, [`${list(first, `X-Vault-Token: ${second}\r\n`)}\r\n`]);
      assert.equal(l.status, status, `LIST with ${first === bogus ? 'bogus' : 'valid'} first: ${l.body}`);
      const g = await rawExchange(ks.url, [
        `GET /v1/secret/data/app HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Vault-Token: ${first}\r\nX-Vault-Token: ${second}\r\n\r\n`,
      ]);
      assert.equal(g.status, status, `GET with ${first === bogus ? 'bogus' : 'valid'} first: ${g.body}`);
    }
  });

  void it('refuses malformed or unbounded LIST heads with 400 and keeps serving', async () => {
    for (const parts of [
      [`LIST /v1/secret/metadata HTTP/1.1\r\nno colon here\r\n\r\n`],
      [`LIST /v1/secret/metadata HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`],
      [`LIST /v1/secret/metadata HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab`],
      [`LIST /v1/secret/metadata HTTP/1.1\r\n`, `X-Pad: ${'a'.repeat(70_000)}\r\n`],
      ['A'.repeat(17), 'A'.repeat(70_000)], // a method token that never ends is handed to Node's parser after 16 bytes
    ]) {
      assert.equal((await rawExchange(ks.url, parts)).status, 400);
    }
    // Header names that are Object.prototype members must not reach a plain object's prototype.
    const proto = await rawExchange(ks.url, [`${list(ks.rootToken, '__proto__: x\r\nconstructor: y\r\n')}\r\n`]);
    assert.equal(proto.status, 200);
    assert.equal((await ks.call('GET', 'sys/health', { token: null })).status, 200);
  });
});
