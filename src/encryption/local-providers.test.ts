import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { AggregateDecryptError, DecryptError, InvalidError } from '../lib/errors.js';
import { cbcEncrypt } from './aes-cbc.js';
import { gcmSeal } from './aes-gcm.js';
import {
  AESCBC_PREFIX,
  AESGCM_PREFIX,
  aesCbcProvider,
  aesGcmProvider,
  identityProvider,
  type LocalKey,
  SECRETBOX_PREFIX,
  secretboxProvider,
} from './local-providers.js';
import {
  NO_MATCHING_AES_KEY,
  NO_MATCHING_PREFIX,
  NO_MATCHING_SECRETBOX_KEY,
  PrefixTransformers,
  type PrefixTransformerEntry,
} from './prefix-transformers.js';
import { secretboxSeal } from './secretbox.js';
import { runTransformerContract } from './transformer.contract.js';
import { contextForKey } from './transformer.js';

interface DerivedVector {
  keyName: string;
  keyB64: string;
  iv?: string;
  nonce?: string;
  aad?: string;
  value: string;
  plaintext: string;
}
const derived = (
  JSON.parse(readFileSync(new URL('../../test/fixtures/encryption-vectors.json', import.meta.url), 'utf8')) as {
    derived: { aescbc: DerivedVector; aesgcm: DerivedVector; secretbox: DerivedVector };
  }
).derived;

const VECTOR_KEY = '/registry/secrets/default/secret1';
const ctxA = contextForKey('/registry/secrets/default/a');
const ctxB = contextForKey('/registry/secrets/default/b');
const key = (name: string, secret: Uint8Array | string): LocalKey => ({
  name,
  secret: typeof secret === 'string' ? Buffer.from(secret, 'base64') : secret,
});
const vectorKey = (v: DerivedVector): LocalKey => key(v.keyName, v.keyB64);
const chain = (...entries: PrefixTransformerEntry[]): PrefixTransformers => new PrefixTransformers(entries);
const text = (u: Uint8Array): string => Buffer.from(u).toString('latin1');
const startsWith = (u: Uint8Array, s: string): boolean => text(u.subarray(0, s.length)) === s;
// A protobuf-encoded object as kube-apiserver stores it without encryption.
const PLAIN_OBJECT = Buffer.from('k8s\x00\x0a\x0c\x0a\x02v1\x12\x06Secret\x12\x04body', 'latin1');

// The "wrong" key: key B of k8s.io/apiserver
// pkg/server/options/encryptionconfig/testdata/valid-configs/aes/aes-cbc-multiple-keys.json
const OTHER_KEY_32 = '+qcnfOFX3aRXM9PuY7lQXDWYIQ3GWUdBc3nYBo91SCA=';

const cases = [
  { name: 'aescbc', v: derived.aescbc, provider: aesCbcProvider, prefix: AESCBC_PREFIX },
  { name: 'aesgcm', v: derived.aesgcm, provider: aesGcmProvider, prefix: AESGCM_PREFIX },
  { name: 'secretbox', v: derived.secretbox, provider: secretboxProvider, prefix: SECRETBOX_PREFIX },
] as const;

