// Classification of stored values without decrypting, on values the real engine wrote under every provider, and the
// scan's counts and staleness over them.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadEncryptionConfiguration } from '../encryption/encryption-config.js';
import { EncryptionEngine } from '../encryption/encryption-engine.js';
import { keyIdHash } from '../kms/kms-v2-encrypted-object.js';
import { FakeKmsV1Service, FakeKmsV2Service } from '../encryption/testing/fake-kms.js';
import { contextForKey } from '../encryption/transformer.js';
import { scanSource } from './scan.js';
import type { Source, StoredEntry } from './source.js';
import { classifyStoredValue, formatLabel } from './stored-value.js';

const KEY = (n: number) => Buffer.alloc(32, n).toString('base64');
const PROVIDERS = {
  identity: '      - identity: {}',
  aescbc: `      - aescbc:\n          keys:\n            - {name: "cbc:1", secret: ${KEY(1)}}\n            - {name: cbc2, secret: ${KEY(2)}}`,
  aesgcm: `      - aesgcm:\n          keys:\n            - {name: gcm1, secret: ${KEY(3)}}`,
  secretbox: `      - secretbox:\n          keys:\n            - {name: box1, secret: ${KEY(4)}}`,
  kmsv1: '      - kms: {name: v1p, endpoint: "unix:///tmp/none-v1.sock", cachesize: 10}',
  kmsv2: '      - kms: {apiVersion: v2, name: v2p, endpoint: "unix:///tmp/none-v2.sock"}',
};
type Name = keyof typeof PROVIDERS;

function configWithFirst(first: Name) {
  const order = [first, ...(Object.keys(PROVIDERS) as Name[]).filter((n) => n !== first)];
  return loadEncryptionConfiguration(`apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n  - resources: [secrets]\n    providers:\n${order.map((n) => PROVIDERS[n]).join('\n')}\n`);
}

const v1 = new FakeKmsV1Service();
const v2 = new FakeKmsV2Service();
async function written(first: Name, key: string): Promise<Buffer> {
  const engine = await EncryptionEngine.create(configWithFirst(first), { connectKmsV1: () => v1, connectKmsV2: () => v2 });
  try {
    return Buffer.from(await engine.transformerFor({ group: '', resource: 'secrets' }).toStorage(Buffer.from('k8s\0object'), contextForKey(key)));
  } finally {
    engine.close();
  }
}

function memorySource(entries: StoredEntry[]): Source {
  return {
    description: 'memory',
    async *entries(prefix) {
      for (const e of [...entries].sort((a, b) => Buffer.compare(Buffer.from(a.key), Buffer.from(b.key)))) if (e.key.startsWith(prefix)) yield e;
    },
    close: async () => {},
  };
}

void describe('classifyStoredValue', () => {
  void it('names provider and key of values the engine wrote, without decrypting', async () => {
    const names = new Map([['aescbc', ['cbc:1', 'cbc2']]]);
    assert.deepEqual(classifyStoredValue(await written('identity', '/registry/secrets/a/b')), { kind: 'plaintext' });
    assert.deepEqual(classifyStoredValue(await written('aescbc', '/registry/secrets/a/b'), { keyNames: names }), { kind: 'local', provider: 'aescbc', key: 'cbc:1' });
    assert.deepEqual(classifyStoredValue(await written('aesgcm', '/registry/secrets/a/b')), { kind: 'local', provider: 'aesgcm', key: 'gcm1' });
    assert.deepEqual(classifyStoredValue(await written('secretbox', '/registry/secrets/a/b')), { kind: 'local', provider: 'secretbox', key: 'box1' });
    assert.deepEqual(classifyStoredValue(await written('kmsv1', '/registry/secrets/a/b')), { kind: 'kms-v1', name: 'v1p' });
    assert.deepEqual(classifyStoredValue(await written('kmsv2', '/registry/secrets/a/b')), { kind: 'kms-v2', name: 'v2p', keyId: '1' });
  });

  void it('calls foreign or broken prefixes unknown, showing at most the prefix', () => {
    const cases: [string, string][] = [
      ['k8s:enc:foo:v1:k:data', 'k8s:enc:foo:v1:'],
      ['k8s:enc:aescbc:v9:k:data', 'k8s:enc:aescbc:v9:'],
      ['k8s:enc:kms:v2:name:not-a-protobuf-EncryptedObject', 'k8s:enc:kms:v2:'],
      ['k8s:enc:', 'k8s:enc:'],
    ];
    for (const [value, prefix] of cases) {
      const f = classifyStoredValue(Buffer.from(value));
      assert.deepEqual(f, { kind: 'unknown', prefix }, value);
      assert.ok(!formatLabel(f).includes('data'));
    }
  });

  void it('labels KMS v2 key_ids by their sha256, as upstream logs them', () => {
    assert.equal(formatLabel({ kind: 'kms-v2', name: 'p', keyId: 'vault-transit:k:v2' }), `kms-v2/p/${keyIdHash('vault-transit:k:v2')}`);
  });
});

