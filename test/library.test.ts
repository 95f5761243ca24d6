// The package's library entry points (package.json "exports", docs/library.md), imported by the package's own name
// as a user's code would: the encryption engine, the transform (disaster-recovery decrypt) path and the KMS v2
// client. Everything else stays internal: a deep import is refused by Node.
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { startBase64KmsPlugin } from '../src/kms/testing/base64-kms-plugin.js';

interface AesgcmVector {
  keyName: string;
  keyB64: string;
  aad: string;
  value: string;
  plaintext: string;
}
const vector = (JSON.parse(readFileSync(new URL('./fixtures/encryption-vectors.json', import.meta.url), 'utf8')) as { derived: { aesgcm: AesgcmVector } }).derived
  .aesgcm;

// Imported by the package name, resolved through package.json "exports" to the build (dist/, made by `npm install`).
// The specifier is computed so that type checking, which may run before any build, takes the types from the sources.
const entry = <T>(name: string): Promise<T> => import(`coffer/${name}`) as Promise<T>;
const encryption = () => entry<typeof import('../src/library/encryption.js')>('encryption');
const transform = () => entry<typeof import('../src/library/transform.js')>('transform');
const kmsV2Client = () => entry<typeof import('../src/library/kms-v2-client.js')>('kms-v2-client');

const config = (providers: string) =>
  `apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n  - resources: [secrets]\n    providers:\n${providers}`;

void describe('library: coffer/encryption, coffer/transform, coffer/kms-v2-client', () => {
  void it('coffer/transform decrypts a value kube-apiserver wrote (aesgcm vector) and names the provider', async () => {
    const { loadEncryptionConfiguration } = await encryption();
    const { decryptStoredValue, encryptStoredValue } = await transform();
    const yaml = config(`      - aesgcm:\n          keys:\n            - name: ${vector.keyName}\n              secret: ${vector.keyB64}\n`);
    const opts = { encryptionConfig: loadEncryptionConfiguration(yaml), key: vector.aad };
    const out = await decryptStoredValue(Buffer.from(vector.value, 'hex'), opts);
    assert.equal(Buffer.from(out.data).toString('utf8'), vector.plaintext);
    assert.deepEqual(out.via, ['aesgcm', `key "${vector.keyName}"`]);
    assert.equal(out.stale, false);
    // Round trip under another key: the storage key is authenticated, so the same bytes under a different key fail.
    const sealed = await encryptStoredValue(Buffer.from('hello'), { ...opts, encryptionConfig: loadEncryptionConfiguration(yaml) });
    assert.match(Buffer.from(sealed).toString('latin1'), /^k8s:enc:aesgcm:v1:key1:/);
    await assert.rejects(
      decryptStoredValue(sealed, { encryptionConfig: loadEncryptionConfiguration(yaml), key: '/registry/secrets/default/other' }),
      /authentication failed: wrong key, wrong storage key, or tampered/,
    );
  });

  void it('coffer/kms-v2-client calls a plugin over its unix socket', async () => {
    const { GrpcKmsV2Client } = await kmsV2Client();
    const plugin = await startBase64KmsPlugin();
    const client = new GrpcKmsV2Client(plugin.endpoint, { timeoutMs: 5_000 });
    try {
      assert.equal((await client.status()).healthz, 'ok');
      const enc = await client.encrypt(Buffer.from('a DEK seed'), { uid: 'u1' });
      const dec = await client.decrypt(enc.ciphertext, { uid: 'u2', keyId: enc.keyId, annotations: enc.annotations });
      assert.equal(Buffer.from(dec).toString('utf8'), 'a DEK seed');
    } finally {
      client.close();
      await plugin.close();
    }
  });

  void it('only the documented entry points are importable', async () => {
    // Computed specifiers: the type checker would (rightly) refuse these paths too.
    for (const internal of ['coffer/dist/apiserver/api-server.js', 'coffer/src/encryption/encryption-engine.ts']) {
      await assert.rejects(import(internal), { code: 'ERR_PACKAGE_PATH_NOT_EXPORTED' });
    }
  });
});
