// `coffer recover`: a whole backup (etcd snapshot, live etcd or Coffer store) decrypted into YAML that kubectl can
// apply to a new cluster: one file per object, <out>/<namespace>/<kind>/<name>.yaml (cluster-scoped objects under
// <out>/_cluster/), server-owned fields stripped. The files hold plaintext Secrets, so they are 0600 in 0700
// directories, and an existing non-empty output directory is refused rather than mixed into. What cannot be
// decrypted is listed with the reason (missing key, KMS unreachable, tampered), never with its bytes.
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify as toYaml } from 'yaml';
import { readEncryptionConfigurationFile, wipeEncryptionConfigurationKeys } from '../encryption/encryption-config.js';
import { EncryptionEngine } from '../encryption/encryption-engine.js';
import { contextForKey } from '../encryption/transformer.js';
import { DecryptError, InvalidError, UnavailableError } from '../lib/errors.js';
import { decodeObject } from '../objects/object-codec.js';
import type { KubeObject } from '../objects/object-meta.js';
import { openSourceFromFlags, type SourceFlags } from './open-source.js';
import { Progress, type ProgressOutput } from './progress.js';
import { resourceOfKey } from './scan.js';
import { normalizeEtcdPrefix } from './source.js';
import { classifyStoredValue, formatLabel, localKeyNames } from './stored-value.js';

export type FailureReason = 'missing-key' | 'kms-unreachable' | 'tampered' | 'unknown-prefix' | 'undecodable';

export interface RecoverFailure {
  key: string;
  reason: FailureReason;
  detail: string;
}

export interface RecoverResult {
  written: number;
  files: string[];
  failures: RecoverFailure[];
  skipped: number;
}

export interface RecoverOptions {
  source: SourceFlags;
  encryptionConfig: string;
  output: string;
  /** Resources to recover (storage names: secrets, configmaps, ...); all but events by default. */
  resources?: string[];
  progress?: ProgressOutput;
}

/** Fields the API server sets; a new cluster sets its own. ownerReferences name uids that will not exist there, and a
 * dangling owner makes the garbage collector delete the object, so they go too. */
const SERVER_OWNED = ['uid', 'resourceVersion', 'creationTimestamp', 'generation', 'managedFields', 'selfLink', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'ownerReferences'];
const DNS_SEGMENT = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
const DEFAULT_SKIPPED_RESOURCES = new Set(['events']);

export function stripServerFields(obj: KubeObject): KubeObject {
  const metadata = { ...(obj.metadata as Record<string, unknown>) };
  for (const f of SERVER_OWNED) delete metadata[f];
  const out: KubeObject = { ...obj, metadata: metadata };
  if (obj.kind === 'Namespace') delete (out as { status?: unknown }).status;
  return out;
}

/**
 * kubectl reads YAML 1.1 (sigs.k8s.io/yaml), where `on`, `yes`, `y` or `0777` are not strings: written plain they
 * would come back as booleans and numbers and a ConfigMap's `mode: on` would be refused. Written for YAML 1.1, every
 * such string is quoted.
 */
export function toRecoveredYaml(obj: KubeObject): string {
  return toYaml(obj, { version: '1.1' });
}

async function ensureEmptyPrivateDir(dir: string): Promise<void> {
  const entries = await readdir(dir).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return undefined;
    throw e;
  });
  if (entries && entries.length > 0) {
    throw new InvalidError(`output directory ${JSON.stringify(dir)} is not empty; recover writes plaintext Secrets only into a new or empty directory`, { field: '--output' });
  }
  await mkdir(dir, { recursive: true, mode: 0o700 });
}

function reasonOf(e: unknown, label: string, known: boolean): { reason: FailureReason; detail: string } {
  const message = e instanceof Error ? e.message : String(e);
  if (!known) return { reason: 'missing-key', detail: `the configuration has no provider or key for ${label}` };
  if (e instanceof UnavailableError || /UNAVAILABLE|DEADLINE_EXCEEDED|ECONNREFUSED|ENOENT|connect|not healthy/i.test(message)) {
    return { reason: 'kms-unreachable', detail: message };
  }
  // The provider and key are configured, so a failure is the value itself: its authentication tag or envelope does
  // not check out (changed bytes, or a value moved to another key, which the authenticated data catches).
  return { reason: 'tampered', detail: `${label}: ${e instanceof DecryptError ? '' : 'unreadable: '}${message}` };
}

/** Whether the configuration has what a value's prefix needs (a provider of that name/type holding that key). */
function configuredFor(label: string, names: Set<string>): boolean {
  return label === 'identity' || names.has(label) || [...names].some((n) => label.startsWith(`${n}/`));
}

