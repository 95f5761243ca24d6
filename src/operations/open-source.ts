// One place that turns the source flags every operations command shares into a Source.
import type { Command } from 'commander';
import { InvalidError } from '../lib/errors.js';
import { openEtcdSource, parseEndpoints } from './etcd-source.js';
import { openSnapshotSource } from './snapshot-source.js';
import type { Source } from './source.js';
import { openSqliteSource } from './sqlite-source.js';

export interface SourceFlags {
  etcdEndpoints?: string;
  cacert?: string;
  cert?: string;
  key?: string;
  snapshot?: string;
  dataDir?: string;
  storeEncryptionKeyFile?: string;
  etcdPrefix: string;
}

export function addSourceOptions(cmd: Command): Command {
  return cmd
    .option('--etcd-endpoints <urls>', 'read a live etcd (comma-separated client URLs), read-only')
    .option('--cacert <file>', 'CA bundle of the etcd servers (as etcdctl --cacert)')
    .option('--cert <file>', 'client certificate for etcd (as etcdctl --cert)')
    .option('--key <file>', 'client key for etcd (as etcdctl --key)')
    .option('--snapshot <file>', 'read an etcd snapshot file (etcdctl snapshot save)')
    .option('--data-dir <dir>', "read Coffer's SQLite store (coffer up --data-dir), also while coffer up runs")
    .option('--store-encryption-key-file <file>', 'key of an encrypted SQLite store (coffer up --store-encryption-key-file)')
    .option('--etcd-prefix <prefix>', "the API server's --etcd-prefix", '/registry');
}

/** Which source the flags name; exactly one of them, or none when `optional`. */
export function chosenSource(f: SourceFlags): 'etcd' | 'snapshot' | 'sqlite' | undefined {
  const given = [f.etcdEndpoints && 'etcd', f.snapshot && 'snapshot', f.dataDir && 'sqlite'].filter(Boolean) as ('etcd' | 'snapshot' | 'sqlite')[];
  if (given.length > 1) {
    throw new InvalidError(`give one source, not ${given.length}: --etcd-endpoints, --snapshot or --data-dir`, { field: 'source' });
  }
  if (given[0] !== 'etcd' && (f.cacert || f.cert || f.key)) throw new InvalidError('--cacert, --cert and --key go with --etcd-endpoints', { field: '--cacert' });
  if (given[0] !== 'sqlite' && f.storeEncryptionKeyFile) throw new InvalidError('--store-encryption-key-file goes with --data-dir', { field: '--store-encryption-key-file' });
  return given[0];
}

export async function openSourceFromFlags(f: SourceFlags): Promise<Source> {
  switch (chosenSource(f)) {
    case 'etcd':
      return openEtcdSource({
        endpoints: parseEndpoints(f.etcdEndpoints!),
        ...(f.cacert ? { cacert: f.cacert } : {}),
        ...(f.cert ? { cert: f.cert } : {}),
        ...(f.key ? { key: f.key } : {}),
      });
    case 'snapshot':
      return openSnapshotSource(f.snapshot!);
    case 'sqlite':
      return openSqliteSource({ dataDir: f.dataDir!, ...(f.storeEncryptionKeyFile ? { storeEncryptionKeyFile: f.storeEncryptionKeyFile } : {}) });
    default:
      throw new InvalidError('name what to read: --etcd-endpoints URLS, --snapshot FILE or --data-dir DIR', { field: 'source' });
  }
}
