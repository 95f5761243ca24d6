import assert from 'node:assert/strict';
import { setImmediate as turn } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3-multiple-ciphers';
import { openDatabase, retainedCount } from './sqlite-database.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** WeakRefs to the statements one database makes through prepare(), pragma() and transaction(), then closed. */
function statementsOf(open: () => Database.Database): WeakRef<object>[] {
  const db = open();
  const refs = [new WeakRef(db), new WeakRef(db.prepare('SELECT 1')), new WeakRef(db.prepare('SELECT 2'))];
  db.pragma('user_version');
  db.transaction(() => db.prepare('SELECT 3').get())();
  db.close();
  return refs;
}

async function collect(): Promise<void> {
  for (let i = 0; i < 3; i++) {
    gc();
    await turn();
  }
}

void describe('openDatabase keeps the addon objects from the garbage collector (Node 24.19+ aborts collecting them)', () => {
  void it('a database and its statements stay reachable after close, where plain better-sqlite3 ones are collected', async () => {
    // The control, made before the first openDatabase of this process: plain better-sqlite3 objects are collected.
    const plain = statementsOf(() => new Database(':memory:'));
    const before = retainedCount();
    const kept = statementsOf(() => openDatabase(':memory:'));
    await collect();
    assert.ok(plain.every((r) => r.deref() === undefined), 'plain better-sqlite3 objects are collected');
    assert.ok(kept.every((r) => r.deref() !== undefined), 'objects of openDatabase are not collected');
    // The database, its two prepared statements, pragma's statement, transaction's begin/commit/... statements.
    assert.ok(retainedCount() - before >= 6, `retained ${retainedCount() - before}`);
  });
});
