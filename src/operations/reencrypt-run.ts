// `coffer reencrypt` end to end: optionally scan a source for stale objects, rewrite through the API server, then scan
// again and report what is still stale. Shared by `coffer reencrypt` and `coffer rotate reencrypt`.
import { readEncryptionConfigurationFile, wipeEncryptionConfigurationKeys } from '../encryption/encryption-config.js';
import { InvalidError } from '../lib/errors.js';
import { probeKmsV2 } from './config-health.js';
import { KubeClient } from './kube-client.js';
import { chosenSource, openSourceFromFlags, type SourceFlags } from './open-source.js';
import type { ProgressOutput } from './progress.js';
import { reencrypt, targetOfKey, type ReencryptSummary, type ReencryptTarget } from './reencrypt.js';
import { scanSource, type Finding } from './scan.js';
import { normalizeEtcdPrefix } from './source.js';

export interface ReencryptRunOptions {
  kubeconfig: string;
  resources: string[];
  source: SourceFlags;
  encryptionConfig?: string;
  onlyStale: boolean;
  qps: number;
  concurrency: number;
  checkpoint?: string;
  progress?: ProgressOutput;
  signal?: AbortSignal;
  log?: (line: string) => void;
}

export interface ReencryptRunResult {
  summary: ReencryptSummary;
  /** Stale objects the final scan still found; undefined without a source. */
  stillStale?: Finding[];
}

/** The stale objects of the resources, by a fresh scan of the source. */
export async function staleFindings(o: Pick<ReencryptRunOptions, 'source' | 'encryptionConfig' | 'resources' | 'signal'>): Promise<Finding[]> {
  const config = await readEncryptionConfigurationFile(o.encryptionConfig!);
  const { keyIds } = await probeKmsV2(config);
  const source = await openSourceFromFlags(o.source);
  try {
    const storageNames = o.resources.map((r) => r.split('.')[0]!);
    const scan = await scanSource(source, { prefix: normalizeEtcdPrefix(o.source.etcdPrefix), config, kmsV2KeyIds: keyIds, resources: storageNames, ...(o.signal ? { signal: o.signal } : {}) });
    return scan.findings.filter((f) => f.stale);
  } finally {
    await source.close();
    wipeEncryptionConfigurationKeys(config);
  }
}

export async function runReencrypt(o: ReencryptRunOptions): Promise<ReencryptRunResult> {
  const hasSource = chosenSource(o.source) !== undefined;
  if (o.onlyStale && !hasSource) throw new InvalidError('--only-stale needs a source to scan: --etcd-endpoints, --snapshot or --data-dir', { field: '--only-stale' });
  if (hasSource && !o.encryptionConfig) {
    throw new InvalidError('a source needs --encryption-config: stale means not written by its first provider and key', { field: '--encryption-config' });
  }
  if (!(o.concurrency >= 1 && o.concurrency <= 64 && Number.isInteger(o.concurrency))) {
    throw new InvalidError(`must be an integer from 1 to 64, got ${o.concurrency}`, { field: '--concurrency' });
  }
  if (!(o.qps > 0)) throw new InvalidError(`must be a number > 0, got ${o.qps}`, { field: '--qps' });
  const log = o.log ?? (() => {});
  let targets: ReencryptTarget[] | undefined;
  const prefix = normalizeEtcdPrefix(o.source.etcdPrefix);
  if (o.onlyStale) {
    const stale = await staleFindings(o);
    // Storage keys name the resource without its group; the API path needs the name the user gave.
    const byStorageName = new Map(o.resources.map((r) => [r.split('.')[0]!, r]));
    targets = stale.map((f) => {
      const t = targetOfKey(f.key, prefix);
      return { ...t, resource: byStorageName.get(t.resource) ?? t.resource };
    });
    log(`scan found ${targets.length} stale objects`);
  }
  const client = await KubeClient.fromFile(o.kubeconfig, { maxSockets: o.concurrency });
  let summary: ReencryptSummary;
  try {
    summary = await reencrypt(client, {
      resources: o.resources,
      ...(targets ? { targets } : {}),
      qps: o.qps,
      concurrency: o.concurrency,
      ...(o.checkpoint ? { checkpointFile: o.checkpoint } : {}),
      ...(o.progress ? { progress: o.progress } : {}),
      ...(o.signal ? { signal: o.signal } : {}),
    });
  } finally {
    client.close();
  }
  if (!hasSource) return { summary };
  return { summary, stillStale: await staleFindings(o) };
}
