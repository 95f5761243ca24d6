import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AggregateDecryptError, DecryptError, InvalidError, UnavailableError } from '../lib/errors.js';
import { IdentityTransformer } from './identity.js';
import {
  NO_MATCHING_AES_KEY,
  NO_MATCHING_PREFIX,
  PrefixTransformers,
  type PrefixTransformerEntry,
} from './prefix-transformers.js';
import { runTransformerContract } from './transformer.contract.js';
import { contextForKey, type FromStorageResult, type Transformer } from './transformer.js';

const ctx = contextForKey('/registry/secrets/default/a');
const b = (s: string): Buffer => Buffer.from(s, 'latin1');
const text = (u: Uint8Array): string => Buffer.from(u).toString('latin1');

/** Writes `<tag>|<plaintext>`, reads only what carries its tag; records what it was given. */
class Tagged implements Transformer {
  readonly seen: string[] = [];
  constructor(
    private readonly tag: string,
    private readonly staleOnRead = false,
  ) {}
  async fromStorage(data: Uint8Array, _ctx: unknown): Promise<FromStorageResult> {
    this.seen.push(text(data));
    const head = `${this.tag}|`;
    if (!text(data).startsWith(head)) throw new DecryptError(`${this.tag} cannot read`);
    return { data: data.subarray(head.length), stale: this.staleOnRead };
  }
  async toStorage(data: Uint8Array): Promise<Uint8Array> {
    return Buffer.concat([b(`${this.tag}|`), data]);
  }
}

class Failing implements Transformer {
  calls = 0;
  constructor(private readonly error: unknown) {}
  async fromStorage(): Promise<FromStorageResult> {
    this.calls++;
    throw this.error;
  }
  async toStorage(): Promise<Uint8Array> {
    throw this.error;
  }
}

const list = (...entries: PrefixTransformerEntry[]): PrefixTransformers => new PrefixTransformers(entries);

void describe('PrefixTransformers write', () => {
  void it('writes with element 0 only: its prefix ‖ its output', async () => {
    const second = new Tagged('two');
    const t = list({ prefix: 'p1:', transformer: new Tagged('one') }, { prefix: 'p2:', transformer: second });
    assert.equal(text(await t.toStorage(b('data'), ctx)), 'p1:one|data');
    assert.equal(second.seen.length, 0);
  });

  void it('writes verbatim through an empty-prefix first element', async () => {
    const t = list({ prefix: '', transformer: new IdentityTransformer() }, { prefix: 'p:', transformer: new Tagged('p') });
    const plain = b('k8s\x00raw');
    assert.equal(text(await t.toStorage(plain, ctx)), 'k8s\x00raw');
  });

  void it('propagates the write error of element 0', async () => {
    const err = new UnavailableError('plugin down');
    const t = list({ prefix: 'p:', transformer: new Failing(err) }, { prefix: 'q:', transformer: new Tagged('q') });
    await assert.rejects(t.toStorage(b('x'), ctx), (e: unknown) => e === err);
  });

  void it('handles binary prefixes without converting to strings', async () => {
    const prefix = Uint8Array.of(0xff, 0x00, 0xfe);
    const t = list({ prefix, transformer: new Tagged('bin') });
    const stored = Buffer.from(await t.toStorage(b('v'), ctx));
    assert.deepEqual(stored.subarray(0, 3), Buffer.from(prefix));
    assert.equal(text((await t.fromStorage(stored, ctx)).data), 'v');
    await assert.rejects(t.fromStorage(Uint8Array.of(0xff, 0x00, 0xfd, 0x62), ctx), { message: NO_MATCHING_PREFIX });
  });

  void it('copies the prefix it was given', async () => {
    const prefix = b('p:');
    const t = list({ prefix, transformer: new Tagged('x') });
    prefix.fill(0);
    assert.equal(text(await t.toStorage(b('v'), ctx)), 'p:x|v');
  });

  void it('refuses an empty list', () => {
    assert.throws(() => new PrefixTransformers([]), InvalidError);
  });
});

