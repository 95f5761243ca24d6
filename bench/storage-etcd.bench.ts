// etcd rows of `npm run bench -- storage`: puts/s and gets/s of 1 KiB values through the etcd Store, each next to the
// raw etcd3 client doing the same call on the same etcd in the same run (interleaved rounds), at 16 requests in flight.
// The Store's put is a create (a txn: create_revision == 0 → put); the baseline is a plain put, and a second
// row compares with the same txn sent raw, which separates the Store's own cost from etcd's cost of a txn.
// Run alone with: node --import tsx bench/storage-etcd.bench.ts
import { randomBytes } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { Etcd3 } from 'etcd3';
import { openEtcdStore } from '../src/storage/etcd/etcd-store.js';
import { startEtcd } from '../src/storage/etcd/testing/etcd-process.js';
import { compare, printRows, type BenchRow } from './measure.js';

const IN_FLIGHT = 16;
const VALUE = randomBytes(1024);
const READ_KEYS = 256;
const TARGET = 0.9;

/** Runs `op` IN_FLIGHT times at once; one measured call is IN_FLIGHT operations. */
function inFlight(op: (i: number) => Promise<unknown>): () => Promise<unknown> {
  return () => Promise.all(Array.from({ length: IN_FLIGHT }, (_, i) => op(i)));
}

export async function runEtcdRows(): Promise<BenchRow[]> {
  const etcd = await startEtcd();
  const raw = new Etcd3({ hosts: etcd.endpoints });
  const store = await openEtcdStore({ endpoints: etcd.endpoints });
  try {
    let n = 0;
    const opts = { rounds: 5, ms: 1_000, batch: 4 };
    const storeCreate = inFlight(() => store.create(`/registry/bench/store/${n++}`, VALUE));
    const puts = await compare(inFlight(() => raw.put(`/registry/bench/raw/${n++}`).value(VALUE).exec()), storeCreate, opts);
    // The same create-if-absent transaction sent raw: what the Store itself costs, apart from etcd's txn vs put.
    const txns = await compare(
      inFlight(() => {
        const key = Buffer.from(`/registry/bench/txn/${n++}`);
        return raw.kv.txn({
          compare: [{ key, target: 'Create', result: 'Equal', create_revision: 0 }],
          success: [{ request_put: { key, value: VALUE } }],
        });
      }),
      storeCreate,
      opts,
    );

    const readKey = (i: number) => `/registry/bench/read/${i}`;
    for (let i = 0; i < READ_KEYS; i++) await raw.put(readKey(i)).value(VALUE).exec();
    let r = 0;
    const gets = await compare(
      // .buffer(): the bytes, as the Store returns them (awaiting the builder alone would decode a string).
      inFlight(() => raw.get(readKey(r++ % READ_KEYS)).buffer()),
      inFlight(() => store.get(readKey(r++ % READ_KEYS))),
      opts,
    );

    const row = (name: string, baseline: string, m: typeof puts): BenchRow => ({
      name,
      baseline,
      opsPerSec: m.candidate * IN_FLIGHT,
      baselineOpsPerSec: m.baseline * IN_FLIGHT,
      ratio: m.ratio,
      target: TARGET,
    });
    return [
      row(`etcd store create, 1 KiB, ${IN_FLIGHT} in flight`, 'raw etcd3 put', puts),
      row(`etcd store create, 1 KiB, ${IN_FLIGHT} in flight`, 'raw etcd3 txn (same compare)', txns),
      row(`etcd store get, 1 KiB, ${IN_FLIGHT} in flight`, 'raw etcd3 get', gets),
    ];
  } finally {
    raw.close();
    await store.close();
    await etcd.stop();
  }
}

/** The name bench/storage.bench.ts looks for. */
export const etcdRows = runEtcdRows;

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  printRows('storage: etcd (ratio to raw etcd3 on the same etcd)', await runEtcdRows());
}
