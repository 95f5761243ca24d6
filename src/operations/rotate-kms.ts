// `coffer rotate kms-v2`: rotating the key encryption key behind a KMS v2 provider. The DEK seeds stay wrapped by the
// old KEK version until rewritten, so: rotate the KEK in the backend (Transit's rotate on coffer keyserver or Vault;
// for pkcs11, run `coffer rotate-kek` first and give --backend none), wait until the plugin reports the new key_id and
// the API server writes with it, rewrite only the stale objects, check that none is left, and only then raise the
// Transit key's min_decryption_version so the old version can no longer unwrap anything. Each stage is recorded in
// `<config>.kms-rotation.json`; running the command again continues where it stopped.
import { readFile } from 'node:fs/promises';
import { readEncryptionConfigurationFile, wipeEncryptionConfigurationKeys } from '../encryption/encryption-config.js';
import { providersFor } from '../encryption/encryption-config-resolution.js';
import { keyIdHash } from '../kms/kms-v2-encrypted-object.js';
import { GrpcKmsV2Client } from '../kms/grpc-v2-client.js';
import { CofferError, InvalidError } from '../lib/errors.js';
import { VaultHttpClient, vaultError } from '../lib/vault/vault-http-client.js';
import { KubeClient } from './kube-client.js';
import { kmsStateFileOf, readKmsRotationState, type KmsRotationState } from './kms-rotation-state.js';
import { chosenSource, openSourceFromFlags, type SourceFlags } from './open-source.js';
import { writePrivateJson } from '../lib/private-file.js';
import { rewriteOne, targetOfKey } from './reencrypt.js';
import { runReencrypt, staleFindings } from './reencrypt-run.js';
import { normalizeEtcdPrefix } from './source.js';
import { classifyStoredValue } from './stored-value.js';

export interface KmsRotateOptions {
  encryptionConfig: string;
  kubeconfig: string;
  source: SourceFlags;
  resource: string;
  backend: 'keyserver' | 'none';
  vaultAddr?: string;
  vaultTokenFile?: string;
  transitKey: string;
  qps: number;
  concurrency: number;
  /** How long the API server may take to notice the new key_id (its KMS v2 Status period; upstream 60 s). */
  waitMs: number;
  /** Start another rotation after a finished one (a plain repeat of a finished rotation does nothing). */
  again?: boolean;
  log: (line: string) => void;
}

/** How long one call to the key server may take. */
const KEYSERVER_CALL_TIMEOUT_MS = 30_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function transit(o: KmsRotateOptions, method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
  const token = (await readFile(o.vaultTokenFile!, 'utf8')).trim();
  const res = await new VaultHttpClient({ address: o.vaultAddr!.replace(/\/+$/, ''), timeoutMs: KEYSERVER_CALL_TIMEOUT_MS }).request(method, path, { token, body });
  if (res.status < 200 || res.status > 299) throw vaultError(`key server: ${method} /v1/${path}`, res);
  return res.body ?? {};
}

async function latestVersion(o: KmsRotateOptions): Promise<number> {
  const key = await transit(o, 'GET', `transit/keys/${encodeURIComponent(o.transitKey)}`);
  return Number((key.data as { latest_version?: number } | undefined)?.latest_version);
}

/** The KMS v2 provider that writes the resource, and its plugin's current key_id. */
async function pluginKeyId(o: KmsRotateOptions): Promise<{ name: string; keyId: string }> {
  const config = await readEncryptionConfigurationFile(o.encryptionConfig);
  wipeEncryptionConfigurationKeys(config);
  const first = providersFor(config, '', o.resource)?.[0];
  if (!first || first.type !== 'kms' || first.apiVersion !== 'v2') {
    throw new CofferError(`the first provider for ${o.resource} in ${o.encryptionConfig} is not KMS v2; rotate local keys with coffer rotate prepare`);
  }
  const client = new GrpcKmsV2Client(first.endpoint, { timeoutMs: 5_000 });
  try {
    const status = await client.status();
    if (status.healthz !== 'ok') throw new CofferError(`KMS plugin ${first.name} is not healthy: ${status.healthz}`);
    return { name: first.name, keyId: status.keyId };
  } finally {
    client.close();
  }
}

