import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeObject } from '../../objects/object-meta.js';
import { NAMESPACES, SECRETS, type ResourceInfo } from '../resource-info.js';
import { sameIgnoringTimes, updatedManagedFields as recordUpdate, type UpdateManagedFieldsOptions } from './managed-fields.js';

const opts = (manager: string, now: string, info: ResourceInfo = SECRETS): UpdateManagedFieldsOptions => ({ manager, now: new Date(now), info });

void describe('managedFields Update entries as the store records them', () => {
  void it('a create owns every field it set, as `kubectl create secret generic` shows', () => {
    const obj: KubeObject = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 's', namespace: 'ns', uid: 'u', labels: { app: 'x', empty: '' }, finalizers: ['example.com/f'], ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'o', uid: 'o-uid', controller: true }] },
      data: { u: 'YQ==' },
      type: 'Opaque',
    };
    assert.deepEqual(recordUpdate(undefined, obj, opts('kubectl-create', '2025-01-31T10:00:00Z')), [
      {
        manager: 'kubectl-create',
        operation: 'Update',
        apiVersion: 'v1',
        time: '2025-01-31T10:00:00Z',
        fieldsType: 'FieldsV1',
        fieldsV1: {
          'f:data': { '.': {}, 'f:u': {} },
          'f:metadata': {
            'f:finalizers': { '.': {}, 'v:"example.com/f"': {} },
            'f:labels': { '.': {}, 'f:app': {}, 'f:empty': {} },
            'f:ownerReferences': { '.': {}, 'k:{"uid":"o-uid"}': {} },
          },
          'f:type': {},
        },
      },
    ]);
  });

  void it('a Namespace create does not own spec (always present) nor status (reset field)', () => {
    const ns: KubeObject = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'a', labels: { 'kubernetes.io/metadata.name': 'a' } }, spec: {}, status: { phase: 'Active' } };
    const entries = recordUpdate(undefined, ns, opts('kubectl-create', '2025-01-31T10:00:00Z', NAMESPACES));
    assert.deepEqual(entries?.[0]?.fieldsV1, { 'f:metadata': { 'f:labels': { '.': {}, 'f:kubernetes.io/metadata.name': {} } } });
  });

  void it('orders Apply entries first, then by time, then by manager; without a manager keeps the list as is', () => {
    const live: KubeObject = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        managedFields: [
          { manager: 'z', operation: 'Update', apiVersion: 'v1', time: '2025-01-01T00:00:00Z', fieldsType: 'FieldsV1', fieldsV1: { 'f:type': {} } },
          { manager: 'ssa', operation: 'Apply', apiVersion: 'v1', time: '2025-06-01T00:00:00Z', fieldsType: 'FieldsV1', fieldsV1: { 'f:data': { 'f:a': {} } } },
        ],
      },
      data: { a: 'YQ==' },
      type: 'Opaque',
    };
    const next: KubeObject = { ...live, metadata: { labels: { l: 'v' } } };
    const entries = recordUpdate(live, next, opts('a-label', '2025-03-01T00:00:00Z'));
    assert.deepEqual(entries?.map((e) => `${e.operation}:${e.manager}`), ['Apply:ssa', 'Update:z', 'Update:a-label']);
    assert.deepEqual(recordUpdate(live, next, opts('', '2025-03-01T00:00:00Z')), live.metadata!.managedFields);
    // Without a manager and without entries sent: a create records none, an empty stored list stays none.
    assert.equal(recordUpdate(undefined, next, opts('', '2025-03-01T00:00:00Z')), undefined);
    assert.equal(recordUpdate({ ...live, metadata: { managedFields: [] } }, next, opts('', '2025-03-01T00:00:00Z')), undefined);
    // Entries sent that decode replace the stored ones even without a manager.
    const sent = [{ manager: 'm', operation: 'Update', apiVersion: 'v1', fieldsType: 'FieldsV1', fieldsV1: { 'f:data': {} } }];
    assert.deepEqual(recordUpdate(live, { ...next, metadata: { managedFields: sent } }, opts('', '2025-03-01T00:00:00Z')), sent);
  });

  void it('compares entry lists ignoring times', () => {
    assert.equal(sameIgnoringTimes([{ manager: 'a', time: '2025-01-01T00:00:00Z' }], [{ manager: 'a', time: '2026-01-01T00:00:00Z' }]), true);
    assert.equal(sameIgnoringTimes([{ manager: 'a' }], [{ manager: 'b' }]), false);
  });
});
