// ConfigMap validation through the registry (k8s.io/kubernetes pkg/apis/core/validation ValidateConfigMap).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { KubeObject } from '../../objects/object-meta.js';
import { openRegistry, type RegistryFixture } from './testing/registry-fixture.js';
import { rejectsWith } from './testing/status-assertions.js';

const IMMUTABLE = 'field is immutable when `immutable` is set';
const cm = (name: string, fields: Record<string, unknown> = {}): KubeObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, ...fields });

void describe('ConfigMap validation', () => {
  let r: RegistryFixture;
  before(async () => {
    r = await openRegistry();
  });
  after(async () => {
    await r.close();
  });
  const create = (obj: KubeObject) => r.stores.configmaps.create('default', obj);

  void it('keys, duplicates across data and binaryData, total size with an empty path', async () => {
    await rejectsWith(
      create(cm('c1', { data: { 'a b': 'x' }, binaryData: { 'b/c': '' } })),
      422,
      `ConfigMap "c1" is invalid: [data[a b]: Invalid value: "a b": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+'), ` +
        `binaryData[b/c]: Invalid value: "b/c": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')]`,
    );
    await rejectsWith(create(cm('c2', { data: { k: 'x' }, binaryData: { k: 'AA==' } })), 422, 'ConfigMap "c2" is invalid: data[k]: Invalid value: "k": duplicate of key present in binaryData');
    const s = await rejectsWith(
      create(cm('c3', { data: { a: 'x'.repeat(1048576) }, binaryData: { b: 'AA==' } })),
      422,
      'ConfigMap "c3" is invalid: []: Too long: may not be more than 1048576 bytes',
    );
    assert.equal(s.details?.causes?.[0]?.field, '[]');
    const ok = await create(cm('c4', { data: { k: 'v', empty: '' }, binaryData: { b: 'AAE=' } }));
    assert.deepEqual([ok.data, ok.binaryData], [{ empty: '', k: 'v' }, { b: 'AAE=' }]);
  });

  void it('immutable freezes data and binaryData', async () => {
    const configmaps = r.stores.configmaps;
    await create(cm('frozen', { data: { k: 'v' }, binaryData: { b: 'AA==' }, immutable: true }));
    await rejectsWith(
      configmaps.update('default', 'frozen', cm('frozen', { data: { k: 'w' }, immutable: true })),
      422,
      `ConfigMap "frozen" is invalid: [data: Forbidden: ${IMMUTABLE}, binaryData: Forbidden: ${IMMUTABLE}]`,
    );
    await rejectsWith(
      configmaps.update('default', 'frozen', cm('frozen', { data: { k: 'v' }, binaryData: { b: 'AA==' } })),
      422,
      `ConfigMap "frozen" is invalid: immutable: Forbidden: ${IMMUTABLE}`,
    );
  });
});