/** Rewrites one stale object until the source shows it under the plugin's current key_id: the API server writes with it. */
async function waitForServerKeyId(o: KmsRotateOptions, current: string): Promise<void> {
  const stale = await staleFindings({ source: o.source, encryptionConfig: o.encryptionConfig, resources: [o.resource] });
  if (stale.length === 0) return;
  const prefix = normalizeEtcdPrefix(o.source.etcdPrefix);
  const probe = stale[0]!.key;
  const target = targetOfKey(probe, prefix);
  const client = await KubeClient.fromFile(o.kubeconfig);
  try {
    const rp = await client.resourcePath(o.resource);
    const deadline = Date.now() + o.waitMs;
    for (let attempt = 0; ; attempt++) {
      await rewriteOne(client, rp, target, 5, () => {});
      const source = await openSourceFromFlags(o.source);
      let keyId: string | undefined;
      try {
        for await (const e of source.entries(probe)) {
          const f = e.key === probe ? classifyStoredValue(e.value) : undefined;
          if (f?.kind === 'kms-v2') keyId = f.keyId;
        }
      } finally {
        await source.close();
      }
      if (keyId === undefined || keyId === current) return; // deleted meanwhile, or written with the new key_id
      if (Date.now() > deadline) {
        throw new CofferError(`the API server still writes with key_id ${keyIdHash(keyId)} after ${o.waitMs / 1000} s; is its KMS v2 Status period longer?`);
      }
      if (attempt % 15 === 0) o.log(`waiting for the API server to write with the new key_id (its KMS v2 Status period; up to ${o.waitMs / 1000} s)`);
      await sleep(1_000);
    }
  } finally {
    client.close();
  }
}

export async function rotateKmsV2(o: KmsRotateOptions): Promise<KmsRotationState> {
  if (chosenSource(o.source) === undefined) throw new InvalidError('give a source to find the stale objects: --etcd-endpoints or --data-dir', { field: 'source' });
  if (o.backend === 'keyserver' && (!o.vaultAddr || !o.vaultTokenFile)) {
    throw new InvalidError('--backend keyserver needs --vault-addr and --vault-token-file', { field: '--vault-addr' });
  }
  let state = await readKmsRotationState(o.encryptionConfig);
  if (state?.stage === 'finished' && !o.again) {
    o.log(`the last rotation finished${state.latestVersion ? ` (transit key version ${state.latestVersion})` : ''}; give --again to rotate once more`);
    return state;
  }
  if (!state || state.stage === 'finished') {
    const before = await pluginKeyId(o);
    let latest: number | undefined;
    if (o.backend === 'keyserver') {
      await transit(o, 'POST', `transit/keys/${encodeURIComponent(o.transitKey)}/rotate`);
      latest = await latestVersion(o);
      o.log(`rotated transit key ${o.transitKey} to version ${latest}`);
    }
    state = { coffer: 'kms-rotation', version: 1, stage: 'rotated', before: keyIdHash(before.keyId), ...(latest ? { latestVersion: latest } : {}) };
    await writePrivateJson(kmsStateFileOf(o.encryptionConfig), state);
  }
  if (state.stage === 'rotated') {
    // The plugin caches its backend's answer for a while; wait for the key_id to change.
    const deadline = Date.now() + o.waitMs;
    let now = await pluginKeyId(o);
    while (o.backend === 'keyserver' && keyIdHash(now.keyId) === state.before) {
      if (Date.now() > deadline) throw new CofferError(`the KMS plugin still reports the old key_id after ${o.waitMs / 1000} s`);
      await sleep(500);
      now = await pluginKeyId(o);
    }
    o.log(`plugin ${now.name} reports key_id ${keyIdHash(now.keyId)}`);
    await waitForServerKeyId(o, now.keyId);
    const { summary, stillStale } = await runReencrypt({
      kubeconfig: o.kubeconfig, resources: [o.resource], source: o.source, encryptionConfig: o.encryptionConfig,
      onlyStale: true, qps: o.qps, concurrency: o.concurrency, log: o.log,
    });
    o.log(`reencrypt: ${summary.rewritten} rewritten, ${summary.failed.length} failed`);
    if (summary.failed.length > 0 || (stillStale?.length ?? 0) > 0) {
      throw new CofferError(`${summary.failed.length} objects failed and ${stillStale?.length ?? 0} are still stale; run the command again`);
    }
    state = { ...state, stage: 'reencrypted' };
    await writePrivateJson(kmsStateFileOf(o.encryptionConfig), state);
  }
  if (state.stage === 'reencrypted') {
    if (o.backend === 'keyserver' && state.latestVersion) {
      // Nothing is wrapped by an older version any more (the scan above found no stale object).
      await transit(o, 'POST', `transit/keys/${encodeURIComponent(o.transitKey)}/config`, { min_decryption_version: state.latestVersion });
      o.log(`raised min_decryption_version of ${o.transitKey} to ${state.latestVersion}`);
    }
    state = { ...state, stage: 'finished' };
    await writePrivateJson(kmsStateFileOf(o.encryptionConfig), state);
  }
  return state;
}
