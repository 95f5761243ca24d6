// The object codec's CPU per call for a 1 KiB Secret (decode, encode, normalizeSecretForStorage), several builds side
// by side in one process, interleaved rounds, medians. usage: node scripts/cpu-ab/codec-cpu.mjs label=distdir ...
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
const dists = Object.fromEntries(process.argv.slice(2).map((a) => a.split('=')).map(([l, d]) => [l, pathToFileURL(resolve(d)).href]));
const obj = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's1', namespace: 'default', uid: '0b6c2a0e-1c1d-4d5e-9f00-123456789abc', creationTimestamp: '2026-12-07T14:00:00Z', managedFields: [{ manager: 'node', operation: 'Update', apiVersion: 'v1', time: '2026-12-07T14:00:00Z', fieldsType: 'FieldsV1', fieldsV1: { 'f:data': { '.': {}, 'f:v': {} }, 'f:type': {} } }] }, data: { v: randomBytes(768).toString('base64') }, type: 'Opaque' };
const libs = {};
for (const [label, dist] of Object.entries(dists)) {
  libs[label] = { ...(await import(`${dist}/objects/object-codec.js`)), ...(await import(`${dist}/objects/secret.js`)) };
}
const plain = libs[Object.keys(libs)[0]].encodeObject(obj, { mediaType: 'protobuf' });
const N = 20000, ROUNDS = 21;
const res = {};
for (let r = 0; r < ROUNDS; r++) for (const label of r % 2 ? Object.keys(libs).reverse() : Object.keys(libs)) {
  const L = libs[label];
  for (const [op, f] of Object.entries({ decode: () => L.decodeObject(plain), encode: () => L.encodeObject(obj, { mediaType: 'protobuf' }), normalize: () => L.normalizeSecretForStorage({ ...obj }) })) {
    const t = process.cpuUsage(); for (let i = 0; i < N; i++) f(); const u = process.cpuUsage(t);
    ((res[op] ??= {})[label] ??= []).push((u.user + u.system) / N);
  }
}
const med = (a) => a.sort((x, y) => x - y)[a.length >> 1];
console.log(`load ${loadavg()[0].toFixed(1)}; ${ROUNDS} interleaved rounds of ${N}, median CPU µs per call`);
for (const [op, by] of Object.entries(res)) console.log(op, Object.entries(by).map(([l, a]) => `${l} ${med(a).toFixed(2)}`).join('  '));
