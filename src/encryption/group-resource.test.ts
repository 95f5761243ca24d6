import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatGroupResource, groupResourceFromStorageKey, parseGroupResource } from './group-resource.js';

void test('parses at the first dot, as ParseGroupResource', () => {
  assert.deepEqual(parseGroupResource('secrets'), { group: '', resource: 'secrets' });
  assert.deepEqual(parseGroupResource('secrets.'), { group: '', resource: 'secrets' });
  assert.deepEqual(parseGroupResource('deployments.apps'), { group: 'apps', resource: 'deployments' });
  assert.deepEqual(parseGroupResource('pandas.awesome.bears.example'), {
    group: 'awesome.bears.example',
    resource: 'pandas',
  });
  assert.deepEqual(parseGroupResource('*.'), { group: '', resource: '*' });
  assert.deepEqual(parseGroupResource('*.apps'), { group: 'apps', resource: '*' });
  assert.deepEqual(parseGroupResource('*.*'), { group: '*', resource: '*' });
});

void test('formats as upstream prints in errors', () => {
  for (const text of ['secrets', 'deployments.apps', '*.', '*.apps', '*.*', 'pandas.awesome.bears.example']) {
    assert.equal(formatGroupResource(parseGroupResource(text)), text);
  }
  assert.equal(formatGroupResource(parseGroupResource('secrets.')), 'secrets');
});

void test('maps a storage key to its core GroupResource', () => {
  assert.deepEqual(groupResourceFromStorageKey('/registry/secrets/default/db'), { group: '', resource: 'secrets' });
  assert.deepEqual(groupResourceFromStorageKey('/registry/configmaps/kube-system/x'), {
    group: '',
    resource: 'configmaps',
  });
  assert.deepEqual(groupResourceFromStorageKey('/custom/prefix/secrets/ns/a', { prefix: '/custom/prefix/' }), {
    group: '',
    resource: 'secrets',
  });
  assert.equal(groupResourceFromStorageKey('/other/secrets/ns/a'), null);
  assert.equal(groupResourceFromStorageKey('/registry/'), null);
  assert.equal(groupResourceFromStorageKey('/registrysecrets/ns/a'), null);
});
