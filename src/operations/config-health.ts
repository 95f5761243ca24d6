// The configuration's own health, in the k3s `secrets-encrypt status` model: per resource rule which provider and
// key writes and which only read; each KMS v2 plugin's Status (its current key_id, which makes values of older key_ids
// stale); and whether an API server's /readyz and a plugin's /healthz agree.
import type { EncryptionConfiguration, ProviderConfig } from '../encryption/encryption-config.js';
import { formatGroupResource, parseGroupResource } from '../encryption/group-resource.js';
import { keyIdHash } from '../kms/kms-v2-encrypted-object.js';
import { GrpcKmsV2Client } from '../kms/grpc-v2-client.js';
import type { KubeClient } from './kube-client.js';

export interface RuleHealth {
  resources: string[];
  writes: string;
  readsOnly: string[];
}

export interface KmsPluginHealth {
  name: string;
  endpoint: string;
  healthz: string;
  /** sha256 of the plugin's current key_id, as upstream logs it. */
  keyIdHash?: string;
  error?: string;
}

export interface EndpointHealth {
  url: string;
  ok: boolean;
  detail: string;
}

export interface ConfigHealth {
  hash: string;
  rules: RuleHealth[];
  kmsV2: KmsPluginHealth[];
  apiServerReadyz?: EndpointHealth;
  pluginHealthz?: EndpointHealth;
  /** Present when both were asked: true when both are healthy or both are not. */
  agree?: boolean;
}

export function describeProvider(p: ProviderConfig, key?: string): string {
  switch (p.type) {
    case 'identity':
      return 'identity';
    case 'kms':
      return `kms-${p.apiVersion}/${p.name}`;
    default:
      return `${p.type}/${key ?? p.keys[0]!.name}`;
  }
}

export function describeRules(config: EncryptionConfiguration): RuleHealth[] {
  return config.resources.map((rule) => {
    const all = rule.providers.flatMap((p) => (p.type === 'aescbc' || p.type === 'aesgcm' || p.type === 'secretbox' ? p.keys.map((k) => describeProvider(p, k.name)) : [describeProvider(p)]));
    return { resources: rule.resources.map((r) => formatGroupResource(parseGroupResource(r))), writes: all[0]!, readsOnly: all.slice(1) };
  });
}

/** Asks every KMS v2 plugin of the configuration for Status; returns the key_ids of those that answered. */
export async function probeKmsV2(config: EncryptionConfiguration, timeoutMs = 5_000): Promise<{ health: KmsPluginHealth[]; keyIds: Map<string, string> }> {
  const providers = new Map<string, { name: string; endpoint: string }>();
  for (const rule of config.resources) {
    for (const p of rule.providers) if (p.type === 'kms' && p.apiVersion === 'v2') providers.set(p.name, p);
  }
  const keyIds = new Map<string, string>();
  const health = await Promise.all(
    [...providers.values()].map(async ({ name, endpoint }): Promise<KmsPluginHealth> => {
      const client = new GrpcKmsV2Client(endpoint, { timeoutMs });
      try {
        const s = await client.status();
        if (s.healthz === 'ok' && s.keyId) keyIds.set(name, s.keyId);
        return { name, endpoint, healthz: s.healthz, keyIdHash: keyIdHash(s.keyId) };
      } catch (e) {
        return { name, endpoint, healthz: 'unreachable', error: e instanceof Error ? e.message : String(e) };
      } finally {
        client.close();
      }
    }),
  );
  return { health, keyIds };
}

export async function probeReadyz(client: KubeClient): Promise<EndpointHealth> {
  const url = `${client.server}/readyz`;
  try {
    const res = await client.request('GET', '/readyz');
    return { url, ok: res.status === 200, detail: `HTTP ${res.status}: ${res.body.toString('utf8').trim().slice(0, 200)}` };
  } catch (e) {
    return { url, ok: false, detail: (e as Error).message };
  }
}

export async function probeHealthz(url: string): Promise<EndpointHealth> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
    return { url, ok: res.status === 200, detail: `HTTP ${res.status}: ${(await res.text()).trim().slice(0, 200)}` };
  } catch (e) {
    return { url, ok: false, detail: (e as Error).message };
  }
}
