// Reads a sampling heap profile (https-cpu.mjs HEAP=...): bytes allocated per operation, by the allocating function
// (self) and charged to the nearest frame of the project's own code (dist/), and inclusive per project function.
// usage: node scripts/cpu-ab/heap-top.mjs <file.heapprofile> <operations sampled> [rows]
import { readFileSync } from 'node:fs';
const [file, ops, rows = '30'] = process.argv.slice(2);
const { head } = JSON.parse(readFileSync(file, 'utf8'));
const perOp = (bytes) => (bytes / Number(ops)).toFixed(0).padStart(7);
const where = (f) => `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*\/dist\//, '').replace(/^.*node_modules\//, '~')}:${f.lineNumber + 1}`;
const own = (f) => f.url.includes('/dist/');
const self = new Map(), nearest = new Map(), inclusive = new Map();
let total = 0;
const add = (map, key, n) => map.set(key, (map.get(key) ?? 0) + n);
(function visit(node, stack) {
  const here = [...stack, node.callFrame];
  if (node.selfSize > 0) {
    total += node.selfSize;
    add(self, where(node.callFrame), node.selfSize);
    const mine = here.findLast(own);
    add(nearest, mine ? where(mine) : '(no project frame)', node.selfSize);
    for (const key of new Set(here.filter(own).map(where))) add(inclusive, key, node.selfSize);
  }
  for (const child of node.children) visit(child, here);
})(head, []);
const top = (title, map) => {
  console.log(`\n${title}`);
  for (const [key, n] of [...map].sort((a, b) => b[1] - a[1]).slice(0, Number(rows))) console.log(`${perOp(n)} B/op  ${key}`);
};
console.log(`${file}: ${perOp(total).trim()} bytes sampled per operation`);
top('allocating function (self)', self);
top('nearest project frame', nearest);
top('inclusive, project functions', inclusive);
