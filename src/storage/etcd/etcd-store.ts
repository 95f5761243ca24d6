// Long: one Store backend: etcd's range, txn and watch calls behind the Store interface, with their error mapping.
// The Store on a real etcd v3 cluster, through the etcd3 client's raw KV and Watch RPCs. Keys and values go to etcd
// exactly as given (no extra prefix, no encoding), so a kube-apiserver pointed at the same etcd sees the same keys,
// and every revision is etcd's own. The compare-and-swap transactions are the ones kube-apiserver's etcd3 store sends.
//
// Why the raw RPC clients (client.kv, client.watchClient) rather than etcd3's builders: the builders cannot put a
// range read in a transaction's failure branch (needed to return the current value on a conflict in one round trip),
// and etcd3's Watcher drops the compact_revision of a compacted watch and resubscribes on its own from a revision it
// tracks from response headers. Here each Store.watch owns one gRPC watch stream and resumes it itself from the
// revision after the last event it delivered.
import { readFile } from 'node:fs/promises';
import type { ClientDuplexStream } from '@grpc/grpc-js';
import {
  castGrpcError,
  Etcd3,
  isRecoverableError,
  RecoverableError,
  type IKeyValue,
  type IOptions,
  type IRangeResponse,
  type IWatchCreateRequest,
  type IWatchRequest,
  type IWatchResponse,
} from 'etcd3';
import { AlreadyExistsError, InvalidError, NotFoundError, UnavailableError } from '../../lib/errors.js';
import { CompactedError, RevisionConflictError, type KeyValue, type ListResult, type Store, type WatchEvent } from '../store.js';
import { DEFAULT_KEY_PREFIX, validateKey, validateWrite } from '../write-validation.js';

export interface EtcdStoreOptions {
  /** Client URLs of the cluster's members, e.g. ["https://10.0.0.1:2379", "https://10.0.0.2:2379"]. */
  endpoints: string[];
  /** PEM files, as kube-apiserver's --etcd-cafile, --etcd-certfile and --etcd-keyfile. */
  tls?: { caFile: string; certFile?: string; keyFile?: string };
  /**
   * etcd's own user/password authentication. The password is read from a file (its first line) so that it never
   * appears in a command line, the process list or shell history.
   */
  auth?: { username: string; passwordFile: string };
  /** Writes outside this prefix are refused (default "/registry/", kube-apiserver's --etcd-prefix). */
  prefix?: string;
  /** How long one call may take, retries included (default 10 s). */
  requestTimeoutMs?: number;
}

const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
/** Retries of a failed watch stream in a row before the watch gives up (with backoff, about 15 s in all). */
const WATCH_MAX_FAILURES = 20;
const COMPACT_PROBE_MS = 2_000;

const COMPACTED = 'required revision has been compacted';
const FUTURE_REVISION = 'required revision is a future revision';

/** Connects to etcd (reading the TLS and password files) and checks that it answers before returning the store. */
export async function openEtcdStore(opts: EtcdStoreOptions): Promise<EtcdStore> {
  const options = await clientOptions(opts);
  const store = new EtcdStore(new Etcd3(options), opts);
  try {
    await store.currentRevision();
  } catch (err) {
    await store.close();
    throw new UnavailableError(`cannot reach etcd at ${opts.endpoints.join(', ')}: ${errorText(err)}`, { cause: err });
  }
  return store;
}

/** Refuses endpoints etcd's client cannot use; `field` names them in the error (a flag, for a command's check). */
export function checkEtcdEndpoints(endpoints: unknown, tls: boolean, field = 'endpoints'): void {
  if (!Array.isArray(endpoints) || endpoints.length === 0) {
    throw new InvalidError('at least one endpoint is required', { field });
  }
  for (const e of endpoints as unknown[]) {
    if (typeof e !== 'string' || !/^https?:\/\/[^/]+$/.test(e)) {
      throw new InvalidError(`${JSON.stringify(e)} is not an http:// or https:// URL with host and port`, { field });
    }
    if (tls && e.startsWith('http://')) {
      throw new InvalidError(`${JSON.stringify(e)} is plain http but TLS files were given`, { field });
    }
  }
}