void describe('scanSource', () => {
  void it('counts per resource by writer, plaintext, unknown and stale for a configuration', async () => {
    const entries: StoredEntry[] = [];
    const add = async (first: Name, n: number) => {
      for (let i = 0; i < n; i++) {
        const key = `/registry/secrets/ns/${first}-${i}`;
        entries.push({ key, value: await written(first, key), modRevision: entries.length + 2 });
      }
    };
    await add('identity', 2);
    await add('aescbc', 3);
    await add('aesgcm', 1);
    await add('secretbox', 1);
    await add('kmsv1', 1);
    await add('kmsv2', 2);
    entries.push({ key: '/registry/secrets/ns/odd', value: Buffer.from('k8s:enc:foo:v1:xx'), modRevision: 99 });
    entries.push({ key: '/registry/configmaps/ns/c', value: Buffer.from('k8s\0cm'), modRevision: 100 });
    const config = configWithFirst('kmsv2');
    const scan = await scanSource(memorySource(entries), { prefix: '/registry/', config });
    const secrets = scan.resources.find((r) => r.resource === 'secrets')!;
    assert.deepEqual(secrets, {
      resource: 'secrets',
      total: 11,
      byWriter: {
        identity: 2,
        'aescbc/cbc:1': 3,
        'aesgcm/gcm1': 1,
        'secretbox/box1': 1,
        'kms-v1/v1p': 1,
        [`kms-v2/v2p/${keyIdHash('1')}`]: 2,
        'unknown "k8s:enc:foo:v1:"': 1,
      },
      plaintext: 2,
      unknown: 1,
      stale: 9,
    });
    // configmaps have no rule: plaintext is what kube-apiserver writes, so not stale.
    assert.deepEqual(scan.resources.find((r) => r.resource === 'configmaps')!.stale, 0);
    assert.equal(scan.findings.filter((f) => f.stale).length, 9);

    // The plugin now reports another key_id: the two KMS v2 values become stale too.
    const rotated = await scanSource(memorySource(entries), { prefix: '/registry/', config, kmsV2KeyIds: new Map([['v2p', '2']]) });
    assert.equal(rotated.resources.find((r) => r.resource === 'secrets')!.stale, 11);
    // Without a configuration nothing is judged stale.
    const bare = await scanSource(memorySource(entries), { prefix: '/registry/' });
    assert.equal(bare.resources[0]!.stale, null);
  });

  void it('names a custom resource <resource>.<group> (its keys hold the group) and reads only its keys when asked', async () => {
    const entries: StoredEntry[] = [
      { key: '/registry/external-secrets.io/externalsecrets/ns/e', value: Buffer.from('{}'), modRevision: 2 },
      { key: '/registry/external-secrets.io/clustersecretstores/s', value: Buffer.from('{}'), modRevision: 3 },
      { key: '/registry/secrets/ns/s', value: Buffer.from('k8s\0s'), modRevision: 4 },
    ];
    const all = await scanSource(memorySource(entries), { prefix: '/registry/' });
    assert.deepEqual(all.resources.map((r) => r.resource), ['clustersecretstores.external-secrets.io', 'externalsecrets.external-secrets.io', 'secrets']);
    const one = await scanSource(memorySource(entries), { prefix: '/registry/', resources: ['externalsecrets.external-secrets.io'] });
    assert.deepEqual(one.resources.map((r) => [r.resource, r.total]), [['externalsecrets.external-secrets.io', 1]]);
  });
});
