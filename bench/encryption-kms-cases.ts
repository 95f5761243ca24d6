// KMS providers for the encryption benchmark, each wired to the base64 test plugin over a real unix socket.
import { KmsV1EnvelopeTransformer, kmsV1Prefix } from '../src/encryption/kms-v1-envelope.js';
import { KmsV2EnvelopeTransformer, kmsV2Prefix } from '../src/encryption/kms-v2-envelope.js';
import { PrefixTransformers } from '../src/encryption/prefix-transformers.js';
import { GrpcKmsV1Client } from '../src/kms/grpc-v1-client.js';
import { GrpcKmsV2Client } from '../src/kms/grpc-v2-client.js';
import { startBase64KmsPlugin } from '../src/kms/testing/base64-kms-plugin.js';
import type { ProviderCase } from './encryption.bench.js';

export async function kmsCases(): Promise<{ cases: ProviderCase[]; close(): Promise<void> }> {
  const plugin = await startBase64KmsPlugin();
  const v1Client = new GrpcKmsV1Client(plugin.endpoint, { timeoutMs: 3000 });
  const v2Client = new GrpcKmsV2Client(plugin.endpoint, { timeoutMs: 3000 });
  const v1 = new KmsV1EnvelopeTransformer(v1Client, { cacheSize: 1000, name: 'bench' });
  const v2 = new KmsV2EnvelopeTransformer(v2Client, { name: 'bench' });
  const v2NoCache = new KmsV2EnvelopeTransformer(v2Client, { name: 'bench', noDekCache: true });
  await Promise.all([v2.prime(), v2NoCache.prime()]);
  return {
    cases: [
      // KMS v1 calls the plugin on every write (a fresh DEK each time); reads hit its DEK cache.
      { name: 'kms v1', transformer: new PrefixTransformers([{ prefix: kmsV1Prefix('bench'), transformer: v1 }]) },
      {
        name: 'kms v2',
        transformer: new PrefixTransformers([{ prefix: kmsV2Prefix('bench'), transformer: v2 }]),
        writeTarget1k: 0.8,
      },
      {
        name: 'kms v2 no DEK cache',
        transformer: new PrefixTransformers([{ prefix: kmsV2Prefix('bench'), transformer: v2NoCache }]),
      },
    ],
    async close() {
      v1.close();
      v2.close();
      v2NoCache.close();
      v1Client.close();
      v2Client.close();
      await plugin.close();
    },
  };
}
