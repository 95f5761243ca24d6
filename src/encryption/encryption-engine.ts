// Turns a loaded EncryptionConfiguration into the transformers kube-apiserver would use for each resource, and owns
// what they hold: KMS plugin connections, KMS v2 seed states, key bytes. One transformer per provider entry of the
// file (two resources of one entry share it, two entries naming one plugin get two clients), as upstream builds them.
import type { KmsV1Service, KmsV2Service } from '../kms/kms-service.js';
import type { Clock } from '../lib/clock.js';
import { UnavailableError } from '../lib/errors.js';
import type { EncryptionConfiguration, KmsProviderConfig, ProviderConfig } from './encryption-config.js';
import { providersFor } from './encryption-config-resolution.js';
import type { GroupResource } from './group-resource.js';
import { IdentityTransformer } from './identity.js';
import { KmsV1EnvelopeTransformer, kmsV1Prefix } from './kms-v1-envelope.js';
import { KmsV2EnvelopeTransformer, kmsV2Prefix } from './kms-v2-envelope.js';
import { aesCbcProvider, aesGcmProvider, identityProvider, secretboxProvider } from './local-providers.js';
import { PrefixTransformers, type PrefixTransformerEntry } from './prefix-transformers.js';
import type { Transformer } from './transformer.js';

export interface EncryptionEngineOptions {
  clock?: Clock;
  /** How KMS plugins are reached; gRPC over the configured unix socket unless a test says otherwise. */
  connectKmsV1?: (provider: KmsProviderConfig) => KmsV1Service;
  connectKmsV2?: (provider: KmsProviderConfig) => KmsV2Service;
  /** KMS v2 Status polling and write deadline; upstream's fixed values (60 s, 10 s, 3 min) unless shortened for tests. */
  kmsV2Timing?: { healthyIntervalMs?: number; retryIntervalMs?: number; writeTtlMs?: number };
}

export interface HealthProbe {
  name: string;
  check(): Promise<void>;
}

export class EncryptionEngine {
  private readonly byConfig = new Map<readonly ProviderConfig[], PrefixTransformers>();
  private readonly closers: (() => void)[] = [];
  private readonly probes: HealthProbe[] = [];
  private readonly kmsV2: KmsV2EnvelopeTransformer[] = [];
  // Resources no rule names are stored as upstream does: plaintext, refusing to read anything encrypted.
  private readonly fallback = new IdentityTransformer();

  private constructor(
    private readonly config: EncryptionConfiguration,
    opts: EncryptionEngineOptions,
  ) {
    const built = new Map<ProviderConfig, PrefixTransformerEntry>();
    for (const providers of config.providersByResource.values()) {
      const list = providers.map((p) => {
        let entry = built.get(p);
        if (!entry) {
          entry = this.buildEntry(p, opts);
          built.set(p, entry);
        }
        return entry;
      });
      this.byConfig.set(providers, new PrefixTransformers(list));
    }
  }

  /** Builds every transformer and primes KMS v2 states (one Status + Encrypt each, as kube-apiserver at start). */
  static async create(config: EncryptionConfiguration, opts: EncryptionEngineOptions = {}): Promise<EncryptionEngine> {
    const engine = new EncryptionEngine(config, await withGrpcConnectors(config, opts));
    await Promise.all(engine.kmsV2.map((t) => t.prime()));
    return engine;
  }

  /** The transformer for a resource: exact rule, then `*.<group>`, then `*.*`, then identity. */
  transformerFor(gr: GroupResource): Transformer {
    const providers = providersFor(this.config, gr.group, gr.resource);
    return (providers && this.byConfig.get(providers)) ?? this.fallback;
  }

  /** The config hash (`sha256:...`) of the file this engine was built from. */
  get configHash(): string {
    return this.config.hash;
  }

  /**
   * Runs every KMS provider's health probe (cached by each provider as upstream: 20 s when OK, 3 s when failing);
   * rejects with all failures. Local providers have nothing to check.
   */
  async healthCheck(): Promise<void> {
    const results = await Promise.allSettled(this.probes.map((p) => p.check()));
    const failed = results.flatMap((r) => (r.status === 'rejected' ? [(r.reason as Error).message] : []));
    if (failed.length > 0) throw new UnavailableError(failed.join('; '));
  }

