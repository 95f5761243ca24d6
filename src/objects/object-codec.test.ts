import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidError } from '../lib/errors.js';
import { isConfigMap, type ConfigMap } from './config-map.js';
import { decodeObject, encodeObject } from './object-codec.js';
import type { KubeObject } from './object-meta.js';
import { isSecret, type Secret } from './secret.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const ascii = (s: string): Buffer => Buffer.from(s, 'utf8');
const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');

/** A length-delimited field with a one-byte tag and a one-byte length (test payloads stay under 128 bytes). */
function ld(tag: number, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  assert.ok(body.length < 128);
  return Buffer.concat([Buffer.from([tag, body.length]), body]);
}

/** ObjectMeta field 17 (two-byte tag 8a01) holding one ManagedFieldsEntry. */
function managedFieldsEntry(body: Buffer): Buffer {
  return Buffer.concat([hex('8a01'), Buffer.from([body.length]), body]);
}

/** `k8s\0` + runtime.Unknown{typeMeta{apiVersion, kind}, raw} assembled by hand. */
function envelope(apiVersion: string, kind: string, raw: Buffer): Buffer {
  return Buffer.concat([hex('6b387300'), ld(0x0a, ld(0x0a, ascii(apiVersion)), ld(0x12, ascii(kind))), ld(0x12, raw), hex('1a00 2200')]);
}

/** ObjectMeta with nothing set: the always-present fields, empty (creationTimestamp as an empty Time). */
const EMPTY_META = hex('0a00 1200 1a00 2200 2a00 3200 3800 4200');

// Field manager of the "dek-source-aes-gcm-key" Secret recorded by k8s.io/kubernetes
// test/integration/controlplane/transformation/kmsv2_transformation_test.go (testKMSv2ProviderLegacyData); 91 bytes.
const MANAGER = '___TestKMSv2Provider_in_k8s_io_kubernetes_test_integration_controlplane_transformation.test';
const FIELDS_V1 = '{"f:data":{".":{},"f:api_key":{}},"f:type":{}}';

const DUMP_SECRET: Secret = {
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: {
    name: 'dek-source-aes-gcm-key',
    namespace: 'kms-v2-legacy-data',
    uid: '1f4a8f7b-01b4-49d1-b898-751eb56937f1',
    creationTimestamp: '2023-09-01T15:56:49Z',
    managedFields: [
      {
        manager: MANAGER,
        operation: 'Update',
        apiVersion: 'v1',
        time: '2023-09-01T15:56:49Z',
        fieldsType: 'FieldsV1',
        fieldsV1: JSON.parse(FIELDS_V1) as Record<string, unknown>,
      },
    ],
  },
  data: { api_key: b64('086a7ffc-0225-11e8-ba89-0ed5f89f718b') },
  type: 'Opaque',
};

// That recorded Secret's plaintext (decrypted with the test's base64 mock plugin), transcribed with its lengths.
const DUMP_BYTES = Buffer.concat([
  hex('6b387300'),
  hex('0a 0c 0a 02'), ascii('v1'), hex('12 06'), ascii('Secret'),
  hex('12 d502'),
  hex('0a 9902'),
  hex('0a 16'), ascii('dek-source-aes-gcm-key'), hex('12 00'), hex('1a 12'), ascii('kms-v2-legacy-data'), hex('22 00'),
  hex('2a 24'), ascii('1f4a8f7b-01b4-49d1-b898-751eb56937f1'), hex('32 00 38 00'),
  hex('42 08 08 c193c8a706 10 00'),
  hex('8a01 b101'),
  hex('0a 5b'), ascii(MANAGER), hex('12 06'), ascii('Update'), hex('1a 02'), ascii('v1'),
  hex('22 08 08 c193c8a706 10 00'), hex('32 08'), ascii('FieldsV1'),
  hex('3a 30 0a 2e'), ascii(FIELDS_V1), hex('42 00'),
  hex('12 2f 0a 07'), ascii('api_key'), hex('12 24'), ascii('086a7ffc-0225-11e8-ba89-0ed5f89f718b'),
  hex('1a 06'), ascii('Opaque'),
  hex('1a 00 22 00'),
]);

