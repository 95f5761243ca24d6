// What `coffer up` says once it serves: where the API server is, how to point kubectl at it, which encryption protects
// new Secrets (for KMS v2, the key_id the plugin reports, as its sha256 hash like kube-apiserver's logs and metrics),
// which store holds them, and how long the start took. On a terminal (text logs) a short block for people; with JSON
// logs one record with the same facts, so a collector gets no free-form text.
import type { Logger } from 'pino';
import { providersFor } from '../encryption/encryption-config-resolution.js';
import { readEncryptionConfigurationFile, wipeEncryptionConfigurationKeys, type ProviderConfig } from '../encryption/encryption-config.js';
import { keyIdHash } from '../kms/kms-v2-encrypted-object.js';
import type { LogFormat } from '../lib/log-format.js';

export interface ReadyFacts {
  url: string;
  kubeconfig: string;
  encryptionConfig: string;
  /** e.g. `SQLite /srv/coffer/store` or `etcd http://10.0.0.5:2379`. */
  store: string;
  readySeconds: number;
}

/** The first provider for Secrets, which encrypts every write, in words. */
export async function describeEncryption(configFile: string, opts: { signal?: AbortSignal } = {}): Promise<string> {
  const config = await readEncryptionConfigurationFile(configFile);
  let first: ProviderConfig | undefined;
  try {
    first = providersFor(config, '', 'secrets')?.[0];
  } finally {
    wipeEncryptionConfigurationKeys(config);
  }
  if (!first || first.type === 'identity') return 'none (identity: Secrets are stored in plaintext)';
  if (first.type !== 'kms') return `${first.type} (key "${first.keys[0]?.name ?? ''}")`;
  if (first.apiVersion === 'v1') return `KMS v1 (provider "${first.name}", ${first.endpoint})`;
  const { GrpcKmsV2Client } = await import('../kms/grpc-v2-client.js'); // gRPC only when a plugin is to be asked
  const client = new GrpcKmsV2Client(first.endpoint, { timeoutMs: first.timeoutMs });
  try {
    const status = await client.status(opts.signal ? { signal: opts.signal } : {});
    return `KMS v2 (provider "${first.name}", key_id ${keyIdHash(status.keyId)}, healthz ${status.healthz})`;
  } catch (e) {
    return `KMS v2 (provider "${first.name}", Status failed: ${e instanceof Error ? e.message : String(e)})`;
  } finally {
    client.close();
  }
}

export function formatReadySummary(f: ReadyFacts & { encryption: string }): string {
  return [
    `coffer is ready in ${f.readySeconds.toFixed(1)} s`,
    `  API server   ${f.url}`,
    `  kubeconfig   ${f.kubeconfig}   (export KUBECONFIG=${f.kubeconfig}; kubectl get secrets)`,
    `  encryption   ${f.encryption}`,
    `  config       ${f.encryptionConfig}`,
    `  store        ${f.store}`,
    '',
  ].join('\n');
}

/** Prints the summary (text) to stderr or logs it as one record (json). */
export async function announceReady(f: ReadyFacts, o: { format: LogFormat; log: Logger; write?: (s: string) => void }): Promise<void> {
  const encryption = await describeEncryption(f.encryptionConfig);
  if (o.format === 'json') {
    o.log.info({ ...f, readySeconds: Number(f.readySeconds.toFixed(3)), encryption }, `ready in ${f.readySeconds.toFixed(1)} s`);
    return;
  }
  (o.write ?? ((s: string) => process.stderr.write(s)))(formatReadySummary({ ...f, encryption }));
}

/** The store line of the summary, from `coffer up`'s flags. */
export function describeStore(o: { store: string; dataDir: string; etcdEndpoints?: string; storeEncryptionKeyFile?: string }): string {
  if (o.store === 'etcd') return `etcd ${o.etcdEndpoints ?? ''}`;
  return `SQLite ${o.dataDir}/store${o.storeEncryptionKeyFile ? ' (file encrypted with --store-encryption-key-file)' : ''}`;
}

/**
 * `coffer up`'s announcement: the `export KUBECONFIG=` line on stdout first (scripts and supervisors wait for it),
 * then the summary, which may wait up to the KMS timeout for the plugin's Status.
 */
export function announceUp(
  running: { server: { url: string; kubeconfigPath: string }; encryptionConfigFile: string; store: string },
  o: { format: LogFormat; log: Logger },
): void {
  const readySeconds = process.uptime();
  process.stdout.write(`export KUBECONFIG=${running.server.kubeconfigPath}\n`);
  const facts = { url: running.server.url, kubeconfig: running.server.kubeconfigPath, encryptionConfig: running.encryptionConfigFile, store: running.store, readySeconds };
  announceReady(facts, o).catch((e: unknown) => o.log.warn({ error: e instanceof Error ? e.message : String(e) }, 'could not describe the running configuration'));
}
