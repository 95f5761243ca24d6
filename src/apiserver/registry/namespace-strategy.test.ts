// Namespace defaults and validation through the registry (k8s.io/kubernetes pkg/registry/core/namespace/strategy.go).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { KubeObject } from '../../objects/object-meta.js';
import { openRegistry, type RegistryFixture } from './testing/registry-fixture.js';
import { rejectsWith } from './testing/status-assertions.js';

const ns = (name: string, fields: Record<string, unknown> = {}): KubeObject => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name }, ...fields });
const LABEL =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";

void describe('Namespace strategy', () => {
  let r: RegistryFixture;
  before(async () => {
    r = await openRegistry();
  });
  after(async () => {
    await r.close();
  });

  void it('create: phase Active, the kubernetes finalizer, the name label; body namespace and status ignored', async () => {
    const created = await r.stores.namespaces.create(undefined, {
      ...ns('team-a', { status: { phase: 'Terminating' }, spec: { finalizers: ['example.com/x'] } }),
      metadata: { name: 'team-a', namespace: 'ignored', labels: { 'kubernetes.io/metadata.name': 'wrong', app: 'a' } },
    });
    assert.deepEqual(created.spec, { finalizers: ['example.com/x', 'kubernetes'] });
    assert.deepEqual(created.status, { phase: 'Active' });
    assert.deepEqual(created.metadata?.labels, { app: 'a', 'kubernetes.io/metadata.name': 'team-a' });
    assert.equal(created.metadata?.namespace, undefined);
    assert.equal(created.metadata?.generation, undefined);
  });

  void it('names are DNS-1123 labels', async () => {
    const create = (name: string) => r.stores.namespaces.create(undefined, ns(name));
    await rejectsWith(create('My.NS'), 422, `Namespace "My.NS" is invalid: metadata.name: Invalid value: "My.NS": ${LABEL}`);
    await rejectsWith(create('a.b'), 422, 'Namespace "a.b" is invalid: metadata.name: Invalid value: "a.b": must not contain dots');
    const long = 'n'.repeat(64);
    // The name label defaulted from the name is too long as well, as on kube.
    await rejectsWith(
      create(long),
      422,
      `Namespace "${long}" is invalid: [metadata.name: Invalid value: "${long}": must be no more than 63 characters, ` +
        `metadata.labels: Invalid value: "${long}": must be no more than 63 characters]`,
    );
    await rejectsWith(
      r.stores.namespaces.create(undefined, ns('f', { spec: { finalizers: ['bad'] } })),
      422,
      'Namespace "f" is invalid: spec.finalizers: Invalid value: "bad": name is neither a standard finalizer name nor is it fully qualified',
    );
  });

  void it('updates cannot change spec.finalizers or status through the main resource; the name label is re-forced', async () => {
    await r.stores.namespaces.create(undefined, ns('team-b'));
    const updated = await r.stores.namespaces.update(undefined, 'team-b', {
      ...ns('team-b', { spec: { finalizers: [] }, status: { phase: 'Terminating' } }),
      metadata: { name: 'team-b', labels: { x: 'y' } },
    });
    assert.deepEqual(updated.spec, { finalizers: ['kubernetes'] });
    assert.deepEqual(updated.status, { phase: 'Active' });
    assert.deepEqual(updated.metadata?.labels, { 'kubernetes.io/metadata.name': 'team-b', x: 'y' });
  });

  void it('/status validates the phase against deletionTimestamp; /finalize changes only spec.finalizers', async () => {
    await r.stores.namespaces.create(undefined, ns('team-c'));
    await rejectsWith(
      r.stores.namespaces.update(undefined, 'team-c', ns('team-c', { status: { phase: 'Terminating' } }), { subresource: 'status' }),
      422,
      `Namespace "team-c" is invalid: status.Phase: Invalid value: "Terminating": may only be 'Active' if \`deletionTimestamp\` is empty`,
    );
    const finalized = await r.stores.namespaces.update(undefined, 'team-c', ns('team-c', { spec: { finalizers: [] }, status: { phase: 'X' } }), {
      subresource: 'finalize',
    });
    assert.deepEqual([finalized.spec, finalized.status], [{}, { phase: 'Active' }]);
  });
});
