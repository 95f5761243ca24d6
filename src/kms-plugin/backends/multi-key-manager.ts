// The `multi` backend: several key managers at once (say Vault in two regions, or Vault plus an HSM). Every DEK is
// wrapped by each member and each result is kept in its own annotation, `<member>.multi.kms.coffer.dev`, so that a
// DEK can be unwrapped while ANY one member that wrapped it is reachable. The ciphertext field only holds a marker:
// the wrapped copies are in the annotations (stored in plaintext next to the data by kube-apiserver, like any
// ciphertext), and KMS v2 allows 32 KiB of annotations but only 1 KiB of ciphertext.
//
// The key id is a hash over (member name, member key id) of the members that wrapped the DEK; a member's rotation, a
// member going down or coming back all change it, so kube-apiserver makes a fresh seed that the current set of
// members wraps. Writes need `writeQuorum` members (all, or N); reads try members in the decrypt order.
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { Clock } from '../../lib/clock.js';
import { DecryptError, InvalidError, NotFoundError, UnavailableError } from '../../lib/errors.js';
import type { KeyManager, KeyManagerCallOptions, KeyManagerEncryptResult, KeyManagerStatus } from '../key-manager.js';
import type { DecryptOrder } from '../plugin-config.js';
import { decodeWrappedKey, encodeWrappedKey, type WrappedKey } from '../wrapped-key-codec.js';

export const MULTI_ANNOTATION_SUFFIX = '.multi.kms.coffer.dev';
/** What the ciphertext field holds; small and fixed, it says "look at the annotations". */
export const MULTI_CIPHERTEXT_MARKER = Buffer.from('coffer-multi:v1');
const KEY_ID_PREFIX = 'multi:sha256:';
// Weight of the newest sample in the moving average of decrypt latency used by the `fastest` order.
const LATENCY_WEIGHT = 0.3;

export function multiKeyId(members: readonly { name: string; keyId: string }[]): string {
  const h = createHash('sha256');
  for (const m of [...members].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    h.update(m.name).update('\0').update(m.keyId).update('\0');
  }
  return `${KEY_ID_PREFIX}${h.digest('hex')}`;
}

interface Member {
  name: string;
  keyManager: KeyManager;
  lastKeyId: string | undefined;
  /** False after a failed status or call, true after a success; down members are tried last. */
  up: boolean;
  latencyMs: number | undefined;
}

export interface MultiKeyManagerOptions {
  decryptOrder: DecryptOrder;
  writeQuorum: number;
  clock: Clock;
  logger: Logger;
}

export class MultiKeyManager implements KeyManager {
  readonly name = 'multi';
  private readonly members: Member[];
  private nextStart = 0;
  private lastKeyId: string | undefined;

  constructor(
    members: readonly { name: string; keyManager: KeyManager }[],
    private readonly o: MultiKeyManagerOptions,
  ) {
    if (members.length === 0) throw new InvalidError('the multi backend needs at least one member');
    if (o.writeQuorum < 1 || o.writeQuorum > members.length) {
      throw new InvalidError(`write quorum ${o.writeQuorum} is outside 1..${members.length}`);
    }
    this.members = members.map((m) => ({ ...m, lastKeyId: undefined, up: true, latencyMs: undefined }));
  }

  /** For /metrics and tests: each member and whether it answered last time. */
  memberStates(): { name: string; up: boolean }[] {
    return this.members.map((m) => ({ name: m.name, up: m.up }));
  }

  async status(opts: { signal: AbortSignal }): Promise<KeyManagerStatus> {
    const results = await Promise.all(
      this.members.map(async (m) => {
        try {
          const s = await m.keyManager.status(opts);
          if (s.keyId) m.lastKeyId = s.keyId;
          m.up = s.healthy;
          return { m, s };
        } catch (e) {
          m.up = false;
          return { m, s: { healthy: false, keyId: m.lastKeyId ?? '', reason: (e as Error).message } };
        }
      }),
    );
    const up = results.filter((r) => r.s.healthy && r.s.keyId);
    const down = results.filter((r) => !(r.s.healthy && r.s.keyId));
    const downText = down.map((r) => `${r.m.name}: ${r.s.reason ?? 'unhealthy'}`).join('; ');
    if (up.length >= this.o.writeQuorum) {
      if (down.length > 0) this.o.logger.warn({ down: down.map((r) => r.m.name) }, `multi backend: members down, still within write policy: ${downText}`);
      this.lastKeyId = multiKeyId(up.map((r) => ({ name: r.m.name, keyId: r.s.keyId })));
      return { healthy: true, keyId: this.lastKeyId };
    }
    const reason = `${up.length} of ${this.members.length} members healthy, writes need ${this.o.writeQuorum}: ${downText}`;
    // Unhealthy: keep the id writes last used rather than one for a set of members that cannot write anyway.
    const known = this.members.filter((m) => m.lastKeyId);
    const keyId = this.lastKeyId ?? (known.length > 0 ? multiKeyId(known.map((m) => ({ name: m.name, keyId: m.lastKeyId! }))) : '');
    if (!keyId) throw new UnavailableError(`multi backend: ${reason}`);
    return { healthy: false, keyId, reason };
  }

