#!/usr/bin/env node
// `npm run test:node24 [filter...]`: the end-to-end tests (test/e2e-*.test.ts, or those whose path contains a filter)
// on Node 24 (not yet part of .ci/run: the addon's first build takes minutes). The Node 24 binary is the `node` npm package's
// (devDependency "node": "^24"), or COFFER_NODE24. node_modules holds the SQLite addon built for the machine's Node,
// so a copy built with Node 24 is kept in .cache/node24-native (built once by Node 24's npm; COFFER_NATIVE_DIR
// overrides) and the addon's imports are redirected to it (scripts/node24-native.mjs, in every process started).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';

const ADDON = 'better-sqlite3-multiple-ciphers';
const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
const require = createRequire(join(root, 'package.json'));

function node24Binary() {
  if (process.env.COFFER_NODE24) return process.env.COFFER_NODE24;
  try {
    return join(dirname(require.resolve('node/package.json')), 'bin', 'node');
  } catch {
    console.error('Node 24 not found: add the devDependency "node": "^24" (npm install -D node@24) or set COFFER_NODE24');
    process.exit(1);
  }
}

const node24 = node24Binary();
const version = spawnSync(node24, ['--version'], { encoding: 'utf8' }).stdout.trim();
if (!version.startsWith('v24.')) {
  console.error(`${node24} is ${version || 'not runnable'}, not Node 24`);
  process.exit(1);
}

/** True when the addon in `dir` loads in Node 24. */
const addonLoads = (dir) => spawnSync(node24, ['-e', `require(${JSON.stringify(join(dir, 'node_modules', ADDON))})(':memory:').close()`], { stdio: 'ignore' }).status === 0;

const nativeDir = process.env.COFFER_NATIVE_DIR ?? join(root, '.cache', 'node24-native');
if (!addonLoads(nativeDir)) {
  // npm may skip install scripts (allowScripts), so the addon is fetched without them and built here with Node 24
  // itself: its prebuilt binary for Node 24's ABI (prebuild-install), else compiled (node-gyp, needs Node's headers).
  const npmCli = process.env.npm_execpath ?? join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js');
  const nodeGyp = join(dirname(npmCli), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
  const addonVersion = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).dependencies[ADDON];
  const pkgDir = join(nativeDir, 'node_modules', ADDON);
  const env = { ...process.env, PATH: `${dirname(node24)}:${process.env.PATH ?? ''}` };
  const run = (args, cwd) => spawnSync(node24, args, { stdio: 'inherit', env, cwd }).status === 0;
  console.error(`building ${ADDON}@${addonVersion} for ${version} in ${nativeDir}`);
  mkdirSync(nativeDir, { recursive: true });
  if (!existsSync(pkgDir) && !run([npmCli, 'install', '--ignore-scripts', '--no-save', '--no-audit', '--no-fund', '--prefix', nativeDir, `${ADDON}@${addonVersion}`], nativeDir)) process.exit(1);
  // node-gyp needs Node 24's headers; the `node` package's platform distribution carries them (include/node), so
  // nothing is downloaded from outside the npm registry.
  const platformDist = `node-${process.platform}-${process.arch}`;
  const dist = [join(dirname(node24), '..', 'node_modules', platformDist), join(dirname(node24), '..', '..', platformDist), join(dirname(node24), '..')]
    .find((d) => existsSync(join(d, 'include', 'node', 'common.gypi')));
  if (!run([join(nativeDir, 'node_modules', 'prebuild-install', 'bin.js')], pkgDir)) run([nodeGyp, 'rebuild', '--release', ...(dist ? [`--nodedir=${dist}`] : [])], pkgDir);
  if (!addonLoads(nativeDir)) {
    console.error(`${ADDON} could not be built for ${version} in ${nativeDir}`);
    process.exit(1);
  }
}

const filter = process.argv.slice(2);
const files = readdirSync(join(root, 'test'))
  .filter((f) => /^e2e-.*\.test\.ts$/.test(f))
  .map((f) => join('test', f))
  .filter((f) => filter.length === 0 || filter.some((s) => f.includes(s)))
  .sort();
if (files.length === 0) {
  console.error('no end-to-end test files found');
  process.exit(1);
}
const hook = join(root, 'scripts', 'node24-native.mjs');
const env = { ...process.env, COFFER_NATIVE_DIR: nativeDir, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import ${hook}`.trim() };
console.error(`${files.length} end-to-end test files on ${version}`);
const r = spawnSync(node24, ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-reporter=spec', ...files], { stdio: 'inherit', cwd: root, env });
process.exit(r.status ?? 1);
