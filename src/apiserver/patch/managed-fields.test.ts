import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeObject } from '../../objects/object-meta.js';
import { ApiStatusError } from '../api-status.js';
import { NAMESPACES, SECRETS } from '../resource-info.js';
import { FieldSet, renderPath } from './field-set.js';
import { updateManagedFields } from './managed-fields.js';
import { defaultFieldManager, validatePatchOptions } from './patch-options.js';

const at = (time: string) => new Date(time);
const update = (previous: KubeObject | undefined, next: KubeObject, manager: string, time: string) =>
  updateManagedFields(previous, next, { manager, now: at(time), info: SECRETS });

function secret(extra: Partial<KubeObject> = {}, meta: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 's', namespace: 'default', uid: 'u-1', creationTimestamp: '2025-01-31T10:00:00Z', ...meta },
    data: { u: 'YQ==' },
    type: 'Opaque',
    ...extra,
  };
}

void describe('FieldSet and FieldsV1', () => {
  void it('round-trips FieldsV1 with "." members and sorts children as kube (fields, keys, values)', () => {
    const fields = {
      'f:data': { '.': {}, 'f:a': {}, 'f:b': {} },
      'f:metadata': {
        'f:finalizers': { '.': {}, 'v:"x"': {} },
        'f:ownerReferences': { 'k:{"uid":"1"}': {} },
      },
    };
    const set = FieldSet.fromFieldsV1(fields);
    assert.equal(JSON.stringify(set.toFieldsV1()), JSON.stringify(fields));
    assert.deepEqual(set.paths().map(renderPath), [
      '.data',
      '.data.a',
      '.data.b',
      '.metadata.finalizers',
      '.metadata.finalizers[="x"]',
      '.metadata.ownerReferences[uid="1"]',
    ]);
    assert.equal(renderPath(['f:metadata', 'f:annotations', 'f:example.com/x']), '.metadata.annotations.example.com/x');
  });
});

void describe('managedFields Update entries', () => {
  void it('records kubectl create then kubectl label exactly as kube-apiserver records them', () => {
    const created = update(undefined, secret(), 'kubectl-create', '2025-01-31T10:00:00Z');
    const labelled = update(created, secret({}, { labels: { app: 'x' }, managedFields: created.metadata?.managedFields }), 'kubectl-label', '2025-01-31T10:01:00Z');
    assert.equal(
      JSON.stringify(labelled.metadata?.managedFields),
      JSON.stringify([
        {
          manager: 'kubectl-create',
          operation: 'Update',
          apiVersion: 'v1',
          time: '2025-01-31T10:00:00Z',
          fieldsType: 'FieldsV1',
          fieldsV1: { 'f:data': { '.': {}, 'f:u': {} }, 'f:type': {} },
        },
        {
          manager: 'kubectl-label',
          operation: 'Update',
          apiVersion: 'v1',
          time: '2025-01-31T10:01:00Z',
          fieldsType: 'FieldsV1',
          fieldsV1: { 'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } } },
        },
      ]),
    );
  });

  void it('moves a changed field to the writer, drops removed fields from everyone, leaves a no-op alone', () => {
    const created = update(undefined, secret({ data: { u: 'YQ==', v: 'Yg==' } }), 'kubectl-create', '2025-01-31T10:00:00Z');
    const replaced = update(created, secret({ data: { u: 'Yw==' } }), 'kubectl-replace', '2025-01-31T10:05:00Z');
    assert.deepEqual(
      replaced.metadata?.managedFields?.map((e) => [e.manager, e.time, e.fieldsV1]),
      [
        // the data map itself stays with its creator: a member without children is a leaf `{}`
        ['kubectl-create', '2025-01-31T10:00:00Z', { 'f:data': {}, 'f:type': {} }],
        ['kubectl-replace', '2025-01-31T10:05:00Z', { 'f:data': { 'f:u': {} } }],
      ],
    );
    const same = update(replaced, { ...replaced }, 'kubectl-edit', '2025-01-31T11:00:00Z');
    assert.deepEqual(same.metadata?.managedFields, replaced.metadata?.managedFields);
    // A write that only removes does not create an entry for its manager.
    const removed = update(replaced, secret({ data: undefined }), 'remover', '2025-01-31T12:00:00Z');
    assert.deepEqual(removed.metadata?.managedFields?.map((e) => [e.manager, e.fieldsV1]), [['kubectl-create', { 'f:type': {} }]]);
  });

  void it('stamps whole seconds', () => {
    const created = update(undefined, secret(), 'kubectl-create', '2025-01-31T10:00:00.789Z');
    assert.equal(created.metadata?.managedFields?.[0]?.time, '2025-01-31T10:00:00Z');
  });

  void it('owns finalizers as a set and ownerReferences by uid (items atomic)', () => {
    const obj = secret({}, { finalizers: ['example.com/f'], ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'o', uid: 'o-uid' }] });
    assert.deepEqual(update(undefined, obj, 'm', '2025-01-31T10:00:00Z').metadata?.managedFields?.[0]?.fieldsV1, {
      'f:data': { '.': {}, 'f:u': {} },
      'f:metadata': { 'f:finalizers': { '.': {}, 'v:"example.com/f"': {} }, 'f:ownerReferences': { '.': {}, 'k:{"uid":"o-uid"}': {} } },
      'f:type': {},
    });
  });

  void it('takes entries a client sends when they decode, clears them on [{}], ignores undecodable ones', () => {
    const created = update(undefined, secret(), 'kubectl-create', '2025-01-31T10:00:00Z');
    const sent = [{ manager: 'kubectl', operation: 'Apply', apiVersion: 'v1', time: '2025-01-31T10:00:00Z', fieldsType: 'FieldsV1', fieldsV1: { 'f:type': {} } }];
    const migrated = update(created, { ...created, metadata: { ...created.metadata, managedFields: sent } }, 'kubectl', '2025-01-31T10:02:00Z');
    assert.deepEqual(migrated.metadata?.managedFields, sent);
    const reset = update(created, { ...created, metadata: { ...created.metadata, managedFields: [{}] } }, 'kubectl', '2025-01-31T10:02:00Z');
    assert.equal(reset.metadata?.managedFields, undefined);
    const bogus = update(created, { ...created, metadata: { ...created.metadata, managedFields: [{ operation: 'Bogus' }] } }, 'x', '2025-01-31T10:02:00Z');
    assert.deepEqual(bogus.metadata?.managedFields, created.metadata?.managedFields);
  });

  void it('keeps at most 10 Update entries, folding the oldest into ancient-changes', () => {
    let obj = update(undefined, secret({ data: {} }), 'creator', '2025-01-31T09:00:00Z');
    for (let i = 0; i < 11; i++) {
      const next = secret({ data: { ...(obj.data as Record<string, string>), [`k${i}`]: 'eA==' } }, { managedFields: obj.metadata?.managedFields });
      obj = update(obj, next, `m${i}`, `2025-01-31T10:${String(i).padStart(2, '0')}:00Z`);
    }
    const entries = obj.metadata?.managedFields ?? [];
    assert.equal(entries.length, 10);
    const ancient = entries.find((e) => e.manager === 'ancient-changes');
    assert.ok(ancient, 'an ancient-changes entry exists');
    // creator (type), m0 (created the data map and k0) and m1 (k1), merged
    assert.deepEqual(ancient.fieldsV1, { 'f:data': { '.': {}, 'f:k0': {}, 'f:k1': {} }, 'f:type': {} });
    assert.equal(entries.some((e) => e.manager === 'creator' || e.manager === 'm0' || e.manager === 'm1'), false);
  });

  void it('Namespace: status (a reset field) is never owned, spec is a struct without "."', () => {
    const ns: KubeObject = {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'n', labels: { 'kubernetes.io/metadata.name': 'n' } },
      spec: { finalizers: ['kubernetes'] },
      status: { phase: 'Active' },
    };
    const out = updateManagedFields(undefined, ns, { manager: 'kubectl-create', now: at('2025-01-31T10:00:00Z'), info: NAMESPACES });
    assert.deepEqual(out.metadata?.managedFields?.[0]?.fieldsV1, {
      'f:metadata': { 'f:labels': { '.': {}, 'f:kubernetes.io/metadata.name': {} } },
      'f:spec': { 'f:finalizers': {} },
    });
  });
});