const FULL_SECRET: Secret = {
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: {
    name: 'db-creds',
    generateName: 'db-',
    namespace: 'default',
    uid: '0b9f7c1e-2a4f-4a6e-9f55-2b3c1d8e7a10',
    generation: Number.MAX_SAFE_INTEGER,
    creationTimestamp: '1969-07-20T20:17:40Z',
    deletionTimestamp: '2025-01-31T10:00:00Z',
    deletionGracePeriodSeconds: -1,
    labels: { 'z.example.com/tier': 'back', app: 'db', empty: '', ['__proto__']: 'not-a-prototype' },
    annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"a":"<b&c>"}', 'ü-key': 'é' },
    ownerReferences: [
      { apiVersion: 'external-secrets.io/v1', kind: 'ExternalSecret', name: 'db', uid: '7d2c', controller: true, blockOwnerDeletion: false },
      { apiVersion: 'v1', kind: 'ConfigMap', name: 'other', uid: '' },
    ],
    finalizers: ['example.com/keep', 'kubernetes'],
    managedFields: [
      { manager: 'kubectl-create', operation: 'Update', apiVersion: 'v1', time: '2025-01-31T10:00:00Z', fieldsType: 'FieldsV1', fieldsV1: { 'f:data': { '.': {}, 'f:u': {} } } },
      { manager: 'kubectl', operation: 'Apply', apiVersion: 'v1', fieldsType: 'FieldsV1', subresource: 'status' },
    ],
  },
  immutable: false,
  data: { password: b64('s3cr3t'), empty: '', binary: Buffer.from([0, 255, 128, 10]).toString('base64') },
  type: 'kubernetes.io/basic-auth',
};

const FULL_CONFIG_MAP: ConfigMap = {
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: {
    name: 'settings',
    namespace: 'apps',
    uid: 'c0ffee',
    creationTimestamp: '2025-01-31T10:00:00Z',
    labels: { b: '2', a: '1' },
    finalizers: ['example.com/f'],
  },
  immutable: true,
  data: { 'z.conf': 'z=1\n', 'a.conf': '', 'ü': 'ünïcødé 😀' },
  binaryData: { blob: 'AAE=', nothing: '' },
};

function isInvalid(message: RegExp): (err: unknown) => boolean {
  return (err) => {
    assert.ok(err instanceof InvalidError, `expected InvalidError, got ${String(err)}`);
    assert.match(err.message, message);
    return true;
  };
}

void describe('encodeObject protobuf: byte-exact against a Secret kube-apiserver recorded', () => {
  void it('reproduces the recorded Secret byte for byte', () => {
    assert.equal(DUMP_BYTES.length, 4 + 14 + 3 + 341 + 4);
    assert.equal(encodeObject(DUMP_SECRET).toString('hex'), DUMP_BYTES.toString('hex'));
  });

  void it('decodes the recorded Secret back to its API shape', () => {
    assert.deepEqual(decodeObject(DUMP_BYTES), { ...DUMP_SECRET });
  });

  void it('is the default media type and ignores resourceVersion/selfLink', () => {
    const withRv: Secret = { ...DUMP_SECRET, metadata: { ...DUMP_SECRET.metadata, resourceVersion: '123', selfLink: '/x' } };
    assert.deepEqual(encodeObject(withRv, { mediaType: 'protobuf' }), DUMP_BYTES);
  });
});

