// A real registry for tests: SqliteStore in a temp dir, a real EncryptionEngine (swappable, as a config reload would
// swap it), the three resource stores with the default namespaces.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadEncryptionConfiguration } from '../../../encryption/encryption-config.js';
import { EncryptionEngine } from '../../../encryption/encryption-engine.js';
import type { GroupResource } from '../../../encryption/group-resource.js';
import type { Transformer } from '../../../encryption/transformer.js';
import type { Clock } from '../../../lib/clock.js';
import { SqliteStore } from '../../../storage/sqlite/sqlite-store.js';
import type { WatchHubLimits } from '../../../storage/sqlite/watch-hub.js';
import type { TransformerSource } from '../../../storage/object-storage.js';
import { createResourceStores, type ResourceStores } from '../resource-stores.js';

export const KEY1 = 'c2VjcmV0IGlzIHNlY3VyZSwgSSB0aGluayBzbyEhISE='; // 32 bytes
export const KEY2 = 'dGhpcyBpcyBhIGRpZmZlcmVudCAzMi1ieXRlIGtleSE='; // 32 bytes

/** An EncryptionConfiguration for secrets (and configmaps) with the given provider blocks. */
export function encryptionYaml(providers: string, resources = '[secrets]'): string {
  return `apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
  - resources: ${resources}
    providers:
${providers}`;
}

export const aes = (type: 'aesgcm' | 'aescbc', keys: [string, string][]) =>
  `      - ${type}:\n          keys:\n${keys.map(([n, s]) => `            - name: ${n}\n              secret: ${s}\n`).join('')}`;
export const IDENTITY = '      - identity: {}\n';

/** Hands out the transformers of whichever engine is current, as automatic config reload does. */
export class SwitchableEngine implements TransformerSource {
  constructor(public engine: EncryptionEngine) {}
  transformerFor(gr: GroupResource): Transformer {
    return this.engine.transformerFor(gr);
  }
  async load(yaml: string): Promise<void> {
    const previous = this.engine;
    this.engine = await EncryptionEngine.create(loadEncryptionConfiguration(yaml));
    previous.close();
  }
}

export interface RegistryFixture {
  store: SqliteStore;
  stores: ResourceStores;
  engine: SwitchableEngine;
  close(): Promise<void>;
}

export async function openRegistry(
  opts: { encryption?: string; clock?: Clock; bookmarkIntervalMs?: number; watchLimits?: Partial<WatchHubLimits>; namespaceRetryMs?: number } = {},
): Promise<RegistryFixture> {
  const dir = await mkdtemp(join(tmpdir(), 'coffer-registry-'));
  const store = await SqliteStore.open({
    dataDir: dir,
    synchronous: 'normal',
    ...(opts.watchLimits ? { watchLimits: opts.watchLimits } : {}),
  });
  const yaml = opts.encryption ?? encryptionYaml(aes('aesgcm', [['key1', KEY1]]));
  const engine = new SwitchableEngine(await EncryptionEngine.create(loadEncryptionConfiguration(yaml)));
  const stores = createResourceStores({
    store,
    engine,
    ...(opts.clock ? { clock: opts.clock } : {}),
    ...(opts.bookmarkIntervalMs !== undefined ? { bookmarkIntervalMs: opts.bookmarkIntervalMs } : {}),
    ...(opts.namespaceRetryMs !== undefined ? { namespaceRetryMs: opts.namespaceRetryMs } : {}),
  });
  await stores.ensureDefaultNamespaces();
  return {
    store,
    stores,
    engine,
    async close() {
      stores.close();
      await stores.namespaceDeletion.idle();
      engine.engine.close();
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
