import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { describe, it, mock } from 'node:test';
import { promisify } from 'node:util';
import { freeLoopbackPort, freeLoopbackPorts } from './free-port.js';

const linux = process.platform === 'linux';

void describe('freeLoopbackPort', () => {
  void it('hands out ports that accept a listener on the loopback address', async () => {
    const ports = await freeLoopbackPorts(3);
    assert.equal(new Set(ports).size, 3);
    for (const port of ports) {
      const server = createServer();
      await new Promise<void>((resolve, reject) => server.once('error', reject).listen({ port, host: '127.0.0.1' }, resolve));
      await new Promise((r) => server.close(r));
    }
  });

  void it('does not hand out again a port handed out a moment ago, before its child had time to bind it', { skip: !linux }, async () => {
    // The same random draw twice, then another: without the reservation the second call gets the first call's port
    // back, since nothing listens on it yet.
    const draws = [0.25, 0.25, 0.75];
    const random = mock.method(Math, 'random', () => draws.shift() ?? 0.5);
    try {
      const first = await freeLoopbackPort();
      const second = await freeLoopbackPort();
      assert.notEqual(second, first);
      assert.equal(draws.length, 0, 'the second call drew twice: the first draw was reserved');
    } finally {
      random.mock.restore();
    }
  });

  void it('reserves the port for other processes too (a test file and the coffer up it starts pick from one range)', { skip: !linux }, async () => {
    const port = await freeLoopbackPort();
    const probe = `require('net').createServer().once('error', (e) => { console.log(e.code); process.exit(0); })
      .listen({ path: '\\0coffer-free-port/127.0.0.1/${port}' }, () => { console.log('free'); process.exit(0); });`;
    const { stdout } = await promisify(execFile)(process.execPath, ['-e', probe]);
    assert.equal(stdout.trim(), 'EADDRINUSE');
  });
});
