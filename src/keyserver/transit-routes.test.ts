import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestKeyserver, type Dict, type TestKeyserver } from './testing/test-keyserver.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');

void describe('transit', () => {
  let ks: TestKeyserver;
  before(async () => {
    ks = await startTestKeyserver();
  });
  after(async () => {
    await ks.dispose();
  });
  const encrypt = async (key: string, plaintext: string, extra: Dict = {}) => {
    const r = await ks.call('POST', `transit/encrypt/${key}`, { body: { plaintext: b64(plaintext), ...extra } });
    assert.equal(r.status, 200, r.text);
    return r.body.data as { ciphertext: string; key_version: number };
  };
  const decrypt = (key: string, ciphertext: string) => ks.call('POST', `transit/decrypt/${key}`, { body: { ciphertext } });

  void it('creates a key and reads it back with versions and no key material', async () => {
    const created = await ks.call('POST', 'transit/keys/kms', { body: {} });
    assert.equal(created.status, 200);
    const r = await ks.call('GET', 'transit/keys/kms');
    assert.equal(r.status, 200);
    const d = r.body.data;
    assert.equal(d.name, 'kms');
    assert.equal(d.type, 'aes256-gcm96');
    assert.equal(d.latest_version, 1);
    assert.equal(d.min_decryption_version, 1);
    assert.equal(d.min_encryption_version, 0);
    assert.equal(d.deletion_allowed, false);
    assert.deepEqual(Object.keys(d.keys as Dict), ['1']);
    assert.equal(typeof (d.keys as Dict)['1'], 'number');
    const again = await ks.call('POST', 'transit/keys/kms', { body: {} });
    assert.deepEqual(again.body.warnings, ['key kms already existed']);
    assert.equal((await ks.call('GET', 'transit/keys/missing')).status, 404);
    assert.equal((await ks.call('POST', 'transit/keys/bad', { body: { type: 'rsa-9' } })).status, 400);
  });

  void it('round-trips plaintext in Vault ciphertext format (12-byte nonce, 16-byte tag)', async () => {
    const { ciphertext, key_version } = await encrypt('kms', 'the quick brown fox');
    assert.equal(key_version, 1);
    assert.match(ciphertext, /^vault:v1:[A-Za-z0-9+/]+=*$/);
    assert.equal(Buffer.from(ciphertext.slice('vault:v1:'.length), 'base64').length, 12 + 19 + 16);
    const r = await decrypt('kms', ciphertext);
    assert.equal(r.status, 200);
    assert.equal(r.body.data.plaintext, b64('the quick brown fox'));
    const empty = await encrypt('kms', '');
    assert.equal((await decrypt('kms', empty.ciphertext)).body.data.plaintext, '');
  });

  void it('rotates, keeps old versions decrypting, and enforces min_decryption_version with Vault’s text', async () => {
    await ks.call('POST', 'transit/keys/rot', { body: {} });
    const v1 = await encrypt('rot', 'one');
    const rotated = await ks.call('POST', 'transit/keys/rot/rotate', {});
    assert.equal(rotated.status, 200);
    assert.equal(rotated.body.data.latest_version, 2);
    const v2 = await encrypt('rot', 'two');
    assert.match(v2.ciphertext, /^vault:v2:/);
    assert.equal((await decrypt('rot', v1.ciphertext)).body.data.plaintext, b64('one'));
    const pinned = await encrypt('rot', 'pinned', { key_version: 1 });
    assert.match(pinned.ciphertext, /^vault:v1:/);

    const cfg = await ks.call('POST', 'transit/keys/rot/config', { body: { min_decryption_version: 2 } });
    assert.equal(cfg.status, 200);
    assert.equal(cfg.body.data.min_decryption_version, 2);
    const old = await decrypt('rot', v1.ciphertext);
    assert.equal(old.status, 400);
    assert.deepEqual(old.body.errors, ['ciphertext or signature version is disallowed by policy (too old)']);
    assert.equal((await decrypt('rot', v2.ciphertext)).body.data.plaintext, b64('two'));
    // Versions below min_decryption_version are hidden from read_key, as Vault's path_keys.go does.
    const read = await ks.call('GET', 'transit/keys/rot');
    assert.deepEqual(Object.keys(read.body.data.keys as Dict), ['2']);
  });

  void it('validates config like Vault', async () => {
    await ks.call('POST', 'transit/keys/cfg', { body: {} });
    const cases: [Dict, string][] = [
      [{ min_decryption_version: 3 }, 'cannot set min decryption version of 3, latest key version is 1'],
      [{ min_encryption_version: 2 }, 'cannot set min encryption version of 2, latest key version is 1'],
      [{ min_decryption_version: -1 }, 'min decryption version cannot be negative'],
    ];
    for (const [body, message] of cases) {
      const r = await ks.call('POST', 'transit/keys/cfg/config', { body });
      assert.equal(r.status, 400);
      assert.deepEqual(r.body.errors, [message]);
    }
    await ks.call('POST', 'transit/keys/cfg/rotate', {});
    const r = await ks.call('POST', 'transit/keys/cfg/config', { body: { min_decryption_version: 2, min_encryption_version: 1 } });
    assert.deepEqual(r.body.errors, ['cannot set min encryption/decryption values; min encryption version of 1 must be greater than or equal to min decryption version of 2']);
    const missing = await ks.call('POST', 'transit/keys/nokey/config', { body: { deletion_allowed: true } });
    assert.deepEqual(missing.body.errors, ['no existing key named nokey could be found']);
    const low = await ks.call('POST', 'transit/keys/cfg/config', { body: { min_encryption_version: 2 } });
    assert.equal(low.status, 200);
    const tooLow = await ks.call('POST', 'transit/encrypt/cfg', { body: { plaintext: b64('x'), key_version: 1 } });
    assert.deepEqual(tooLow.body.errors, ['requested version for encryption is less than the minimum encryption key version']);
  });

  void it('answers malformed ciphertexts with Vault’s errors', async () => {
    const cases: [string, string][] = [
      ['', 'missing ciphertext to decrypt'],
      ['foo', 'invalid ciphertext: no prefix'],
      ['vault:v1', 'invalid ciphertext: wrong number of fields'],
      ['vault:vx:AAAA', 'invalid ciphertext: version number could not be decoded'],
      ['vault:v9:AAAA', 'invalid ciphertext: version is too new'],
      ['vault:v1:!!!', 'invalid ciphertext: could not decode base64'],
      ['vault:v1:AAAA', 'invalid ciphertext length'],
      [`vault:v1:${Buffer.alloc(40).toString('base64')}`, 'cipher: message authentication failed'],
    ];
    for (const [ciphertext, message] of cases) {
      const r = await decrypt('kms', ciphertext);
      assert.equal(r.status, 400, ciphertext);
      assert.deepEqual(r.body.errors, [message], ciphertext);
    }
    const noPlaintext = await ks.call('POST', 'transit/encrypt/kms', { body: {} });
    assert.deepEqual(noPlaintext.body.errors, ['missing plaintext to encrypt']);
    const badB64 = await ks.call('POST', 'transit/encrypt/kms', { body: { plaintext: 'ab$d' } });
    assert.deepEqual(badB64.body.errors, ['illegal base64 data at input byte 2']);
    const missingKey = await decrypt('nope', 'vault:v1:AAAA');
    assert.deepEqual(missingKey.body.errors, ['encryption key not found']);
  });

  void it('binds associated_data and derived-key context', async () => {
    const aad = b64('ns/name');
    const { ciphertext } = await encrypt('kms', 'bound', { associated_data: aad });
    assert.equal((await ks.call('POST', 'transit/decrypt/kms', { body: { ciphertext, associated_data: aad } })).body.data.plaintext, b64('bound'));
    assert.deepEqual((await decrypt('kms', ciphertext)).body.errors, ['cipher: message authentication failed']);

    await ks.call('POST', 'transit/keys/derived', { body: { derived: true } });
    const noContext = await ks.call('POST', 'transit/encrypt/derived', { body: { plaintext: b64('x') } });
    assert.equal(noContext.status, 400);
    assert.match(noContext.body.errors![0]!, /^missing 'context' for key derivation/);
    const withContext = await encrypt('derived', 'x', { context: b64('tenant-a') });
    const wrong = await ks.call('POST', 'transit/decrypt/derived', { body: { ciphertext: withContext.ciphertext, context: b64('tenant-b') } });
    assert.deepEqual(wrong.body.errors, ['cipher: message authentication failed']);
    const right = await ks.call('POST', 'transit/decrypt/derived', { body: { ciphertext: withContext.ciphertext, context: b64('tenant-a') } });
    assert.equal(right.body.data.plaintext, b64('x'));
  });

  void it('rewraps to the latest version without revealing plaintext', async () => {
    await ks.call('POST', 'transit/keys/wrap', { body: {} });
    const v1 = await encrypt('wrap', 'secret dek');
    await ks.call('POST', 'transit/keys/wrap/rotate', {});
    const r = await ks.call('POST', 'transit/rewrap/wrap', { body: { ciphertext: v1.ciphertext } });
    assert.equal(r.status, 200);
    assert.equal(r.body.data.key_version, 2);
    assert.equal(r.body.data.plaintext, undefined);
    const rewrapped = r.body.data.ciphertext as string;
    assert.match(rewrapped, /^vault:v2:/);
    assert.equal((await decrypt('wrap', rewrapped)).body.data.plaintext, b64('secret dek'));
  });

  void it('generates data keys, plaintext and wrapped, that decrypt to the same bytes', async () => {
    const r = await ks.call('POST', 'transit/datakey/plaintext/kms', { body: {} });
    assert.equal(r.status, 200);
    const plaintext = r.body.data.plaintext as string;
    assert.equal(Buffer.from(plaintext, 'base64').length, 32);
    assert.equal((await decrypt('kms', r.body.data.ciphertext as string)).body.data.plaintext, plaintext);
    const wrapped = await ks.call('POST', 'transit/datakey/wrapped/kms', { body: { bits: 512 } });
    assert.equal(wrapped.body.data.plaintext, undefined);
    const opened = (await decrypt('kms', wrapped.body.data.ciphertext as string)).body.data.plaintext as string;
    assert.equal(Buffer.from(opened, 'base64').length, 64);
    assert.deepEqual((await ks.call('POST', 'transit/datakey/other/kms', { body: {} })).body.errors, ["Invalid path, must be 'plaintext' or 'wrapped'"]);
    assert.deepEqual((await ks.call('POST', 'transit/datakey/wrapped/kms', { body: { bits: 100 } })).body.errors, ['invalid bit length']);
  });

  void it('processes batches and reports item failures in a 400 success envelope', async () => {
    const r = await ks.call('POST', 'transit/encrypt/kms', { body: { batch_input: [{ plaintext: b64('a'), reference: 'a' }, { plaintext: b64('b') }] } });
    assert.equal(r.status, 200);
    const results = r.body.data.batch_results as { ciphertext: string; reference: string }[];
    assert.equal(results.length, 2);
    assert.equal(results[0]!.reference, 'a');
    const d = await ks.call('POST', 'transit/decrypt/kms', {
      body: { batch_input: [{ ciphertext: results[1]!.ciphertext }, { ciphertext: 'junk', reference: 'bad' }] },
    });
    assert.equal(d.status, 400);
    assert.equal(d.body.errors, undefined);
    const items = d.body.data.batch_results as Dict[];
    assert.equal(items[0]!.plaintext, b64('b'));
    assert.deepEqual(items[1], { plaintext: '', error: 'invalid ciphertext: no prefix', reference: 'bad' });
  });

  void it('lists keys, upserts on encrypt and deletes only when allowed', async () => {
    const list = await ks.call('LIST', 'transit/keys');
    assert.equal(list.status, 200);
    assert.ok((list.body.data.keys as string[]).includes('kms'));
    const viaGet = await ks.call('GET', 'transit/keys?list=true');
    assert.deepEqual(viaGet.body.data.keys, list.body.data.keys);
    await encrypt('upserted', 'hi');
    assert.equal((await ks.call('GET', 'transit/keys/upserted')).status, 200);
    const refused = await ks.call('DELETE', 'transit/keys/upserted');
    assert.deepEqual(refused.body.errors, ['error deleting policy upserted: deletion is not allowed for this key']);
    await ks.call('POST', 'transit/keys/upserted/config', { body: { deletion_allowed: true } });
    assert.equal((await ks.call('DELETE', 'transit/keys/upserted')).status, 204);
    assert.equal((await ks.call('GET', 'transit/keys/upserted')).status, 404);
  });
});