void describe('encodeObject/decodeObject protobuf round trips', () => {
  void it('round-trips a Secret using every ObjectMeta field', () => {
    const decoded = decodeObject(encodeObject(FULL_SECRET));
    assert.deepEqual(decoded, FULL_SECRET);
    assert.equal(Object.getPrototypeOf(decoded.metadata.labels), Object.prototype);
    assert.equal(Object.hasOwn(decoded.metadata.labels!, '__proto__'), true);
  });

  void it('round-trips a ConfigMap with data, binaryData and immutable', () => {
    assert.deepEqual(decodeObject(encodeObject(FULL_CONFIG_MAP)), FULL_CONFIG_MAP);
  });

  void it('keeps an empty data value present with empty bytes', () => {
    const secret: Secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, data: { k: '' }, type: 'Opaque' };
    const bytes = encodeObject(secret);
    // entry {1 "k", 2 ""}: the value field is present with length 0, as gogo writes a non-nil empty slice.
    assert.ok(bytes.includes(hex('12 05 0a 01 6b 12 00')));
    assert.deepEqual((decodeObject(bytes) as Secret).data, { k: '' });
  });

  void it('writes map entries sorted by key (UTF-8 byte order) whatever the input order', () => {
    const a: Secret = { apiVersion: 'v1', kind: 'Secret', metadata: { labels: { b: '1', a: '2', '\u{1F600}': '3', '\uFFFD': '4' } }, data: { y: '', x: '' } };
    const b: Secret = { apiVersion: 'v1', kind: 'Secret', metadata: { labels: { '\uFFFD': '4', '\u{1F600}': '3', a: '2', b: '1' } }, data: { x: '', y: '' } };
    const bytes = encodeObject(a);
    assert.deepEqual(bytes, encodeObject(b));
    const order = ['a', 'b', '\uFFFD', '\u{1F600}'].map((k) => bytes.indexOf(Buffer.concat([hex('0a'), Buffer.from([Buffer.byteLength(k)]), ascii(k)])));
    assert.ok(order.every((pos, i) => pos > 0 && (i === 0 || pos > order[i - 1]!)), `label entry offsets ${order.join(',')}`);
    assert.ok(bytes.indexOf(hex('0a 01 78 12 00')) < bytes.indexOf(hex('0a 01 79 12 00')));
  });

  void it('writes large and negative int64 values as Go does', () => {
    const bytes = encodeObject(FULL_SECRET);
    assert.ok(bytes.includes(hex('38 ffffffffffffff0f')), 'generation 2^53-1');
    assert.ok(bytes.includes(hex('50 ffffffffffffffffff01')), 'deletionGracePeriodSeconds -1');
    assert.ok(bytes.includes(hex('42 0d 08 e4ab9ef9ffffffffff01 10 00')), 'creationTimestamp before 1970');
  });

  void it('writes type always and immutable only when set', () => {
    const plain = encodeObject({ apiVersion: 'v1', kind: 'Secret', metadata: {} });
    assert.deepEqual(plain, envelope('v1', 'Secret', Buffer.concat([ld(0x0a, EMPTY_META), hex('1a 00')])));
    assert.deepEqual(decodeObject(plain), { kind: 'Secret', apiVersion: 'v1', metadata: {} });
    const immutable = encodeObject({ apiVersion: 'v1', kind: 'Secret', metadata: {}, immutable: false });
    assert.deepEqual(immutable, envelope('v1', 'Secret', Buffer.concat([ld(0x0a, EMPTY_META), hex('1a 00 28 00')])));
  });

  void it('encodes empty metadata and reads it back as an empty object', () => {
    const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: {} } as ConfigMap;
    assert.deepEqual(encodeObject(cm), envelope('v1', 'ConfigMap', ld(0x0a, EMPTY_META)));
    assert.deepEqual(decodeObject(encodeObject(cm)), { kind: 'ConfigMap', apiVersion: 'v1', metadata: {} });
  });

  void it('skips unknown fields, as the generated unmarshallers do', () => {
    const raw = Buffer.concat([ld(0x0a, ld(0x0a, ascii('n'))), hex('b006 01'), ld(0x7a, ascii('future'))]);
    assert.deepEqual(decodeObject(envelope('v1', 'Secret', raw)), { kind: 'Secret', apiVersion: 'v1', metadata: { name: 'n' } });
  });

  void it('folds a stored stringData into data on read, as the conversion to the internal version does', () => {
    const raw = Buffer.concat([ld(0x0a), ld(0x12, ld(0x0a, ascii('k')), ld(0x12, ascii('old'))), ld(0x22, ld(0x0a, ascii('k')), ld(0x12, ascii('new')))]);
    assert.deepEqual((decodeObject(envelope('v1', 'Secret', raw)) as Secret).data, { k: b64('new') });
  });
});

