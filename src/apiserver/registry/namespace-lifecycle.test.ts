// Namespace lifecycle (k8s.io/apiserver NamespaceLifecycle admission, k8s.io/kubernetes pkg/controller/namespace):
// admission, deletion through Terminating, the in-process controller.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeClock } from '../../lib/clock.js';
import type { KubeObject } from '../../objects/object-meta.js';
import { DEFAULT_NAMESPACES } from './resource-stores.js';
import { openRegistry } from './testing/registry-fixture.js';
import { rejectsWith, statusOf } from './testing/status-assertions.js';

const ns = (name: string): KubeObject => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
const secret = (name: string, meta: Record<string, unknown> = {}): KubeObject => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name, ...meta } });
const cm = (name: string): KubeObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { k: 'v' } });

void describe('namespace lifecycle', () => {
  void it('default namespaces exist, ensureDefaultNamespaces is idempotent, immortal ones cannot be deleted', async () => {
    const r = await openRegistry();
    try {
      const names = (await r.stores.namespaces.list(undefined)).items.map((n) => n.metadata!.name);
      assert.deepEqual(names, [...DEFAULT_NAMESPACES].sort());
      const revision = await r.store.currentRevision();
      await r.stores.ensureDefaultNamespaces();
      assert.equal(await r.store.currentRevision(), revision);
      for (const name of ['default', 'kube-system', 'kube-public']) {
        await rejectsWith(r.stores.namespaces.delete(undefined, name), 403, `namespaces "${name}" is forbidden: this namespace may not be deleted`);
      }
    } finally {
      await r.close();
    }
  });

  void it('writes into a missing namespace are 404', async () => {
    const r = await openRegistry();
    try {
      const s = await rejectsWith(r.stores.secrets.create('nope', secret('x')), 404, 'namespaces "nope" not found');
      assert.deepEqual(s.details, { name: 'nope', kind: 'namespaces' });
      await rejectsWith(r.stores.configmaps.create('nope', cm('x')), 404, 'namespaces "nope" not found');
      assert.deepEqual((await r.stores.secrets.list('nope')).items, [], 'reads just find nothing');
    } finally {
      await r.close();
    }
  });

  void it('DELETE marks the namespace Terminating, removes the content, then the namespace', async () => {
    const r = await openRegistry();
    try {
      const { namespaces, secrets, configmaps } = r.stores;
      await namespaces.create(undefined, ns('team-a'));
      await secrets.create('team-a', secret('s1'));
      await secrets.create('team-a', secret('s2'));
      await configmaps.create('team-a', cm('c1'));
      await secrets.create('default', secret('keep'));
      const uid = (await namespaces.get(undefined, 'team-a')).metadata!.uid!;

      await rejectsWith(
        namespaces.delete(undefined, 'team-a', { preconditions: { uid: 'other' } }),
        409,
        `Operation cannot be fulfilled on namespaces "team-a": Precondition failed: UID in precondition: other, UID in object meta: ${uid}`,
      );
      const first = await namespaces.delete(undefined, 'team-a');
      assert.equal(first.deleted, false);
      assert.equal((first.object.status as { phase: string }).phase, 'Terminating');
      assert.ok(first.object.metadata!.deletionTimestamp);

      await r.stores.namespaceDeletion.idle();
      await rejectsWith(namespaces.get(undefined, 'team-a'), 404, 'namespaces "team-a" not found');
      assert.deepEqual((await secrets.list('team-a')).items, []);
      assert.deepEqual((await configmaps.list('team-a')).items, []);
      assert.equal((await secrets.list('default')).items.length, 1, 'other namespaces are untouched');
    } finally {
      await r.close();
    }
  });

  void it('objects with finalizers hold the namespace (which refuses new content: 403) until their finalizers are removed', async () => {
    const clock = new FakeClock();
    const r = await openRegistry({ clock, namespaceRetryMs: 1000 });
    try {
      const { namespaces, secrets } = r.stores;
      await namespaces.create(undefined, ns('team-b'));
      await secrets.create('team-b', secret('held', { finalizers: ['example.com/hold'] }));
      await secrets.create('team-b', secret('free'));
      await namespaces.delete(undefined, 'team-b');
      await r.stores.namespaceDeletion.idle();

      const held = await secrets.get('team-b', 'held');
      assert.ok(held.metadata!.deletionTimestamp, 'marked, kept by its finalizer');
      await rejectsWith(secrets.get('team-b', 'free'), 404, 'secrets "free" not found');
      const stillThere = await namespaces.get(undefined, 'team-b');
      assert.deepEqual(stillThere.spec, { finalizers: ['kubernetes'] });
      assert.deepEqual(r.stores.namespaceDeletion.waiting, ['team-b']);
      const refused = await statusOf(secrets.create('team-b', secret('late')));
      assert.equal(refused.code, 403);
      assert.equal(refused.message, 'secrets "late" is forbidden: unable to create new content in namespace team-b because it is being terminated');
      assert.deepEqual(refused.details?.causes, [{ reason: 'NamespaceTerminating', message: 'namespace team-b is being terminated', field: 'metadata.namespace' }]);
      // Updates of what is there are still allowed (only creates are refused).
      await secrets.update('team-b', 'held', { ...held, metadata: { ...held.metadata, labels: { still: 'writable' } } });
      // A repeated DELETE returns the namespace as it is.
      assert.equal((await namespaces.delete(undefined, 'team-b')).deleted, false);
      await r.stores.namespaceDeletion.idle();

      // The finalizer's owner lets go: the next pass finishes the namespace.
      const current = await secrets.get('team-b', 'held');
      await secrets.update('team-b', 'held', { ...current, metadata: { ...current.metadata, finalizers: [] } });
      await clock.advance(1000);
      await r.stores.namespaceDeletion.idle();
      await rejectsWith(namespaces.get(undefined, 'team-b'), 404, 'namespaces "team-b" not found');
      assert.deepEqual(r.stores.namespaceDeletion.waiting, []);
    } finally {
      await r.close();
    }
  });

  void it('a namespace left Terminating (process stopped mid-way) is finished by ensureDefaultNamespaces', async () => {
    const r = await openRegistry();
    try {
      const { namespaces, secrets } = r.stores;
      await namespaces.create(undefined, ns('team-c'));
      await secrets.create('team-c', secret('s'));
      // Mark it the way DELETE does, without the controller running.
      r.stores.namespaceDeletion.close();
      await namespaces.delete(undefined, 'team-c');
      assert.ok((await namespaces.get(undefined, 'team-c')).metadata!.deletionTimestamp);

      const { createResourceStores } = await import('./resource-stores.js');
      const restarted = createResourceStores({ store: r.store, engine: r.engine });
      try {
        await restarted.ensureDefaultNamespaces();
        await restarted.namespaceDeletion.idle();
        await rejectsWith(restarted.namespaces.get(undefined, 'team-c'), 404, 'namespaces "team-c" not found');
      } finally {
        restarted.close();
      }
    } finally {
      await r.close();
    }
  });
});