void describe('derived vectors through the full provider chain', () => {
  for (const { name, v, provider } of cases) {
    void it(`${name}: reads the vector, alone and before identity`, async () => {
      for (const t of [chain(provider([vectorKey(v)])), chain(provider([vectorKey(v)]), identityProvider())]) {
        const out = await t.fromStorage(Buffer.from(v.value, 'hex'), contextForKey(VECTOR_KEY));
        assert.equal(text(out.data), v.plaintext);
        assert.equal(out.stale, false);
      }
    });
  }

  void it('writes byte-identically to the vectors given the same IV/nonce', () => {
    const pt = Buffer.from(derived.aescbc.plaintext);
    const cbc = derived.aescbc;
    const cbcValue = Buffer.concat([
      Buffer.from(`${AESCBC_PREFIX}${cbc.keyName}:`),
      Buffer.from(cbc.iv!, 'hex'),
      cbcEncrypt(vectorKey(cbc).secret, Buffer.from(cbc.iv!, 'hex'), pt),
    ]);
    assert.equal(cbcValue.toString('hex'), cbc.value);
    const gcm = derived.aesgcm;
    const nonce = Buffer.from(gcm.nonce!, 'hex');
    const gcmValue = Buffer.concat([
      Buffer.from(`${AESGCM_PREFIX}${gcm.keyName}:`),
      nonce,
      gcmSeal(vectorKey(gcm).secret, nonce, pt, Buffer.from(gcm.aad!)),
    ]);
    assert.equal(gcmValue.toString('hex'), gcm.value);
    const sb = derived.secretbox;
    const sbNonce = Buffer.from(sb.nonce!, 'hex');
    const sbValue = Buffer.concat([
      Buffer.from(`${SECRETBOX_PREFIX}${sb.keyName}:`),
      sbNonce,
      secretboxSeal(vectorKey(sb).secret, sbNonce, pt),
    ]);
    assert.equal(sbValue.toString('hex'), sb.value);
  });

  for (const { name, provider, prefix } of cases) {
    void it(`${name}: writes <provider prefix><key 0 name>: and the right length`, async () => {
      const t = chain(provider([key('first', randomBytes(32)), key('second', randomBytes(32))]));
      const stored = await t.toStorage(Buffer.alloc(20), ctxA);
      assert.ok(startsWith(stored, `${prefix}first:`), text(stored.subarray(0, 30)));
      const header = `${prefix}first:`.length;
      const body = { aescbc: 16 + 32, aesgcm: 12 + 20 + 16, secretbox: 24 + 16 + 20 }[name];
      assert.equal(stored.length, header + body);
    });
  }
});

for (const { name, provider } of cases) {
  runTransformerContract(`${name} provider`, () => chain(provider([key('key1', randomBytes(32))])), {
    detectsTampering: name !== 'aescbc',
  });
}

void describe('tampering', () => {
  for (const { name, v, provider, prefix } of cases.filter((c) => c.name !== 'aescbc')) {
    void it(`${name}: one flipped byte anywhere after the prefix is rejected`, async () => {
      const t = chain(provider([vectorKey(v)]));
      const value = Buffer.from(v.value, 'hex');
      const header = `${prefix}${v.keyName}:`.length;
      const expected =
        name === 'aesgcm' ? 'cipher: message authentication failed' : 'output array was not large enough for encryption';
      for (let i = header; i < value.length; i++) {
        const tampered = Buffer.from(value);
        tampered[i] = tampered[i]! ^ 0x04;
        await assert.rejects(t.fromStorage(tampered, contextForKey(VECTOR_KEY)), { message: expected }, `byte ${i}`);
      }
    });
  }

  void it('aescbc is malleable: flipping an IV bit flips the same plaintext bit, and decryption "succeeds"', async () => {
    const v = derived.aescbc;
    const t = chain(aesCbcProvider([vectorKey(v)]));
    const value = Buffer.from(v.value, 'hex');
    const ivStart = `${AESCBC_PREFIX}${v.keyName}:`.length;
    value[ivStart + 0] = value[ivStart + 0]! ^ 0x01; // 'p' -> 'q'
    value[ivStart + 7] = value[ivStart + 7]! ^ 0x20; // 'a' -> 'A'
    const out = await t.fromStorage(value, contextForKey(VECTOR_KEY));
    assert.equal(text(out.data), 'qandas Are the best');
    assert.equal(out.stale, false);
  });
});

