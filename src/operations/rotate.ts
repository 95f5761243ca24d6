// `coffer rotate`: the k3s secrets-encrypt state machine for the local keys of an EncryptionConfiguration file that
// one or more API servers reload: prepare (a new key, second: every server can read it before any writes it) →
// promote (the new key first, once every server has the prepared file) → reencrypt (every object rewritten, once
// every server writes with the new key) → prune (the old key removed, refused while any object is still under it).
// The stage is kept in `<config>.rotation.json` beside the file; each step is safe to repeat and a wrong order is
// refused with the reason and the next step.
import { readFile } from 'node:fs/promises';
import { readEncryptionConfigurationFile, wipeEncryptionConfigurationKeys } from '../encryption/encryption-config.js';
import { CofferError, InvalidError } from '../lib/errors.js';
import { addKeySecond, hasKey, LOCAL_TYPES, promoteKey, readRawConfig, removeKey, ruleIndexFor, writeRawConfig, writingKey, type KeyRef, type LocalType } from './config-file-edit.js';
import { KMS_ROTATION_NEXT, readKmsRotationState, type KmsRotationStage } from './kms-rotation-state.js';
import { KubeClient } from './kube-client.js';
import { chosenSource, openSourceFromFlags, type SourceFlags } from './open-source.js';
import { runReencrypt } from './reencrypt-run.js';
import { scanSource } from './scan.js';
import { normalizeEtcdPrefix } from './source.js';
import { writePrivateJson } from '../lib/private-file.js';

export type RotationStage = 'start' | 'prepared' | 'promoted' | 'reencrypted' | 'pruned';

export interface RotationState {
  coffer: 'rotation';
  version: 1;
  stage: Exclude<RotationStage, 'start'>;
  resource: string;
  from: KeyRef;
  to: KeyRef;
  /** The configuration hash each stage wrote; servers must report it before the next stage. */
  hashes: Partial<Record<'prepared' | 'promoted' | 'pruned', string>>;
  /** When the file of the current stage was written (ms since epoch). */
  writtenAt: number;
}

export interface RotateContext {
  encryptionConfig: string;
  /** API servers that load the file: each must report the file's hash before the next stage. */
  kubeconfigs: string[];
  /** Without the apiserver_encryption_config_controller_last_config_info metric, how long a server may take to reload. */
  reloadIntervalMs: number;
  log: (line: string) => void;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

const NEXT: Record<RotationStage, string> = {
  start: 'coffer rotate prepare',
  prepared: 'coffer rotate promote',
  promoted: 'coffer rotate reencrypt',
  reencrypted: 'coffer rotate prune',
  pruned: 'nothing (rotation finished; coffer rotate prepare starts the next one)',
};

export const stateFileOf = (config: string) => `${config}.rotation.json`;

export async function readRotationState(config: string): Promise<RotationState | undefined> {
  const text = await readFile(stateFileOf(config), 'utf8').catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return undefined;
    throw e;
  });
  if (text === undefined) return undefined;
  const state = JSON.parse(text) as RotationState;
  if (state.coffer !== 'rotation' || state.version !== 1) throw new CofferError(`${stateFileOf(config)} is not a coffer rotation state file`);
  return state;
}

function refuse(stage: RotationStage, step: string, why: string): never {
  throw new CofferError(`cannot ${step}: the rotation is at stage "${stage}"; ${why}. Next step: ${NEXT[stage]}`);
}

const describeKey = (k: KeyRef) => `${k.type} key ${JSON.stringify(k.name)}`;

/** The config hash a server reports in kube-apiserver's apiserver_encryption_config_controller_last_config_info. */
async function reportedHash(client: KubeClient): Promise<string | undefined | null> {
  const res = await client.request('GET', '/metrics');
  if (res.status !== 200) return null;
  const m = /^apiserver_encryption_config_controller_last_config_info\{[^}]*hash="([^"]+)"[^}]*\}\s+1/m.exec(res.body.toString('utf8'));
  return m ? m[1] : undefined;
}

/** Waits until every API server has loaded the file with `hash`: by its metric when it has one, else by elapsed time. */
async function waitForServers(ctx: RotateContext, hash: string, writtenAt: number): Promise<void> {
  const now = ctx.now ?? Date.now;
  const sleep = ctx.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  for (const file of ctx.kubeconfigs) {
    const client = await KubeClient.fromFile(file);
    try {
      const deadline = now() + Math.max(ctx.reloadIntervalMs * 3, 30_000);
      for (;;) {
        const reported = await reportedHash(client);
        if (reported === hash) break;
        if (reported === undefined || reported === null) {
          // No hash metric (Coffer's own server, older kube-apiservers): a server that polls the file reloads it within
          // one interval of the write.
          const wait = writtenAt + ctx.reloadIntervalMs - now();
          if (wait > 0) {
            ctx.log(`${client.server} reports no configuration hash; waiting ${Math.ceil(wait / 1000)} s (--reload-interval) for it to reload the file`);
            await sleep(wait);
          }
          break;
        }
        if (now() > deadline) throw new CofferError(`${client.server} still reports configuration ${reported}, not ${hash}: did it fail to reload the file? (see its log)`);
        await sleep(1_000);
      }
    } finally {
      client.close();
    }
  }
}