void describe('PrefixTransformers read', () => {
  void it('strips the prefix and returns stale = index != 0', async () => {
    const t = list({ prefix: 'a:', transformer: new Tagged('one') }, { prefix: 'b:', transformer: new Tagged('two') });
    assert.deepEqual(await t.fromStorage(b('a:one|x'), ctx).then((r) => [text(r.data), r.stale]), ['x', false]);
    assert.deepEqual(await t.fromStorage(b('b:two|y'), ctx).then((r) => [text(r.data), r.stale]), ['y', true]);
  });

  void it('keeps the inner stale flag at index 0', async () => {
    const t = list({ prefix: 'a:', transformer: new Tagged('one', true) });
    assert.equal((await t.fromStorage(b('a:one|x'), ctx)).stale, true);
  });

  void it('propagates staleness through nesting (non-first key of the first provider)', async () => {
    const keys = new PrefixTransformers(
      [
        { prefix: 'k2:', transformer: new Tagged('two') },
        { prefix: 'k1:', transformer: new Tagged('one') },
      ],
      { noMatchMessage: NO_MATCHING_AES_KEY },
    );
    const t = list({ prefix: 'prov:', transformer: keys });
    assert.equal((await t.fromStorage(b('prov:k2:two|x'), ctx)).stale, false);
    assert.equal((await t.fromStorage(b('prov:k1:one|x'), ctx)).stale, true);
    await assert.rejects(t.fromStorage(b('prov:k3:x'), ctx), { name: 'DecryptError', message: NO_MATCHING_AES_KEY });
  });

  void it('skips entries whose prefix does not match without calling them', async () => {
    const a = new Tagged('one');
    const t = list({ prefix: 'a:', transformer: a }, { prefix: 'b:', transformer: new Tagged('two') });
    await t.fromStorage(b('b:two|y'), ctx);
    assert.equal(a.seen.length, 0);
  });

  void it('tries the next entry with the same prefix after a failure, and reports stale', async () => {
    const t = list({ prefix: 'p:', transformer: new Tagged('one') }, { prefix: 'p:', transformer: new Tagged('two') });
    const r = await t.fromStorage(b('p:two|z'), ctx);
    assert.equal(text(r.data), 'z');
    assert.equal(r.stale, true);
  });

  void it('returns a single error as-is', async () => {
    const err = new UnavailableError('kms plugin unreachable');
    const t = list({ prefix: 'p:', transformer: new Failing(err) }, { prefix: 'q:', transformer: new Tagged('q') });
    await assert.rejects(t.fromStorage(b('p:x'), ctx), (e: unknown) => e === err);
  });

  void it('aggregates several errors, each message included, order kept', async () => {
    const t = list({ prefix: 'p:', transformer: new Tagged('one') }, { prefix: 'p:', transformer: new Tagged('two') });
    await assert.rejects(t.fromStorage(b('p:three|x'), ctx), (e: unknown) => {
      assert.ok(e instanceof AggregateDecryptError);
      assert.equal(e.message, '[one cannot read, two cannot read]');
      assert.deepEqual(
        e.errors.map((x) => x.message),
        ['one cannot read', 'two cannot read'],
      );
      return true;
    });
  });

  void it('skips empty-prefix errors silently: never aggregated, never returned', async () => {
    const identityLike = new Failing(new DecryptError('identity said no'));
    const t = list({ prefix: '', transformer: identityLike }, { prefix: 'p:', transformer: new Tagged('one') });
    await assert.rejects(t.fromStorage(b('p:zzz'), ctx), (e: unknown) => {
      assert.ok(e instanceof DecryptError && !(e instanceof AggregateDecryptError));
      assert.equal(e.message, 'one cannot read');
      return true;
    });
    assert.equal(identityLike.calls, 1);
    // Only the empty prefix matched and it failed: nothing recorded, so the default error.
    await assert.rejects(t.fromStorage(b('other'), ctx), { message: NO_MATCHING_PREFIX });
  });

  void it('gives the default error when nothing matches, configurable per level', async () => {
    await assert.rejects(list({ prefix: 'p:', transformer: new Tagged('x') }).fromStorage(b(''), ctx), {
      name: 'DecryptError',
      message: NO_MATCHING_PREFIX,
    });
    const custom = new PrefixTransformers([{ prefix: 'k:', transformer: new Tagged('x') }], { noMatchMessage: 'nope' });
    await assert.rejects(custom.fromStorage(b('j:x'), ctx), { message: 'nope' });
    await assert.rejects(custom.fromStorage(b('k'), ctx), { message: 'nope' }, 'data shorter than the prefix');
  });

  void it('wraps a thrown non-Error value in a DecryptError', async () => {
    const t = list({ prefix: 'p:', transformer: new Failing('a string') });
    await assert.rejects(t.fromStorage(b('p:x'), ctx), { name: 'DecryptError', message: 'a string' });
  });

  void it('passes a view, not a copy, of the data after the prefix', async () => {
    const t = list({ prefix: 'p:', transformer: new IdentityTransformer() });
    const stored = b('p:payload');
    const out = await t.fromStorage(stored, ctx);
    assert.equal(out.data.buffer, stored.buffer);
  });

  void it('forwards destroy() to the entries that have one', () => {
    let destroyed = 0;
    const withDestroy = Object.assign(new Tagged('x'), { destroy: () => void destroyed++ });
    list({ prefix: 'a:', transformer: withDestroy }, { prefix: '', transformer: new IdentityTransformer() }).destroy();
    assert.equal(destroyed, 1);
  });
});

runTransformerContract(
  'PrefixTransformers over identity',
  () => list({ prefix: '', transformer: new IdentityTransformer() }),
  { passthrough: true },
);