void describe('relocation: a value copied to another storage key', () => {
  for (const { name, provider } of cases) {
    const bound = name === 'aesgcm';
    void it(`${name}: ${bound ? 'fails (the key is the AAD)' : 'still decrypts (upstream ignores the AAD)'}`, async () => {
      const t = chain(provider([key('key1', randomBytes(32))]), identityProvider());
      const stored = await t.toStorage(PLAIN_OBJECT, ctxA);
      if (bound) {
        await assert.rejects(t.fromStorage(stored, ctxB), {
          name: 'DecryptError',
          message: 'cipher: message authentication failed',
        });
      } else {
        assert.deepEqual(Buffer.from((await t.fromStorage(stored, ctxB)).data), PLAIN_OBJECT);
      }
    });
  }
});

void describe('key rotation (kubernetes.io encrypt-data task, docs/operations.md)', () => {
  const key1 = key('key1', randomBytes(32));
  const key2 = key('key2', randomBytes(32));

  void it('goes through add-second, promote, remove with the right prefixes and stale flags', async () => {
    // (1) one key, identity kept for old plaintext
    const step1 = chain(aesCbcProvider([key1]), identityProvider());
    const old = await step1.toStorage(PLAIN_OBJECT, ctxA);
    assert.ok(startsWith(old, 'k8s:enc:aescbc:v1:key1:'));
    assert.equal((await step1.fromStorage(old, ctxA)).stale, false);
    const plainRead = await step1.fromStorage(PLAIN_OBJECT, ctxA);
    assert.deepEqual([Buffer.from(plainRead.data), plainRead.stale], [PLAIN_OBJECT, true]);

    // (2) key2 added second: every server can read it, nothing changes yet
    const step2 = chain(aesCbcProvider([key1, key2]), identityProvider());
    assert.equal((await step2.fromStorage(old, ctxA)).stale, false);
    assert.ok(startsWith(await step2.toStorage(PLAIN_OBJECT, ctxA), 'k8s:enc:aescbc:v1:key1:'));

    // (3) key2 first: old data is stale so a rewrite re-encrypts it; new writes use key2
    const step3 = chain(aesCbcProvider([key2, key1]), identityProvider());
    const oldRead = await step3.fromStorage(old, ctxA);
    assert.deepEqual([Buffer.from(oldRead.data), oldRead.stale], [PLAIN_OBJECT, true]);
    const rewritten = await step3.toStorage(oldRead.data, ctxA);
    assert.ok(startsWith(rewritten, 'k8s:enc:aescbc:v1:key2:'));
    assert.equal((await step3.fromStorage(rewritten, ctxA)).stale, false);

    // (4) key1 removed: whatever was not rewritten is lost
    const step4 = chain(aesCbcProvider([key2]), identityProvider());
    assert.deepEqual(Buffer.from((await step4.fromStorage(rewritten, ctxA)).data), PLAIN_OBJECT);
    await assert.rejects(step4.fromStorage(old, ctxA), (err: unknown) => {
      assert.ok(err instanceof DecryptError && !(err instanceof AggregateDecryptError));
      assert.equal(err.message, NO_MATCHING_AES_KEY);
      return true;
    });
  });

  void it('identity first (migrating away): writes plaintext, reads encrypted data as stale and plaintext as fresh', async () => {
    const encrypted = await chain(aesCbcProvider([key1])).toStorage(PLAIN_OBJECT, ctxA);
    const t = chain(identityProvider(), aesCbcProvider([key1]));
    assert.deepEqual(Buffer.from(await t.toStorage(PLAIN_OBJECT, ctxA)), PLAIN_OBJECT);
    const fromEncrypted = await t.fromStorage(encrypted, ctxA);
    assert.deepEqual([Buffer.from(fromEncrypted.data), fromEncrypted.stale], [PLAIN_OBJECT, true]);
    const fromPlain = await t.fromStorage(PLAIN_OBJECT, ctxA);
    assert.deepEqual([Buffer.from(fromPlain.data), fromPlain.stale], [PLAIN_OBJECT, false]);
  });

  void it('without identity, old plaintext is unreadable', async () => {
    const t = chain(aesCbcProvider([key1]), secretboxProvider([key1]));
    await assert.rejects(t.fromStorage(PLAIN_OBJECT, ctxA), { name: 'DecryptError', message: NO_MATCHING_PREFIX });
  });

  void it('reordered providers with different key names (upstream TestCBCKeyRotationWithOverlappingProviders)', async () => {
    const one = aesCbcProvider([key('1', randomBytes(32))]);
    const two = aesCbcProvider([key('2', randomBytes(32))]);
    const before = chain(one, two);
    const written1 = await before.toStorage(PLAIN_OBJECT, ctxA);
    assert.ok(startsWith(written1, 'k8s:enc:aescbc:v1:1:'));
    const after = chain(two, one);
    const written2 = await after.toStorage(PLAIN_OBJECT, ctxA);
    assert.ok(startsWith(written2, 'k8s:enc:aescbc:v1:2:'));
    const r = await after.fromStorage(written1, ctxA);
    assert.deepEqual([Buffer.from(r.data), r.stale], [PLAIN_OBJECT, true]);
    assert.equal((await before.fromStorage(written2, ctxA)).stale, true);
  });

  void it('overlapping providers with the same key name: the first key fails, the second reads, stale', async () => {
    const v = derived.aescbc;
    const wrong = aesCbcProvider([key(v.keyName, OTHER_KEY_32)]);
    const value = Buffer.from(v.value, 'hex');
    // Deterministic for this fixed vector: the wrong key leaves bad padding.
    await assert.rejects(chain(wrong).fromStorage(value, ctxA), DecryptError);
    const r = await chain(wrong, aesCbcProvider([vectorKey(v)])).fromStorage(value, ctxA);
    assert.deepEqual([text(r.data), r.stale], [v.plaintext, true]);
  });
});

