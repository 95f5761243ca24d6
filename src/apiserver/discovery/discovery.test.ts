import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CONFIG_MAPS, NAMESPACES, SECRETS, type ResourceInfo } from '../resource-info.js';
import { apiGroupListDocument, resourceListDocument, storageVersionHash } from './discovery.js';

void describe('discovery documents', () => {
  void it('computes kube storageVersionHash values', () => {
    assert.equal(storageVersionHash(SECRETS), 'S6u1pOWzb84=');
    assert.equal(storageVersionHash(CONFIG_MAPS), 'qFsyl6wFWjQ=');
    assert.equal(storageVersionHash(NAMESPACES), 'Q3oi5N2YM8M=');
    const es: ResourceInfo = { ...SECRETS, group: 'external-secrets.io', version: 'v1', kind: 'ExternalSecret' };
    assert.equal(storageVersionHash(es), '3mBYPLboGzE=');
  });

  void it('lists a resource before its subresources and strips apiVersion only for the core group', () => {
    const doc = resourceListDocument('v1', [SECRETS, NAMESPACES], [{ resource: NAMESPACES, name: 'status', verbs: ['get', 'patch', 'update'] }]);
    assert.equal('apiVersion' in doc, false);
    assert.deepEqual((doc.resources as { name: string }[]).map((r) => r.name), ['namespaces', 'namespaces/status', 'secrets']);
    const es: ResourceInfo = { ...SECRETS, group: 'external-secrets.io', version: 'v1', kind: 'ExternalSecret', plural: 'externalsecrets' };
    assert.equal(resourceListDocument('external-secrets.io/v1', [es]).apiVersion, 'v1');
    assert.deepEqual(apiGroupListDocument([SECRETS, es]), {
      kind: 'APIGroupList',
      apiVersion: 'v1',
      groups: [{ name: 'external-secrets.io', versions: [{ groupVersion: 'external-secrets.io/v1', version: 'v1' }], preferredVersion: { groupVersion: 'external-secrets.io/v1', version: 'v1' } }],
    });
  });
});
