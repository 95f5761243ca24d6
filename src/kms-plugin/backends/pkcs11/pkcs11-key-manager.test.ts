// Against a real SoftHSM token (Debian softhsm2 + opensc): round trips, key attributes, rotation, key_id errors.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { DecryptError, EncryptError, NotFoundError, UnavailableError } from '../../../lib/errors.js';
import type { KeyManager } from '../../key-manager.js';
import { ck, describePkcs11Error, Pkcs11Module } from './pkcs11-module.js';
import { createPkcs11KeyManager, rotatePkcs11Key } from './pkcs11-key-manager.js';
import { useSoftHsm, type SoftHsm } from './softhsm-token.js';
import { TokenSession } from './token-session.js';

const run = promisify(execFile);
const call = () => ({ uid: 'test', signal: AbortSignal.timeout(10_000) });
const seed = () => Buffer.from(Array.from({ length: 32 }, (_, i) => i * 7));

let hsm: SoftHsm;
const managers: KeyManager[] = [];
const settings = (keyLabel: string, extra: Record<string, unknown> = {}) => ({
  module: hsm.modulePath,
  tokenLabel: 'coffer-main',
  pinFile: hsm.tokens[0]!.pinFile,
  keyLabel,
  generateKey: true,
  ...extra,
});
async function manager(keyLabel: string, extra: Record<string, unknown> = {}): Promise<KeyManager> {
  const m = await createPkcs11KeyManager(settings(keyLabel, extra));
  managers.push(m);
  return m;
}

before(async () => {
  hsm = await useSoftHsm(['coffer-main']);
});
after(async () => {
  for (const m of managers) await m.close();
  await hsm.cleanup();
});

