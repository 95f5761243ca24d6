// Property-based fuzzing of the KMS gRPC messages (issue 11), over real gRPC on real unix sockets, in both directions:
// random request bytes sent to a KMS server built with serveKms (what `coffer kms-plugin` serves), and random
// response bytes answered to the API server's v1 and v2 clients. Property: an answer or a precise gRPC/Coffer error,
// the server still serving afterwards, never a crash or a hang.
import * as grpc from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { CofferError } from '../lib/errors.js';
import { fuzzOptions } from '../../test/support/fuzz-options.js';
import { GrpcKmsV1Client } from './grpc-v1-client.js';
import { GrpcKmsV2Client } from './grpc-v2-client.js';
import { startBase64KmsPlugin } from './testing/base64-kms-plugin.js';
import { parseKmsEndpoint } from './unix-endpoint.js';

const opts = fuzzOptions(100);
const identity = (b: Buffer) => b;
const METHODS = ['/v2.KeyManagementService/Status', '/v2.KeyManagementService/Encrypt', '/v2.KeyManagementService/Decrypt', '/v1beta1.KeyManagementService/Version', '/v1beta1.KeyManagementService/Encrypt', '/v1beta1.KeyManagementService/Decrypt'];

/** A protobuf-looking message: valid tags with random payloads, or plain random bytes. */
const message = fc.oneof(
  fc.uint8Array({ maxLength: 120 }).map((b) => Buffer.from(b)),
  fc.array(fc.tuple(fc.integer({ min: 1, max: 6 }), fc.constantFrom(0, 1, 2, 5), fc.uint8Array({ maxLength: 20 })), { maxLength: 6 }).map((fields) =>
    Buffer.concat(fields.map(([field, wire, payload]) => Buffer.concat([Buffer.from([(field << 3) | wire]), wire === 2 ? Buffer.from([payload.length]) : Buffer.alloc(0), Buffer.from(payload)]))),
  ),
);

function rawCall(client: grpc.Client, method: string, body: Buffer): Promise<grpc.ServiceError | Buffer> {
  return new Promise((resolve) => {
    client.makeUnaryRequest(method, identity, identity, body, new grpc.Metadata(), { deadline: Date.now() + 10_000 }, (err, res) => resolve(err ?? res!));
  });
}

void describe('KMS gRPC messages under fuzzing', () => {
  void describe('requests to a KMS server', () => {
    let plugin: Awaited<ReturnType<typeof startBase64KmsPlugin>>;
    let client: grpc.Client;
    before(async () => {
      plugin = await startBase64KmsPlugin();
      client = new grpc.Client(parseKmsEndpoint(plugin.endpoint).grpcTarget, grpc.credentials.createInsecure());
    });
    after(async () => {
      client.close();
      await plugin.close();
    });

    void it('answers every request with a message or a gRPC status, and keeps serving', async () => {
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...METHODS), message, async (method, body) => {
          const r = await rawCall(client, method, body);
          if (!Buffer.isBuffer(r)) {
            assert.ok([grpc.status.INVALID_ARGUMENT, grpc.status.INTERNAL].includes(r.code), `${method}: ${r.code} ${r.details}`);
            assert.doesNotMatch(r.details, /TypeError|RangeError|Cannot read/, `${method}: ${r.details}`);
          }
          assert.ok(Buffer.isBuffer(await rawCall(client, METHODS[0]!, Buffer.alloc(0))), 'the server still answers Status');
        }),
        opts,
      );
    });
  });

  void describe('responses to the API server clients', () => {
    let dir: string;
    let server: grpc.Server;
    let answer = Buffer.alloc(0);
    let endpoint: string;
    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'coffer-kms-fuzz-'));
      endpoint = `unix://${join(dir, 'kms.sock')}`;
      server = new grpc.Server();
      const definition = (pkg: string, names: string[]) =>
        Object.fromEntries(
          names.map((n) => [n, { path: `/${pkg}.KeyManagementService/${n}`, requestStream: false, responseStream: false, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity }]),
        );
      const reply = (_call: unknown, cb: (e: null, v: Buffer) => void) => cb(null, answer);
      server.addService(definition('v2', ['Status', 'Encrypt', 'Decrypt']), { Status: reply, Encrypt: reply, Decrypt: reply });
      server.addService(definition('v1beta1', ['Version', 'Encrypt', 'Decrypt']), { Version: reply, Encrypt: reply, Decrypt: reply });
      await new Promise<void>((resolve, reject) => server.bindAsync(parseKmsEndpoint(endpoint).grpcTarget, grpc.ServerCredentials.createInsecure(), (e) => (e ? reject(e) : resolve())));
    });
    after(async () => {
      server.forceShutdown();
      await rm(dir, { recursive: true, force: true });
    });

    void it('turns any response into a result or a precise error', async () => {
      const v2 = new GrpcKmsV2Client(endpoint, { timeoutMs: 5000 });
      const v1 = new GrpcKmsV1Client(endpoint, { timeoutMs: 5000 });
      const calls = [
        () => v2.status(),
        () => v2.encrypt(Buffer.from('seed'), { uid: 'u' }),
        () => v2.decrypt(Buffer.from('c'), { uid: 'u', keyId: '1', annotations: {} }),
        () => v1.encrypt(Buffer.from('dek')),
        () => v1.decrypt(Buffer.from('c')),
      ];
      try {
        await fc.assert(
          fc.asyncProperty(fc.nat({ max: calls.length - 1 }), message, async (i, body) => {
            answer = body;
            await calls[i]!().catch((e: unknown) => assert.ok(e instanceof CofferError, `not a precise error: ${String(e)}`));
          }),
          opts,
        );
      } finally {
        v2.close();
        v1.close();
      }
    });
  });
});
