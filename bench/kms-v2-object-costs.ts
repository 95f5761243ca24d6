// `node --import tsx bench/kms-v2-object-costs.ts`: CPU µs per object of the KMS v2 data layer (HKDF-Expand, the
// derived-key cache, AES-GCM through node:crypto, a whole read and a whole seal) against identity's read, 5,000 objects
// of 1,100 bytes, every case measured in turn per round (15 rounds, medians). What a LIST or a create pays per object
// for KMS v2 beyond identity, without the HTTP server, the store or V8's collection of the objects around it.
import { createDecipheriv, hash, randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { AesGcmExtendedNonceTransformer } from '../src/encryption/aes-gcm-extended-nonce.js';
import { DerivedKeyCache } from '../src/encryption/derived-key-cache.js';
import { IdentityTransformer } from '../src/encryption/identity.js';
import { contextForKey } from '../src/encryption/transformer.js';

const N = 5000;
const ROUNDS = 15;

const seed = randomBytes(32);
const writer = new AesGcmExtendedNonceTransformer(seed, { derivedKeyCacheSize: 0 });
const cached = new AesGcmExtendedNonceTransformer(seed);
const uncached = new AesGcmExtendedNonceTransformer(seed, { derivedKeyCacheSize: 0 });
const identity = new IdentityTransformer();
const objects = Array.from({ length: N }, (_, i) => {
  const ctx = contextForKey(`/registry/secrets/default/s${i}`);
  const plain = randomBytes(1100);
  return { ctx, plain, stored: writer.seal(plain, ctx) };
});
for (const o of objects) cached.open(o.stored, o.ctx); // every key in the cache, as after the informers' LIST
const keys = new DerivedKeyCache(N);
for (const o of objects) keys.set(o.ctx.storageKey!, o.stored.subarray(0, 32), randomBytes(32));
const inner = Buffer.alloc(64 + 33);
const outer = Buffer.alloc(64 + 32);
const key = randomBytes(32);

const cases: Record<string, () => unknown> = {
  'identity read (fromStorage)': () => Promise.all(objects.map((o) => identity.fromStorage(o.plain, o.ctx))),
  'HKDF-Expand (two one-shot SHA-256)': () => {
    for (const o of objects) {
      inner.set(o.stored.subarray(0, 32), 64);
      const d = hash('sha256', inner, 'buffer');
      outer.set(d, 64);
      d.fill(0);
      hash('sha256', outer, 'buffer').fill(0);
    }
  },
  'derived-key cache hit': () => {
    for (const o of objects) keys.get(o.ctx.storageKey!, o.stored.subarray(0, 32));
  },
  'createDecipheriv + setAAD alone': () => {
    for (const o of objects) createDecipheriv('aes-256-gcm', key, o.stored.subarray(32, 44)).setAAD(o.ctx.authenticatedData);
  },
  'KMS v2 read, key derived (open)': () => {
    for (const o of objects) uncached.open(o.stored, o.ctx).fill(0);
  },
  'KMS v2 read, key cached (open)': () => {
    for (const o of objects) cached.open(o.stored, o.ctx).fill(0);
  },
  'KMS v2 seal (HKDF + AES-GCM + framing)': () => {
    for (const o of objects) uncached.seal(o.plain, o.ctx);
  },
};

const results = new Map<string, number[]>();
const load = [loadavg()[0]!];
for (let r = -1; r < ROUNDS; r++) {
  for (const [name, run] of Object.entries(cases)) {
    const cpu = process.cpuUsage();
    await run();
    const used = process.cpuUsage(cpu);
    if (r >= 0) results.set(name, [...(results.get(name) ?? []), (used.user + used.system) / N]);
  }
  load.push(loadavg()[0]!);
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(`\n## KMS v2 per-object CPU (${N} objects of 1,100 bytes, medians of ${ROUNDS} rounds; load average ${Math.min(...load).toFixed(1)}-${Math.max(...load).toFixed(1)})\n`);
console.log('| case | CPU µs per object |');
console.log('|---|---:|');
for (const [name, xs] of results) console.log(`| ${name} | ${median(xs).toFixed(2)} |`);
