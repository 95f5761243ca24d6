// Child process of the crash test (sqlite-store.test.ts): writes a stream of values to the store and prints one line
// per acknowledged write — "<key> <revision> <value>" — until it is killed with SIGKILL. Never used outside tests.
import { SqliteStore } from './sqlite-store.js';

const [dataDir, encryptionKeyFile, walCheckpoint] = process.argv.slice(2);
if (!dataDir) throw new Error('usage: sqlite-crash-writer.ts DATA_DIR [KEY_FILE] [CHECKPOINT_TUNING_JSON]');
const store = await SqliteStore.open({
  dataDir,
  encryptionKeyFile: encryptionKeyFile || undefined,
  ...(walCheckpoint ? { walCheckpoint: JSON.parse(walCheckpoint) as Record<string, number> } : {}),
});
const revisions = new Map<string, number>();
for (let i = 0; ; i++) {
  const key = `/registry/crash/k${i % 7}`;
  const value = `value-${i}-`.padEnd(200, 'x');
  const bytes = new TextEncoder().encode(value);
  const last = revisions.get(key);
  const revision =
    last === undefined ? await store.create(key, bytes) : await store.update(key, bytes, { ifRevision: last });
  revisions.set(key, revision);
  // Pipes are written synchronously on Linux: the line is out before the next write starts.
  process.stdout.write(`${key} ${revision} ${value}\n`);
}
