// HTTP/2 on the API server's listener, driven by node:http2 (as client-go multiplexes every request and watch over
// one connection) and by the installed kubectl, which negotiates h2 through ALPN the way client-go does.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { connect, type ClientHttp2Session, type IncomingHttpHeaders } from 'node:http2';
import { connect as tlsConnect } from 'node:tls';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { HTTP2_SETTINGS } from './http/secure-server.js';
import { startTestApiServer, type TestApiServer } from './testing/test-api-server.js';

const run = promisify(execFile);

interface H2Reply {
  status: number;
  headers: IncomingHttpHeaders;
  json: Record<string, unknown>;
}

void describe('HTTP/2', () => {
  let api: TestApiServer;
  let ca: string;
  let token: string;
  let session: ClientHttp2Session;

  before(async () => {
    api = await startTestApiServer();
    ca = await readFile(join(api.dir, 'ca.crt'), 'utf8');
    token = (await readFile(join(api.dir, 'admin.token'), 'utf8')).trim();
    session = connect(api.server.url, { ca });
    await new Promise<void>((resolve, reject) => {
      session.once('remoteSettings', () => resolve());
      session.once('error', reject);
    });
  });
  after(async () => {
    session.close();
    await api.close();
  });

  function h2(method: string, path: string, body?: string): Promise<H2Reply> {
    return new Promise((resolve, reject) => {
      const stream = session.request({
        ':method': method,
        ':path': path,
        authorization: `Bearer ${token}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      });
      let headers: IncomingHttpHeaders = {};
      const chunks: Buffer[] = [];
      stream.on('response', (h) => (headers = h));
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        try {
          resolve({ status: Number(headers[':status']), headers, json: JSON.parse(text) as Record<string, unknown> });
        } catch (e) {
          reject(e instanceof Error ? e : new Error(String(e)));
        }
      });
      stream.on('error', reject);
      stream.end(body);
    });
  }

  void it('negotiates h2 through ALPN, and still speaks HTTP/1.1 to clients that only offer it', async () => {
    assert.equal(session.alpnProtocol, 'h2');
    const alpn = (protocols: string[]) =>
      new Promise<string | false>((resolve, reject) => {
        const url = new URL(api.server.url);
        const socket = tlsConnect({ host: url.hostname, port: Number(url.port), ca, ALPNProtocols: protocols }, () => {
          resolve(socket.alpnProtocol ?? false);
          socket.end();
        });
        socket.on('error', reject);
      });
    assert.equal(await alpn(['h2', 'http/1.1']), 'h2');
    assert.equal(await alpn(['http/1.1']), 'http/1.1');
    const reply = await api.call('GET', '/api/v1/namespaces/default');
    assert.equal(reply.status, 200);
    // kube's IdleTimeout for HTTP/1.1 keep-alives, as Node's HTTPS server would have had its own 5 s.
    assert.equal(reply.headers['keep-alive'], 'timeout=90');
  });

  void it("advertises kube-apiserver's stream, frame and header limits", () => {
    const s = session.remoteSettings;
    assert.equal(s.maxConcurrentStreams, 250);
    assert.equal(s.maxFrameSize, 256 * 1024);
    assert.equal(s.initialWindowSize, 256 * 1024);
    assert.equal(s.maxHeaderListSize, HTTP2_SETTINGS.maxHeaderListSize);
    assert.equal(s.maxHeaderListSize, 1048576 + 320);
  });

  void it('creates and gets a Secret, and answers errors as Status objects, over one connection', async () => {
    const created = await h2('POST', '/api/v1/namespaces/default/secrets', JSON.stringify({ metadata: { name: 'over-h2' }, stringData: { k: 'v' } }));
    assert.equal(created.status, 201);
    assert.equal(created.headers['content-type'], 'application/json');
    assert.equal((created.json.data as Record<string, string>).k, Buffer.from('v').toString('base64'));
    const got = await h2('GET', '/api/v1/namespaces/default/secrets/over-h2');
    assert.equal(got.status, 200);
    assert.equal((got.json.metadata as Record<string, string>).uid, (created.json.metadata as Record<string, string>).uid);
    const again = await h2('POST', '/api/v1/namespaces/default/secrets', JSON.stringify({ metadata: { name: 'over-h2' } }));
    assert.equal(again.status, 409);
    assert.equal(again.json.reason, 'AlreadyExists');
    const missing = await h2('GET', '/api/v1/namespaces/default/secrets/absent');
    assert.equal(missing.status, 404);
    assert.equal(missing.json.kind, 'Status');
  });

  void it('multiplexes many requests at once on the connection', async () => {
    const replies = await Promise.all(Array.from({ length: 40 }, (_, i) => h2('POST', '/api/v1/namespaces/default/configmaps', JSON.stringify({ metadata: { name: `cm-${i}` }, data: { i: String(i) } }))));
    assert.deepEqual(new Set(replies.map((r) => r.status)), new Set([201]));
    const list = await h2('GET', '/api/v1/namespaces/default/configmaps?labelSelector=');
    assert.equal((list.json.items as unknown[]).filter((o) => /^cm-\d+$/.test(((o as { metadata: { name: string } }).metadata.name))).length, 40);
  });

  void it('streams a watch as DATA frames while other requests share the connection', async () => {
    const list = await h2('GET', '/api/v1/namespaces/default/secrets');
    const rv = (list.json.metadata as Record<string, string>).resourceVersion!;
    const stream = session.request({ ':method': 'GET', ':path': `/api/v1/namespaces/default/secrets?watch=true&resourceVersion=${rv}`, authorization: `Bearer ${token}` });
    const headers = await new Promise<IncomingHttpHeaders>((resolve) => stream.once('response', resolve));
    assert.equal(headers[':status'], 200);
    assert.equal(headers['transfer-encoding'], undefined);
    let buffered = '';
    const events: { type: string; object: { metadata: { name: string } } }[] = [];
    const twoEvents = new Promise<void>((resolve) => {
      stream.on('data', (c: Buffer) => {
        buffered += c.toString();
        let nl;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          events.push(JSON.parse(buffered.slice(0, nl)) as (typeof events)[number]);
          buffered = buffered.slice(nl + 1);
        }
        if (events.length >= 2) resolve();
      });
    });
    assert.equal((await h2('POST', '/api/v1/namespaces/default/secrets', JSON.stringify({ metadata: { name: 'watched' } }))).status, 201);
    assert.equal((await h2('DELETE', '/api/v1/namespaces/default/secrets/watched')).status, 200);
    await twoEvents;
    assert.deepEqual(events.map((e) => [e.type, e.object.metadata.name]), [['ADDED', 'watched'], ['DELETED', 'watched']]);
    const ended = new Promise<void>((resolve) => stream.once('close', resolve));
    stream.close();
    await ended;
    // The connection outlives the cancelled watch.
    assert.equal((await h2('GET', '/api/v1/namespaces/default/secrets/over-h2')).status, 200);
  });

  void it('is the protocol kubectl negotiates', async () => {
    const kubeconfig = api.server.kubeconfigPath;
    // Go's bundled http2 transport logs its frames when GODEBUG asks; without h2 there would be none.
    const { stdout, stderr } = await run('kubectl', ['--kubeconfig', kubeconfig, 'get', 'secret', 'over-h2', '-n', 'default', '-o', 'jsonpath={.metadata.name}'], {
      env: { ...process.env, GODEBUG: 'http2debug=1', KUBECACHEDIR: join(api.dir, 'kube-cache') },
    });
    assert.equal(stdout, 'over-h2');
    assert.match(stderr, /http2: Transport/);
  });
});
