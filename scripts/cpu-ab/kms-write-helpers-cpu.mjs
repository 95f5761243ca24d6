// CPU ns per call of the small helpers a KMS v2 create and read pass through beside the crypto (issue 16):
// transformerPrefixOf on a KMS v2 value (twice per create, once per object read), the EncryptedObject's data head
// (once per write) and RecentWrites' put and take of a plaintext (once per create), builds side by side in one
// process, every case of every build in turn per round, medians of 21 rounds of 20,000 calls.
// usage: node scripts/cpu-ab/kms-write-helpers-cpu.mjs label=distdir ...
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
const N = 20000, ROUNDS = 21;
const value = Buffer.concat([Buffer.from('k8s:enc:kms:v2:bench:'), Buffer.alloc(1300, 7)]);
const plain = Buffer.alloc(1150, 9);
const prefix = Buffer.from('k8s:enc:kms:v2:bench:');
const cases = {};
for (const arg of process.argv.slice(2)) {
  const [label, distDir] = arg.split('=');
  const dist = pathToFileURL(resolve(distDir)).href;
  const { transformerPrefixOf } = await import(`${dist}/storage/transformation-metrics.js`);
  const { encryptedDataHead } = await import(`${dist}/kms/kms-v2-encrypted-object.js`);
  const { RecentWrites } = await import(`${dist}/storage/recent-writes.js`);
  const recent = new RecentWrites();
  recent.watching(); // entries are kept only while a watch is open
  cases[`${label} transformerPrefixOf`] = () => { for (let i = 0; i < N; i++) transformerPrefixOf(value); };
  cases[`${label} encryptedDataHead`] = () => { for (let i = 0; i < N; i++) encryptedDataHead(prefix, 1210); };
  cases[`${label} RecentWrites put + take`] = () => { for (let i = 0; i < N; i++) { recent.put('k', value, plain); recent.take('k', value).done(); } };
}
const results = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
for (let r = 0; r < ROUNDS; r++) {
  for (const [k, run] of Object.entries(cases)) {
    const c = process.cpuUsage();
    run();
    const u = process.cpuUsage(c);
    results[k].push(((u.user + u.system) * 1000) / N);
  }
}
const med = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
const load = (await import('node:os')).loadavg()[0].toFixed(1);
console.log(`CPU ns per call, medians of ${ROUNDS} rounds of ${N}; load ${load}`);
for (const [k, v] of Object.entries(results)) console.log(`${k}: ${med(v).toFixed(0)}`);
process.exit(0);
