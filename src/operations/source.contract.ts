// The contract every Source keeps, run against each one (live etcd, TLS etcd, snapshot, SQLite store held open by
// another process's lock): keys and values exactly as stored, in byte order, only under the prefix, the same across
// page sizes, and one consistent revision even when the store changes during a read.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Source } from './source.js';

export interface SourceFixture {
  source: Source;
  /** Writes to the underlying store after the source was opened (the source must not show it mid-read). */
  write(key: string, value: Uint8Array): Promise<void>;
  close(): Promise<void>;
}

/** What every fixture stores before opening its source. */
export function contractEntries(): Map<string, Buffer> {
  const entries = new Map<string, Buffer>();
  for (let i = 0; i < 230; i++) {
    entries.set(`/registry/secrets/ns-${i % 3}/s-${String(i).padStart(3, '0')}`, Buffer.from(`k8s:enc:aesgcm:v1:key1:${i}\0\xff\xfe`, 'latin1'));
  }
  entries.set('/registry/configmaps/default/c', Buffer.from('k8s\0plain protobuf', 'latin1'));
  entries.set('/registry/namespaces/default', Buffer.from('{"kind":"Namespace"}'));
  // Outside the prefix: a prefix ends at a slash, so "/registryx" is not under "/registry/".
  entries.set('/registryx/secrets/ns/x', Buffer.from('outside'));
  entries.set('/custom/secrets/ns/y', Buffer.from('k8s:enc:secretbox:v1:k:y'));
  return entries;
}

async function collect(source: Source, prefix: string, pageSize?: number): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  let last = '';
  for await (const e of source.entries(prefix, pageSize ? { pageSize } : {})) {
    assert.ok(Buffer.compare(Buffer.from(last), Buffer.from(e.key)) < 0, `keys in byte order: ${last} < ${e.key}`);
    assert.ok(e.modRevision > 0);
    last = e.key;
    out.set(e.key, Buffer.from(e.value));
  }
  return out;
}

export function runSourceContract(name: string, open: (entries: Map<string, Buffer>) => Promise<SourceFixture>): void {
  void describe(`Source contract: ${name}`, () => {
    const entries = contractEntries();
    let f: SourceFixture;
    before(async () => {
      f = await open(entries);
    });
    after(async () => {
      await f?.close();
    });

    void it('gives every key under the prefix with its exact stored bytes, and nothing else', async () => {
      const got = await collect(f.source, '/registry/');
      const want = [...entries].filter(([k]) => k.startsWith('/registry/'));
      assert.equal(got.size, want.length);
      for (const [k, v] of want) assert.deepEqual(got.get(k), v, k);
    });

    void it('pages: the same answer for every page size', async () => {
      const whole = await collect(f.source, '/registry/secrets/');
      for (const size of [1, 7, 50, 1000]) assert.deepEqual(await collect(f.source, '/registry/secrets/', size), whole, `page size ${size}`);
      assert.equal(whole.size, 230);
    });

    void it('reads any prefix (a custom --etcd-prefix), and an empty one yields nothing', async () => {
      assert.deepEqual([...(await collect(f.source, '/custom/')).keys()], ['/custom/secrets/ns/y']);
      assert.equal((await collect(f.source, '/nothing-here/')).size, 0);
    });

    void it('reads one revision: a write made during the read does not appear in it', async () => {
      const seen: string[] = [];
      let wrote = false;
      for await (const e of f.source.entries('/registry/secrets/', { pageSize: 10 })) {
        seen.push(e.key);
        if (!wrote) {
          wrote = true;
          await f.write('/registry/secrets/ns-2/zzz-written-during-read', Buffer.from('late'));
        }
      }
      assert.equal(seen.length, 230);
      assert.ok(!seen.includes('/registry/secrets/ns-2/zzz-written-during-read'));
    });
  });
}
