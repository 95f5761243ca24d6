// The token's output matches the standards, checked with a throwaway key of known value (a session object made
// only for this test; real KEKs are never extractable): AES-256-GCM as node:crypto computes it, and RFC 5649.
import assert from 'node:assert/strict';
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { chooseAlgorithm, decryptWithKey, encryptWithKey } from './aes-mechanisms.js';
import { ck, Pkcs11Module, type Handle } from './pkcs11-module.js';
import { useSoftHsm, type SoftHsm } from './softhsm-token.js';
import { TokenSession, type OpenSession } from './token-session.js';

let hsm: SoftHsm;
let session: TokenSession;
let module: Pkcs11Module;
const KEY = randomBytes(32);

function knownKey(s: OpenSession): Handle {
  return s.lib.C_CreateObject(s.handle, [
    { type: ck.CKA_CLASS, value: ck.CKO_SECRET_KEY },
    { type: ck.CKA_KEY_TYPE, value: ck.CKK_AES },
    { type: ck.CKA_TOKEN, value: false },
    { type: ck.CKA_VALUE, value: KEY },
    { type: ck.CKA_ENCRYPT, value: true },
    { type: ck.CKA_DECRYPT, value: true },
    { type: ck.CKA_WRAP, value: true },
    { type: ck.CKA_UNWRAP, value: true },
  ]);
}

before(async () => {
  hsm = await useSoftHsm(['coffer-vectors']);
  module = Pkcs11Module.acquire(hsm.modulePath);
  session = new TokenSession(module, { tokenLabel: 'coffer-vectors' }, hsm.tokens[0]!.pinFile);
});
after(async () => {
  session.drop();
  module.release();
  await hsm.cleanup();
});

void describe('AES mechanisms on SoftHSM', () => {
  void it('aes-gcm output is iv || ciphertext || tag of AES-256-GCM with the key_id as AAD', async () => {
    const plaintext = randomBytes(32);
    const aad = Buffer.from('pkcs11:kek:v1:gcm:0011223344556677');
    const sealed = await session.use((s) => encryptWithKey(s, knownKey(s), 'gcm', plaintext, aad));
    const d = createDecipheriv('aes-256-gcm', KEY, sealed.subarray(0, 12));
    d.setAAD(aad);
    d.setAuthTag(sealed.subarray(-16));
    assert.deepEqual(Buffer.concat([d.update(sealed.subarray(12, -16)), d.final()]), plaintext);
  });

  void it('aes-kwp output is RFC 5649 key wrap with padding, and unwraps', async () => {
    const plaintext = randomBytes(32);
    const algorithm = await session.use((s) => chooseAlgorithm('aes-kwp', s));
    assert.ok('algorithm' in algorithm);
    // SoftHSM 2.6 has no CKM_AES_KEY_WRAP_KWP (0x210B); it implements RFC 5649 as CKM_AES_KEY_WRAP_PAD (0x210A).
    assert.equal(algorithm.algorithm, 'kwp-pad');
    const [wrapped, unwrapped] = await session.use((s) => {
      const key = knownKey(s);
      const w = encryptWithKey(s, key, algorithm.algorithm, plaintext, Buffer.alloc(0));
      return [w, decryptWithKey(s, key, algorithm.algorithm, w, Buffer.alloc(0))];
    });
    const c = createCipheriv('id-aes256-wrap-pad', KEY, Buffer.from('a65959a6', 'hex'));
    assert.deepEqual(wrapped, Buffer.concat([c.update(plaintext), c.final()]));
    assert.deepEqual(unwrapped, plaintext);
  });
});
