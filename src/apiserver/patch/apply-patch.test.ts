import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeObject } from '../../objects/object-meta.js';
import { ApiStatusError, type Status } from '../api-status.js';
import { CONFIG_MAPS, NAMESPACES, SECRETS, type ResourceInfo } from '../resource-info.js';
import { applyPatch, patchContentType, unsupportedPatchMediaType, unsupportedPatchMediaTypeMessage, type PatchType } from './apply-patch.js';

const EXTERNAL_SECRETS: ResourceInfo = {
  group: 'external-secrets.io',
  version: 'v1',
  kind: 'ExternalSecret',
  listKind: 'ExternalSecretList',
  plural: 'externalsecrets',
  singular: 'externalsecret',
  namespaced: true,
  shortNames: ['es'],
  verbs: ['get', 'patch'],
};

function statusOf(fn: () => unknown): Status {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ApiStatusError, `expected an ApiStatusError, got ${String(e)}`);
    return e.status;
  }
  assert.fail('expected an error');
}

const run = (current: KubeObject, type: PatchType, body: unknown, info: ResourceInfo = SECRETS, extra: { force?: boolean } = {}) =>
  applyPatch(current, { type, body: Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)) }, { info, ...extra });

const secret: KubeObject = {
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: {
    name: 's',
    namespace: 'default',
    resourceVersion: '3',
    labels: { app: 'web' },
    managedFields: [{ manager: 'kubectl-create', operation: 'Update', apiVersion: 'v1', time: '2025-01-31T10:00:00Z', fieldsType: 'FieldsV1', fieldsV1: { 'f:data': { '.': {}, 'f:password': {} } } }],
  },
  data: { password: 'czNjcjN0' },
  type: 'Opaque',
};

void describe('patch Content-Type routing (k8s.io/apiserver pkg/endpoints/handlers/patch.go)', () => {
  void it('names the four patch types, ignoring parameters after ";"', () => {
    assert.equal(patchContentType('application/json-patch+json', SECRETS), 'application/json-patch+json');
    assert.equal(patchContentType('application/merge-patch+json; charset=utf-8', SECRETS), 'application/merge-patch+json');
    assert.equal(patchContentType('application/strategic-merge-patch+json', CONFIG_MAPS), 'application/strategic-merge-patch+json');
    assert.equal(patchContentType('application/apply-patch+yaml', NAMESPACES), 'application/apply-patch+yaml');
    assert.equal(patchContentType('application/json', SECRETS), null);
    assert.equal(patchContentType(undefined, SECRETS), null);
  });

  void it('offers no strategic merge patch for custom resources, and says so in the 415', () => {
    assert.equal(patchContentType('application/strategic-merge-patch+json', EXTERNAL_SECRETS), null);
    assert.equal(patchContentType('application/merge-patch+json', EXTERNAL_SECRETS), 'application/merge-patch+json');
    assert.equal(
      unsupportedPatchMediaTypeMessage(SECRETS),
      'the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json, application/apply-patch+yaml',
    );
    assert.deepEqual(unsupportedPatchMediaType(EXTERNAL_SECRETS).status, {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message:
        'the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml',
      reason: 'UnsupportedMediaType',
      code: 415,
    });
    const cr: KubeObject = { apiVersion: 'external-secrets.io/v1', kind: 'ExternalSecret', metadata: { name: 'e' } };
    assert.equal(statusOf(() => run(cr, 'application/strategic-merge-patch+json', {}, EXTERNAL_SECRETS)).code, 415);
  });
});

void describe('what kubectl label / annotate / patch send', () => {
  void it('kubectl patch (strategic, the default) and --type=merge|json change the object and leave managedFields to the store', () => {
    const strategic = run(secret, 'application/strategic-merge-patch+json', { metadata: { labels: { tier: 'db' } }, data: { password: null } });
    assert.equal(strategic.created, false);
    assert.deepEqual(strategic.object.metadata?.labels, { app: 'web', tier: 'db' });
    assert.deepEqual(strategic.object.data, {});
    assert.deepEqual(strategic.object.metadata?.managedFields, secret.metadata?.managedFields);

    const merge = run(secret, 'application/merge-patch+json', { metadata: { labels: { app: null } } });
    assert.deepEqual(merge.object.metadata?.labels, {});

    const json = run(secret, 'application/json-patch+json', [{ op: 'replace', path: '/data/password', value: 'bmV3' }]);
    assert.deepEqual(json.object.data, { password: 'bmV3' });
  });

  void it('refuses force on non-apply patches and a document that stops being an object', () => {
    assert.equal(statusOf(() => run(secret, 'application/merge-patch+json', {}, SECRETS, { force: false })).code, 422);
    const status = statusOf(() => run(secret, 'application/json-patch+json', [{ op: 'replace', path: '', value: 'czNjcjN0' }]));
    assert.equal(status.code, 422);
    assert.equal(status.message, ' "" is invalid: patch: Invalid value: "...": the patched document is not a JSON object');
    assert.ok(!JSON.stringify(status).includes('czNjcjN0'));
  });

  void it('needs the current object for every type but apply', () => {
    assert.throws(
      () => applyPatch(undefined, { type: 'application/merge-patch+json', body: Buffer.from('{}') }, { info: SECRETS }),
      /needs the current object/,
    );
  });
});