void describe('encodeObject refusals', () => {
  void it('names apiVersion and kind of an object it cannot store as protobuf', () => {
    assert.throws(() => encodeObject({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: {} }), isInvalid(/apiVersion "apps\/v1" kind "Deployment"/));
    assert.throws(() => encodeObject({ apiVersion: 'v2', kind: 'Secret' }), isInvalid(/apiVersion "v2" kind "Secret"/));
    assert.throws(() => encodeObject({ apiVersion: 'v1', kind: '' }), isInvalid(/kind/));
  });

  void it('refuses stringData instead of dropping it', () => {
    const s: Secret = { apiVersion: 'v1', kind: 'Secret', metadata: {}, stringData: { k: 'v' } };
    assert.throws(() => encodeObject(s), isInvalid(/^stringData: .*normalizeSecretForStorage/));
    assert.throws(() => encodeObject(s, { mediaType: 'json' }), isInvalid(/^stringData:/));
  });

  void it("refuses data that is not standard base64 with Go's error, without echoing it", () => {
    const s: Secret = { apiVersion: 'v1', kind: 'Secret', metadata: {}, data: { token: 'not base64!' } };
    assert.throws(() => encodeObject(s), (err: unknown) => {
      assert.ok(err instanceof InvalidError);
      assert.equal(err.message, 'illegal base64 data at input byte 3');
      return true;
    });
  });

  void it('leaves the shared scratch buffer usable after a failed encode', () => {
    assert.throws(() => encodeObject({ ...FULL_SECRET, data: { a: '!' } }));
    assert.deepEqual(encodeObject(DUMP_SECRET), DUMP_BYTES);
  });
});

void describe('JSON storage', () => {
  void it('decodes a JSON-stored Secret into the canonical API shape', () => {
    const stored =
      '\n {"kind":"Secret","apiVersion":"v1","metadata":{"name":"s","namespace":"default","resourceVersion":"7",' +
      '"creationTimestamp":"2025-01-31T11:00:00+01:00","labels":{"b":"2","a":"1"}},"data":{"k":"dg=="},"type":"Opaque","extra":1}\n';
    assert.deepEqual(decodeObject(ascii(stored)), {
      kind: 'Secret',
      apiVersion: 'v1',
      metadata: { name: 's', namespace: 'default', creationTimestamp: '2025-01-31T10:00:00Z', labels: { a: '1', b: '2' } },
      data: { k: 'dg==' },
      type: 'Opaque',
    });
  });

  void it('encodes Secret and ConfigMap JSON like the apiserver: Go field order, sorted maps, HTML escapes, newline', () => {
    const secret: Secret = {
      type: 'Opaque',
      data: { b: 'YQ==', a: '' },
      metadata: { annotations: { note: '<a & b>' }, resourceVersion: '9', namespace: 'ns', name: 's' },
      kind: 'Secret',
      apiVersion: 'v1',
      immutable: true,
    };
    assert.equal(
      encodeObject(secret, { mediaType: 'json' }).toString(),
      '{"kind":"Secret","apiVersion":"v1","metadata":{"name":"s","namespace":"ns","annotations":{"note":"\\u003ca \\u0026 b\\u003e"}},' +
        '"immutable":true,"data":{"a":"","b":"YQ=="},"type":"Opaque"}\n',
    );
    assert.equal(
      encodeObject({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, binaryData: { x: 'AAE=' }, data: { k: 'v' } }, { mediaType: 'json' }).toString(),
      '{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"c"},"data":{"k":"v"},"binaryData":{"x":"AAE="}}\n',
    );
  });

  void it('round-trips Secrets and ConfigMaps through JSON', () => {
    assert.deepEqual(decodeObject(encodeObject(FULL_SECRET, { mediaType: 'json' })), FULL_SECRET);
    assert.deepEqual(decodeObject(encodeObject(FULL_CONFIG_MAP, { mediaType: 'json' })), FULL_CONFIG_MAP);
    assert.deepEqual(decodeObject(encodeObject(DUMP_SECRET, { mediaType: 'json' })), decodeObject(DUMP_BYTES));
  });

  void it('stores any other kind as JSON without resourceVersion or selfLink', () => {
    const ns: KubeObject = {
      apiVersion: 'example.com/v1',
      kind: 'Widget',
      metadata: { name: 'apps', resourceVersion: '3', selfLink: '/apis/example.com/v1/widgets/apps', labels: { a: 'b' } },
      spec: { finalizers: ['kubernetes'] },
      status: { phase: 'Active' },
    };
    const bytes = encodeObject(ns, { mediaType: 'json' });
    assert.equal(bytes.toString(), '{"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"apps","labels":{"a":"b"}},"spec":{"finalizers":["kubernetes"]},"status":{"phase":"Active"}}\n');
    assert.equal(ns.metadata!.resourceVersion, '3', 'the input is not mutated');
    assert.deepEqual(decodeObject(bytes), { ...ns, metadata: { name: 'apps', labels: { a: 'b' } } });
    assert.deepEqual(decodeObject(ascii('{"apiVersion":"x/v1","kind":"Thing","metadata":{"resourceVersion":"5"}}')), {
      apiVersion: 'x/v1',
      kind: 'Thing',
      metadata: {},
    });
  });

  void it('folds stringData of a JSON-stored Secret into data and defaults type, as upstream decoding does', () => {
    const stored = '{"kind":"Secret","apiVersion":"v1","metadata":{"name":"s"},"data":{"a":"YQ=="},"stringData":{"a":"x","b":"y"}}';
    assert.deepEqual(decodeObject(ascii(stored)), {
      kind: 'Secret',
      apiVersion: 'v1',
      metadata: { name: 's' },
      data: { a: b64('x'), b: b64('y') },
      type: 'Opaque',
    });
  });
});

