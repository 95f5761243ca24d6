import assert from 'node:assert/strict';
import { createServer, request, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { ApiStatusError } from '../api-status.js';
import { MAX_NESTING_DEPTH } from '../../objects/nesting-depth.js';
import type { ResourceInfo } from '../resource-info.js';
import { decodeObjectBody, mayNestDeeperThan, readBody } from './request-body.js';

const fakeRequest = (headers: Record<string, string> = {}) => Object.assign(new PassThrough(), { headers }) as unknown as IncomingMessage & PassThrough;

void describe('readBody', () => {
  void it('returns the body of one chunk and of several', async () => {
    const one = fakeRequest();
    const read1 = readBody(one);
    one.end(Buffer.from('{"a":1}'));
    assert.equal((await read1).toString(), '{"a":1}');
    const many = fakeRequest();
    const read2 = readBody(many);
    many.write('{"a":');
    setImmediate(() => many.end('2}'));
    assert.equal((await read2).toString(), '{"a":2}');
    assert.equal(many.listenerCount('data') + many.listenerCount('end') + many.listenerCount('close') + many.listenerCount('error'), 0);
  });

  void it('refuses a body over the limit, declared or sent, and fails on a stream that ends early', async () => {
    const declared = fakeRequest({ 'content-length': '11' });
    await assert.rejects(readBody(declared, 10), (e: unknown) => e instanceof ApiStatusError && e.status.code === 413);
    const sent = fakeRequest();
    const read = readBody(sent, 10);
    sent.write(Buffer.alloc(6));
    sent.write(Buffer.alloc(6));
    await assert.rejects(read, (e: unknown) => e instanceof ApiStatusError && e.status.code === 413);
    const cut = fakeRequest();
    const readCut = readBody(cut);
    cut.write('{"a":');
    cut.destroy();
    await assert.rejects(readCut, { code: 'ERR_STREAM_PREMATURE_CLOSE' });
    const failed = fakeRequest();
    const readFailed = readBody(failed);
    failed.destroy(new Error('connection reset'));
    await assert.rejects(readFailed, /connection reset/);
    await assert.rejects(readBody(failed), /connection reset/);
    await assert.rejects(readBody(cut), { code: 'ERR_STREAM_PREMATURE_CLOSE' });
  });

  void it('answers a chunked body over the limit with the 413 itself, not a reset connection', async () => {
    const server = createServer((req, res) => {
      readBody(req, 1024).then(
        () => res.writeHead(201).end(),
        (e: unknown) => res.writeHead(e instanceof ApiStatusError ? e.status.code : 500).end(),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const status = await new Promise<number>((resolve, reject) => {
        const req = request({ port: (server.address() as AddressInfo).port, host: '127.0.0.1', method: 'POST', headers: { 'Transfer-Encoding': 'chunked' } }, (res) => {
          res.resume();
          resolve(res.statusCode!);
        });
        req.on('error', reject);
        for (let i = 0; i < 8; i++) req.write(Buffer.alloc(512));
        req.end();
      });
      assert.equal(status, 413);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

void describe('decodeObjectBody nesting bound', () => {
  const info = { kind: 'Secret' } as ResourceInfo;
  /** An object nesting `levels` + 1 levels deep: itself, levels - 1 arrays, an object. */
  const nested = (levels: number) => Buffer.from(`{"x":${'['.repeat(levels - 1)}{"a":1}${']'.repeat(levels - 1)}}`);

  void it('counts opening brackets to the bound exactly, strings included', () => {
    assert.equal(mayNestDeeperThan(Buffer.from('{"a":[{}]}'), 3), false);
    assert.equal(mayNestDeeperThan(Buffer.from('{"a":[{}],"b":"[{"}'), 3), true);
    assert.equal(mayNestDeeperThan(Buffer.from('[[[]]]'), 2), true);
    assert.equal(mayNestDeeperThan(Buffer.alloc(0), 0), false);
  });

  void it('refuses a body one level too deep and decodes one at the bound, or one with many brackets in its strings', () => {
    assert.throws(() => decodeObjectBody(nested(MAX_NESTING_DEPTH), 'application/json', info), /exceeded max depth/);
    assert.equal(typeof decodeObjectBody(nested(MAX_NESTING_DEPTH - 1), 'application/json', info), 'object');
    const brackets = Buffer.from(JSON.stringify({ data: { v: '{['.repeat(MAX_NESTING_DEPTH) } }));
    assert.deepEqual(decodeObjectBody(brackets, 'application/json', info), { data: { v: '{['.repeat(MAX_NESTING_DEPTH) } });
  });
});
