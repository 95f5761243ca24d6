// The implementations under test: the seed's five rows, each with its variants. A variant is one real deployment
// (its own temp dir, processes and canaries); the first variant of a row is its default, the one the ✗ rule reads.

export type RowId = 'fse' | 'native' | 'eso' | 'encryption-at-rest' | 'kms';

export type Provider = 'identity' | 'aescbc' | 'aesgcm' | 'secretbox' | 'kms';

export interface VariantSpec {
  /** Unique across the lab, e.g. `aescbc/sqlite`. */
  id: string;
  row: RowId;
  /** One line for the report: what differs in this variant. */
  label: string;
  store: 'sqlite' | 'etcd';
  provider: Provider;
  /** The kms row's plugin backend is aws-kms (against the AWS test double), with these node credentials. */
  awsKms?: 'static' | 'web-identity';
  /** Coffer's --kms-no-dek-cache. */
  kmsNoDekCache?: boolean;
  /** The KMS plugin's key-server token in a file on the node disk (earlier `coffer up`), not handed over on stdin. */
  kmsTokenOnDisk?: boolean;
  /** The plugin answers Encrypt/Decrypt only to coffer up (`--kms-caller-auth`, a caller secret handed over on stdin). */
  kmsCallerAuth?: boolean;
  /** SQLCipher on the embedded store, the unlock key outside the node's disk. */
  sqlcipher?: boolean;
  /** etcd's data directory on a gocryptfs mount (password outside the node's disk). */
  gocryptfs?: boolean;
  /**
   * Where the canaries live for `coffer controller` to sync into Secrets (ExternalSecrets): the key server's KV v2 store
   * (vault provider) or AWS Secrets Manager (aws provider, the AWS test double).
   */
  externalSecrets?: 'keyserver' | 'aws-secrets-manager';
  /**
   * Where the EncryptionConfiguration lives: on the node's disk (as kube-apiserver's --encryption-provider-config
   * usually is) or elsewhere (a tmpfs, a secret store): then the disk copy lacks the key.
   */
  configOnDisk: boolean;
}

export interface RowSpec {
  id: RowId;
  title: string;
  variants: VariantSpec[];
}

const v = (id: string, row: RowId, label: string, rest: Omit<VariantSpec, 'id' | 'row' | 'label' | 'configOnDisk'> & { configOnDisk?: boolean }): VariantSpec => ({
  id,
  row,
  label,
  configOnDisk: true,
  ...rest,
});

export const ROWS: readonly RowSpec[] = [
  {
    id: 'fse',
    title: 'File System Encryption',
    variants: [
      v('sqlcipher/sqlite', 'fse', 'SQLite store encrypted with SQLCipher, key outside the node disk; identity provider', { store: 'sqlite', provider: 'identity', sqlcipher: true }),
      v('gocryptfs/etcd', 'fse', "etcd's data directory on gocryptfs, password outside the node disk; identity provider", { store: 'etcd', provider: 'identity', gocryptfs: true }),
    ],
  },
  {
    id: 'native',
    title: 'Native Kubernetes Secrets',
    variants: [
      v('identity/sqlite', 'native', 'identity provider, embedded SQLite store', { store: 'sqlite', provider: 'identity' }),
      v('identity/etcd', 'native', 'identity provider, etcd', { store: 'etcd', provider: 'identity' }),
    ],
  },
  {
    id: 'eso',
    title: 'External Secrets Operator',
    variants: [v('eso/sqlite', 'eso', 'coffer controller (its own process) syncs one ExternalSecret per canary from coffer keyserver KV v2 (SecretStore: vault provider, token in a Secret) into native Secrets (identity)', { store: 'sqlite', provider: 'identity', externalSecrets: 'keyserver' })],
  },
  {
    id: 'encryption-at-rest',
    title: 'Encryption at rest',
    variants: [
      v('aescbc/sqlite', 'encryption-at-rest', 'aescbc, key in the EncryptionConfiguration on the node disk', { store: 'sqlite', provider: 'aescbc' }),
      v('aesgcm/sqlite', 'encryption-at-rest', 'aesgcm, key in the EncryptionConfiguration on the node disk', { store: 'sqlite', provider: 'aesgcm' }),
      v('secretbox/sqlite', 'encryption-at-rest', 'secretbox, key in the EncryptionConfiguration on the node disk', { store: 'sqlite', provider: 'secretbox' }),
      v('aescbc/etcd', 'encryption-at-rest', 'aescbc on etcd', { store: 'etcd', provider: 'aescbc' }),
    ],
  },
  {
    id: 'kms',
    title: 'KMS Provider with Plugin for external KMS',
    variants: [
      v('kms-v2/sqlite', 'kms', "KMS v2 with the DEK (seed) cache on, as upstream; the plugin's token handed over wrapped on stdin, never on disk (coffer up's default)", { store: 'sqlite', provider: 'kms' }),
      v('kms-v2-no-dek-cache/sqlite', 'kms', "KMS v2 with --kms-no-dek-cache (Coffer's option)", { store: 'sqlite', provider: 'kms', kmsNoDekCache: true }),
      v('kms-v2/etcd', 'kms', 'KMS v2 with the DEK cache on, etcd', { store: 'etcd', provider: 'kms' }),
    ],
  },
];

