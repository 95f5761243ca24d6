import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { InvalidError } from '../lib/errors.js';
import { hkdfExpandSha256Key } from '../encryption/aes-gcm-extended-nonce.js';
import { gcmSeal } from '../encryption/aes-gcm.js';
import {
  AES_GCM_KEY,
  decodeEncryptedObject,
  decryptCacheKey,
  encodeEncryptedObject,
  encryptedDataHead,
  encryptedObjectCacheKey,
  HKDF_SHA256_XNONCE_AES_GCM_SEED,
  keyIdHash,
  validateEncryptedObject,
  type EncryptedObject,
} from './kms-v2-encrypted-object.js';
import { kmsV2Prefix } from '../encryption/kms-v2-envelope.js';
import { ProtoWriter, WIRE_LEN } from '../lib/go/protobuf-wire.js';

interface KmsV2Vector {
  name: string;
  seed?: string;
  dek?: string;
  info?: string;
  nonce: string;
  keyID: string;
  encryptedDEKSource: string;
  annotations: Record<string, string>;
  aad: string;
  value: string;
  plaintext: string;
}
const vectors = JSON.parse(
  readFileSync(new URL('../../test/fixtures/encryption-vectors.json', import.meta.url), 'utf8'),
) as { derived: { kmsv2_hkdf: KmsV2Vector; kmsv2_aesgcmkey: KmsV2Vector } };

const hex = (s: string): Buffer => Buffer.from(s, 'hex');

function storedObject(v: KmsV2Vector): Buffer {
  const value = hex(v.value);
  const prefix = Buffer.from(kmsV2Prefix(v.name));
  assert.deepEqual(value.subarray(0, prefix.length), prefix);
  return value.subarray(prefix.length);
}

function annotationsOf(v: KmsV2Vector): Record<string, Uint8Array> {
  return Object.fromEntries(Object.entries(v.annotations).map(([k, a]) => [k, Buffer.from(a)]));
}

function validObject(overrides: Partial<EncryptedObject> = {}): EncryptedObject {
  return {
    encryptedData: Buffer.from('data'),
    keyId: 'key-1',
    encryptedDekSource: Buffer.from('edek'),
    annotations: { 'example.com': Buffer.from('v') },
    encryptedDekSourceType: HKDF_SHA256_XNONCE_AES_GCM_SEED,
    ...overrides,
  };
}

function tag(field: number, wire: number): number {
  return (field << 3) | wire;
}

function ld(field: number, payload: Uint8Array): Buffer {
  assert.ok(payload.length < 128);
  return Buffer.concat([Buffer.of(tag(field, 2), payload.length), payload]);
}

