import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Http1ResponseReader, HttpProtocolError, MAX_HEAD_BYTES, type Http1Response } from './http1-response-reader.js';

/** Feeds `wire` cut at each of `cuts`; returns the response and the number of pushes it took. */
function read(wire: string, cuts: number[] = [], opts: { noBody?: boolean; max?: number } = {}): Http1Response | undefined {
  const reader = new Http1ResponseReader(opts.noBody ?? false, opts.max ?? 1 << 20);
  const bytes = Buffer.from(wire, 'latin1');
  let from = 0;
  for (const to of [...cuts, bytes.length]) {
    const res = reader.push(bytes.subarray(from, to));
    from = to;
    if (res) {
      assert.equal(from, bytes.length, 'answered before the last byte');
      return res;
    }
  }
  return reader.end();
}

/** Every way of cutting `wire` in two, and byte by byte: each reads the same. */
function everyCut(wire: string, check: (res: Http1Response | undefined) => void): void {
  for (let i = 1; i < wire.length; i++) check(read(wire, [i]));
  check(read(wire, Array.from({ length: wire.length - 1 }, (_, i) => i + 1)));
}

void describe('Http1ResponseReader', () => {
  void it('frames a Content-Length body, however the packets cut it', () => {
    const wire = 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\ncontent-length: 11\r\n\r\n{"data":{}}';
    everyCut(wire, (res) => {
      assert.equal(res?.status, 200);
      assert.equal(res.body.toString(), '{"data":{}}');
      assert.equal(res.keepAlive, true);
    });
  });

  void it('decodes a chunked body with extensions and trailers, however the packets cut it', () => {
    const wire = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\n{"a":\r\nA\r\n"bcdefghi"\r\n1\r\n}\r\n0\r\nX-Trailer: t\r\n\r\n';
    everyCut(wire, (res) => {
      assert.equal(res?.body.toString(), '{"a":"bcdefghi"}');
      assert.equal(res.keepAlive, true);
    });
  });

  void it('skips 100 Continue, reads 204 without a body and follows Connection and the HTTP version', () => {
    const after100 = read('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}', [10, 30]);
    assert.equal(after100?.status, 200);
    assert.equal(after100.body.toString(), '{}');
    const noContent = read('HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n');
    assert.deepEqual([noContent?.status, noContent?.body.length, noContent?.keepAlive], [204, 0, false]);
    assert.equal(read('HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n')?.keepAlive, false);
    assert.equal(read('HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n')?.keepAlive, true);
    // An answer to HEAD has no body, whatever its Content-Length says.
    assert.equal(read('HTTP/1.1 200 OK\r\nContent-Length: 40\r\n\r\n', [], { noBody: true })?.body.length, 0);
  });

  void it('reads a body without framing to the end of the connection, which is then not reused', () => {
    const reader = new Http1ResponseReader(false, 100);
    assert.equal(reader.push(Buffer.from('HTTP/1.1 200 OK\r\n\r\n{"a"')), undefined);
    assert.equal(reader.push(Buffer.from(':1}')), undefined);
    const res = reader.end();
    assert.deepEqual([res?.body.toString(), res?.keepAlive], ['{"a":1}', false]);
    // A body cut off before its length is not an answer.
    const cut = new Http1ResponseReader(false, 100);
    cut.push(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n{}'));
    assert.equal(cut.end(), undefined);
    assert.equal(cut.started, true);
    assert.equal(new Http1ResponseReader(false, 100).started, false);
  });

  void it('refuses what it cannot frame', () => {
    const refuses = (wire: string, message: RegExp, max = 100) =>
      assert.throws(() => read(wire, [], { max }), (e: Error) => e instanceof HttpProtocolError && message.test(e.message));
    refuses('HTTP/2 200 OK\r\n\r\n', /status line/);
    refuses('HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n', /Content-Length/);
    refuses('HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n', /Content-Length/);
    refuses('HTTP/1.1 200 OK\r\nContent-Length: 101\r\n\r\n', /larger than 100 bytes/);
  });
});

void describe('Http1ResponseReader limits', () => {
  void it('refuses a body over the limit in any framing, a head over 16 KiB, bytes after the answer and bad chunks', () => {
    const refuses = (wire: string, message: RegExp, max = 100) =>
      assert.throws(() => read(wire, [], { max }), (e: Error) => e instanceof HttpProtocolError && message.test(e.message));
    refuses(`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n65\r\n${'x'.repeat(101)}\r\n0\r\n\r\n`, /larger than 100 bytes/);
    refuses(`HTTP/1.1 200 OK\r\n\r\n${'x'.repeat(101)}`, /larger than 100 bytes/);
    refuses(`HTTP/1.1 200 OK\r\nX-Big: ${'x'.repeat(MAX_HEAD_BYTES)}`, /head too large/);
    refuses('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}HTTP', /bytes after/);
    refuses('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nX', /bytes after/);
    refuses('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', /chunk size/);
    refuses('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}XX', /CRLF/);
    refuses('HTTP/1.1 101 Switching Protocols\r\n\r\n', /protocol switch/);
    refuses('HTTP/1.1 200 OK\r\nno colon\r\n\r\n', /header line/);
  });
});