async function clientOptions(opts: EtcdStoreOptions): Promise<IOptions> {
  checkEtcdEndpoints(opts.endpoints, Boolean(opts.tls));
  const options: IOptions = {
    hosts: opts.endpoints,
    // Notice a member that vanished without closing its connections (a partition) on a long-lived watch stream.
    // etcd's Go client takes responses of any size (clientv3 defaultMaxCallRecvMsgSize = math.MaxInt32); grpc-js's
    // default of 4 MiB made an unpaged LIST of a few thousand Secrets fail with RESOURCE_EXHAUSTED.
    grpcOptions: { 'grpc.keepalive_time_ms': 30_000, 'grpc.keepalive_timeout_ms': 10_000, 'grpc.max_receive_message_length': 2 ** 31 - 1 },
  };
  if (opts.tls) {
    const { caFile, certFile, keyFile } = opts.tls;
    if ((certFile === undefined) !== (keyFile === undefined)) {
      throw new InvalidError('a client certificate needs both certFile and keyFile', { field: 'tls' });
    }
    options.credentials = {
      rootCertificate: await readFile(caFile),
      ...(certFile !== undefined && keyFile !== undefined
        ? { certChain: await readFile(certFile), privateKey: await readFile(keyFile) }
        : {}),
    };
  }
  if (opts.auth) {
    if (!opts.auth.username) throw new InvalidError('username must not be empty', { field: 'auth.username' });
    options.auth = { username: opts.auth.username, password: await readPasswordFile(opts.auth.passwordFile) };
  }
  return options;
}

/** The first line of the file. etcd3 wants a JS string; the buffer it came from is wiped at least. */
async function readPasswordFile(path: string): Promise<string> {
  const raw = await readFile(path);
  try {
    let end = raw.indexOf(0x0a);
    if (end === -1) end = raw.length;
    if (end > 0 && raw[end - 1] === 0x0d) end--;
    if (end === 0) throw new InvalidError(`password file ${JSON.stringify(path)} is empty`, { field: 'auth.passwordFile' });
    return raw.subarray(0, end).toString('utf8');
  } finally {
    raw.fill(0);
  }
}

export class EtcdStore implements Store {
  readonly #client: Etcd3;
  readonly #prefix: string;
  readonly #timeoutMs: number;
  /** Aborted by close(): ends every watch and refuses further calls. */
  readonly #closing = new AbortController();
  #closed: Promise<void> | undefined;

  /** Use openEtcdStore, which also reads the credential files and checks the connection. */
  constructor(client: Etcd3, opts: { prefix?: string; requestTimeoutMs?: number } = {}) {
    this.#client = client;
    this.#prefix = opts.prefix ?? DEFAULT_KEY_PREFIX;
    this.#timeoutMs = opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  }

  async get(key: string, opts: { revision?: number; signal?: AbortSignal } = {}): Promise<{ revision: number; kv?: KeyValue }> {
    if (typeof key !== 'string' || key.length === 0) throw new InvalidError('key must not be empty');
    const revision = optionalRevision(opts.revision);
    const res = await this.#read(key, revision, opts.signal, () =>
      this.#call(`get ${JSON.stringify(key)}`, opts.signal, (o) => this.#client.kv.range({ key: bytes(key), revision }, o)),
    );
    const kv = res.kvs[0];
    return { revision: revision || Number(res.header.revision), ...(kv ? { kv: toKeyValue(kv) } : {}) };
  }

