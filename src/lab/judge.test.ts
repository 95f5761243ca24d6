// The judge and its helpers on synthetic loot: canaries in clear (any form), key candidates found in a blob that open
// stored values, and evidence that never holds a canary.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { AesCbcTransformer } from '../encryption/aes-cbc.js';
import { AesGcmTransformer } from '../encryption/aes-gcm.js';
import { SecretboxTransformer } from '../encryption/secretbox.js';
import { contextForKey } from '../encryption/transformer.js';
import { encodeObject } from '../objects/object-codec.js';
import { containsCanary, findCanaries, makeCanaries } from './canary.js';
import { Judge } from './judge.js';
import { findKeyCandidates } from './key-candidates.js';
import { emptyLoot } from './loot.js';

const canaries = makeCanaries(2);
const KEY = '/registry/secrets/lab-canaries/canary-1';

function storedSecret(value: Buffer): Buffer {
  return encodeObject({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'canary-1', namespace: 'lab-canaries' }, data: { value: value.toString('base64') } });
}

void describe('canary search', () => {
  void it('finds raw, base64 and UTF-16 forms with offsets and counts', () => {
    const c = canaries[0]!;
    const blob = Buffer.concat([randomBytes(100), c.value, randomBytes(7), Buffer.from(c.value.toString('base64')), Buffer.from(c.value.toString('latin1'), 'utf16le')]);
    const hits = findCanaries(blob, canaries);
    assert.deepEqual(hits.map((h) => h.form).sort(), ['base64', 'raw', 'utf16le']);
    assert.equal(hits.find((h) => h.form === 'raw')!.offset, 100);
    assert.ok(containsCanary(blob, canaries));
    assert.ok(!containsCanary(randomBytes(1000), canaries));
  });
});

void describe('judge', () => {
  for (const [name, make, prefix] of [
    ['aescbc', (k: Buffer) => new AesCbcTransformer(k), 'k8s:enc:aescbc:v1:key1:'],
    ['aesgcm', (k: Buffer) => new AesGcmTransformer(k), 'k8s:enc:aesgcm:v1:key1:'],
    ['secretbox', (k: Buffer) => new SecretboxTransformer(k), 'k8s:enc:secretbox:v1:key1:'],
  ] as const) {
    void it(`opens ${name} values with a key found as base64 text in a blob, and says so without the values`, async () => {
      const key = randomBytes(32);
      const sealed = await make(key).toStorage(storedSecret(canaries[0]!.value), contextForKey(KEY));
      const value = Buffer.concat([Buffer.from(prefix), sealed]);
      const loot = emptyLoot();
      loot.values.push({ key: KEY, value, source: 'test datastore' });
      const judge = new Judge(canaries);
      const base = { row: 'r', variant: 'v', attack: 'etcd', capabilities: ['etcd' as const] };
      assert.equal((await judge.assess(base, [loot], AbortSignal.timeout(5000))).recovered, 0);

      const config = Buffer.from(`secret: ${key.toString('base64')}\n`);
      const withKey = { ...emptyLoot(), keys: findKeyCandidates(config) };
      const f = await judge.assess({ ...base, attack: 'etcd+config-file' }, [loot, withKey], AbortSignal.timeout(5000));
      assert.equal(f.recovered, 1);
      assert.equal(f.keyMaterialCanaries, 1);
      assert.equal(f.plaintextCanaries, 0);
      assert.ok(!containsCanary(JSON.stringify(f), canaries));
      assert.match(f.keysFound[0]!, /sha256:[0-9a-f]{12}/);
      assert.ok(!JSON.stringify(f).includes(key.toString('base64')), 'the key itself is not in the finding');
    });
  }

  void it('counts identity-stored canaries as plaintext', async () => {
    const loot = emptyLoot();
    loot.values.push({ key: KEY, value: storedSecret(canaries[1]!.value), source: 'test datastore' });
    const f = await new Judge(canaries).assess({ row: 'r', variant: 'v', attack: 'etcd', capabilities: ['etcd'] }, [loot], AbortSignal.timeout(5000));
    assert.equal(f.recovered, 1);
    assert.equal(f.plaintextCanaries, 1);
    assert.match(f.evidence[0]!, /^1\/2 canaries/);
  });

  void it('lists canaries read directly before those read by reusing a credential', async () => {
    const loot = emptyLoot();
    loot.blobs.push({ label: 'token replayed', bytes: Buffer.concat([randomBytes(9), canaries[1]!.value]), credentialReuse: true });
    loot.values.push({ key: KEY, value: storedSecret(canaries[1]!.value), source: 'test datastore' });
    const f = await new Judge(canaries).assess({ row: 'r', variant: 'v', attack: 'etcd', capabilities: ['etcd'] }, [loot], AbortSignal.timeout(5000));
    assert.equal(f.recovered, 1);
    assert.match(f.evidence[0]!, /test datastore/);
    assert.ok(f.evidence.some((e) => e.includes('token replayed: offset 9')));
  });

  void it('finds an HMAC key block and a protobuf-framed seed as key candidates', () => {
    const seed = randomBytes(32);
    const block = Buffer.concat([Buffer.from(seed.map((b) => b ^ 0x36)), Buffer.alloc(32, 0x36), randomBytes(8)]);
    const proto = Buffer.concat([randomBytes(5), Buffer.from([0x0a, 0x20]), seed, randomBytes(5)]);
    for (const blob of [block, proto]) {
      assert.ok(findKeyCandidates(Buffer.concat([randomBytes(64), blob])).some((k) => k.bytes.equals(seed)));
    }
  });
});
