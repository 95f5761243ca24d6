// The garbage collector over a real registry (SQLite, real encryption engine): background, foreground and orphan
// propagation, several owners, dependents of absent owners, and two collectors on the same store agreeing.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { KubeObject, OwnerReference } from '../../objects/object-meta.js';
import { GarbageCollector } from './garbage-collector.js';
import { openRegistry, type RegistryFixture } from './testing/registry-fixture.js';

const ns = 'default';

function configMap(name: string, owners: OwnerReference[] = []): KubeObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, ...(owners.length ? { ownerReferences: owners } : {}) }, data: { a: 'b' } };
}

function ref(obj: KubeObject, blockOwnerDeletion?: boolean): OwnerReference {
  return {
    apiVersion: obj.apiVersion,
    kind: obj.kind,
    name: obj.metadata!.name!,
    uid: obj.metadata!.uid!,
    ...(blockOwnerDeletion !== undefined ? { blockOwnerDeletion } : {}),
  };
}

async function until(check: () => Promise<boolean>, what: string, ms = 5000): Promise<void> {
  const start = Date.now();
  while (!(await check())) {
    if (Date.now() - start > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

void describe('GarbageCollector', () => {
  let r: RegistryFixture;
  let gc2: GarbageCollector;
  const exists = async (name: string) => {
    try {
      await r.stores.configmaps.get(ns, name);
      return true;
    } catch {
      return false;
    }
  };
  const es = (name: string): KubeObject => ({
    apiVersion: 'external-secrets.io/v1',
    kind: 'ExternalSecret',
    metadata: { name },
    spec: { secretStoreRef: { name: 'x' }, data: [{ secretKey: 'k', remoteRef: { key: 'k' } }] },
  });
  const externalSecrets = () => r.stores.customResources.find((s) => s.info.kind === 'ExternalSecret' && s.info.version === 'v1')!;

  before(async () => {
    r = await openRegistry();
    await r.stores.startControllers();
    // A second collector on the same store, as a second API server on the same etcd would run one.
    gc2 = new GarbageCollector({ stores: r.stores.all, retryMs: 50 });
    await gc2.start();
  });
  after(async () => {
    gc2.close();
    await r.close();
  });

  void it('background: a Secret owned by an ExternalSecret goes when the ExternalSecret is deleted', async () => {
    const owner = await externalSecrets().create(ns, es('owner-bg'));
    const secret = await r.stores.secrets.create(ns, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'owned-bg', ownerReferences: [{ ...ref(owner, true), controller: true }] },
      stringData: { a: 'b' },
    });
    assert.equal(secret.metadata?.ownerReferences?.length, 1);
    const { deleted } = await externalSecrets().delete(ns, 'owner-bg');
    assert.equal(deleted, true);
    await until(async () => {
      try {
        await r.stores.secrets.get(ns, 'owned-bg');
        return false;
      } catch {
        return true;
      }
    }, 'the owned Secret to be collected');
  });

  void it('background: a dependent with another live owner only loses the reference; chains cascade', async () => {
    const a = await r.stores.configmaps.create(ns, configMap('owner-a'));
    const b = await r.stores.configmaps.create(ns, configMap('owner-b'));
    await r.stores.configmaps.create(ns, configMap('two-owners', [ref(a), ref(b)]));
    const child = await r.stores.configmaps.create(ns, configMap('child', [ref(a)]));
    await r.stores.configmaps.create(ns, configMap('grandchild', [ref(child)]));
    await r.stores.configmaps.delete(ns, 'owner-a');
    await until(async () => !(await exists('grandchild')), 'the chain to be collected');
    assert.equal(await exists('child'), false);
    const survivor = await r.stores.configmaps.get(ns, 'two-owners');
    assert.deepEqual(survivor.metadata?.ownerReferences?.map((o) => o.name), ['owner-b']);
  });

  void it('foreground: the owner waits (deletionTimestamp, foregroundDeletion) until blocking dependents are gone', async () => {
    const owner = await r.stores.configmaps.create(ns, configMap('fg-owner'));
    await r.stores.configmaps.create(ns, configMap('fg-dep', [ref(owner, true)]));
    // A finalizer of its own keeps the dependent (and so the owner) around until it is removed.
    await r.stores.configmaps.create(ns, { ...configMap('fg-held', [ref(owner, true)]), metadata: { name: 'fg-held', ownerReferences: [ref(owner, true)], finalizers: ['example.com/hold'] } });
    const res = await r.stores.configmaps.delete(ns, 'fg-owner', { propagationPolicy: 'Foreground' });
    assert.equal(res.deleted, false);
    assert.ok(res.object.metadata?.deletionTimestamp);
    assert.deepEqual(res.object.metadata?.finalizers, ['foregroundDeletion']);
    await until(async () => !(await exists('fg-dep')), 'the dependent to go first');
    const held = await r.stores.configmaps.get(ns, 'fg-held');
    assert.ok(held.metadata?.deletionTimestamp, 'the held dependent is being deleted');
    assert.equal(await exists('fg-owner'), true, 'the owner waits for the held dependent');
    await r.stores.configmaps.guaranteedUpdate(ns, 'fg-held', (cur) => ({ ...cur, metadata: { ...cur.metadata, finalizers: [] } }));
    await until(async () => !(await exists('fg-owner')), 'the owner to go last');
  });

  void it('orphan: dependents lose the reference and stay; the owner goes', async () => {
    const owner = await r.stores.configmaps.create(ns, configMap('or-owner'));
    await r.stores.configmaps.create(ns, configMap('or-dep', [ref(owner, true)]));
    const res = await r.stores.configmaps.delete(ns, 'or-owner', { propagationPolicy: 'Orphan' });
    assert.deepEqual(res.object.metadata?.finalizers, ['orphan']);
    await until(async () => !(await exists('or-owner')), 'the owner to go');
    const dep = await r.stores.configmaps.get(ns, 'or-dep');
    assert.equal(dep.metadata?.ownerReferences, undefined);
  });

  void it('an object created with an owner that does not exist is collected', async () => {
    await r.stores.configmaps.create(ns, configMap('orphaned', [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'never', uid: '00000000-0000-0000-0000-000000000000' }]));
    await until(async () => !(await exists('orphaned')), 'the dangling dependent to go');
  });

  void it('an owner with the same name but another uid does not keep a dependent', async () => {
    const first = await r.stores.configmaps.create(ns, configMap('reborn'));
    await r.stores.configmaps.delete(ns, 'reborn', { propagationPolicy: 'Orphan' });
    await until(async () => !(await exists('reborn')), 'the first owner to go');
    await r.stores.configmaps.create(ns, configMap('reborn'));
    await r.stores.configmaps.create(ns, configMap('of-first', [ref(first)]));
    await until(async () => !(await exists('of-first')), 'the dependent of the old uid to go');
    assert.equal(await exists('reborn'), true);
  });
});
