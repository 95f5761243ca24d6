import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import pino from 'pino';
import { FakeClock } from '../../lib/clock.js';
import { InvalidError, NotFoundError, UnavailableError } from '../../lib/errors.js';
import type { DecryptOrder } from '../plugin-config.js';
import { ControlledKeyManager } from '../testing/controlled-key-manager.js';
import { LocalKeyManager } from './local-key-manager.js';
import { MULTI_ANNOTATION_SUFFIX, MultiKeyManager } from './multi-key-manager.js';

const silent = pino({ level: 'silent' });
const call = () => ({ uid: 'u', signal: AbortSignal.timeout(2000) });

function setup(opts: { names?: string[]; writeQuorum?: number; decryptOrder?: DecryptOrder } = {}) {
  const names = opts.names ?? ['a', 'b', 'c'];
  const members = names.map((name) => ({ name, keyManager: new ControlledKeyManager(new LocalKeyManager([randomBytes(32)])) }));
  const multi = new MultiKeyManager(members, {
    decryptOrder: opts.decryptOrder ?? 'priority',
    writeQuorum: opts.writeQuorum ?? names.length,
    clock: new FakeClock(),
    logger: silent,
  });
  return { multi, m: members.map((x) => x.keyManager) };
}

void describe('multi backend', () => {
  void it('wraps with every member into FQDN annotations, and unwraps with any one member up', async () => {
    const { multi, m } = setup();
    const dek = randomBytes(32);
    const r = await multi.encrypt(dek, call());
    assert.deepEqual(Object.keys(r.annotations!).sort(), ['a', 'b', 'c'].map((n) => `${n}${MULTI_ANNOTATION_SUFFIX}`));
    assert.ok(r.ciphertext.length < 32);
    assert.equal(r.keyId, (await multi.status(call())).keyId);
    m[0]!.down = true;
    m[1]!.down = true;
    const opts = { ...call(), keyId: r.keyId, annotations: r.annotations! };
    assert.deepEqual(Buffer.from(await multi.decrypt(r.ciphertext, opts)), dek);
    m[2]!.down = true;
    await assert.rejects(multi.decrypt(r.ciphertext, opts), UnavailableError);
  });

  void it('write policy all: one member down fails writes and health; quorum 2: it does not', async () => {
    const all = setup();
    all.m[1]!.down = true;
    await assert.rejects(all.multi.encrypt(randomBytes(32), call()), /only 2 of 3 members wrapped the DEK, writes need 3/);
    assert.equal((await all.multi.status(call())).healthy, false);

    const q = setup({ writeQuorum: 2 });
    const before = (await q.multi.status(call())).keyId;
    q.m[1]!.down = true;
    const s = await q.multi.status(call());
    assert.equal(s.healthy, true);
    // The key id follows the members that can wrap now, so kube-apiserver makes a new seed when b comes back.
    assert.notEqual(s.keyId, before);
    const r = await q.multi.encrypt(randomBytes(32), call());
    assert.equal(r.keyId, s.keyId);
    assert.deepEqual(Object.keys(r.annotations!).sort(), [`a${MULTI_ANNOTATION_SUFFIX}`, `c${MULTI_ANNOTATION_SUFFIX}`]);
    q.m[1]!.down = false;
    assert.equal((await q.multi.status(call())).keyId, before);
  });

  void it('key id changes when any member rotates', async () => {
    const inner = [new LocalKeyManager([randomBytes(32)]), new LocalKeyManager([randomBytes(32)])];
    const one = new MultiKeyManager([{ name: 'a', keyManager: inner[0]! }, { name: 'b', keyManager: inner[1]! }], { decryptOrder: 'priority', writeQuorum: 2, clock: new FakeClock(), logger: silent });
    const rotated = new MultiKeyManager([{ name: 'a', keyManager: inner[0]! }, { name: 'b', keyManager: new LocalKeyManager([randomBytes(32)]) }], { decryptOrder: 'priority', writeQuorum: 2, clock: new FakeClock(), logger: silent });
    assert.notEqual((await one.status(call())).keyId, (await rotated.status(call())).keyId);
  });

  void it('decrypt order: priority asks the first member, round-robin rotates, down members go last', async () => {
    const p = setup({ decryptOrder: 'priority' });
    const r = await p.multi.encrypt(randomBytes(32), call());
    const opts = { ...call(), keyId: r.keyId, annotations: r.annotations! };
    await p.multi.decrypt(r.ciphertext, opts);
    await p.multi.decrypt(r.ciphertext, opts);
    assert.deepEqual(p.m.map((x) => x.calls.decrypt), [2, 0, 0]);
    p.m[0]!.down = true;
    await p.multi.decrypt(r.ciphertext, opts); // a fails (marked down), b answers
    await p.multi.decrypt(r.ciphertext, opts); // a is now tried last: b answers straight away
    assert.deepEqual(p.m.map((x) => x.calls.decrypt), [3, 2, 0]);

    const rr = setup({ decryptOrder: 'round-robin' });
    const r2 = await rr.multi.encrypt(randomBytes(32), call());
    for (let i = 0; i < 3; i++) await rr.multi.decrypt(r2.ciphertext, { ...call(), keyId: r2.keyId, annotations: r2.annotations! });
    assert.deepEqual(rr.m.map((x) => x.calls.decrypt), [1, 1, 1]);
  });

  void it('decrypt order fastest: prefers the member with the lowest measured latency', async () => {
    const names = ['slow', 'fast'];
    const members = names.map((name) => ({ name, keyManager: new ControlledKeyManager(new LocalKeyManager([randomBytes(32)])) }));
    const clock = new FakeClock();
    const multi = new MultiKeyManager(members, { decryptOrder: 'fastest', writeQuorum: 2, clock, logger: silent });
    const r = await multi.encrypt(randomBytes(32), call());
    const opts = { ...call(), keyId: r.keyId, annotations: r.annotations! };
    // Time moves only while a member works: 50 ms for slow, 1 ms for fast.
    const [slow, fast] = members.map((x) => x.keyManager);
    const origSlow = slow!.decrypt.bind(slow);
    slow!.decrypt = async (c, o) => { const v = await origSlow(c, o); await clock.advance(50); return v; };
    const origFast = fast!.decrypt.bind(fast);
    fast!.decrypt = async (c, o) => { const v = await origFast(c, o); await clock.advance(1); return v; };
    await multi.decrypt(r.ciphertext, opts); // both unmeasured: slow (first) gets measured
    slow!.down = true;
    await multi.decrypt(r.ciphertext, opts); // slow fails, fast is measured
    slow!.down = false;
    await multi.decrypt(r.ciphertext, opts); // slow is back but marked down: fast
    await multi.decrypt(r.ciphertext, opts); // fast is faster
    assert.equal(fast!.calls.decrypt, 3);
  });

  void it('refuses annotations that were edited, foreign or missing, and ciphertext that is not its marker', async () => {
    const { multi } = setup();
    const r = await multi.encrypt(randomBytes(32), call());
    const base = { ...call(), keyId: r.keyId };
    const { [`a${MULTI_ANNOTATION_SUFFIX}`]: _dropped, ...fewer } = r.annotations!;
    await assert.rejects(multi.decrypt(r.ciphertext, { ...base, annotations: fewer }), /do not match the key id/);
    await assert.rejects(multi.decrypt(r.ciphertext, { ...base, annotations: { ...r.annotations!, 'x.example.com': Buffer.from('1') } }), InvalidError);
    await assert.rejects(multi.decrypt(r.ciphertext, { ...base, annotations: {} }), InvalidError);
    await assert.rejects(multi.decrypt(r.ciphertext, { ...base, annotations: { [`a${MULTI_ANNOTATION_SUFFIX}`]: Buffer.from('junk') } }), /malformed annotation/);
    await assert.rejects(multi.decrypt(Buffer.from('other'), { ...base, annotations: r.annotations! }), /marker/);
    await assert.rejects(multi.decrypt(r.ciphertext, { ...base, keyId: 'local:sha256:1', annotations: r.annotations! }), NotFoundError);
  });

  void it('says which members wrapped a DEK when none of them is configured any more', async () => {
    const old = setup({ names: ['gone'] });
    const r = await old.multi.encrypt(randomBytes(32), call());
    const now = setup({ names: ['new'] });
    await assert.rejects(now.multi.decrypt(r.ciphertext, { ...call(), keyId: r.keyId, annotations: r.annotations! }), /wrapped by members gone, none of which is configured now \(new\)/);
  });
});
