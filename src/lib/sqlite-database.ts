// Opens SQLite databases (better-sqlite3-multiple-ciphers) so that the addon's native objects are never garbage
// collected: every Database opened here, and every Statement prepared (prepare, pragma, transaction) by any database
// once one was opened here, stays reachable until the process ends.
//
// Why: from Node 24.19, node::ObjectWrap's destructor removes an environment cleanup hook and CHECKs that a Node
// context is entered (node_object_wrap.h, src/api/hooks.cc RemoveEnvironmentCleanupHook; nodejs/node#65446). The
// addon (12.x) wraps its Database and Statement in node::ObjectWrap, and V8 may collect them in a GC that runs
// with no Node context entered, so Node 24 aborts at a random point after some statements became garbage
// (`Statement::~Statement` → `Assertion failed: (env) != nullptr`). Holding them keeps V8 from collecting them;
// at exit, Node's environment cleanup deletes the ones still alive inside a context, which is safe. On Node 20 and
// 22 (no hook in ObjectWrap) holding them changes nothing but when their memory is freed.
//
// The cost is that statements are freed only at exit: Coffer prepares each statement once per open database, and
// uses pragma() (a new statement per call) only when opening a database and in integrity checks. Statement.iterate()
// and Database.backup() make other ObjectWraps and are not used by Coffer.
import Database from 'better-sqlite3-multiple-ciphers';

export type SqliteDatabase = Database.Database;
export type SqliteOptions = Database.Options;

const retained = new Set<object>();
const patched = new WeakSet<object>();

type NativePrepare = (this: object, ...args: unknown[]) => object;

/** Holds every statement the native database object prepares: the JS prepare(), pragma() and transaction() all call it. */
function retainStatements(db: SqliteDatabase): void {
  const native = Object.getOwnPropertySymbols(db)
    .map((s) => (db as unknown as Record<symbol, unknown>)[s])
    .find((v): v is { prepare: NativePrepare } => typeof v === 'object' && v !== null && typeof (v as { prepare?: unknown }).prepare === 'function');
  if (!native) throw new Error('better-sqlite3-multiple-ciphers: the native database object was not found; statements cannot be retained');
  const proto = Object.getPrototypeOf(native) as { prepare: NativePrepare };
  if (patched.has(proto)) return;
  const prepare = proto.prepare;
  proto.prepare = function retainedPrepare(this: object, ...args: unknown[]) {
    const statement = prepare.apply(this, args);
    retained.add(statement);
    return statement;
  };
  patched.add(proto);
}

/** `new Database(file, options)`, with the database and its statements held until the process exits. */
export function openDatabase(file: string, options?: SqliteOptions): SqliteDatabase {
  const db = new Database(file, options);
  retained.add(db);
  retainStatements(db);
  return db;
}

/** How many native objects are held (tests). */
export function retainedCount(): number {
  return retained.size;
}
