// The seed's own table, for the side-by-side comparison. The seed text (the Trousseau project's comparison page)
// keeps the legend, the row names and the notes, but its cells were icons that did not survive the conversion to
// text. The cells below are those of the page the seed was taken from (the same legend, rows, notes [1]-[3]; mkdocs
// icons material-close = ✗, material-check = ✓, material-check-all = ✓✓); the footnote markers sit on the rows in the
// seed text because they stood in these cells. When the seed file is readable, its row names and notes are checked
// against this copy and the comparison says so.
import { readFile } from 'node:fs/promises';
import type { RowId } from './rows.js';
import type { Mark } from './verdict.js';

export interface SeedRow {
  row: RowId;
  /** The row's name in the seed. */
  name: string;
  cells: Record<'disk' | 'ram' | 'etcd' | 'kms-server', { mark: Mark; note?: string }>;
}

export const SEED_NOTES: Record<string, string> = {
  '[1]': 'including offline attack if encryption key is not recovered',
  '[2]': 'only if KMS Provider Plugin is configured with no caching otherwise DEKs will be in memory and in clear text',
  '[3]': 'if the KMS is compromised, the DEKs can be decrypted allowing to decrypt the Secrets. Mitigation would be required to lockdown the platform.',
};

export const SEED_LEGEND: readonly string[] = [
  '✗ used when does not mitigate the related component',
  '✓ used when mitigate has caveat(s)',
  '✓✓ used when mitigation has no caveat',
  'Disk: if control plane node disk is compromised online (access to the node) or offline (access to a copy/backup)',
  'RAM: if the memory allocation is compromised online (via a process like the API Server) or offline (memory dump from backup)',
  'etcd: if the etcd data store is compromised (access via etcdctl) or offline (access to a copy/backup)',
  'KMS server: if Key Management Service server is compromised',
];

const X = { mark: '✗' as const };
export const SEED_TABLE: readonly SeedRow[] = [
  { row: 'fse', name: 'File System Encryption', cells: { disk: { mark: '✓✓' }, ram: X, etcd: X, 'kms-server': X } },
  { row: 'native', name: 'Native Kubernetes Secrets', cells: { disk: X, ram: X, etcd: X, 'kms-server': X } },
  { row: 'eso', name: 'External Secrets Operator', cells: { disk: X, ram: X, etcd: X, 'kms-server': X } },
  { row: 'encryption-at-rest', name: 'Encryption at rest', cells: { disk: X, ram: X, etcd: { mark: '✓', note: '[1]' }, 'kms-server': X } },
  {
    row: 'kms',
    name: 'KMS Provider with Plugin for external KMS',
    cells: { disk: { mark: '✓✓' }, ram: { mark: '✓', note: '[2]' }, etcd: { mark: '✓✓' }, 'kms-server': { mark: '✓', note: '[3]' } },
  },
];

/** The seed document as text, when the user names it (COFFER_SEED_FILE); users normally have only the copy above. */
export const SEED_FILE_CANDIDATES = process.env.COFFER_SEED_FILE ? [process.env.COFFER_SEED_FILE] : [];

/** Checks the copy above against the seed text: every row name and note must be in it. */
export async function checkSeedFile(paths: readonly string[] = SEED_FILE_CANDIDATES): Promise<string> {
  for (const p of paths) {
    const text = await readFile(p, 'utf8').catch(() => undefined);
    if (text === undefined) continue;
    const missing = [...SEED_TABLE.map((r) => r.name), ...Object.values(SEED_NOTES)].filter((s) => !text.includes(s));
    return missing.length === 0
      ? `row names and notes match ${p} (its cells are icons lost in the text; taken from the page it was converted from)`
      : `WARNING: the seed document ${p} differs from the copy built into Coffer (src/lab/seed-table.ts): it lacks ${missing.map((m) => JSON.stringify(m)).join(', ')}`;
  }
  return "no seed document was given (COFFER_SEED_FILE), so its table is the copy built into Coffer (src/lab/seed-table.ts), not checked against the document";
}