export async function recover(o: RecoverOptions): Promise<RecoverResult> {
  const prefix = normalizeEtcdPrefix(o.source.etcdPrefix);
  const config = await readEncryptionConfigurationFile(o.encryptionConfig);
  await ensureEmptyPrivateDir(o.output);
  const keyNames = localKeyNames(config.resources.flatMap((r) => r.providers));
  const configured = new Set(
    config.resources.flatMap((r) => r.providers).flatMap((p) => {
      if (p.type === 'kms') return [`kms-${p.apiVersion}/${p.name}`];
      if (p.type === 'identity') return ['identity'];
      return p.keys.map((k) => `${p.type}/${k.name}`);
    }),
  );
  const engine = await EncryptionEngine.create(config);
  const source = await openSourceFromFlags(o.source);
  const result: RecoverResult = { written: 0, files: [], failures: [], skipped: 0 };
  const progress = new Progress('recover', 0, o.progress ?? process.stderr);
  const made = new Set<string>();
  try {
    const prefixes = o.resources ? o.resources.map((r) => `${prefix}${r}/`) : [prefix];
    for (const p of prefixes) {
      for await (const entry of source.entries(p)) {
        const resource = resourceOfKey(entry.key, prefix);
        if (!resource || (!o.resources && DEFAULT_SKIPPED_RESOURCES.has(resource))) {
          result.skipped++;
          continue;
        }
        progress.setTotal(result.written + result.failures.length + 1);
        const format = classifyStoredValue(entry.value, { keyNames });
        const label = formatLabel(format);
        if (format.kind === 'unknown') {
          result.failures.push({ key: entry.key, reason: 'unknown-prefix', detail: `no provider writes ${label}` });
          progress.add();
          continue;
        }
        let plain: Uint8Array;
        try {
          plain = (await engine.transformerFor({ group: '', resource }).fromStorage(entry.value, contextForKey(entry.key))).data;
        } catch (e) {
          const bare = format.kind === 'kms-v2' ? `kms-v2/${format.name}` : label;
          result.failures.push({ key: entry.key, ...reasonOf(e, label, configuredFor(bare, configured)) });
          progress.add();
          continue;
        }
        let obj: KubeObject;
        try {
          obj = stripServerFields(decodeObject(plain));
        } catch (e) {
          result.failures.push({ key: entry.key, reason: 'undecodable', detail: (e as Error).message });
          progress.add();
          continue;
        }
        const meta = obj.metadata as { name?: string; namespace?: string };
        const segments = [meta.namespace ?? '_cluster', String(obj.kind ?? resource).toLowerCase(), `${meta.name ?? ''}.yaml`];
        if (!meta.name || !DNS_SEGMENT.test(meta.name) || (meta.namespace !== undefined && !DNS_SEGMENT.test(meta.namespace)) || !/^[a-z0-9]+$/.test(segments[1]!)) {
          result.failures.push({ key: entry.key, reason: 'undecodable', detail: `object name ${JSON.stringify(meta.name)} or namespace is not a valid path segment` });
          progress.add();
          continue;
        }
        const dir = join(o.output, segments[0]!, segments[1]!);
        if (!made.has(dir)) {
          await mkdir(dir, { recursive: true, mode: 0o700 });
          made.add(dir);
        }
        const file = join(dir, segments[2]!);
        await writeFile(file, toRecoveredYaml(obj), { mode: 0o600, flag: 'wx' });
        result.files.push(file);
        result.written++;
        progress.add();
      }
    }
    progress.finish();
    await writeFile(join(o.output, 'recover-report.txt'), formatRecoverReport(result, o.output), { mode: 0o600, flag: 'wx' });
    return result;
  } finally {
    engine.close();
    wipeEncryptionConfigurationKeys(config);
    await source.close();
  }
}

export function formatRecoverReport(r: RecoverResult, output: string): string {
  const lines = [`recovered ${r.written} objects; ${r.failures.length} could not be recovered`];
  const byReason = new Map<string, number>();
  for (const f of r.failures) byReason.set(f.reason, (byReason.get(f.reason) ?? 0) + 1);
  for (const [reason, n] of byReason) lines.push(`  ${reason}: ${n}`);
  for (const f of r.failures) lines.push(`failed ${f.key}: ${f.reason}: ${f.detail}`);
  // Namespaces first: a directory walk would reach a namespace whose name sorts before "_cluster" too early.
  const cluster = r.files.some((f) => f.startsWith(join(output, '_cluster')));
  lines.push(`apply with: ${cluster ? `kubectl apply -R -f ${join(output, '_cluster')} && ` : ''}kubectl apply -R -f ${output}`);
  return `${lines.join('\n')}\n`;
}
