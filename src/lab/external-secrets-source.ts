// The External Secrets row as it is deployed for real: the canaries live in the key server's KV v2 store (the seed's
// KMS server), a SecretStore (vault provider -> `coffer keyserver`, KV v2 at secret/, token from a Secret) and one
// ExternalSecret per canary are applied through the API, and `coffer controller` - its own process, as ESO runs in
// its own pod - syncs them into native Secrets. The lab checks that the Secrets it then attacks are the controller's
// (owned by their ExternalSecret, labelled as managed, holding the KV value); it writes none of them itself.
import type { ChildProcess } from 'node:child_process';
import { secretPath, type ApiClient } from './api-client.js';
import type { Canary } from './canary.js';
import { stopChild } from './cleanup.js';
import { KV_MOUNT, spawnCoffer, vaultMust, type LabKeyserver } from './keyserver-process.js';

export const ESO_GROUP_VERSION = 'external-secrets.io/v1';
export const SECRET_STORE_NAME = 'keyserver';
export const TOKEN_SECRET_NAME = 'keyserver-token';
/** The KV v2 folder the canaries are written under (`secret/data/lab/canary-1`, ...). */
const KV_FOLDER = 'lab';
const POLICY = 'lab-external-secrets';
const SYNC_TIMEOUT_MS = 30_000;

export const kvKeyOf = (c: Canary): string => `${KV_FOLDER}/${c.name}`;

/**
 * The key server's side, as its administrator sets it up with the root token: each canary as a KV v2 secret, and a
 * token for the SecretStore that may read only those (a policy on secret/data/lab/*, Vault's default policy for
 * lookup-self). Returns that token; the caller plants it in a Secret and wipes it.
 */
export async function provisionKvSource(ks: LabKeyserver, canaries: readonly Canary[], signal: AbortSignal): Promise<Buffer> {
  const root = await ks.rootToken();
  for (const c of canaries) {
    (await vaultMust(ks.url, root, 'POST', `${KV_MOUNT}/data/${kvKeyOf(c)}`, { data: { [c.dataKey]: c.value.toString('latin1') } }, signal)).body.fill(0);
  }
  const policy = `path "${KV_MOUNT}/data/${KV_FOLDER}/*" { capabilities = ["read"] }\n`;
  (await vaultMust(ks.url, root, 'PUT', `sys/policies/acl/${POLICY}`, { policy }, signal)).body.fill(0);
  const made = await vaultMust(ks.url, root, 'POST', 'auth/token/create', { policies: [POLICY], period: '24h', display_name: 'external-secrets' }, signal);
  const token = (made.json?.auth as { client_token?: string } | undefined)?.client_token;
  made.body.fill(0);
  if (!token) throw new Error('key server: auth/token/create returned no client_token');
  return Buffer.from(token, 'latin1');
}

/** The cluster's side, through the API as `kubectl apply` would: the token Secret, the SecretStore, one ExternalSecret per canary. */
export async function applyExternalSecrets(client: ApiClient, serverUrl: string, token: Buffer, canaries: readonly Canary[], namespace: string, signal: AbortSignal): Promise<void> {
  await client.must('POST', secretPath(namespace), {
    body: { apiVersion: 'v1', kind: 'Secret', metadata: { name: TOKEN_SECRET_NAME, namespace }, type: 'Opaque', data: { token: token.toString('base64') } },
    signal,
  });
  await client.must('POST', `/apis/${ESO_GROUP_VERSION}/namespaces/${namespace}/secretstores`, {
    body: {
      apiVersion: ESO_GROUP_VERSION,
      kind: 'SecretStore',
      metadata: { name: SECRET_STORE_NAME, namespace },
      spec: { provider: { vault: { server: serverUrl, path: KV_MOUNT, version: 'v2', auth: { tokenSecretRef: { name: TOKEN_SECRET_NAME, key: 'token' } } } } },
    },
    signal,
  });
  await applyCanaryExternalSecrets(client, canaries, namespace, signal);
}