  async revisionOf(key: string, opts: { signal?: AbortSignal } = {}): Promise<number | undefined> {
    if (typeof key !== 'string' || key.length === 0) throw new InvalidError('key must not be empty');
    // keys_only drops the value from the answer; serializable stays unset, so this is get's linearizable (quorum) read.
    const res = await this.#call(`read the revision of ${JSON.stringify(key)}`, opts.signal, (o) =>
      this.#client.kv.range({ key: bytes(key), keys_only: true }, o),
    );
    const kv = res.kvs[0];
    return kv ? Number(kv.mod_revision) : undefined;
  }

  async list(
    prefix: string,
    opts: { revision?: number; limit?: number; startKey?: string; signal?: AbortSignal } = {},
  ): Promise<ListResult> {
    const revision = optionalRevision(opts.revision);
    const limit = opts.limit ?? 0;
    if (!Number.isSafeInteger(limit) || limit < 0) throw new InvalidError(`limit ${limit} is not a positive integer`);
    const range = prefixRange(prefix);
    // etcd ranges are [key, range_end); a startKey before the prefix would widen the range, so it is clamped.
    const start = opts.startKey !== undefined ? bytes(opts.startKey) : range.key;
    const key = Buffer.compare(start, range.key) > 0 ? start : range.key;
    const res = await this.#read(prefix, revision, opts.signal, () =>
      this.#call(`list ${JSON.stringify(prefix)}`, opts.signal, (o) =>
        this.#client.kv.range({ key, range_end: range.rangeEnd, limit, revision }, o),
      ),
    );
    return { revision: revision || Number(res.header.revision), kvs: res.kvs.map(toKeyValue), more: res.more, ...(res.more ? { count: Number(res.count) } : {}) };
  }

  async create(key: string, value: Uint8Array, opts: { signal?: AbortSignal } = {}): Promise<number> {
    validateWrite(key, value, { prefix: this.#prefix });
    const k = bytes(key);
    const res = await this.#call(`create ${JSON.stringify(key)}`, opts.signal, (o) =>
      this.#client.kv.txn(
        {
          compare: [{ key: k, target: 'Create', result: 'Equal', create_revision: 0 }],
          success: [{ request_put: { key: k, value: asBuffer(value) } }],
        },
        o,
      ),
    );
    if (!res.succeeded) throw new AlreadyExistsError(`cannot create ${JSON.stringify(key)}: the key already exists`);
    return Number(res.header.revision);
  }

  async update(key: string, value: Uint8Array, opts: { ifRevision: number; signal?: AbortSignal }): Promise<number> {
    validateWrite(key, value, { prefix: this.#prefix });
    const ifRevision = requiredRevision(opts.ifRevision);
    const k = bytes(key);
    const res = await this.#call(`update ${JSON.stringify(key)}`, opts.signal, (o) =>
      this.#client.kv.txn(
        {
          // A missing key compares as mod_revision 0, which ifRevision (> 0) never equals.
          compare: [{ key: k, target: 'Mod', result: 'Equal', mod_revision: ifRevision }],
          success: [{ request_put: { key: k, value: asBuffer(value) } }],
          failure: [{ request_range: { key: k } }],
        },
        o,
      ),
    );
    if (!res.succeeded) throw conflict('update', key, ifRevision, res.responses[0]?.response_range);
    return Number(res.header.revision);
  }

  async delete(
    key: string,
    opts: { ifRevision?: number; signal?: AbortSignal } = {},
  ): Promise<{ revision: number; prev?: KeyValue }> {
    validateKey(key, { prefix: this.#prefix });
    const k = bytes(key);
    const notFound = () => new NotFoundError(`cannot delete ${JSON.stringify(key)}: the key does not exist`);
    if (opts.ifRevision === undefined) {
      const res = await this.#call(`delete ${JSON.stringify(key)}`, opts.signal, (o) =>
        this.#client.kv.deleteRange({ key: k, prev_kv: true }, o),
      );
      const prev = res.prev_kvs[0];
      if (!prev) throw notFound();
      return { revision: Number(res.header.revision), prev: toKeyValue(prev) };
    }
    const ifRevision = requiredRevision(opts.ifRevision);
    const res = await this.#call(`delete ${JSON.stringify(key)}`, opts.signal, (o) =>
      this.#client.kv.txn(
        {
          compare: [{ key: k, target: 'Mod', result: 'Equal', mod_revision: ifRevision }],
          success: [{ request_delete_range: { key: k, prev_kv: true } }],
          failure: [{ request_range: { key: k } }],
        },
        o,
      ),
    );
    if (!res.succeeded) {
      const current = res.responses[0]?.response_range;
      if (!current?.kvs[0]) throw notFound();
      throw conflict('delete', key, ifRevision, current);
    }
    const prev = res.responses[0]?.response_delete_range.prev_kvs[0];
    return { revision: Number(res.header.revision), ...(prev ? { prev: toKeyValue(prev) } : {}) };
  }

  async *watch(prefix: string, opts: { fromRevision: number; signal: AbortSignal }): AsyncIterable<WatchEvent> {
    this.#assertOpen();
    let next = requiredRevision(opts.fromRevision + 1);
    const stop = AbortSignal.any([opts.signal, this.#closing.signal]);
    const { key, rangeEnd } = prefixRange(prefix);
    let failures = 0;
    while (!stop.aborted) {
      try {
        const request = { key, range_end: rangeEnd, start_revision: next, prev_kv: true };
        for await (const res of this.#watchStream(request, stop)) {
          if (res.compact_revision !== '0') throw new CompactedError(next - 1, Number(res.compact_revision));
          if (res.canceled) {
            throw new UnavailableError(`etcd cancelled the watch on ${JSON.stringify(prefix)}: ${res.cancel_reason}`);
          }
          failures = 0;
          for (const ev of res.events) {
            const event = toWatchEvent(ev.type, ev.kv, ev.prev_kv);
            // A response never splits a revision, so resuming after the last delivered event loses nothing.
            next = Number(ev.kv.mod_revision) + 1;
            yield event;
          }
        }
        // The server ended the stream (it is shutting down): resume like after an error.
        throw new GrpcStreamEnded();
      } catch (err) {
        if (stop.aborted) return;
        if (err instanceof CompactedError || err instanceof UnavailableError) throw err;
        const cast = castGrpcError(err as Error);
        if (!isRetryable(cast) || ++failures > WATCH_MAX_FAILURES) {
          throw new UnavailableError(`watch on ${JSON.stringify(prefix)} from revision ${next} failed: ${errorText(cast)}`, {
            cause: err,
          });
        }
        await sleep(Math.min(50 * 2 ** failures, 1_000), stop);
      }
    }
  }

  async currentRevision(opts: { signal?: AbortSignal } = {}): Promise<number> {
    const res = await this.#call('read the current revision', opts.signal, (o) =>
      this.#client.kv.range({ key: bytes(this.#prefix), count_only: true }, o),
    );
    return Number(res.header.revision);
  }

  async compact(revision: number, opts: { signal?: AbortSignal } = {}): Promise<void> {
    const rev = requiredRevision(revision);
    try {
      // Not physical, as kube-apiserver's compactor (k8s.io/apiserver pkg/storage/etcd3/compact.go): etcd answers once
      // the compaction is applied (reads and watches below it fail from then on) and removes the history in the
      // background. Waiting for the removal took longer than a call's deadline at 1,000,000 revisions, so every
      // compaction of a long history failed (`npm run bench -- scale --size 100000`).
      await this.#call(`compact at ${rev}`, opts.signal, (o) => this.#client.kv.compact({ revision: rev }, o));
    } catch (err) {
      // Already compacted at or beyond this revision: what was asked for holds.
      if (errorText(err).includes(COMPACTED)) return;
      if (errorText(err).includes(FUTURE_REVISION)) {
        throw new InvalidError(`cannot compact at revision ${rev}: it is a future revision`, { cause: err });
      }
      throw err;
    }
  }

  close(): Promise<void> {
    return (this.#closed ??= (async () => {
      this.#closing.abort();
      this.#client.close();
    })());
  }

  #assertOpen(): void {
    if (this.#closing.signal.aborted) throw new UnavailableError('the etcd store is closed');
  }

  /**
   * Runs one unary RPC, retrying while etcd is unavailable (a member down, a leader election) until the request
   * timeout. Retrying a write is safe: a first attempt that did apply makes the retry's compare fail, so an
   * ambiguous outcome can surface as a conflict but never as a false success. The signal only stops the waiting;
   * a write already sent may still be applied.
   */
  async #call<T>(what: string, signal: AbortSignal | undefined, fn: (options: { deadline: number }) => Promise<T>): Promise<T> {
    this.#assertOpen();
    signal?.throwIfAborted();
    const deadline = Date.now() + this.#timeoutMs;
    let cause: Error | undefined; // the last real failure, rather than "circuit breaker is open"
    for (let attempt = 1; ; attempt++) {
      try {
        return await (signal ? raceAbort(fn({ deadline }), signal) : fn({ deadline }));
      } catch (err) {
        if (signal?.aborted || this.#closing.signal.aborted || !(err instanceof Error)) throw err;
        if (isEtcdError(err, COMPACTED) || isEtcdError(err, FUTURE_REVISION)) throw err; // mapped by the caller
        if (!isBrokenCircuit(err) || !cause) cause = err;
        const delay = Math.min(25 * 2 ** attempt, 500);
        if (!isRetryable(err) || Date.now() + delay >= deadline) {
          throw new UnavailableError(`etcd: cannot ${what}: ${errorText(cause)}`, { cause });
        }
        await sleep(delay, signal);
      }
    }
  }

  /** A read, with etcd's compaction and future-revision errors turned into the Store's. */
  async #read<T>(what: string, revision: number, signal: AbortSignal | undefined, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (isEtcdError(err, COMPACTED)) throw new CompactedError(revision, await this.#compactRevision(bytes(what), revision));
      if (isEtcdError(err, FUTURE_REVISION)) {
        throw new InvalidError(`cannot read ${JSON.stringify(what)} at revision ${revision}: it is a future revision`, {
          cause: err,
        });
      }
      signal?.throwIfAborted();
      throw err;
    }
  }

  /**
   * etcd's compacted-read error does not say up to where history is gone; a watch from the compacted revision is
   * answered with exactly that (compact_revision), so one is opened briefly to ask.
   */
  async #compactRevision(key: Buffer, revision: number): Promise<number> {
    const stop = AbortSignal.any([AbortSignal.timeout(COMPACT_PROBE_MS), this.#closing.signal]);
    // Another member may be down: a stream that fails is opened again (on another member) until the probe times out.
    while (!stop.aborted) {
      try {
        for await (const res of this.#watchStream({ key, start_revision: revision }, stop)) {
          if (res.compact_revision !== '0') return Number(res.compact_revision);
          if (res.events.length > 0 || res.canceled) return revision; // not compacted here after all
        }
      } catch {
        await sleep(50, stop);
      }
    }
    return revision; // best effort: the read already failed with etcd's compaction error
  }

  /** One gRPC watch stream with one watcher on it, cancelled when `stop` aborts or the consumer stops reading. */
  async *#watchStream(request: IWatchCreateRequest, stop: AbortSignal): AsyncGenerator<IWatchResponse> {
    // etcd3 types the stream as a bare event emitter; it is a grpc-js duplex stream, whose Readable side gives
    // async iteration with backpressure (an unread watch leaves etcd to buffer, not this process).
    const stream = (await this.#client.watchClient.watch()) as unknown as ClientDuplexStream<IWatchRequest, IWatchResponse>;
    let cancelled = false;
    const cancel = () => {
      if (cancelled) return;
      cancelled = true;
      // Half-close first: etcd3 reports errors of still-writable streams as host failures, and a cancel is not one.
      stream.end();
      stream.cancel();
      // And end the reading side here and now, whatever the call does after its cancel.
      stream.destroy();
    };
    if (stop.aborted) return cancel();
    stop.addEventListener('abort', cancel, { once: true });
    try {
      stream.write({ create_request: request });
      for await (const res of stream as AsyncIterable<IWatchResponse>) yield res;
    } finally {
      stop.removeEventListener('abort', cancel);
      cancel();
    }
  }
}