void describe('errors of several providers', () => {
  void it('are aggregated, each message included, and identity’s refusal is not among them', async () => {
    const v = derived.aesgcm;
    const t = chain(
      identityProvider(),
      aesGcmProvider([key(v.keyName, randomBytes(16))]),
      aesGcmProvider([key('other', randomBytes(16))]),
      identityProvider(),
    );
    await assert.rejects(t.fromStorage(Buffer.from(v.value, 'hex'), contextForKey(VECTOR_KEY)), (err: unknown) => {
      assert.ok(err instanceof AggregateDecryptError);
      assert.equal(err.message, `[cipher: message authentication failed, ${NO_MATCHING_AES_KEY}]`);
      assert.ok(!err.message.includes('identity'));
      return true;
    });
  });
});

void describe('malformed values', () => {
  const t = chain(
    aesCbcProvider([key('key1', randomBytes(32))]),
    aesGcmProvider([key('key1', randomBytes(32))]),
    secretboxProvider([key('key1', randomBytes(32))]),
  );
  const bytes = (s: string, extra = 0): Buffer => Buffer.concat([Buffer.from(s, 'latin1'), randomBytes(extra)]);
  const SHORT = 'the stored data was shorter than the required size';
  const table: [string, Buffer, string][] = [
    ['empty', bytes(''), NO_MATCHING_PREFIX],
    ['plaintext', PLAIN_OBJECT, NO_MATCHING_PREFIX],
    ['unknown provider', bytes('k8s:enc:kms:v2:x:', 40), NO_MATCHING_PREFIX],
    ['unknown version', bytes('k8s:enc:aesgcm:v2:key1:', 40), NO_MATCHING_PREFIX],
    ['prefix cut short', bytes('k8s:enc:aescbc:v1'), NO_MATCHING_PREFIX],
    ['aescbc, nothing after the prefix', bytes(AESCBC_PREFIX), NO_MATCHING_AES_KEY],
    ['aescbc, unknown key', bytes(`${AESCBC_PREFIX}key2:`, 32), NO_MATCHING_AES_KEY],
    ['aescbc, nothing after the key', bytes(`${AESCBC_PREFIX}key1:`), SHORT],
    ['aescbc, IV only', bytes(`${AESCBC_PREFIX}key1:`, 16), 'invalid PKCS7 data (empty or not padded)'],
    ['aescbc, partial block', bytes(`${AESCBC_PREFIX}key1:`, 16 + 5), 'the stored data is not a multiple of the block size'],
    ['aesgcm, nothing after the prefix', bytes(AESGCM_PREFIX), NO_MATCHING_AES_KEY],
    ['aesgcm, short nonce', bytes(`${AESGCM_PREFIX}key1:`, 11), SHORT],
    ['aesgcm, nonce only', bytes(`${AESGCM_PREFIX}key1:`, 12), 'cipher: message authentication failed'],
    ['secretbox, nothing after the prefix', bytes(SECRETBOX_PREFIX), NO_MATCHING_SECRETBOX_KEY],
    ['secretbox, 39 bytes', bytes(`${SECRETBOX_PREFIX}key1:`, 39), SHORT],
    ['secretbox, 40 random bytes', bytes(`${SECRETBOX_PREFIX}key1:`, 40), 'output array was not large enough for encryption'],
  ];
  for (const [label, value, message] of table) {
    void it(`${label}: DecryptError "${message}"`, async () => {
      await assert.rejects(t.fromStorage(value, ctxA), (err: unknown) => {
        assert.ok(err instanceof DecryptError, String(err));
        assert.equal(err.message, message);
        return true;
      });
    });
  }

  void it('with identity last, unreadable encrypted-looking values still fail (identity refuses them silently)', async () => {
    const withIdentity = chain(aesCbcProvider([key('key1', randomBytes(32))]), identityProvider());
    await assert.rejects(withIdentity.fromStorage(bytes('k8s:enc:kms:v2:x:', 40), ctxA), {
      message: NO_MATCHING_PREFIX,
    });
    const empty = await withIdentity.fromStorage(bytes(''), ctxA);
    assert.deepEqual([empty.data.length, empty.stale], [0, true]);
  });
});