  async encrypt(plaintext: Uint8Array, opts: KeyManagerCallOptions): Promise<KeyManagerEncryptResult> {
    const settled = await Promise.all(
      this.members.map(async (m) => {
        try {
          const r = await m.keyManager.encrypt(plaintext, opts);
          m.up = true;
          m.lastKeyId = r.keyId;
          return { m, r };
        } catch (e) {
          m.up = false;
          return { m, e: e as Error };
        }
      }),
    );
    const ok = settled.filter((x): x is { m: Member; r: KeyManagerEncryptResult } => 'r' in x);
    const failed = settled.filter((x): x is { m: Member; e: Error } => 'e' in x);
    if (ok.length < this.o.writeQuorum) {
      const detail = failed.map((f) => `${f.m.name}: ${f.e.message}`).join('; ');
      // The same bad request fails everywhere; say so as such rather than as an outage.
      if (ok.length === 0 && failed.every((f) => f.e instanceof InvalidError)) throw new InvalidError(`every member refused: ${detail}`);
      throw new UnavailableError(`only ${ok.length} of ${this.members.length} members wrapped the DEK, writes need ${this.o.writeQuorum}: ${detail}`);
    }
    if (failed.length > 0) {
      this.o.logger.warn({ uid: opts.uid, failed: failed.map((f) => f.m.name) }, 'multi backend: some members did not wrap the DEK; reads will rely on the others');
    }
    const annotations: Record<string, Uint8Array> = {};
    for (const { m, r } of ok) {
      annotations[`${m.name}${MULTI_ANNOTATION_SUFFIX}`] = encodeWrappedKey({ keyId: r.keyId, ciphertext: r.ciphertext, annotations: r.annotations ?? {} });
    }
    return {
      ciphertext: Buffer.from(MULTI_CIPHERTEXT_MARKER),
      keyId: multiKeyId(ok.map(({ m, r }) => ({ name: m.name, keyId: r.keyId }))),
      annotations,
    };
  }

  private parseAnnotations(annotations: Record<string, Uint8Array>): Map<string, WrappedKey> {
    const wrapped = new Map<string, WrappedKey>();
    for (const [key, value] of Object.entries(annotations)) {
      if (!key.endsWith(MULTI_ANNOTATION_SUFFIX)) {
        throw new InvalidError(`unexpected annotation ${JSON.stringify(key)}: the multi backend writes only *${MULTI_ANNOTATION_SUFFIX}`);
      }
      const name = key.slice(0, -MULTI_ANNOTATION_SUFFIX.length);
      wrapped.set(name, decodeWrappedKey(value, undefined, `annotation ${key}`));
    }
    if (wrapped.size === 0) throw new InvalidError(`no *${MULTI_ANNOTATION_SUFFIX} annotation: nothing to unwrap`);
    return wrapped;
  }

  /** Members that wrapped this DEK, in the configured order policy, members known to be down last. */
  private decryptOrder(candidates: Member[]): Member[] {
    let ordered = candidates;
    if (this.o.decryptOrder === 'round-robin' && candidates.length > 0) {
      const start = this.nextStart++ % candidates.length;
      ordered = [...candidates.slice(start), ...candidates.slice(0, start)];
    } else if (this.o.decryptOrder === 'fastest') {
      // A member never timed yet goes first once, so that it gets a measurement.
      ordered = [...candidates].sort((a, b) => (a.latencyMs ?? -1) - (b.latencyMs ?? -1));
    }
    return [...ordered.filter((m) => m.up), ...ordered.filter((m) => !m.up)];
  }

  async decrypt(
    ciphertext: Uint8Array,
    opts: KeyManagerCallOptions & { keyId: string; annotations: Record<string, Uint8Array> },
  ): Promise<Uint8Array> {
    if (!Buffer.from(ciphertext).equals(MULTI_CIPHERTEXT_MARKER)) {
      throw new DecryptError(`ciphertext (${ciphertext.length} bytes) is not the multi backend's marker; it was not written by this backend`);
    }
    if (!opts.keyId.startsWith(KEY_ID_PREFIX)) throw new NotFoundError(`key id ${JSON.stringify(opts.keyId)} is not a multi backend key id`);
    const wrapped = this.parseAnnotations(opts.annotations);
    // The key id commits to every wrapped copy's member and key id: annotations edited in the datastore do not match.
    const expected = multiKeyId([...wrapped].map(([name, w]) => ({ name, keyId: w.keyId })));
    if (expected !== opts.keyId) throw new InvalidError('the annotations do not match the key id (members or their key ids differ from what was written)');
    const candidates = this.members.filter((m) => wrapped.has(m.name));
    if (candidates.length === 0) {
      throw new NotFoundError(
        `the DEK was wrapped by members ${[...wrapped.keys()].join(', ')}, none of which is configured now (${this.members.map((m) => m.name).join(', ')})`,
      );
    }
    const errors: { m: Member; e: Error }[] = [];
    for (const m of this.decryptOrder(candidates)) {
      if (opts.signal.aborted) break;
      const w = wrapped.get(m.name)!;
      const started = this.o.clock.now();
      try {
        const plaintext = await m.keyManager.decrypt(w.ciphertext, { ...opts, keyId: w.keyId, annotations: w.annotations });
        const ms = this.o.clock.now() - started;
        m.latencyMs = m.latencyMs === undefined ? ms : m.latencyMs * (1 - LATENCY_WEIGHT) + ms * LATENCY_WEIGHT;
        m.up = true;
        return plaintext;
      } catch (e) {
        if (e instanceof UnavailableError) m.up = false;
        errors.push({ m, e: e as Error });
        this.o.logger.warn({ uid: opts.uid, member: m.name, error: (e as Error).message }, 'multi backend: member could not unwrap; trying the next');
      }
    }
    const detail = errors.map(({ m, e }) => `${m.name}: ${e.message}`).join('; ') || 'cancelled';
    if (errors.length === 0 || errors.some(({ e }) => e instanceof UnavailableError)) {
      throw new UnavailableError(`no member could unwrap the DEK: ${detail}`);
    }
    throw new DecryptError(`no member could unwrap the DEK: ${detail}`);
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.members.map((m) => m.keyManager.close()));
  }
}