/** A watch stream that ended without an error; recoverable like a dropped connection. */
class GrpcStreamEnded extends Error {
  readonly [RecoverableError] = true;
  constructor() {
    super('the watch stream ended');
  }
}

/** [key, range_end) for every key starting with the prefix; the empty prefix is every key, as etcdctl --prefix "". */
export function prefixRange(prefix: string): { key: Buffer; rangeEnd: Buffer } {
  const key = bytes(prefix);
  if (key.length === 0) return { key: Buffer.from([0]), rangeEnd: Buffer.from([0]) };
  const end = Buffer.from(key);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]! += 1;
      return { key, rangeEnd: end.subarray(0, i + 1) };
    }
  }
  // All 0xff: no key above the prefix shares it, so the range runs to the end of the key space.
  return { key, rangeEnd: Buffer.from([0]) };
}

function bytes(s: string): Buffer {
  return Buffer.from(s, 'utf8');
}

function asBuffer(value: Uint8Array): Buffer {
  return Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
}

function toKeyValue(kv: IKeyValue): KeyValue {
  return {
    key: kv.key.toString('utf8'),
    value: kv.value,
    createRevision: Number(kv.create_revision),
    modRevision: Number(kv.mod_revision),
  };
}

function toWatchEvent(type: string, kv: IKeyValue, prevKv: IKeyValue | null | undefined): WatchEvent {
  const prev = prevKv ? { prev: toKeyValue(prevKv) } : {};
  // The enum arrives as its proto name ("DELETE"), not as etcd3's typings spell it ("Delete").
  if (type.toUpperCase() === 'DELETE') return { type: 'delete', key: kv.key.toString('utf8'), revision: Number(kv.mod_revision), ...prev };
  return { type: 'put', kv: toKeyValue(kv), ...prev };
}

