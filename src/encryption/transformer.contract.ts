// The behaviour every Transformer owes its callers, run by each implementation's tests (identity, the raw ciphers,
// the local providers, later the KMS envelopes): whatever it writes it reads back, fresh; and bytes it did not write
// are refused with an Error — never a crash, a hang, or garbage returned as if it were the object.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { contextForKey, type Transformer } from './transformer.js';

export interface TransformerContractOptions {
  /** Identity: stored values are the plaintext, so writes repeat and almost any bytes read back successfully. */
  passthrough?: boolean;
  /** Default true. False for aescbc, which authenticates nothing: only structurally broken values are refused. */
  detectsTampering?: boolean;
  /** Cases (by title) this implementation is known to fail, with the reason: they still run and report, as todo. */
  knownDisagreements?: Record<string, string>;
}

/** Per case: a describe's timeout would bound the whole suite, which grows with the cases. */
const TIMEOUT_MS = 20_000;
const PAYLOAD_SIZES = [0, 1, 1024, 64 * 1024];
// Shorter than any header, one short of a block, exactly one block, and lengths that are no multiple of 16: every
// transformer, CBC included, must refuse these deterministically.
const GARBAGE_SIZES = [0, 1, 11, 15, 16, 17, 39, 41, 1001];

export function runTransformerContract(
  name: string,
  makeTransformer: () => Transformer | Promise<Transformer>,
  opts: TransformerContractOptions = {},
): void {
  const ctx = contextForKey('/registry/secrets/default/contract');
  const passthrough = opts.passthrough ?? false;
  const detectsTampering = opts.detectsTampering ?? true;
  const test = (title: string, fn: () => Promise<void>) => {
    const todo = opts.knownDisagreements?.[title];
    void it(title, { timeout: TIMEOUT_MS, ...(todo ? { todo } : {}) }, fn);
  };

  void describe(`Transformer contract: ${name}`, () => {
    for (const size of PAYLOAD_SIZES) {
      test(`round-trips a ${size}-byte payload, not stale`, async () => {
        const t = await makeTransformer();
        const plain = randomBytes(size);
        const stored = await t.toStorage(plain, ctx);
        const back = await t.fromStorage(stored, ctx);
        assert.deepEqual(Buffer.from(back.data), plain);
        assert.equal(back.stale, false);
        if (!passthrough) assert.ok(stored.length > size, 'a stored value carries a header or a tag');
      });
    }

    test('does not modify the input it is given', async () => {
      const t = await makeTransformer();
      const plain = randomBytes(100);
      const copy = Buffer.from(plain);
      const stored = await t.toStorage(plain, ctx);
      const storedCopy = Buffer.from(stored);
      await t.fromStorage(stored, ctx);
      assert.deepEqual(plain, copy);
      assert.deepEqual(Buffer.from(stored), storedCopy);
    });

    if (passthrough) return;

    test('never stores the plaintext', async () => {
      const t = await makeTransformer();
      const canary = Buffer.from('coffer-contract-canary-'.repeat(40), 'utf8');
      const stored = Buffer.from(await t.toStorage(canary, ctx));
      assert.equal(stored.indexOf(canary.subarray(0, 23)), -1);
    });

    test('two writes of the same plaintext differ', async () => {
      const t = await makeTransformer();
      const plain = Buffer.from('same plaintext', 'utf8');
      const a = Buffer.from(await t.toStorage(plain, ctx));
      const b = Buffer.from(await t.toStorage(plain, ctx));
      assert.notDeepEqual(a, b);
    });

    test('refuses random bytes of many lengths with an Error', async () => {
      const t = await makeTransformer();
      for (const size of GARBAGE_SIZES) {
        await assert.rejects(t.fromStorage(randomBytes(size), ctx), Error, `${size} random bytes`);
      }
    });

    test('refuses a stored value cut short or extended by a byte', async () => {
      const t = await makeTransformer();
      const stored = Buffer.from(await t.toStorage(randomBytes(64), ctx));
      for (let cut = 1; cut < 16; cut++) {
        await assert.rejects(t.fromStorage(stored.subarray(0, stored.length - cut), ctx), Error, `cut by ${cut}`);
      }
      await assert.rejects(t.fromStorage(Buffer.concat([stored, Buffer.of(0)]), ctx), Error, 'one byte appended');
    });

    if (!detectsTampering) return;

    test('refuses every truncation of a stored value', async () => {
      const t = await makeTransformer();
      const stored = Buffer.from(await t.toStorage(Buffer.from('x'), ctx));
      for (let len = 0; len < stored.length; len++) {
        await assert.rejects(t.fromStorage(stored.subarray(0, len), ctx), Error, `truncated to ${len} bytes`);
      }
    });

    test('refuses a stored value with any one byte flipped', async () => {
      const t = await makeTransformer();
      const stored = Buffer.from(await t.toStorage(Buffer.from('tamper me'), ctx));
      for (let i = 0; i < stored.length; i++) {
        const tampered = Buffer.from(stored);
        tampered[i] = tampered[i]! ^ 0x01;
        await assert.rejects(t.fromStorage(tampered, ctx), Error, `byte ${i} flipped`);
      }
    });
  });
}