void describe('provider builders', () => {
  void it('refuse an empty key list, an empty name, an empty secret', () => {
    assert.throws(() => aesCbcProvider([]), { name: 'InvalidError', message: 'aes provider has no valid keys' });
    assert.throws(() => secretboxProvider([]), { message: 'secretbox provider has no valid keys' });
    assert.throws(() => aesGcmProvider([key('', randomBytes(16))]), { message: 'key with invalid name provided' });
    assert.throws(() => aesGcmProvider([key('k', new Uint8Array(0))]), { message: 'key k has no provided secret' });
  });

  void it('refuse wrong key sizes, naming the key but not the secret', () => {
    const secret = Buffer.from('0123456789abcdefXYZ');
    assert.throws(() => aesCbcProvider([key('k1', secret)]), (err: unknown) => {
      assert.ok(err instanceof InvalidError);
      assert.match(err.message, /^error while creating cipher for named key k1: /);
      assert.ok(!err.message.includes('0123456789'));
      return true;
    });
    assert.throws(() => secretboxProvider([key('k1', randomBytes(16))]), {
      message: 'expected key size 32 for secretbox provider, got 16',
    });
    for (const n of [16, 24, 32]) assert.doesNotThrow(() => aesCbcProvider([key('k', randomBytes(n))]));
  });

  void it('accept key names containing ":" (they only become part of the prefix)', async () => {
    const t = chain(aesGcmProvider([key('a:b', randomBytes(16))]));
    const stored = await t.toStorage(PLAIN_OBJECT, ctxA);
    assert.ok(startsWith(stored, `${AESGCM_PREFIX}a:b:`));
    assert.deepEqual(Buffer.from((await t.fromStorage(stored, ctxA)).data), PLAIN_OBJECT);
  });

  void it('identityProvider has the empty prefix', () => {
    assert.equal(identityProvider().prefix.length, 0);
  });
});