/** One ExternalSecret per canary, reading its key from the SecretStore named SECRET_STORE_NAME (any provider). */
export async function applyCanaryExternalSecrets(client: ApiClient, canaries: readonly Canary[], namespace: string, signal: AbortSignal): Promise<void> {
  for (const c of canaries) {
    await client.must('POST', `/apis/${ESO_GROUP_VERSION}/namespaces/${namespace}/externalsecrets`, {
      body: {
        apiVersion: ESO_GROUP_VERSION,
        kind: 'ExternalSecret',
        metadata: { name: c.name, namespace },
        spec: {
          refreshInterval: '1h',
          secretStoreRef: { name: SECRET_STORE_NAME, kind: 'SecretStore' },
          target: { name: c.name },
          data: [{ secretKey: c.dataKey, remoteRef: { key: kvKeyOf(c), property: c.dataKey } }],
        },
      },
      signal,
    });
  }
}

export interface RunningController {
  pid: number;
  logTail(): string;
  stop(): Promise<void>;
}

/** `coffer controller --kubeconfig FILE` as its own process; resolves once its caches are filled and it reconciles. */
export async function startController(kubeconfig: string, onChild?: (c: ChildProcess) => void, env?: Record<string, string>): Promise<RunningController> {
  const p = await spawnCoffer(['controller', '--kubeconfig', kubeconfig, '--log-level', 'info'], /external-secrets controller started/, onChild, 'stderr', undefined, env);
  return { pid: p.child.pid!, logTail: p.errTail, stop: () => stopChild(p.child) };
}

interface SyncedSecret {
  metadata?: { labels?: Record<string, string>; ownerReferences?: { kind?: string; name?: string }[] };
  data?: Record<string, string>;
}

/**
 * Waits until the controller has written every canary's Secret, and checks each is the controller's: owned by its
 * ExternalSecret, labelled `reconcile.external-secrets.io/managed`, holding exactly the KV value. Returns a note.
 */
export async function waitForSync(client: ApiClient, canaries: readonly Canary[], controller: RunningController, signal: AbortSignal): Promise<string> {
  const started = Date.now();
  const pending = new Set(canaries);
  while (pending.size > 0) {
    for (const c of [...pending]) {
      const res = await client.request('GET', secretPath(c.namespace, c.name), { signal });
      if (res.status === 404) continue;
      if (res.status !== 200) throw new Error(`GET Secret ${c.namespace}/${c.name}: HTTP ${res.status}`);
      const s = JSON.parse(res.body.toString('utf8')) as SyncedSecret;
      res.body.fill(0);
      const owner = s.metadata?.ownerReferences?.find((o) => o.kind === 'ExternalSecret' && o.name === c.name);
      const managed = s.metadata?.labels?.['reconcile.external-secrets.io/managed'] === 'true';
      const value = Buffer.from(s.data?.[c.dataKey] ?? '', 'base64');
      const same = value.equals(c.value);
      value.fill(0);
      if (!owner || !managed || !same) {
        throw new Error(`Secret ${c.namespace}/${c.name} is not the controller's sync of its ExternalSecret (owner ${Boolean(owner)}, managed label ${managed}, KV value ${same})`);
      }
      pending.delete(c);
    }
    if (pending.size === 0) break;
    if (Date.now() - started > SYNC_TIMEOUT_MS) {
      throw new Error(`coffer controller (pid ${controller.pid}) did not sync ${pending.size} ExternalSecret(s) within ${SYNC_TIMEOUT_MS / 1000} s: ${controller.logTail().slice(-600)}`);
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  return `${canaries.length} ExternalSecret(s) synced by coffer controller (pid ${controller.pid}) in ${((Date.now() - started) / 1000).toFixed(1)} s: each Secret owned by its ExternalSecret, labelled managed, holding the KV value`;
}