  /** Each KMS provider's probe in file order (the API server's /healthz and /readyz `kms-providers` check). */
  get healthProbes(): readonly HealthProbe[] {
    return this.probes;
  }

  /** Each KMS v2 provider's write deadline (epoch ms; undefined before its first good Status), in file order. */
  get kmsV2WriteDeadlines(): { name: string; deadline: number | undefined }[] {
    return this.kmsV2.map((t) => ({ name: t.state.name, deadline: t.state.writeDeadline }));
  }

  /** Stops KMS loops, closes plugin connections and zero-fills the keys and seeds this engine holds. */
  close(): void {
    for (const close of this.closers.splice(0)) close();
    for (const t of this.byConfig.values()) t.destroy();
  }

  private buildEntry(p: ProviderConfig, opts: EncryptionEngineOptions): PrefixTransformerEntry {
    switch (p.type) {
      case 'identity':
        return identityProvider();
      case 'aescbc':
        return aesCbcProvider(p.keys);
      case 'aesgcm':
        return aesGcmProvider(p.keys);
      case 'secretbox':
        return secretboxProvider(p.keys);
      case 'kms':
        return p.apiVersion === 'v1' ? this.buildKmsV1(p, opts) : this.buildKmsV2(p, opts);
    }
  }

  private buildKmsV1(p: KmsProviderConfig, opts: EncryptionEngineOptions): PrefixTransformerEntry {
    const service = opts.connectKmsV1!(p);
    const transformer = new KmsV1EnvelopeTransformer(service, {
      cacheSize: p.cachesize ?? 1000,
      name: p.name,
      ...(opts.clock ? { clock: opts.clock } : {}),
    });
    this.closers.push(() => transformer.close(), () => service.close());
    this.probes.push({ name: p.name, check: () => transformer.healthCheck() });
    return { prefix: kmsV1Prefix(p.name), transformer, label: `kms v1 ${JSON.stringify(p.name)}` };
  }

  private buildKmsV2(p: KmsProviderConfig, opts: EncryptionEngineOptions): PrefixTransformerEntry {
    const service = opts.connectKmsV2!(p);
    const transformer = new KmsV2EnvelopeTransformer(service, {
      name: p.name,
      noDekCache: p.noDekCache,
      ...opts.kmsV2Timing,
      ...(opts.clock ? { clock: opts.clock } : {}),
    });
    this.kmsV2.push(transformer);
    this.closers.push(() => transformer.close(), () => service.close());
    this.probes.push({ name: p.name, check: () => transformer.healthCheck() });
    return { prefix: kmsV2Prefix(p.name), transformer, label: `kms v2 ${JSON.stringify(p.name)}` };
  }
}

/**
 * The gRPC clients for KMS providers a test did not replace. gRPC is loaded only for a configuration that names a KMS
 * plugin: importing it takes most of a second, which an aescbc/aesgcm/secretbox start need not wait for.
 */
async function withGrpcConnectors(config: EncryptionConfiguration, opts: EncryptionEngineOptions): Promise<EncryptionEngineOptions> {
  const kms = [...config.providersByResource.values()].flat().filter((p): p is KmsProviderConfig => p.type === 'kms');
  const filled = { ...opts };
  if (!opts.connectKmsV1 && kms.some((p) => p.apiVersion === 'v1')) {
    const { GrpcKmsV1Client } = await import('../kms/grpc-v1-client.js');
    filled.connectKmsV1 = (p) => new GrpcKmsV1Client(p.endpoint, { timeoutMs: p.timeoutMs });
  }
  if (!opts.connectKmsV2 && kms.some((p) => p.apiVersion !== 'v1')) {
    const { GrpcKmsV2Client } = await import('../kms/grpc-v2-client.js');
    filled.connectKmsV2 = (p) => new GrpcKmsV2Client(p.endpoint, { timeoutMs: p.timeoutMs });
  }
  return filled;
}
