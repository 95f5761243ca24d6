#!/usr/bin/env node
// `npm test`: installs the Debian packages the tests need when they are missing (as root), compiles the TypeScript
// files its cache lacks (scripts/compile-typescript.mjs), then runs every test file with node:test, each loading the
// compiled files through scripts/typescript-loader.mjs (COFFER_TEST_LOADER=tsx: through tsx, as before). Node 20
// finds no tests without an explicit file list, so the list is built here.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, sep } from 'node:path';

// Debian packages whose commands the tests start, and the command that shows each is installed.
const DEBIAN_PACKAGES = [
  { pkg: 'etcd-server', command: 'etcd' },
  { pkg: 'etcd-client', command: 'etcdctl' },
  { pkg: 'softhsm2', command: 'softhsm2-util' },
  { pkg: 'opensc', command: 'pkcs11-tool' },
  { pkg: 'gdb', command: 'gcore' },
  { pkg: 'chromium', command: 'chromium' },
  { pkg: 'gocryptfs', command: 'gocryptfs' },
  { pkg: 'fuse3', command: 'fusermount3' },
];

function missingPackages() {
  return DEBIAN_PACKAGES.filter(
    ({ command }) => spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status !== 0,
  );
}

function installMissing() {
  const missing = missingPackages();
  if (missing.length === 0) return;
  const names = missing.map((p) => p.pkg);
  if (process.getuid?.() !== 0) {
    console.error(`tests need Debian packages ${names.join(' ')}; run as root or: sudo apt-get install -y ${names.join(' ')}`);
    process.exit(1);
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [['update'], ['install', '-y', '--no-install-recommends', ...names]]) {
    const r = spawnSync('apt-get', args, { stdio: 'inherit', env });
    if (r.status !== 0) process.exit(r.status ?? 1);
  }
}

function findTests(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' ? [] : findTests(p);
    return e.name.endsWith('.test.ts') ? [p] : [];
  });
}

// The slowest files, longest first (wall time in a full `npm test` on 2026-12-07 17:55-18:14 UTC, printed by
// run-test-files.mjs at the end of every run; docs/performance.md, "`npm test` time"), so that the run does not end
// with one worker idle beside a long file: they start first, then the rest of test/ (end-to-end files that start
// processes), then src/; the files with a latency bound last (below).
const SLOWEST_FIRST = [
  'test/lab.test.ts',
  'test/package-install.test.ts',
  'test/dashboard-browser.test.ts',
  'test/operations-rotate.test.ts',
  'test/e2e-kubectl.test.ts',
  'test/e2e-external-secrets-cluster.test.ts',
  'test/reliability/kill-coffer-up.test.ts',
  'test/dashboard-kms.test.ts',
  'test/operations-reencrypt.test.ts',
  'test/e2e-kms-backends.test.ts',
  'test/e2e-push-secret.test.ts',
  'test/operations-recover.test.ts',
  'test/e2e-kms.test.ts',
  'test/e2e-kubectl-external-secrets.test.ts',
  'test/docs-runnable.test.ts',
  'test/operations-status.test.ts',
  'test/e2e-kms-aws.test.ts',
  'src/operations/source.test.ts',
  'src/cli/up-preflight.test.ts',
  'src/storage/etcd/etcd-store.test.ts',
  'test/reliability/kill-children.test.ts',
  'test/architecture.test.ts',
  'test/test-runner.test.ts',
  'test/e2e-external-secrets-aws.test.ts',
  'test/dashboard-command.test.ts',
  'test/e2e-external-secrets-templates.test.ts',
  'src/controller/external-secrets/sprig-crypto-functions.test.ts',
  'src/cli/up-command.test.ts',
];

/** Known slow files first (in the order above), then the other files of test/, then src/, alphabetically. */
function runOrder(files) {
  const rank = (f) => {
    const p = f.split(sep).join('/');
    const i = SLOWEST_FIRST.indexOf(p);
    if (i !== -1) return i;
    return SLOWEST_FIRST.length + (p.startsWith('test/') ? 0 : 1);
  };
  return [...files].sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
}

// Files whose tests bound a latency run after the others, with no heavy file (chromium, a lab deployment, a tsc
// compile) sharing the 2 cores: first those whose bound leaves room (an ExternalSecret refreshed within 1 s of its 2 s
// interval, fuzzed requests and templates answered within 1 s, watch writes within 5 s), 2 at a time; then
// regexp-stall alone: every GET within 1 s while attack templates reconcile in the same process. Its slowest GET took
// 1,049 ms beside the heaviest files at 3 at a time in a clean CI run, and 994-1,316 ms beside
// e2e-external-secrets (against about 500 ms alone; docs/performance.md, "npm test time").
const LATENCY_BOUND = [
  'test/e2e-external-secrets.test.ts',
  'src/controller/external-secrets/go-template.fuzz.test.ts',
  'src/keyserver/keyserver.fuzz.test.ts',
  'src/apiserver/registry/watch-stream.test.ts',
];
const ALONE = ['test/reliability/regexp-stall.test.ts'];

installMissing();
const filter = process.argv.slice(2);
const found = ['src', 'test'].flatMap((d) => findTests(d)).filter((f) => filter.length === 0 || filter.some((s) => f.includes(s)));
if (found.length === 0) {
  console.error('no test files found');
  process.exit(1);
}
const among = (list) => (f) => list.includes(f.split(sep).join('/'));
/** The found files of `list` as a phase of run-test-files.mjs, n at a time. */
const phase = (n, list) => {
  const fs = found.filter(among(list));
  return fs.length > 0 ? [`--then=${n}`, ...fs] : [];
};
const files = [
  ...runOrder(found.filter((f) => !among(LATENCY_BOUND)(f) && !among(ALONE)(f))),
  ...phase(2, LATENCY_BOUND),
  ...phase(1, ALONE),
];
// The other files run CONCURRENCY at a time: on this 2-core machine most of them wait on the processes they start
// (an idle full run at 2 at a time kept only 1.47 cores busy on average; at 3, with the phases above, a full run took
// 359 s against 470 s at 2, back to back at load 5-7); COFFER_TEST_CONCURRENCY overrides.
const CONCURRENCY = 3;
const concurrency = process.env.COFFER_TEST_CONCURRENCY ?? String(CONCURRENCY);
const env = { ...process.env, COFFER_TEST_CONCURRENCY: concurrency };
const runner = join(import.meta.dirname, 'run-test-files.mjs');
let r;
if (process.env.COFFER_TEST_LOADER === 'tsx') {
  r = spawnSync(process.execPath, ['--import', 'tsx', runner, ...files], { stdio: 'inherit', env });
} else {
  // What the cache lacks (all of it in a fresh checkout: about 2.4 s of esbuild's CPU; only the files edited since on
  // the next run), compiled together before the test files' processes start.
  const { compileTypescript } = await import('./compile-typescript.mjs');
  await compileTypescript();
  r = spawnSync(process.execPath, ['--import', join(import.meta.dirname, 'typescript-loader.mjs'), runner, ...files], { stdio: 'inherit', env });
}
process.exit(r.status ?? 1);
