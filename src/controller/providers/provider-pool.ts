// One place where ExternalSecrets get their providers: instances are reused while the store is unchanged (one vault
// login per store version, not per reconcile), every call goes through the store's rate limit, and identical reads
// are deduplicated within the caller's freshness window.
import type { Clock } from '../../lib/clock.js';
import { CallDeduplicator } from '../call-deduplicator.js';
import type { FindRef, RemoteRef, SecretStore } from '../external-secrets/external-secret-types.js';
import { TokenBucket } from '../token-bucket.js';
import type { StoreScope } from './credential-secrets.js';
import { createProvider, type ProviderDeps } from './provider-factory.js';
import type { SecretsProvider, ValidationResult } from './secrets-provider.js';

export interface ReadOptions {
  signal: AbortSignal;
  /** How old a shared result may be (ms); 0 forces a fresh call (force-sync). */
  maxAgeMs: number;
}

/** What the reconcile pipeline reads through: a provider bound to one store, rate-limited and deduplicated. */
export interface StoreReader {
  getSecret(ref: RemoteRef, opts: ReadOptions): Promise<Buffer>;
  getSecretMap(ref: RemoteRef, opts: ReadOptions): Promise<Record<string, Buffer>>;
  getAllSecrets(find: FindRef, opts: ReadOptions): Promise<Record<string, Buffer>>;
  validate(opts: { signal: AbortSignal }): Promise<ValidationResult>;
}

export interface ProviderPoolOptions extends ProviderDeps {
  clock: Clock;
  /** Provider calls per second per store, and the burst allowed (client-side rate limit). */
  ratePerSecond?: number;
  burst?: number;
}

/** Whether any credential selector of the store lacks a namespace (ClusterSecretStore "referent" auth). */
export function usesReferentAuth(store: SecretStore): boolean {
  const walk = (v: unknown): boolean => {
    if (!v || typeof v !== 'object') return false;
    if (Array.isArray(v)) return v.some(walk);
    const o = v as Record<string, unknown>;
    if (typeof o.name === 'string' && !('namespace' in o) && !('type' in o)) return true;
    return Object.values(o).some(walk);
  };
  return Object.values(store.spec?.provider ?? {}).some((p) => {
    const spec = p as Record<string, unknown> | null;
    return walk(spec?.auth) || walk(spec?.authRef);
  });
}

function storeId(store: SecretStore, kind: string): string {
  return `${kind}/${store.metadata.namespace ?? ''}/${store.metadata.name}`;
}

export class ProviderPool {
  private readonly providers = new Map<string, { version: string; provider: SecretsProvider }>();
  private readonly limits = new Map<string, TokenBucket>();
  private readonly dedup: CallDeduplicator;

  constructor(private readonly opts: ProviderPoolOptions) {
    this.dedup = new CallDeduplicator(opts.clock);
  }

  /** A reader for `store` as used from `referentNamespace` (the ExternalSecret's namespace). */
  reader(store: SecretStore, kind: 'SecretStore' | 'ClusterSecretStore', referentNamespace: string | undefined): StoreReader {
    const id = storeId(store, kind);
    const scope: StoreScope = {
      kind,
      ...(kind === 'SecretStore' ? { storeNamespace: store.metadata.namespace! } : {}),
      ...(referentNamespace ? { referentNamespace } : {}),
    };
    // A ClusterSecretStore may resolve credentials per ExternalSecret namespace, so instances are per namespace.
    const referent = kind === 'ClusterSecretStore' && usesReferentAuth(store);
    const instanceKey = referent ? `${id}@${referentNamespace ?? ''}` : id;
    if (!referent && kind === 'ClusterSecretStore') delete scope.referentNamespace;
    const version = `${store.metadata.uid ?? ''}/${store.metadata.resourceVersion ?? ''}`;
    const provider = (): SecretsProvider => {
      const cached = this.providers.get(instanceKey);
      if (cached && cached.version === version) return cached.provider;
      if (cached) {
        void cached.provider.close?.({ signal: AbortSignal.timeout(5000) }).catch(() => undefined);
        this.dedup.invalidate(`${instanceKey}|`);
      }
      const p = createProvider(store, scope, this.opts);
      this.providers.set(instanceKey, { version, provider: p });
      return p;
    };
    let bucket = this.limits.get(id);
    if (!bucket) {
      bucket = new TokenBucket(this.opts.ratePerSecond ?? 20, this.opts.burst ?? 50, this.opts.clock);
      this.limits.set(id, bucket);
    }
    const limit = bucket;
    const call = async <T extends Buffer | Record<string, Buffer>>(op: string, arg: unknown, o: ReadOptions, fn: (p: SecretsProvider) => Promise<T>): Promise<T> => {
      const p = provider();
      const key = `${instanceKey}|${version}|${op}|${JSON.stringify(arg)}`;
      return this.dedup.run(key, o.maxAgeMs, async () => {
        await limit.take(o.signal);
        return fn(p);
      });
    };
    return {
      getSecret: (ref, o) => call('getSecret', ref, o, (p) => p.getSecret(ref, { signal: o.signal })),
      getSecretMap: (ref, o) => call('getSecretMap', ref, o, (p) => p.getSecretMap(ref, { signal: o.signal })),
      getAllSecrets: (find, o) => call('getAllSecrets', find, o, (p) => p.getAllSecrets(find, { signal: o.signal })),
      validate: async (o) => {
        const p = provider();
        await limit.take(o.signal);
        return p.validate(o);
      },
    };
  }

  async close(): Promise<void> {
    const all = [...this.providers.values()];
    this.providers.clear();
    this.dedup.clear();
    await Promise.all(all.map(async (e) => e.provider.close?.({ signal: AbortSignal.timeout(5000) }).catch(() => undefined)));
  }
}
