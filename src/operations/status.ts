// The scan every command runs before it acts: open the source, load the configuration (if given), ask its KMS v2
// plugins for their current key_id, scan, close.
import { readEncryptionConfigurationFile, wipeEncryptionConfigurationKeys } from '../encryption/encryption-config.js';
import { describeRules, probeHealthz, probeKmsV2, probeReadyz, type ConfigHealth } from './config-health.js';
import { KubeClient } from './kube-client.js';
import { openSourceFromFlags, type SourceFlags } from './open-source.js';
import { scanSource, type ScanResult } from './scan.js';
import { normalizeEtcdPrefix } from './source.js';

export interface StatusOptions {
  source: SourceFlags;
  encryptionConfig?: string;
  resources?: string[];
  /** An API server to ask /readyz. */
  kubeconfig?: string;
  /** A KMS plugin's health URL (coffer kms-plugin prints it as health=...). */
  kmsHealthUrl?: string;
}

export interface StatusResult {
  scan: ScanResult;
  health?: ConfigHealth;
}

export async function runStatus(o: StatusOptions): Promise<StatusResult> {
  const prefix = normalizeEtcdPrefix(o.source.etcdPrefix);
  const config = o.encryptionConfig ? await readEncryptionConfigurationFile(o.encryptionConfig) : undefined;
  let health: ConfigHealth | undefined;
  let kmsV2KeyIds: Map<string, string> | undefined;
  if (config) {
    const kms = await probeKmsV2(config);
    kmsV2KeyIds = kms.keyIds;
    health = { hash: config.hash, rules: describeRules(config), kmsV2: kms.health };
  }
  if (o.kubeconfig || o.kmsHealthUrl) {
    health ??= { hash: '', rules: [], kmsV2: [] };
    if (o.kubeconfig) {
      const client = await KubeClient.fromFile(o.kubeconfig);
      try {
        health.apiServerReadyz = await probeReadyz(client);
      } finally {
        client.close();
      }
    }
    if (o.kmsHealthUrl) health.pluginHealthz = await probeHealthz(o.kmsHealthUrl);
    if (health.apiServerReadyz && health.pluginHealthz) health.agree = health.apiServerReadyz.ok === health.pluginHealthz.ok;
  }
  const source = await openSourceFromFlags(o.source);
  try {
    const scan = await scanSource(source, {
      prefix,
      ...(config ? { config } : {}),
      ...(kmsV2KeyIds ? { kmsV2KeyIds } : {}),
      ...(o.resources ? { resources: o.resources } : {}),
    });
    return { scan, ...(health ? { health } : {}) };
  } finally {
    await source.close();
    // Only key names are needed past this point; the decoded key bytes go.
    if (config) wipeEncryptionConfigurationKeys(config);
  }
}