async function saveState(config: string, state: RotationState): Promise<void> {
  await writePrivateJson(stateFileOf(config), state);
}

export async function rotatePrepare(ctx: RotateContext, opts: { resource: string; type?: LocalType; keyName?: string; now?: number }): Promise<RotationState> {
  const state = await readRotationState(ctx.encryptionConfig);
  const { raw } = await readRawConfig(ctx.encryptionConfig);
  const rule = ruleIndexFor(raw, opts.resource);
  if (state && state.stage !== 'pruned') {
    if (state.stage === 'prepared' && hasKey(raw, rule, state.to)) {
      ctx.log(`already prepared: ${describeKey(state.to)} is second; next: ${NEXT.prepared}`);
      return state;
    }
    refuse(state.stage, 'prepare', `a rotation from ${describeKey(state.from)} to ${describeKey(state.to)} is in progress`);
  }
  const from = writingKey(raw, rule);
  if (!from) {
    throw new CofferError(`the first provider for ${opts.resource} is not aescbc, aesgcm or secretbox; rotate a KMS v2 key encryption key with coffer rotate kms-v2`);
  }
  const type = opts.type ?? from.type;
  if (!LOCAL_TYPES.includes(type)) throw new InvalidError(`must be aescbc, aesgcm or secretbox, got ${JSON.stringify(type)}`, { field: '--provider' });
  const stamp = new Date(opts.now ?? Date.now()).toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');
  const to: KeyRef = { type, name: opts.keyName ?? `key-${stamp}` };
  if (hasKey(raw, rule, to)) throw new InvalidError(`the configuration already has ${describeKey(to)}`, { field: '--key-name' });
  addKeySecond(raw, rule, to);
  const hash = await writeRawConfig(ctx.encryptionConfig, raw);
  const next: RotationState = { coffer: 'rotation', version: 1, stage: 'prepared', resource: opts.resource, from, to, hashes: { prepared: hash }, writtenAt: Date.now() };
  await saveState(ctx.encryptionConfig, next);
  ctx.log(`prepared: ${describeKey(to)} added second (reads only); ${describeKey(from)} still writes. Configuration ${hash}`);
  return next;
}

export async function rotatePromote(ctx: RotateContext): Promise<RotationState> {
  const state = await readRotationState(ctx.encryptionConfig);
  const stage: RotationStage = state?.stage ?? 'start';
  if (!state || stage === 'start' || stage === 'pruned') refuse(stage, 'promote', 'no new key has been prepared');
  if (stage === 'promoted') {
    ctx.log(`already promoted: ${describeKey(state.to)} writes; next: ${NEXT.promoted}`);
    return state;
  }
  if (stage !== 'prepared') refuse(stage, 'promote', `${describeKey(state.to)} was already promoted`);
  // Every server must be able to read the new key before any server writes with it.
  await waitForServers(ctx, state.hashes.prepared!, state.writtenAt);
  const { raw } = await readRawConfig(ctx.encryptionConfig);
  const rule = ruleIndexFor(raw, state.resource);
  if (!hasKey(raw, rule, state.to)) throw new CofferError(`${describeKey(state.to)} is no longer in ${ctx.encryptionConfig}; was the file edited by hand?`);
  promoteKey(raw, rule, state.to);
  const hash = await writeRawConfig(ctx.encryptionConfig, raw);
  const next: RotationState = { ...state, stage: 'promoted', hashes: { ...state.hashes, promoted: hash }, writtenAt: Date.now() };
  await saveState(ctx.encryptionConfig, next);
  // Said only once the servers write with it: an object created right after this step must be under the new key.
  await waitForServers(ctx, hash, next.writtenAt);
  ctx.log(`promoted: ${describeKey(state.to)} writes; ${describeKey(state.from)} reads only. Configuration ${hash}`);
  return next;
}

export interface RotateReencryptOptions {
  source: SourceFlags;
  qps: number;
  concurrency: number;
}

/** Counts objects still written by `key` in the source. */
async function countUnder(source: SourceFlags, config: string, resource: string, key: KeyRef): Promise<{ count: number; keys: string[] }> {
  const cfg = await readEncryptionConfigurationFile(config);
  const s = await openSourceFromFlags(source);
  try {
    const scan = await scanSource(s, { prefix: normalizeEtcdPrefix(source.etcdPrefix), config: cfg, resources: [resource] });
    wipeEncryptionConfigurationKeys(cfg);
    const label = `${key.type}/${key.name}`;
    const keys = scan.findings.filter((f) => f.writer === label).map((f) => f.key);
    return { count: scan.resources.reduce((n, r) => n + (r.byWriter[label] ?? 0), 0), keys };
  } finally {
    await s.close();
  }
}

