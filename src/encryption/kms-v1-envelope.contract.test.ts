// KMS v1 joins the Transformer contract: the envelope over a real gRPC client and the base64 test plugin on a unix
// socket, as kube-apiserver's `kms` provider with apiVersion v1 talks to a plugin.
import { after, before } from 'node:test';
import { GrpcKmsV1Client } from '../kms/grpc-v1-client.js';
import { startBase64KmsPlugin } from '../kms/testing/base64-kms-plugin.js';
import { KmsV1EnvelopeTransformer } from './kms-v1-envelope.js';
import { runTransformerContract } from './transformer.contract.js';

let plugin: Awaited<ReturnType<typeof startBase64KmsPlugin>>;
let client: GrpcKmsV1Client;
before(async () => {
  plugin = await startBase64KmsPlugin();
  client = new GrpcKmsV1Client(plugin.endpoint, { timeoutMs: 10_000 });
});
after(async () => {
  client.close();
  await plugin.close();
});

// Upstream reads a value GCM cannot open as legacy AES-CBC (k8s.io/apiserver envelope.go, unionTransformers{gcm, cbc}),
// and CBC authenticates nothing: a GCM value cut at a 16-byte boundary is refused only by its padding check, which
// about 1 value in 256 passes (garbage returned, stale). Kept for byte compatibility with v1.24 data.
const CBC_FALLBACK = 'the legacy CBC read path accepts about 1 in 256 GCM values cut at a block boundary, as upstream does';

for (const cacheSize of [1000, -1]) {
  runTransformerContract(`KMS v1 envelope over gRPC (base64 test plugin, cachesize ${cacheSize})`, () => new KmsV1EnvelopeTransformer(client, { cacheSize }), {
    knownDisagreements: { 'refuses a stored value cut short or extended by a byte': CBC_FALLBACK },
  });
}
