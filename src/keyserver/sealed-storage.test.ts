import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3-multiple-ciphers';
import { startKeyserver } from './keyserver.js';
import { loadRootKey } from './root-key.js';
import { SealedStorage, STORAGE_FILE_NAME, WrongRootKeyError } from './sealed-storage.js';
import { vaultCall } from './testing/test-keyserver.js';

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    out.push(...(e.isDirectory() ? await filesUnder(p) : [p]));
  }
  return out;
}

/** Every form a value could leak in: raw, base64, hex. */
function forms(canary: string): Buffer[] {
  const raw = Buffer.from(canary);
  return [raw, Buffer.from(raw.toString('base64').slice(0, 16)), Buffer.from(raw.toString('hex'))];
}

void describe('sealed storage', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'coffer-keyserver-sealed-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  void it('serves kept metadata frozen: a change in place throws, a write or a rolled-back transaction leaves nothing stale', async () => {
    const storage = await SealedStorage.open(join(dir, 'metadata'), randomBytes(32));
    try {
      storage.putJson('transit/policy/k', { name: 'k', latestVersion: 1, versions: { '1': 100 } });
      const first = storage.getMetadataJson<{ name: string; latestVersion: number; versions: Record<string, number> }>('transit/policy/k')!;
      assert.equal(storage.getMetadataJson('transit/policy/k'), first); // parsed once, shared
      assert.throws(() => {
        (first as { latestVersion: number }).latestVersion = 2;
      }, TypeError);
      assert.throws(() => {
        (first.versions as Record<string, number>)['2'] = 200;
      }, TypeError);
      assert.throws(() =>
        storage.transaction(() => {
          storage.putJson('transit/policy/k', { name: 'k', latestVersion: 2, versions: { '1': 100, '2': 200 } });
          throw new Error('roll back');
        }),
      );
      assert.deepEqual(storage.getMetadataJson('transit/policy/k'), { name: 'k', latestVersion: 1, versions: { '1': 100 } });
      storage.putJson('transit/policy/k', { name: 'k', latestVersion: 2, versions: { '1': 100, '2': 200 } });
      assert.equal(storage.getMetadataJson<{ latestVersion: number }>('transit/policy/k')!.latestVersion, 2);
      storage.delete('transit/policy/k');
      assert.equal(storage.getMetadataJson('transit/policy/k'), undefined);
    } finally {
      storage.close();
    }
  });

  void it('keeps no secret, key or token in plaintext on disk or in the audit log, and reads everything back after a restart', async () => {
    const dataDir = join(dir, 'restart');
    const rootKey = randomBytes(32);
    const canary = `canary-${randomBytes(12).toString('hex')}`;
    const first = await startKeyserver({ dataDir, rootKey, listen: '127.0.0.1:0' });
    const root = first.rootToken!;
    const call = (url: string, method: string, path: string, body?: unknown) => vaultCall(url, method, path, { token: root, body });
    assert.equal((await call(first.url, 'PUT', `secret/data/${'app'}`, { data: { password: canary } })).status, 200);
    await call(first.url, 'POST', 'transit/keys/kms', {});
    const enc = await call(first.url, 'POST', 'transit/encrypt/kms', { plaintext: Buffer.from(canary).toString('base64') });
    const ciphertext = enc.body.data.ciphertext as string;
    await call(first.url, 'PUT', 'sys/policies/acl/reader', { policy: 'path "secret/data/*" { capabilities = ["read"] }' });
    const token = (await call(first.url, 'POST', 'auth/token/create', { policies: ['reader'] })).body.auth.client_token;
    await first.close();

    for (const file of await filesUnder(dataDir)) {
      const bytes = await readFile(file);
      for (const needle of [...forms(canary), Buffer.from(root), Buffer.from(token), Buffer.from(ciphertext.slice(9, 40))]) {
        assert.equal(bytes.includes(needle), false, `${file} holds ${needle.toString().slice(0, 12)}...`);
      }
    }
    const audit = await readFile(join(dataDir, 'audit.log'), 'utf8');
    assert.match(audit, /"path":"secret\/data\/app"/);
    assert.match(audit, /"path":"transit\/encrypt\/kms"/);
    const lines = audit.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.ok(lines.every((l) => typeof l.status === 'number' && typeof l.time === 'string' && 'accessor' in l));
    assert.equal((await stat(join(dataDir, STORAGE_FILE_NAME))).mode & 0o777, 0o600);

    const second = await startKeyserver({ dataDir, rootKey, listen: '127.0.0.1:0' });
    try {
      assert.equal(second.rootToken, undefined);
      assert.equal(second.created, false);
      assert.equal((await call(second.url, 'GET', 'secret/data/app')).body.data.data instanceof Object, true);
      assert.deepEqual((await call(second.url, 'GET', 'secret/data/app')).body.data.data, { password: canary });
      const dec = await call(second.url, 'POST', 'transit/decrypt/kms', { ciphertext });
      assert.equal(Buffer.from(dec.body.data.plaintext as string, 'base64').toString(), canary);
      assert.equal((await vaultCall(second.url, 'GET', 'secret/data/app', { token })).status, 200);
    } finally {
      await second.close();
    }
  });

  void it('refuses a wrong root key clearly, before touching anything', async () => {
    const dataDir = join(dir, 'wrong');
    const ks = await startKeyserver({ dataDir, rootKey: randomBytes(32), listen: '127.0.0.1:0' });
    await ks.close();
    const before = await readFile(join(dataDir, STORAGE_FILE_NAME));
    await assert.rejects(startKeyserver({ dataDir, rootKey: randomBytes(32), listen: '127.0.0.1:0' }), (e: Error) => {
      assert.ok(e instanceof WrongRootKeyError);
      assert.match(e.message, /the root key does not open the key server storage .*keyserver\.db: wrong root key file or passphrase/);
      return true;
    });
    assert.deepEqual(await readFile(join(dataDir, STORAGE_FILE_NAME)), before);
  });

  void it('binds each sealed value to its path: a value moved to another path does not open', async () => {
    const dataDir = join(dir, 'moved');
    const rootKey = randomBytes(32);
    const s = await SealedStorage.open(dataDir, rootKey);
    s.putJson('kv/secret/meta/a', { a: 1 });
    s.putJson('kv/secret/meta/b', { b: 2 });
    s.close();
    const db = new Database(join(dataDir, STORAGE_FILE_NAME));
    db.prepare("UPDATE entries SET value = (SELECT value FROM entries WHERE path = 'kv/secret/meta/a') WHERE path = 'kv/secret/meta/b'").run();
    db.close();
    const again = await SealedStorage.open(dataDir, rootKey);
    try {
      assert.deepEqual(again.getJson('kv/secret/meta/a'), { a: 1 });
      assert.throws(() => again.getJson('kv/secret/meta/b'), /cannot open the stored value at "kv\/secret\/meta\/b": it was altered or moved/);
    } finally {
      again.close();
    }
  });
});

