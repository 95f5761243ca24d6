// The namespace cache of the NamespaceLifecycle admission (namespace-cache.ts): creates are admitted without reading
// the namespace from the store once the cache holds it, the admission never decides on a state older than a namespace
// write made through this server, and another API server's writes arrive through the watch.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeObject } from '../../objects/object-meta.js';
import { createResourceStores } from './resource-stores.js';
import { openRegistry } from './testing/registry-fixture.js';
import { rejectsWith } from './testing/status-assertions.js';

const ns = (name: string): KubeObject => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
const secret = (name: string): KubeObject => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name }, data: { k: 'dg==' } });

async function until(what: string, check: () => boolean): Promise<void> {
  const end = Date.now() + 5000;
  while (!check()) {
    if (Date.now() > end) assert.fail(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

void describe('namespace cache', () => {
  void it('admits creates from the cache, and never on a state older than this server’s own namespace writes', async () => {
    const r = await openRegistry();
    try {
      const { namespaces, secrets, namespaceCache } = r.stores;
      // Count the admission's store reads of namespaces.
      let reads = 0;
      const get = namespaces.get.bind(namespaces);
      namespaces.get = (...args) => {
        reads++;
        return get(...args);
      };
      assert.equal(namespaceCache.isDeleting('default'), undefined, 'no answer before the first list');
      await r.stores.startControllers();
      await until('the cache holds default', () => namespaceCache.isDeleting('default') === false);

      reads = 0;
      await secrets.create('default', secret('a'));
      assert.equal(reads, 0, 'admitted from the cache');
      await rejectsWith(secrets.create('missing', secret('a')), 404, 'namespaces "missing" not found');
      assert.equal(reads, 1, 'a name the cache does not hold is looked up in the store');

      // Right after this server created a namespace, the admission reads the store until the watch has caught up.
      await namespaces.create(undefined, ns('team-a'));
      assert.equal(namespaceCache.isDeleting('team-a'), undefined);
      await secrets.create('team-a', secret('a'));
      await until('the watch delivered team-a', () => namespaceCache.isDeleting('team-a') === false);
      reads = 0;
      await secrets.create('team-a', secret('b'));
      assert.equal(reads, 0);

      // Marked Terminating through this server: refused at once, whether or not the watch has delivered it.
      r.stores.namespaceDeletion.close(); // keep it Terminating
      await namespaces.delete(undefined, 'team-a');
      await rejectsWith(
        secrets.create('team-a', secret('c')),
        403,
        'secrets "c" is forbidden: unable to create new content in namespace team-a because it is being terminated',
      );
      await until('the watch delivered the deletion mark', () => namespaceCache.isDeleting('team-a') === true);
      reads = 0;
      await rejectsWith(
        secrets.create('team-a', secret('d')),
        403,
        'secrets "d" is forbidden: unable to create new content in namespace team-a because it is being terminated',
      );
      assert.equal(reads, 0, 'refused from the cache');
    } finally {
      await r.close();
    }
  });

  void it('sees another API server’s namespace changes through its watch, and a namespace gone through this one at once', async () => {
    const r = await openRegistry();
    // Another API server on the same store.
    const other = createResourceStores({ store: r.store, engine: r.engine });
    try {
      const { namespaces, secrets, namespaceCache } = r.stores;
      await r.stores.startControllers();
      await other.namespaces.create(undefined, ns('team-b'));
      await until('the watch delivered team-b', () => namespaceCache.isDeleting('team-b') === false);
      other.namespaceDeletion.close(); // keep it Terminating for now
      await other.namespaces.delete(undefined, 'team-b');
      await until('the watch delivered the mark', () => namespaceCache.isDeleting('team-b') === true);
      await rejectsWith(
        secrets.create('team-b', secret('a')),
        403,
        'secrets "a" is forbidden: unable to create new content in namespace team-b because it is being terminated',
      );
      // A third server's namespace controller finishes it (as after a restart).
      const third = createResourceStores({ store: r.store, engine: r.engine });
      await third.ensureDefaultNamespaces();
      await third.namespaceDeletion.idle();
      third.close();
      await until('the watch delivered the deletion', () => namespaceCache.isDeleting('team-b') === undefined);
      await rejectsWith(secrets.create('team-b', secret('a')), 404, 'namespaces "team-b" not found');

      // Deleted through this server: 404 at once (the store answers until the watch has caught up).
      await namespaces.create(undefined, ns('team-c'));
      await namespaces.delete(undefined, 'team-c');
      await r.stores.namespaceDeletion.idle();
      await rejectsWith(secrets.create('team-c', secret('a')), 404, 'namespaces "team-c" not found');
      namespaceCache.close();
      assert.equal(namespaceCache.isDeleting('default'), undefined, 'a closed cache answers nothing');
    } finally {
      other.close();
      await r.close();
    }
  });
});