void describe('pkcs11 key manager on SoftHSM', () => {
  void it('round-trips with aes-gcm: iv || ciphertext || tag, fresh IV every time', async () => {
    const m = await manager('kek-gcm');
    const a = await m.encrypt(seed(), call());
    const b = await m.encrypt(seed(), call());
    assert.match(a.keyId, /^pkcs11:kek-gcm:v1:gcm:[0-9a-f]{16}$/);
    assert.equal(a.keyId, b.keyId);
    assert.equal(a.ciphertext.length, 12 + 32 + 16);
    assert.notDeepEqual(a.ciphertext, b.ciphertext);
    const back = await m.decrypt(a.ciphertext, { ...call(), keyId: a.keyId, annotations: {} });
    assert.deepEqual(Buffer.from(back), seed());
    assert.deepEqual(await m.status({ signal: AbortSignal.timeout(10_000) }), { healthy: true, keyId: a.keyId });
  });

  void it('round-trips with aes-kwp (RFC 5649; SoftHSM 2.6 offers it as CKM_AES_KEY_WRAP_PAD)', async () => {
    const m = await manager('kek-kwp', { mechanism: 'aes-kwp' });
    const a = await m.encrypt(seed(), call());
    assert.match(a.keyId, /^pkcs11:kek-kwp:v1:kwp(-pad)?:[0-9a-f]{16}$/);
    assert.equal(a.ciphertext.length, 32 + 8);
    const back = await m.decrypt(a.ciphertext, { ...call(), keyId: a.keyId, annotations: {} });
    assert.deepEqual(Buffer.from(back), seed());
    // Deterministic, as RFC 5649 is.
    assert.deepEqual((await m.encrypt(seed(), call())).ciphertext, a.ciphertext);
    await assert.rejects(m.encrypt(Buffer.alloc(20, 1), call()), (e: unknown) => {
      assert.ok(e instanceof EncryptError);
      assert.match(e.message, /multiple of 8 bytes, got 20/);
      return true;
    });
  });

  void it('keeps decrypting after the mechanism changes, because the key_id names the algorithm', async () => {
    const gcm = await manager('kek-switch');
    const old = await gcm.encrypt(seed(), call());
    const kwp = await manager('kek-switch', { mechanism: 'aes-kwp' });
    const now = await kwp.encrypt(seed(), call());
    assert.notEqual(now.keyId, old.keyId);
    assert.equal(now.keyId.split(':').slice(0, 3).join(':'), old.keyId.split(':').slice(0, 3).join(':'));
    assert.deepEqual(Buffer.from(await kwp.decrypt(old.ciphertext, { ...call(), keyId: old.keyId, annotations: {} })), seed());
    assert.deepEqual(Buffer.from(await gcm.decrypt(now.ciphertext, { ...call(), keyId: now.keyId, annotations: {} })), seed());
  });

  void it('creates the KEK inside the token: sensitive, never extractable, CKA_VALUE unreadable', async () => {
    await manager('kek-attrs');
    const pinFile = hsm.tokens[0]!.pinFile;
    const session = new TokenSession(Pkcs11Module.acquire(hsm.modulePath), { tokenLabel: 'coffer-main' }, pinFile);
    try {
      await session.use((s) => {
        s.lib.C_FindObjectsInit(s.handle, [{ type: ck.CKA_LABEL, value: 'kek-attrs:v1' }]);
        const [key] = s.lib.C_FindObjects(s.handle, 2);
        s.lib.C_FindObjectsFinal(s.handle);
        assert.ok(key);
        assert.throws(() => s.lib.C_GetAttributeValue(s.handle, key, [{ type: ck.CKA_VALUE }]), (e: unknown) => {
          assert.equal(describePkcs11Error(e), 'CKR_ATTRIBUTE_SENSITIVE');
          return true;
        });
        const flags = [ck.CKA_TOKEN, ck.CKA_SENSITIVE, ck.CKA_ALWAYS_SENSITIVE, ck.CKA_EXTRACTABLE, ck.CKA_NEVER_EXTRACTABLE];
        const values = s.lib.C_GetAttributeValue(s.handle, key, flags.map((type) => ({ type })));
        assert.deepEqual(values.map((v) => v.value[0]), [1, 1, 1, 0, 1]);
      });
    } finally {
      session.drop();
    }
    // The same, as an operator sees it with OpenSC's tool.
    const pin = (await readFile(pinFile, 'utf8')).trim();
    const { stdout } = await run(
      'pkcs11-tool',
      ['--module', hsm.modulePath, '--token-label', 'coffer-main', '--login', '--pin', pin, '--list-objects', '--type', 'secrkey'],
      { env: hsm.env },
    ).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') throw new Error('pkcs11-tool not found: install the Debian package opensc');
      throw e;
    });
    const entry = stdout.split(/\n(?=Secret Key Object)/).find((o) => o.includes('label:      kek-attrs:v1'));
    assert.ok(entry, stdout);
    assert.match(entry, /AES length 32/);
    assert.match(entry, /Access:\s+sensitive, always sensitive, never extractable, local/);
  });

  void it('rotation adds a version: new key_id after status(), old ciphertexts still decrypt', async () => {
    const m = await manager('kek-rot');
    const v1 = await m.encrypt(seed(), call());
    const rotated = await rotatePkcs11Key(settings('kek-rot'));
    assert.equal(rotated.label, 'kek-rot:v2');
    assert.match(rotated.keyId, /^pkcs11:kek-rot:v2:gcm:[0-9a-f]{16}$/);
    // Encrypt keeps the key_id Status last reported until the next Status, as KMS v2 expects.
    assert.equal((await m.encrypt(seed(), call())).keyId, v1.keyId);
    assert.deepEqual(await m.status({ signal: AbortSignal.timeout(10_000) }), { healthy: true, keyId: rotated.keyId });
    const v2 = await m.encrypt(seed(), call());
    assert.equal(v2.keyId, rotated.keyId);
    assert.notEqual(v2.keyId.split(':')[4], v1.keyId.split(':')[4]);
    for (const { ciphertext, keyId } of [v1, v2]) {
      assert.deepEqual(Buffer.from(await m.decrypt(ciphertext, { ...call(), keyId, annotations: {} })), seed());
    }
    // A ciphertext is bound to its key_id: presented under another version it fails.
    await assert.rejects(m.decrypt(v1.ciphertext, { ...call(), keyId: v2.keyId, annotations: {} }), DecryptError);
  });

  void it('rejects key_ids that are malformed, of another family, or of no key on the token', async () => {
    const m = await manager('kek-gcm');
    const { ciphertext, keyId } = await m.encrypt(seed(), call());
    const fingerprint = keyId.split(':')[4]!;
    const cases: [string, RegExp][] = [
      ['nope', /key_id "nope" is not a pkcs11 key id/],
      [keyId.replace('kek-gcm', 'kek-rot'), /names key family "kek-rot", but this plugin uses keyLabel "kek-gcm"/],
      [`pkcs11:kek-gcm:v9:gcm:${fingerprint}`, /no key version 9 with that fingerprint on token "coffer-main"/],
      [`pkcs11:kek-gcm:v1:gcm:0123456789abcdef`, /no key version 1 with that fingerprint/],
    ];
    for (const [bad, text] of cases) {
      await assert.rejects(m.decrypt(ciphertext, { ...call(), keyId: bad, annotations: {} }), (e: unknown) => {
        assert.ok(e instanceof DecryptError, String(e));
        assert.match(e.message, text);
        return true;
      });
    }
  });

  void it('reports a corrupted ciphertext as a DecryptError (SoftHSM says CKR_GENERAL_ERROR)', async () => {
    for (const mechanism of ['aes-gcm', 'aes-kwp']) {
      const m = await manager(`kek-${mechanism}-tamper`, { mechanism });
      const { ciphertext, keyId } = await m.encrypt(seed(), call());
      for (const at of [0, 20, ciphertext.length - 1]) {
        const bad = Buffer.from(ciphertext);
        bad[at]! ^= 0x01;
        await assert.rejects(m.decrypt(bad, { ...call(), keyId, annotations: {} }), (e: unknown) => {
          assert.ok(e instanceof DecryptError, String(e));
          assert.match(e.message, /failed authentication .*\[CKR_GENERAL_ERROR\]/);
          return true;
        });
      }
      await assert.rejects(m.decrypt(ciphertext.subarray(0, 10), { ...call(), keyId, annotations: {} }), /10 bytes/);
      // The session survives a failed operation.
      assert.deepEqual(Buffer.from(await m.decrypt(ciphertext, { ...call(), keyId, annotations: {} })), seed());
    }
  });

  void it('uses a key made by hand (pkcs11-tool) under the bare label as version 0', async () => {
    const pin = (await readFile(hsm.tokens[0]!.pinFile, 'utf8')).trim();
    await run(
      'pkcs11-tool',
      ['--module', hsm.modulePath, '--token-label', 'coffer-main', '--login', '--pin', pin,
        '--keygen', '--key-type', 'AES:32', '--label', 'kek-manual', '--id', 'c0ffee', '--sensitive'],
      { env: hsm.env },
    );
    const m = await manager('kek-manual', { generateKey: false });
    const { ciphertext, keyId } = await m.encrypt(seed(), call());
    assert.match(keyId, /^pkcs11:kek-manual:v0:gcm:[0-9a-f]{16}$/);
    assert.deepEqual(Buffer.from(await m.decrypt(ciphertext, { ...call(), keyId, annotations: {} })), seed());
  });

  void it('fails to start without a key when generateKey is false, naming the fix', async () => {
    await assert.rejects(createPkcs11KeyManager(settings('kek-absent', { generateKey: false })), (e: unknown) => {
      assert.ok(e instanceof NotFoundError, String(e));
      assert.match(e.message, /no AES key labelled "kek-absent".*generateKey: true/);
      return true;
    });
  });

  void it('fails to start with a module that is not a PKCS#11 library, naming it', async () => {
    await assert.rejects(createPkcs11KeyManager(settings('kek-gcm', { module: '/no/such/libpkcs11.so' })), (e: unknown) => {
      assert.ok(e instanceof UnavailableError, String(e));
      assert.match(e.message, /cannot load PKCS#11 module \/no\/such\/libpkcs11\.so/);
      return true;
    });
  });
});
