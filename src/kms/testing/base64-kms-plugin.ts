// A KMS plugin for tests, served over real gRPC on a real unix socket, modelled on upstream's mock plugin: the
// "KEK" is base64 (ciphertext = ASCII base64 of the plaintext), Encrypt adds the annotation
// local-kek.kms.kubernetes.io, Status answers "v2beta1". The fixture vectors' EDEKs were made this way.
import * as grpc from '@grpc/grpc-js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KmsStatusError, serveKms } from '../grpc-server.js';

export interface Base64KmsPluginControls {
  keyId: string;
  healthz: string;
  statusVersion: string;
  /** What the v1 Version call answers. */
  v1Version: string;
  /** When set, every call fails with this gRPC code. */
  failWith: grpc.status | undefined;
  /** When true, calls never answer (for timeout tests). */
  hang: boolean;
  readonly calls: { version: number; status: number; encrypt: number; decrypt: number };
}

function wrap(plain: Uint8Array): Buffer {
  return Buffer.from(Buffer.from(plain).toString('base64'), 'latin1');
}

function unwrap(cipher: Uint8Array): Buffer {
  const text = Buffer.from(cipher).toString('latin1');
  const plain = Buffer.from(text, 'base64');
  // Node's decoder skips junk; a KMS must refuse a damaged ciphertext.
  if (plain.toString('base64') !== text) throw new KmsStatusError(grpc.status.INVALID_ARGUMENT, 'ciphertext is not base64');
  return plain;
}

export async function startBase64KmsPlugin(opts: { dir?: string } = {}): Promise<{
  endpoint: string;
  controls: Base64KmsPluginControls;
  close(): Promise<void>;
}> {
  const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), 'coffer-kms-')));
  const endpoint = `unix://${join(dir, 'kms.sock')}`;
  const controls: Base64KmsPluginControls = {
    keyId: '1',
    healthz: 'ok',
    statusVersion: 'v2beta1',
    v1Version: 'v1beta1',
    failWith: undefined,
    hang: false,
    calls: { version: 0, status: 0, encrypt: 0, decrypt: 0 },
  };
  const pending = new Set<() => void>();
  const gate = async (method: keyof Base64KmsPluginControls['calls']) => {
    controls.calls[method]++;
    if (controls.hang) await new Promise<void>((resolve) => pending.add(resolve));
    if (controls.failWith !== undefined) throw new KmsStatusError(controls.failWith, `test plugin told to fail ${method}`);
  };
  const server = await serveKms(endpoint, {
    v1: {
      version: async () => {
        await gate('version');
        return { version: controls.v1Version, runtimeName: 'coffer-base64-test-plugin', runtimeVersion: '0.1.0' };
      },
      encrypt: async (plain) => (await gate('encrypt'), wrap(plain)),
      decrypt: async (cipher) => (await gate('decrypt'), unwrap(cipher)),
    },
    v2: {
      status: async () => {
        await gate('status');
        return { version: controls.statusVersion, healthz: controls.healthz, keyId: controls.keyId };
      },
      encrypt: async ({ plaintext }) => {
        await gate('encrypt');
        return {
          ciphertext: wrap(plaintext),
          keyId: controls.keyId,
          annotations: { 'local-kek.kms.kubernetes.io': Buffer.from('encrypted-local-kek') },
        };
      },
      decrypt: async ({ ciphertext }) => (await gate('decrypt'), unwrap(ciphertext)),
    },
  });
  return {
    endpoint,
    controls,
    async close() {
      controls.hang = false;
      for (const release of pending) release();
      await server.close();
      if (!opts.dir) await rm(dir, { recursive: true, force: true });
    },
  };
}