/**
 * Variants outside the default table, selectable by id with --rows: the same deployment with one thing changed, to
 * show that a verdict follows the evidence (the key kept off the node's disk turns the disk cell from ✗ to ✓).
 */
export const EXTRA_VARIANTS: readonly VariantSpec[] = [
  v('aescbc-key-off-disk/sqlite', 'encryption-at-rest', 'aescbc, the EncryptionConfiguration kept off the node disk', { store: 'sqlite', provider: 'aescbc', configOnDisk: false }),
  v('kms-v2-caller-auth/sqlite', 'kms', "KMS v2 as coffer up's default, and the plugin answers Encrypt/Decrypt only to coffer up: a caller secret minted per start, handed to both over stdin, never on disk (--kms-caller-auth)", { store: 'sqlite', provider: 'kms', kmsCallerAuth: true }),
  v('kms-v2-token-on-disk/sqlite', 'kms', "KMS v2, the plugin's key-server token in a file on the node disk (coffer up before the wrapped hand-over)", { store: 'sqlite', provider: 'kms', kmsTokenOnDisk: true }),
  v('kms-v2-aws-kms/sqlite', 'kms', 'KMS v2, plugin backend aws-kms (AWS test double), a static access key pair on the node disk', { store: 'sqlite', provider: 'kms', awsKms: 'static' }),
  v('eso-aws-secrets-manager/sqlite', 'eso', 'coffer controller syncs one ExternalSecret per canary from AWS Secrets Manager (AWS test double; SecretStore: aws provider, access key pair in a Secret) into native Secrets (identity)', { store: 'sqlite', provider: 'identity', externalSecrets: 'aws-secrets-manager' }),
  v('kms-v2-aws-kms-web-identity/sqlite', 'kms', 'KMS v2, plugin backend aws-kms (AWS test double), a web identity token file on the node disk', { store: 'sqlite', provider: 'kms', awsKms: 'web-identity' }),
];

export function parseRows(list: string): RowSpec[] {
  const wanted = list.split(',').map((s) => s.trim()).filter(Boolean);
  const out: RowSpec[] = [];
  for (const w of wanted) {
    const row = ROWS.find((r) => r.id === w);
    if (row) {
      if (!out.includes(row)) out.push(row);
      continue;
    }
    // A single variant, e.g. `aescbc/sqlite`: its row with only that variant.
    const hit = [
      ...ROWS.flatMap((r) => r.variants.map((variant) => ({ r, variant }))),
      ...EXTRA_VARIANTS.map((variant) => ({ r: ROWS.find((r) => r.id === variant.row)!, variant })),
    ].find((x) => x.variant.id === w);
    if (!hit) throw new Error(`--rows: unknown row or variant ${JSON.stringify(w)} (rows: ${ROWS.map((r) => r.id).join(', ')})`);
    const existing = out.find((r) => r.id === hit.r.id);
    if (existing) existing.variants.push(hit.variant);
    else out.push({ ...hit.r, variants: [hit.variant] });
  }
  return out;
}