void describe('malformed stored values give InvalidError', () => {
  const cases: [string, Buffer, RegExp][] = [
    ['empty value', Buffer.alloc(0), /neither Kubernetes protobuf .* nor JSON/],
    ['unknown bytes', ascii('hello'), /neither Kubernetes protobuf/],
    ['wrong magic (encoding style)', hex('6b387301 0a00'), /unsupported k8s protobuf encoding style 0x01/],
    ['still encrypted', ascii('k8s:enc:aescbc:v1:key1:0123456789abcdef'), /still encrypted/],
    ['truncated protobuf', DUMP_BYTES.subarray(0, 60), /runs past the end/],
    ['truncated in a varint', Buffer.concat([hex('6b387300 0a'), hex('ff')]), /truncated varint/],
    ['bad varint (11 bytes)', hex('6b387300 0a ffffffffffffffffffffff01'), /varint longer than 10 bytes/],
    ['length beyond end', hex('6b387300 0a 7f 0a 02 7631'), /runs past the end/],
    ['wrong wire type for metadata', envelope('v1', 'Secret', hex('08 01')), /Secret\.metadata: wire type varint, expected length-delimited/],
    ['wrong wire type for type', envelope('v1', 'Secret', hex('18 01')), /Secret\.type: wire type varint/],
    ['wrong wire type for kind', hex('6b387300 0a 04 0a 00 10 01'), /typeMeta\.kind: wire type varint/],
    ['unknown kind', envelope('v1', 'Pod', Buffer.alloc(0)), /apiVersion "v1" kind "Pod"/],
    ['unknown group', envelope('apps/v1', 'Deployment', Buffer.alloc(0)), /apiVersion "apps\/v1" kind "Deployment"/],
    ['missing kind', hex('6b387300 0a 04 0a 02 7631'), /typeMeta has no kind/],
    ['missing apiVersion', Buffer.concat([hex('6b387300'), ld(0x0a, ld(0x12, ascii('Secret')))]), /typeMeta has no apiVersion/],
    ['no typeMeta at all', hex('6b387300'), /typeMeta has no kind/],
    ['non-UTF-8 name', envelope('v1', 'Secret', ld(0x0a, ld(0x0a, hex('ff fe')))), /ObjectMeta\.name: string is not valid UTF-8/],
    ['non-UTF-8 label key', envelope('v1', 'ConfigMap', ld(0x0a, ld(0x5a, ld(0x0a, hex('c3'))))), /ObjectMeta\.labels\.key: string is not valid UTF-8/],
    ['non-UTF-8 ConfigMap value', envelope('v1', 'ConfigMap', ld(0x12, ld(0x0a, ascii('k')), ld(0x12, hex('80')))), /ConfigMap\.data\.value: string is not valid UTF-8/],
    ['generation beyond 2^53', envelope('v1', 'Secret', ld(0x0a, hex('38 80808080808080808001'))), /ObjectMeta\.generation: int64 value outside/],
    ['timestamp beyond year 9999', envelope('v1', 'Secret', ld(0x0a, ld(0x42, hex('08 ffffffffffffff0f')))), /creationTimestamp: timestamp outside years/],
    ['fieldsV1 not JSON', envelope('v1', 'Secret', ld(0x0a, managedFieldsEntry(ld(0x3a, ld(0x0a, ascii('{x')))))), /fieldsV1: raw is not valid JSON/],
    ['fieldsV1 not an object', envelope('v1', 'Secret', ld(0x0a, managedFieldsEntry(ld(0x3a, ld(0x0a, ascii('[1]')))))), /fieldsV1: raw is not a JSON object/],
    ['group wire type', envelope('v1', 'Secret', hex('33')), /unsupported wire type start-group/],
    ['group wire type for a known field', envelope('v1', 'Secret', hex('0b')), /Secret\.metadata: wire type start-group/],
    ['JSON syntax error', ascii('{"kind":"Secret","data":{"k":"c2VjcmV0"'), /not valid JSON/],
    ['JSON without kind', ascii('{"apiVersion":"v1"}'), /no kind/],
    ['JSON without apiVersion', ascii('{"kind":"Secret"}'), /no apiVersion/],
    ['JSON Secret with a wrongly typed field', ascii('{"apiVersion":"v1","kind":"Secret","metadata":{"name":5}}'), /JSON Secret.*metadata\.name: must be a string/],
    ['JSON Secret with bad base64', ascii('{"apiVersion":"v1","kind":"Secret","data":{"k":"%%"}}'), /JSON Secret\): illegal base64 data at input byte 0$/],
    ['JSON other kind with array metadata', ascii('{"apiVersion":"v1","kind":"Pod","metadata":[]}'), /metadata is not an object/],
  ];
  for (const [name, bytes, message] of cases) {
    void it(name, () => assert.throws(() => decodeObject(bytes), isInvalid(message)));
  }

  void it('never quotes Secret data in a JSON error', () => {
    assert.throws(() => decodeObject(ascii('{"kind":"Secret","data":{"k":"c2VjcmV0-canary"')), (err: unknown) => {
      assert.ok(err instanceof InvalidError);
      assert.doesNotMatch(err.message, /canary/);
      assert.equal(err.cause, undefined);
      return true;
    });
  });

  void it('survives thousands of random mutations and truncations: each decodes or throws InvalidError', () => {
    let seed = 0x2545f491;
    const rand = (n: number): number => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) % n;
    };
    const bases = [DUMP_BYTES, encodeObject(FULL_SECRET), encodeObject(FULL_CONFIG_MAP), encodeObject(FULL_SECRET, { mediaType: 'json' })];
    let decoded = 0;
    let rejected = 0;
    for (let i = 0; i < 6000; i++) {
      const base = bases[i % bases.length]!;
      let bytes: Buffer;
      switch (rand(4)) {
        case 0:
          bytes = base.subarray(0, rand(base.length));
          break;
        case 1: {
          bytes = Buffer.from(base);
          for (let n = 1 + rand(4); n > 0; n--) bytes[4 + rand(bytes.length - 4)] = rand(256);
          break;
        }
        case 2: {
          const at = 4 + rand(base.length - 4);
          bytes = Buffer.concat([base.subarray(0, at), Buffer.from([rand(256), rand(256)]), base.subarray(at)]);
          break;
        }
        default: {
          const at = 4 + rand(base.length - 8);
          bytes = Buffer.concat([base.subarray(0, at), base.subarray(at + 1 + rand(3))]);
        }
      }
      let obj: KubeObject;
      try {
        obj = decodeObject(bytes);
      } catch (err) {
        if (!(err instanceof InvalidError)) assert.fail(`mutation ${i} threw ${String(err)}`);
        rejected++;
        continue;
      }
      decoded++;
      // Whatever decodes is a valid object: it re-encodes and decodes to the same value.
      const mediaType = isSecret(obj) || isConfigMap(obj) ? 'protobuf' : 'json';
      assert.deepEqual(decodeObject(encodeObject(obj, { mediaType })), obj, `mutation ${i}`);
    }
    assert.ok(decoded > 100 && rejected > 100, `decoded ${decoded}, rejected ${rejected}`);
  });
});