void describe('EncryptedObject encoding (k8s.io/apiserver pkg/storage/value/encrypt/envelope/kmsv2/v2/api.proto)', () => {
  void it('re-encodes the type-1 vector byte for byte from its fields', () => {
    const v = vectors.derived.kmsv2_hkdf;
    const info = hex(v.info!);
    const nonce = hex(v.nonce);
    const key = hkdfExpandSha256Key(hex(v.seed!), info);
    const sealed = gcmSeal(key, nonce, Buffer.from(v.plaintext), Buffer.from(v.aad));
    const encoded = encodeEncryptedObject({
      encryptedData: Buffer.concat([info, nonce, sealed]),
      keyId: v.keyID,
      encryptedDekSource: Buffer.from(v.encryptedDEKSource, 'latin1'),
      annotations: annotationsOf(v),
      encryptedDekSourceType: HKDF_SHA256_XNONCE_AES_GCM_SEED,
    });
    assert.equal(encoded.toString('hex'), storedObject(v).toString('hex'));
  });

  void it('re-encodes the type-0 vector byte for byte from its fields (type 0 omitted on the wire)', () => {
    const v = vectors.derived.kmsv2_aesgcmkey;
    const nonce = hex(v.nonce);
    const sealed = gcmSeal(hex(v.dek!), nonce, Buffer.from(v.plaintext), Buffer.from(v.aad));
    const encoded = encodeEncryptedObject({
      encryptedData: Buffer.concat([nonce, sealed]),
      keyId: v.keyID,
      encryptedDekSource: Buffer.from(v.encryptedDEKSource, 'latin1'),
      annotations: annotationsOf(v),
      encryptedDekSourceType: AES_GCM_KEY,
    });
    assert.equal(encoded.toString('hex'), storedObject(v).toString('hex'));
  });

  void it('decodes both vectors into their fields, and they validate', () => {
    for (const [v, type] of [
      [vectors.derived.kmsv2_hkdf, HKDF_SHA256_XNONCE_AES_GCM_SEED],
      [vectors.derived.kmsv2_aesgcmkey, AES_GCM_KEY],
    ] as const) {
      const o = decodeEncryptedObject(storedObject(v));
      assert.equal(o.keyId, v.keyID);
      assert.equal(o.encryptedDekSourceType, type);
      assert.equal(Buffer.from(o.encryptedDekSource).toString('latin1'), v.encryptedDEKSource);
      assert.deepEqual(Object.keys(o.annotations), Object.keys(v.annotations));
      assert.equal(Buffer.from(o.annotations['local-kek.kms.kubernetes.io']!).toString(), 'encrypted-local-kek');
      assert.ok(Buffer.from(o.encryptedData).subarray(0, 12).equals(hex(v.info ?? v.nonce).subarray(0, 12)));
      validateEncryptedObject(o);
    }
  });

  void it('writes map entries sorted by key bytes and round-trips', () => {
    const o = validObject({ annotations: { 'b.io': Buffer.from('2'), 'a.io': Buffer.from('1'), 'B.io': Buffer.from('3') } });
    const encoded = encodeEncryptedObject(o);
    const order = ['B.io', 'a.io', 'b.io'].map((k) => encoded.indexOf(Buffer.from(k)));
    assert.deepEqual([...order].sort((a, b) => a - b), order);
    const back = decodeEncryptedObject(encoded);
    assert.equal(back.keyId, o.keyId);
    assert.equal(back.encryptedDekSourceType, o.encryptedDekSourceType);
    assert.deepEqual(Buffer.from(back.encryptedData), o.encryptedData);
    assert.deepEqual(Buffer.from(back.encryptedDekSource), o.encryptedDekSource);
    const annotations = Object.entries(back.annotations).map(([k, v]) => [k, Buffer.from(v).toString()]);
    assert.deepEqual(annotations.sort(), [['B.io', '3'], ['a.io', '1'], ['b.io', '2']]);
    assert.deepEqual(encodeEncryptedObject(back), encoded);
  });

  void it("writes the data field's head (prefix, tag, varint length) as the protobuf writer does, at every varint size", () => {
    const prefix = Buffer.from(kmsV2Prefix('p'));
    for (const length of [0, 1, 127, 128, 300, 16_383, 16_384, 2_097_151, 2_097_152, 268_435_455, 268_435_456, 2 ** 32 - 1]) {
      const w = new ProtoWriter(64);
      w.raw(prefix);
      w.tag(1, WIRE_LEN);
      w.uint32(length);
      assert.deepEqual(encryptedDataHead(prefix, length), w.finish(), String(length));
    }
  });

  void it('omits empty fields (proto3 zero values)', () => {
    const encoded = encodeEncryptedObject({
      encryptedData: new Uint8Array(0),
      keyId: '',
      encryptedDekSource: new Uint8Array(0),
      annotations: {},
      encryptedDekSourceType: AES_GCM_KEY,
    });
    assert.equal(encoded.length, 0);
  });
});

