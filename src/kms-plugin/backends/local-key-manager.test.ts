import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { FakeClock } from '../../lib/clock.js';
import { DecryptError, InvalidError, NotFoundError } from '../../lib/errors.js';
import { createLocalKeyManager, LocalKeyManager, localKeyId, readLocalKeyFile } from './local-key-manager.js';

const opts = () => ({ uid: 'u', signal: AbortSignal.timeout(1000) });

void describe('local backend', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'coffer-local-kek-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  void it('reads 32 raw bytes or their base64, and names the file when it holds neither', async () => {
    const key = randomBytes(32);
    await writeFile(join(dir, 'raw'), key);
    await writeFile(join(dir, 'b64'), `${key.toString('base64')}\n`);
    await writeFile(join(dir, 'short'), 'c2hvcnQ=');
    assert.deepEqual(await readLocalKeyFile(join(dir, 'raw'), 'keyFiles[0]'), key);
    assert.deepEqual(await readLocalKeyFile(join(dir, 'b64'), 'keyFiles[0]'), key);
    await assert.rejects(readLocalKeyFile(join(dir, 'short'), 'keyFiles[1]'), (e: Error) => {
      assert.ok(e instanceof InvalidError);
      assert.match(e.message, /^keyFiles\[1\]: key file .*short must hold 32 bytes/);
      return true;
    });
    await assert.rejects(readLocalKeyFile(join(dir, 'missing'), 'keyFiles[2]'), /ENOENT/);
  });

  void it('key id is a domain-separated hash prefix, stable for a key and different between keys', () => {
    const a = Buffer.alloc(32, 1);
    assert.match(localKeyId(a), /^local:sha256:[0-9a-f]{16}$/);
    assert.equal(localKeyId(a), localKeyId(Buffer.alloc(32, 1)));
    assert.notEqual(localKeyId(a), localKeyId(Buffer.alloc(32, 2)));
  });

  void it('rotation: the first key wraps, older listed keys still unwrap, a removed key is NotFound', async () => {
    const k1 = randomBytes(32);
    const k2 = randomBytes(32);
    const before = new LocalKeyManager([k1]);
    const dek = randomBytes(32);
    const old = await before.encrypt(dek);
    const after = new LocalKeyManager([k2, k1]);
    const fresh = await after.encrypt(dek);
    assert.notEqual(fresh.keyId, old.keyId);
    assert.equal((await after.status()).keyId, fresh.keyId);
    assert.deepEqual(Buffer.from(await after.decrypt(old.ciphertext, { ...opts(), keyId: old.keyId, annotations: {} })), dek);
    const dropped = new LocalKeyManager([k2]);
    await assert.rejects(dropped.decrypt(old.ciphertext, { ...opts(), keyId: old.keyId, annotations: {} }), NotFoundError);
    await Promise.all([before.close(), after.close(), dropped.close()]);
  });

  void it('refuses corrupted ciphertext, a key id swapped for another listed key, and annotations', async () => {
    const k1 = randomBytes(32);
    const k2 = randomBytes(32);
    const km = new LocalKeyManager([k1, k2]);
    const r = await km.encrypt(randomBytes(32));
    const bad = Buffer.from(r.ciphertext);
    bad[20]! ^= 1;
    await assert.rejects(km.decrypt(bad, { ...opts(), keyId: r.keyId, annotations: {} }), DecryptError);
    await assert.rejects(km.decrypt(r.ciphertext.subarray(0, 10), { ...opts(), keyId: r.keyId, annotations: {} }), DecryptError);
    await assert.rejects(km.decrypt(r.ciphertext, { ...opts(), keyId: localKeyId(k2), annotations: {} }), DecryptError);
    await assert.rejects(km.decrypt(r.ciphertext, { ...opts(), keyId: r.keyId, annotations: { 'x.example.com': Buffer.from('1') } }), InvalidError);
    await km.close();
  });

  void it('refuses the same key listed twice, and warns loudly at start without key material', async () => {
    assert.throws(() => new LocalKeyManager([Buffer.alloc(32, 9), Buffer.alloc(32, 9)]), /listed twice/);
    const key = randomBytes(32);
    await writeFile(join(dir, 'k'), key.toString('base64'));
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (s: string) => lines.push(s) });
    const km = await createLocalKeyManager({ type: 'local', keyFiles: [join(dir, 'k')] }, { logger, clock: new FakeClock() });
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /DEVELOPMENT ONLY/);
    assert.ok(!lines[0]!.includes(key.toString('base64')));
    assert.ok(!lines[0]!.includes(km.keyIds[0]!), 'key ids are logged as sha256 only');
    await km.close();
  });
});
