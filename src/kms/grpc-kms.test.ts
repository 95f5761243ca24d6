// The KMS gRPC clients and server over real unix sockets, against the base64 test plugin.
import * as grpc from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { UnavailableError } from '../lib/errors.js';
import { KmsCallError } from './grpc-unary.js';
import { serveKms } from './grpc-server.js';
import { GrpcKmsV1Client } from './grpc-v1-client.js';
import { GrpcKmsV2Client } from './grpc-v2-client.js';
import { startBase64KmsPlugin } from './testing/base64-kms-plugin.js';

void describe('KMS gRPC over unix sockets', () => {
  let plugin: Awaited<ReturnType<typeof startBase64KmsPlugin>>;
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'coffer-grpc-test-'));
    plugin = await startBase64KmsPlugin({ dir });
  });
  after(async () => {
    await plugin.close();
    await rm(dir, { recursive: true, force: true });
  });
  const reset = () => {
    Object.assign(plugin.controls, { keyId: '1', healthz: 'ok', v1Version: 'v1beta1', failWith: undefined, hang: false });
  };

  void it('creates the socket with mode 0600', async () => {
    const s = await stat(join(dir, 'kms.sock'));
    assert.ok(s.isSocket());
    assert.equal(s.mode & 0o777, 0o600);
  });

  void it('v1: handshakes once, then encrypts and decrypts', async () => {
    reset();
    const before = plugin.controls.calls.version;
    const client = new GrpcKmsV1Client(plugin.endpoint, { timeoutMs: 2000 });
    try {
      const dek = Buffer.alloc(32, 7);
      const cipher = await client.encrypt(dek);
      assert.equal(Buffer.from(cipher).toString(), dek.toString('base64'));
      assert.deepEqual(Buffer.from(await client.decrypt(cipher)), dek);
      await client.decrypt(cipher);
      assert.equal(plugin.controls.calls.version - before, 1);
    } finally {
      client.close();
    }
  });

  void it('v1: refuses a plugin that answers another API version', async () => {
    reset();
    plugin.controls.v1Version = 'v2';
    const client = new GrpcKmsV1Client(plugin.endpoint, { timeoutMs: 2000 });
    try {
      await assert.rejects(client.encrypt(Buffer.alloc(32)), {
        message: 'KMS provider api version v2 is not supported, only v1beta1 is supported now',
      });
    } finally {
      client.close();
      reset();
    }
  });

  void it('v2: Status, and Encrypt/Decrypt carrying key_id and annotations', async () => {
    reset();
    plugin.controls.keyId = 'kek-7';
    const client = new GrpcKmsV2Client(plugin.endpoint, { timeoutMs: 2000 });
    try {
      assert.deepEqual(await client.status(), { version: 'v2beta1', healthz: 'ok', keyId: 'kek-7' });
      const seed = Buffer.alloc(32, 9);
      const res = await client.encrypt(seed, { uid: 'u1' });
      assert.equal(res.keyId, 'kek-7');
      assert.equal(Buffer.from(res.annotations['local-kek.kms.kubernetes.io']!).toString(), 'encrypted-local-kek');
      const plain = await client.decrypt(res.ciphertext, { uid: 'u2', keyId: res.keyId, annotations: res.annotations });
      assert.deepEqual(Buffer.from(plain), seed);
    } finally {
      client.close();
      reset();
    }
  });

  void it('maps a plugin error to its gRPC code without the request bytes', async () => {
    reset();
    const client = new GrpcKmsV2Client(plugin.endpoint, { timeoutMs: 2000 });
    try {
      await assert.rejects(
        client.decrypt(Buffer.from('not*base64'), { uid: 'u', keyId: '1', annotations: {} }),
        (e: Error) => {
          assert.ok(e instanceof KmsCallError);
          assert.equal(e.code, grpc.status.INVALID_ARGUMENT);
          assert.match(e.message, /^KMS plugin Decrypt failed: INVALID_ARGUMENT: /);
          assert.ok(!e.message.includes('not*base64'));
          return true;
        },
      );
    } finally {
      client.close();
    }
  });

  void it('gives up after the per-call timeout when the plugin hangs', async () => {
    reset();
    plugin.controls.hang = true;
    const client = new GrpcKmsV2Client(plugin.endpoint, { timeoutMs: 200 });
    try {
      await assert.rejects(client.status(), (e: Error) => {
        assert.ok(e instanceof UnavailableError);
        assert.match(e.message, /KMS plugin at unix:\/\/.* is unreachable: Status: DEADLINE_EXCEEDED/);
        return true;
      });
    } finally {
      client.close();
      reset();
    }
  });

  void it('can be cancelled with an AbortSignal', async () => {
    reset();
    plugin.controls.hang = true;
    const client = new GrpcKmsV2Client(plugin.endpoint, { timeoutMs: 10_000 });
    try {
      const ac = new AbortController();
      const call = client.status({ signal: ac.signal });
      setTimeout(() => ac.abort(), 50);
      await assert.rejects(call, /was cancelled/);
    } finally {
      client.close();
      reset();
    }
  });

  void it('shares one abort listener among every call in flight on a signal, and still cancels them all', async () => {
    reset();
    plugin.controls.hang = true;
    const client = new GrpcKmsV2Client(plugin.endpoint, { timeoutMs: 10_000 });
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on('warning', onWarning);
    try {
      // A transformer's close signal is shared like this by all of its calls (a LIST, 16 creates in flight).
      const ac = new AbortController();
      const calls = Array.from({ length: 40 }, () => client.encrypt(Buffer.from('seed'), { uid: 'u', signal: ac.signal }));
      const arrived = calls.length + plugin.controls.calls.encrypt;
      while (plugin.controls.calls.encrypt < arrived) await new Promise((r) => setTimeout(r, 10));
      ac.abort();
      const results = await Promise.allSettled(calls);
      assert.deepEqual(new Set(results.map((r) => r.status)), new Set(['rejected']));
      assert.match(String((results[0] as PromiseRejectedResult).reason), /was cancelled/);
      await new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
      assert.deepEqual(warnings.filter((w) => w === 'MaxListenersExceededWarning'), []);
    } finally {
      process.off('warning', onWarning);
      client.close();
      reset();
    }
  });

  void it('says the plugin is unreachable when nothing listens, within the timeout', async () => {
    const endpoint = `unix://${join(dir, 'nobody.sock')}`;
    const client = new GrpcKmsV2Client(endpoint, { timeoutMs: 300 });
    try {
      await assert.rejects(client.status(), (e: Error) => {
        assert.ok(e instanceof UnavailableError);
        assert.ok(e.message.startsWith(`KMS plugin at ${endpoint} is unreachable`), e.message);
        return true;
      });
    } finally {
      client.close();
    }
  });

  void it('serves and calls a Linux abstract socket', async () => {
    const endpoint = `unix:///@coffer-test-${process.pid}-${Date.now()}`;
    const server = await serveKms(endpoint, {
      v2: {
        status: async () => ({ version: 'v2', healthz: 'ok', keyId: 'abstract' }),
        encrypt: async () => ({ ciphertext: Buffer.from('c'), keyId: 'abstract', annotations: {} }),
        decrypt: async () => Buffer.from('p'),
      },
    });
    const client = new GrpcKmsV2Client(endpoint, { timeoutMs: 2000 });
    try {
      assert.equal((await client.status()).keyId, 'abstract');
    } finally {
      client.close();
      await server.close();
    }
  });

  void it('replaces a stale socket file but never steals a live one', async () => {
    const path = join(dir, 'stale.sock');
    // A socket file whose server is gone, as a plugin killed with SIGKILL leaves it.
    const child = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(path)}, () => console.log('up'))`]);
    await new Promise<void>((r) => child.stdout.once('data', () => r()));
    child.kill('SIGKILL');
    await new Promise<void>((r) => child.once('exit', () => r()));
    assert.ok((await stat(path)).isSocket(), 'the killed process left its socket file');
    const handlers = {
      v2: {
        status: async () => ({ version: 'v2', healthz: 'ok', keyId: 'k' }),
        encrypt: async () => ({ ciphertext: Buffer.from('c'), keyId: 'k', annotations: {} }),
        decrypt: async () => Buffer.from('p'),
      },
    };
    const server = await serveKms(`unix://${path}`, handlers);
    try {
      const client = new GrpcKmsV2Client(`unix://${path}`, { timeoutMs: 2000 });
      assert.equal((await client.status()).keyId, 'k');
      client.close();
      await assert.rejects(serveKms(`unix://${path}`, handlers), /another process is listening there/);
    } finally {
      await server.close();
    }
    await writeFile(path, 'not a socket');
    await assert.rejects(serveKms(`unix://${path}`, handlers), /exists and is not a socket/);
  });

  void it('removes its socket file on close', async () => {
    const d = await mkdtemp(join(tmpdir(), 'coffer-grpc-close-'));
    const p = await startBase64KmsPlugin({ dir: d });
    await p.close();
    await assert.rejects(stat(join(d, 'kms.sock')), { code: 'ENOENT' });
    await rm(d, { recursive: true, force: true });
  });
});