void describe('EncryptedObject tolerant reader', () => {
  const entry = (k: string, v: string): Buffer => ld(4, Buffer.concat([ld(1, Buffer.from(k)), ld(2, Buffer.from(v))]));

  void it('accepts fields in any order, map entries in any order, and the last value of a repeated scalar', () => {
    const bytes = Buffer.concat([
      Buffer.of(tag(5, 0), 1),
      entry('z.io', 'last'),
      ld(3, Buffer.from('edek')),
      entry('a.io', 'first'),
      ld(2, Buffer.from('old')),
      ld(2, Buffer.from('new')),
      ld(1, Buffer.from('data')),
      entry('a.io', 'replaced'),
    ]);
    const o = decodeEncryptedObject(bytes);
    assert.equal(o.keyId, 'new');
    assert.equal(Buffer.from(o.encryptedData).toString(), 'data');
    assert.equal(Buffer.from(o.encryptedDekSource).toString(), 'edek');
    assert.equal(o.encryptedDekSourceType, 1);
    assert.deepEqual(Object.keys(o.annotations).sort(), ['a.io', 'z.io']);
    assert.equal(Buffer.from(o.annotations['a.io']!).toString(), 'replaced');
  });

  void it('skips unknown fields of every wire type, including groups and unknown map-entry fields', () => {
    const unknownEntryField = Buffer.of(tag(9, 0), 7);
    const bytes = Buffer.concat([
      Buffer.of(tag(6, 0), 0xff, 0x01), // varint
      Buffer.of(tag(7, 1), 1, 2, 3, 4, 5, 6, 7, 8), // fixed64
      ld(8, Buffer.from('unknown')), // length-delimited
      Buffer.of(tag(9, 5), 1, 2, 3, 4), // fixed32
      Buffer.of(tag(10, 3), tag(1, 0), 5, tag(11, 3), tag(11, 4), tag(10, 4)), // nested groups
      ld(1, Buffer.from('data')),
      ld(4, Buffer.concat([unknownEntryField, ld(1, Buffer.from('k.io')), ld(2, Buffer.from('v'))])),
    ]);
    const o = decodeEncryptedObject(bytes);
    assert.equal(Buffer.from(o.encryptedData).toString(), 'data');
    assert.equal(Buffer.from(o.annotations['k.io']!).toString(), 'v');
    assert.equal(o.encryptedDekSourceType, 0);
  });

  void it('reads an enum as Go does (int32 of the varint), so validation reports the number', () => {
    const neg = decodeEncryptedObject(Buffer.of(tag(5, 0), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01));
    assert.equal(neg.encryptedDekSourceType, -1);
    const big = decodeEncryptedObject(Buffer.of(tag(5, 0), 0x80, 0x80, 0x80, 0x80, 0x10)); // 2^32 → int32 0
    assert.equal(big.encryptedDekSourceType, 0);
  });

  void it('keeps an annotation named __proto__ as an ordinary key', () => {
    const o = decodeEncryptedObject(entry('__proto__', 'x'));
    assert.deepEqual(Object.keys(o.annotations), ['__proto__']);
    assert.throws(() => validateEncryptedObject({ ...o, encryptedData: Buffer.of(1), keyId: 'k', encryptedDekSource: Buffer.of(1) }), /annotations: Invalid value: "__proto__"/);
  });

  void it('refuses malformed bytes with InvalidError and a clear message', () => {
    const cases: [string, Buffer, RegExp][] = [
      ['truncated varint', Buffer.of(tag(5, 0), 0x80), /truncated varint/],
      ['overlong varint', Buffer.concat([Buffer.of(tag(5, 0)), Buffer.alloc(11, 0x80)]), /varint longer than 10 bytes/],
      ['length past the end', Buffer.of(tag(1, 2), 10, 1, 2), /runs past the end/],
      ['field number 0', Buffer.of(0x02, 0), /invalid field number 0/],
      ['wrong wire type for a known field', Buffer.of(tag(5, 2), 0), /field 5 has wire type 2, expected 0/],
      ['wrong wire type for bytes', Buffer.of(tag(1, 0), 1), /field 1 has wire type 0, expected 2/],
      ['stray end group', Buffer.of(tag(9, 4)), /unexpected wire type 4/],
      ['unterminated group', Buffer.of(tag(9, 3), tag(1, 0), 1), /unterminated group/],
      ['wire type 7', Buffer.of(tag(9, 7)), /unexpected wire type 7/],
      ['truncated fixed64', Buffer.of(tag(9, 1), 1, 2), /fixed-size field runs past the end/],
      ['keyID not UTF-8', ld(2, Buffer.of(0xff, 0xfe)), /keyID is not valid UTF-8/],
      ['annotation key not UTF-8', ld(4, ld(1, Buffer.of(0xc3))), /annotation key is not valid UTF-8/],
    ];
    for (const [name, bytes, message] of cases) {
      assert.throws(() => decodeEncryptedObject(bytes), (e: unknown) => e instanceof InvalidError && message.test(e.message), name);
    }
  });

  void it('never throws anything but InvalidError on random input', () => {
    for (let i = 0; i < 2000; i++) {
      const bytes = randomBytes(1 + (i % 64));
      try {
        decodeEncryptedObject(bytes);
      } catch (e) {
        assert.ok(e instanceof InvalidError, `unexpected ${String(e)}`);
      }
    }
  });
});