void describe('root key', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'coffer-keyserver-rootkey-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  void it('creates a key file only with init, mode 0600, and reads it back', async () => {
    const dataDir = join(dir, 'kf-data');
    const keyFile = join(dir, 'keys', 'root.key');
    await assert.rejects(loadRootKey(dataDir, { keyFile }), /root key file .*root\.key does not exist; pass the init flag \(--init\) to create one/);
    const created = await loadRootKey(dataDir, { keyFile, init: true });
    assert.equal(created.length, 32);
    assert.equal((await stat(keyFile)).mode & 0o777, 0o600);
    assert.deepEqual(await loadRootKey(dataDir, { keyFile }), created);
    const hexFile = join(dir, 'hex.key');
    await writeFile(hexFile, `${created.toString('hex')}\n`, { mode: 0o600 });
    assert.deepEqual(await loadRootKey(dataDir, { keyFile: hexFile }), created);
  });

  void it('refuses a key or passphrase file inside the data directory, and one others can read', async () => {
    const dataDir = join(dir, 'inside');
    await mkdir(dataDir, { recursive: true });
    await assert.rejects(loadRootKey(dataDir, { keyFile: join(dataDir, 'root.key'), init: true }), /is inside the data directory/);
    await assert.rejects(loadRootKey(dataDir, { passphraseFile: join(dataDir, 'sub', 'pass'), init: true }), /is inside the data directory/);
    const loose = join(dir, 'loose.key');
    await writeFile(loose, randomBytes(32));
    await chmod(loose, 0o644);
    await assert.rejects(loadRootKey(dataDir, { keyFile: loose }), /has mode 644; others may read it/);
    const short = join(dir, 'short.key');
    await writeFile(short, randomBytes(5), { mode: 0o600 });
    await assert.rejects(loadRootKey(dataDir, { keyFile: short }), /holds 5 bytes; want 32 raw bytes or 64 hex digits/);
  });

  void it('derives the key from a passphrase with a salt kept in the data directory', async () => {
    const dataDir = join(dir, 'pass-data');
    const pass = join(dir, 'pass.txt');
    await writeFile(pass, 'correct horse battery staple\n', { mode: 0o600 });
    await assert.rejects(loadRootKey(dataDir, { passphraseFile: pass }), /was not initialised with a passphrase; pass --init/);
    const k1 = await loadRootKey(dataDir, { passphraseFile: pass, init: true });
    const k2 = await loadRootKey(dataDir, { passphraseFile: pass });
    assert.deepEqual(k1, k2);
    const ks = await startKeyserver({ dataDir, rootKey: k1, listen: '127.0.0.1:0' });
    await ks.close();
    await writeFile(pass, 'wrong horse battery staple\n', { mode: 0o600 });
    const wrong = await loadRootKey(dataDir, { passphraseFile: pass });
    await assert.rejects(startKeyserver({ dataDir, rootKey: wrong, listen: '127.0.0.1:0' }), WrongRootKeyError);
  });
});