function conflict(op: string, key: string, ifRevision: number, current: IRangeResponse | undefined): RevisionConflictError {
  const kv = current?.kvs[0];
  const now = kv ? `it is at revision ${kv.mod_revision}` : 'the key does not exist';
  return new RevisionConflictError(
    `cannot ${op} ${JSON.stringify(key)} at revision ${ifRevision}: ${now}`,
    kv ? toKeyValue(kv) : undefined,
  );
}

/** 0 (or absent) means "the newest", as in etcd. */
function optionalRevision(revision: number | undefined): number {
  if (revision === undefined) return 0;
  if (!Number.isSafeInteger(revision) || revision < 0) throw new InvalidError(`revision ${revision} is not a revision`);
  return revision;
}

function requiredRevision(revision: number): number {
  if (!Number.isSafeInteger(revision) || revision < 1) throw new InvalidError(`revision ${revision} is not a revision`);
  return revision;
}

/**
 * etcd unavailable (member down, no leader, deadline), or every member's circuit breaker open after repeated
 * failures: etcd3 then refuses calls at once for a few seconds, which a retry with backoff waits out.
 */
function isRetryable(err: Error): boolean {
  return isRecoverableError(err) || isBrokenCircuit(err);
}

function isBrokenCircuit(err: Error): boolean {
  return (err as { isBrokenCircuitError?: unknown }).isBrokenCircuitError === true;
}

function isEtcdError(err: unknown, text: string): boolean {
  return err instanceof Error && err.message.includes(text);
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () =>
      reject(signal.reason instanceof Error ? signal.reason : new DOMException('The operation was aborted', 'AbortError'));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