void describe('EncryptedObject validation (ValidateEncryptedObject of k8s.io/apiserver pkg/storage/value/encrypt/envelope/kmsv2/envelope.go, its messages)', () => {
  const rejects = (o: EncryptedObject, message: string): void => {
    assert.throws(() => validateEncryptedObject(o), (e: unknown) => e instanceof InvalidError && e.message === message);
  };

  void it('accepts the limits themselves', () => {
    validateEncryptedObject(validObject({ keyId: 'k'.repeat(1024), encryptedDekSource: Buffer.alloc(1024) }));
    validateEncryptedObject(validObject({ annotations: { 'a.io': Buffer.alloc(32 * 1024 - 4) } }));
    validateEncryptedObject(validObject({ annotations: { 'example.com.': Buffer.of(), 'a-b.c0.d': Buffer.of(1) } }));
    validateEncryptedObject(validObject({ annotations: {}, encryptedDekSourceType: AES_GCM_KEY }));
  });

  void it('refuses an unknown type', () => {
    rejects(validObject({ encryptedDekSourceType: 2 }), 'unknown encryptedDEKSourceType: 2');
    rejects(validObject({ encryptedDekSourceType: -1 }), 'unknown encryptedDEKSourceType: -1');
  });

  void it('refuses empty encrypted data', () => {
    rejects(validObject({ encryptedData: new Uint8Array(0) }), 'encrypted data is empty');
  });

  void it('refuses an empty or oversized encryptedDEKSource', () => {
    rejects(validObject({ encryptedDekSource: new Uint8Array(0) }), 'failed to validate encrypted DEK source: encrypted DEK source is empty');
    rejects(
      validObject({ encryptedDekSource: Buffer.alloc(1025) }),
      'failed to validate encrypted DEK source: encrypted DEK source is 1025 bytes, which exceeds the max size of 1024',
    );
  });

  void it('refuses an empty or oversized keyID (counted in bytes)', () => {
    rejects(validObject({ keyId: '' }), 'failed to validate key id: keyID is empty');
    rejects(validObject({ keyId: 'k'.repeat(1025) }), 'failed to validate key id: keyID is 1025 bytes, which exceeds the max size of 1024');
    rejects(validObject({ keyId: 'é'.repeat(513) }), 'failed to validate key id: keyID is 1026 bytes, which exceeds the max size of 1024');
  });

  void it('refuses annotation keys that are not fully qualified domain names', () => {
    const cases: [string, string][] = [
      ['com', 'annotations: Invalid value: "com": should be a domain with at least two segments separated by dots'],
      [
        '*.example.com',
        `annotations: Invalid value: "*.example.com": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
      ],
      ['Dev.k8s.io', 'annotations: Invalid value: "Dev.k8s.io": a lowercase RFC 1123 subdomain'],
      ['a_b.k8s.io', 'annotations: Invalid value: "a_b.k8s.io": a lowercase RFC 1123 subdomain'],
      ['', 'annotations: Required value'],
      [`${'a'.repeat(64)}.io`, `annotations: Invalid value: "${'a'.repeat(64)}": must be no more than 63 characters`],
    ];
    for (const [key, message] of cases) {
      assert.throws(
        () => validateEncryptedObject(validObject({ annotations: { [key]: Buffer.of(1) } })),
        (e: unknown) => e instanceof InvalidError && e.message.startsWith(`failed to validate annotations: ${message}`),
        key,
      );
    }
  });

  void it('refuses annotations over 32 KiB in total, and aggregates several errors', () => {
    rejects(
      validObject({ annotations: { 'a.io': Buffer.alloc(32 * 1024 - 3) } }),
      'failed to validate annotations: total size of annotations is 32769, which exceeds the max size of 32768',
    );
    rejects(
      validObject({ annotations: { com: Buffer.of(), org: Buffer.alloc(32 * 1024) } }),
      'failed to validate annotations: [annotations: Invalid value: "com": should be a domain with at least two segments separated by dots, ' +
        'annotations: Invalid value: "org": should be a domain with at least two segments separated by dots, ' +
        'total size of annotations is 32774, which exceeds the max size of 32768]',
    );
  });

  void it('checks in upstream order: type first, then data, source, key ID, annotations', () => {
    rejects(
      { encryptedData: new Uint8Array(0), keyId: '', encryptedDekSource: new Uint8Array(0), annotations: { com: Buffer.of() }, encryptedDekSourceType: 9 },
      'unknown encryptedDEKSourceType: 9',
    );
    rejects(validObject({ encryptedDekSource: new Uint8Array(0), keyId: '' }), 'failed to validate encrypted DEK source: encrypted DEK source is empty');
  });
});

void describe('decrypt cache key (generateCacheKey of k8s.io/apiserver pkg/storage/value/encrypt/envelope/kmsv2/envelope.go)', () => {
  void it('lays out type, source, key ID and sorted annotations exactly', () => {
    const key = encryptedObjectCacheKey({
      encryptedDekSourceType: 1,
      encryptedDekSource: Buffer.from('ab'),
      keyId: 'k',
      annotations: { 'b.io': Buffer.from('2'), 'a.io': Buffer.from('1') },
    });
    assert.equal(
      key.toString('hex'),
      '00000001' + '0002' + '6162' + '0001' + '6b' + '00000002' + '0004' + '612e696f' + '0001' + '31' + '0004' + '622e696f' + '0001' + '32',
    );
  });

  void it('has no annotation count when there are no annotations', () => {
    const key = encryptedObjectCacheKey({ encryptedDekSourceType: 0, encryptedDekSource: Buffer.of(0xff), keyId: '', annotations: {} });
    assert.equal(key.toString('hex'), '00000000' + '0001ff' + '0000');
  });

  void it('is hashed with SHA-256, and differs when any part differs', () => {
    const base = { encryptedDekSourceType: 1, encryptedDekSource: Buffer.from('x'), keyId: '1', annotations: {} };
    assert.match(decryptCacheKey(base), /^[0-9a-f]{64}$/);
    const variants = [
      { ...base, encryptedDekSourceType: 0 },
      { ...base, encryptedDekSource: Buffer.from('y') },
      { ...base, keyId: '2' },
      { ...base, annotations: { 'a.io': Buffer.of() } },
    ];
    for (const v of variants) assert.notEqual(decryptCacheKey(v), decryptCacheKey(base));
  });
});

void describe('keyIdHash', () => {
  void it('is sha256:<hex> of the key ID, and empty for an empty ID', () => {
    assert.equal(keyIdHash('1'), 'sha256:6b86b273ff34fce19d6b804eff5a3f5747ada4eaa22f1d49c01e52ddb7875b4b');
    assert.equal(keyIdHash(''), '');
  });
});