void describe('field manager names and PatchOptions', () => {
  void it('defaults the manager to the User-Agent prefix, as kube', () => {
    assert.equal(defaultFieldManager(undefined, 'kubectl/v1.32.4 (linux/amd64) kubernetes/abc1234'), 'kubectl');
    assert.equal(defaultFieldManager('kubectl-patch', 'kubectl/v1.32.4'), 'kubectl-patch');
    assert.equal(defaultFieldManager(undefined, 'Mozilla\u0001x/5.0'), 'Mozillax');
    assert.equal(defaultFieldManager(undefined, undefined), '');
    assert.equal(defaultFieldManager(undefined, 'a'.repeat(200)), 'a'.repeat(128));
  });

  void it('refuses apply without fieldManager and force on other patch types with 422 PatchOptions', () => {
    const statusOf = (fn: () => void) => {
      try {
        fn();
      } catch (e) {
        assert.ok(e instanceof ApiStatusError);
        return e.status;
      }
      assert.fail('expected an error');
    };
    assert.deepEqual(statusOf(() => validatePatchOptions(true, {})), {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
      reason: 'Invalid',
      details: {
        name: '',
        group: 'meta.k8s.io',
        kind: 'PatchOptions',
        causes: [{ reason: 'FieldValueRequired', message: 'Required value: is required for apply patch', field: 'fieldManager' }],
      },
      code: 422,
    });
    assert.equal(
      statusOf(() => validatePatchOptions(false, { force: false })).message,
      'PatchOptions.meta.k8s.io "" is invalid: force: Forbidden: may not be specified for non-apply patch',
    );
    assert.equal(
      statusOf(() => validatePatchOptions(false, { dryRun: ['x'], fieldValidation: 'Loud' })).message,
      'PatchOptions.meta.k8s.io "" is invalid: [dryRun: Unsupported value: []string{"x"}: supported values: "All", fieldValidation: Unsupported value: "Loud": supported values: "", "Ignore", "Strict", "Warn"]',
    );
    assert.equal(
      statusOf(() => validatePatchOptions(true, { fieldManager: 'a\u0001' })).message,
      'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Invalid value: "a\\x01": invalid character U+0001 (at position 1)',
    );
    validatePatchOptions(true, { fieldManager: 'kubectl', force: true, dryRun: ['All'], fieldValidation: 'Strict' });
  });
});
