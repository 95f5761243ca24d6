// What an attacker holds. Each column of the table is one capability (or, for the integrity columns, one use of
// datastore write access); an attack receives only the capabilities it declares (see target.ts restrictTarget).

export type Capability = 'disk' | 'ram' | 'etcd' | 'kms-server' | 'config-file' | 'kms-socket' | 'datastore-write';

/** Capabilities inside the cluster: the ones a combination may pair with (kms-server is the design's root of trust). */
export const IN_CLUSTER: readonly Capability[] = ['disk', 'ram', 'etcd', 'config-file', 'kms-socket'];

export type Column = 'disk' | 'ram' | 'etcd' | 'kms-server' | 'config-file' | 'kms-socket' | 'relocate' | 'replay' | 'bit-flip';

export const CONFIDENTIALITY_COLUMNS = ['disk', 'ram', 'etcd', 'kms-server', 'config-file', 'kms-socket'] as const;
export const INTEGRITY_COLUMNS = ['relocate', 'replay', 'bit-flip'] as const;
export const ALL_COLUMNS: readonly Column[] = [...CONFIDENTIALITY_COLUMNS, ...INTEGRITY_COLUMNS];
/** The seed's own four columns. */
export const SEED_COLUMNS: readonly Column[] = ['disk', 'ram', 'etcd', 'kms-server'];

export function isIntegrityColumn(c: Column): c is (typeof INTEGRITY_COLUMNS)[number] {
  return (INTEGRITY_COLUMNS as readonly string[]).includes(c);
}

export const COLUMN_TITLES: Record<Column, string> = {
  disk: 'Disk',
  ram: 'RAM',
  etcd: 'etcd',
  'kms-server': 'KMS server',
  'config-file': 'config file',
  'kms-socket': 'KMS socket',
  relocate: 'relocate',
  replay: 'replay',
  'bit-flip': 'bit-flip',
};

/** Exactly what the attacker gets, as the report states it. */
export const COLUMN_DESCRIPTIONS: Record<Column, string> = {
  disk:
    "an offline copy of the control-plane node's disk: Coffer's data directory, its configuration files (EncryptionConfiguration, " +
    'KMS plugin configuration and credentials) and etcd\'s data directory; not what real systems keep off the disk (a file-system ' +
    "unlock key in a TPM or passphrase, the key server's root key); credentials found on it (a KMS plugin's key-server token, a " +
    "SecretStore's token Secret in the datastore) are replayed against the key server",
  ram:
    "a dump of the API server process's memory (/proc/PID/mem, as gcore) after a restart and a client listing every Secret, plus " +
    'the stored bytes that process can read',
  etcd:
    'read access to the datastore as `etcdctl get --prefix` or a datastore backup gives it (SQLite: the database read directly, without the API server); ' +
    "a SecretStore's token Secret found there is replayed against its key server",
  'kms-server': "full control of the key server: its data directory and its root key - alone (transit/decrypt under every key, every KV v2 secret)",
  'config-file': 'only the EncryptionConfiguration (e.g. leaked from configuration management)',
  'kms-socket': "a process on the node that can call the KMS plugin's unix socket",
  relocate: 'datastore write access: copy one Secret\'s stored value to another Secret\'s key',
  replay: 'datastore write access: put back an older stored value of the same key',
  'bit-flip': 'datastore write access: flip one bit inside the stored value (in AES-CBC, the block before the data value\'s tail)',
};

export function parseColumns(list: string): Column[] {
  const out: Column[] = [];
  for (const raw of list.split(',').map((s) => s.trim()).filter(Boolean)) {
    if (!(ALL_COLUMNS as readonly string[]).includes(raw)) {
      throw new Error(`--columns: unknown column ${JSON.stringify(raw)} (known: ${ALL_COLUMNS.join(', ')})`);
    }
    out.push(raw as Column);
  }
  return out;
}