export async function rotateReencrypt(ctx: RotateContext, opts: RotateReencryptOptions): Promise<RotationState> {
  const state = await readRotationState(ctx.encryptionConfig);
  const stage: RotationStage = state?.stage ?? 'start';
  if (!state || stage === 'start' || stage === 'pruned') refuse(stage, 'reencrypt', 'no rotation is in progress');
  if (stage === 'prepared') refuse(stage, 'reencrypt', `${describeKey(state.to)} does not write yet, so rewriting would keep ${describeKey(state.from)}`);
  if (ctx.kubeconfigs.length === 0) throw new InvalidError('reencrypt needs an API server to rewrite through', { field: '--kubeconfig' });
  // Every server must write with the new key, or a rewrite through a lagging one would keep the old key.
  await waitForServers(ctx, state.hashes.promoted!, state.writtenAt);
  const hasSource = chosenSource(opts.source) !== undefined;
  const { summary, stillStale } = await runReencrypt({
    kubeconfig: ctx.kubeconfigs[0]!,
    resources: [state.resource],
    source: opts.source,
    encryptionConfig: ctx.encryptionConfig,
    onlyStale: hasSource,
    qps: opts.qps,
    concurrency: opts.concurrency,
    log: ctx.log,
  });
  ctx.log(`reencrypt: ${summary.rewritten} rewritten, ${summary.deleted} deleted meanwhile, ${summary.failed.length} failed`);
  if (summary.failed.length > 0) throw new CofferError(`reencrypt: ${summary.failed.length} objects failed (first: ${summary.failed[0]!.target}: ${summary.failed[0]!.error}); run coffer rotate reencrypt again`);
  if (stillStale && stillStale.length > 0) throw new CofferError(`reencrypt: ${stillStale.length} objects are still stale (first: ${stillStale[0]!.key}); run coffer rotate reencrypt again`);
  const next: RotationState = { ...state, stage: 'reencrypted' };
  await saveState(ctx.encryptionConfig, next);
  return next;
}

export async function rotatePrune(ctx: RotateContext, opts: { source: SourceFlags }): Promise<RotationState> {
  const state = await readRotationState(ctx.encryptionConfig);
  const stage: RotationStage = state?.stage ?? 'start';
  if (!state || stage === 'start') refuse(stage, 'prune', 'no rotation is in progress');
  if (stage === 'pruned') {
    ctx.log(`already pruned: ${describeKey(state.from)} was removed`);
    return state;
  }
  if (stage !== 'reencrypted') refuse(stage, 'prune', `objects may still be stored under ${describeKey(state.from)}; removing it would make them unreadable`);
  if (chosenSource(opts.source) === undefined) {
    throw new InvalidError('prune needs a source to check that no object is left under the old key: --etcd-endpoints, --snapshot or --data-dir', { field: 'source' });
  }
  const left = await countUnder(opts.source, ctx.encryptionConfig, state.resource, state.from);
  if (left.count > 0) {
    throw new CofferError(`cannot prune: ${left.count} objects are still under ${describeKey(state.from)} (first: ${left.keys[0]}); run coffer rotate reencrypt`);
  }
  const { raw } = await readRawConfig(ctx.encryptionConfig);
  removeKey(raw, ruleIndexFor(raw, state.resource), state.from);
  const hash = await writeRawConfig(ctx.encryptionConfig, raw);
  const next: RotationState = { ...state, stage: 'pruned', hashes: { ...state.hashes, pruned: hash }, writtenAt: Date.now() };
  await saveState(ctx.encryptionConfig, next);
  ctx.log(`pruned: ${describeKey(state.from)} removed. Configuration ${hash}`);
  return next;
}

/** The KEK rotation of a KMS v2 provider (`coffer rotate kms-v2`), beside the local-key rotation. */
export interface KmsRotationStatus {
  stage: KmsRotationStage;
  next: string;
  latestVersion?: number;
}

export async function rotationStatus(
  config: string,
): Promise<{ stage: RotationStage; state?: RotationState; next: string; writes?: KeyRef; kms?: KmsRotationStatus }> {
  const [state, kmsState] = await Promise.all([readRotationState(config), readKmsRotationState(config)]);
  const { raw } = await readRawConfig(config);
  const stage: RotationStage = state?.stage ?? 'start';
  const writes = writingKey(raw, ruleIndexFor(raw, state?.resource ?? 'secrets'));
  const kms = kmsState && {
    stage: kmsState.stage,
    next: KMS_ROTATION_NEXT[kmsState.stage],
    ...(kmsState.latestVersion ? { latestVersion: kmsState.latestVersion } : {}),
  };
  return { stage, ...(state ? { state } : {}), next: NEXT[stage], ...(writes ? { writes } : {}), ...(kms ? { kms } : {}) };
}
