// Request framing over a connection's bytes, however they are cut into packets (the raw-socket cases are in
// http-edge.test.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RequestFraming } from './http-edge-framing.js';

const body = '{"data":{"a":"1"}}';
const requests = [
  `PUT /v1/secret/data/app HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
  `POST /v1/transit/encrypt/k HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n4;x=y\r\nLIST\r\na\r\n0123456789\r\n0\r\nTrailer: LI\r\n\r\n`,
  `\r\nGET /v1/sys/health HTTP/1.1\r\nHost: x\r\n\r\n`,
  `PUT /v1/secret/data/b HTTP/1.1\r\ncontent-length: 3\r\n\r\n\nLI`,
];

function framingOf(...packets: string[]): RequestFraming {
  const f = new RequestFraming();
  for (const p of packets) f.push(Buffer.from(p, 'latin1'));
  return f;
}

void describe('RequestFraming', () => {
  void it('finds where the next request begins after bodies framed by Content-Length or chunked, at any cut', () => {
    const stream = requests.join('');
    for (let cut = 0; cut <= stream.length; cut++) {
      const f = framingOf(stream.slice(0, cut), stream.slice(cut), 'LI');
      assert.equal(f.consumedExactly('LI'), true, `cut at ${cut}`);
    }
    // Bytes inside a body, a chunk or a trailer are not a method.
    for (const [i, r] of requests.entries()) {
      const inside = r.lastIndexOf('LI');
      if (inside > 0) assert.equal(framingOf(r.slice(0, inside + 2)).consumedExactly('LI'), false, `request ${i}`);
    }
    assert.equal(framingOf(requests[0]!, 'UNLI').consumedExactly('LI'), false);
    assert.equal(framingOf(requests[0]!, 'LI').consumedExactly('LI'), true);
  });

  void it('gives up on framing Node refuses, so that no LIST is guessed after it', () => {
    for (const bad of [
      'PUT /x HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nab',
      'PUT /x HTTP/1.1\r\nContent-Length: -1\r\n\r\n',
      'PUT /x HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n',
      'PUT /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\n0\r\n\r\n',
      'PUT /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
      'PUT /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabX\r\n0\r\n\r\n',
      `GET /x HTTP/1.1\r\nX-Pad: ${'a'.repeat(70_000)}\r\n\r\n`,
    ]) {
      assert.equal(framingOf(bad, 'LI').consumedExactly('LI'), false, JSON.stringify(bad.slice(0, 60)));
    }
  });
});
