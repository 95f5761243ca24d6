#!/usr/bin/env node
// `npm test`: installs the Debian packages the tests need when they are missing (as root), then runs every test file
// with node:test through tsx. Node 20 finds no tests without an explicit file list, so the list is built here.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

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

installMissing();
const filter = process.argv.slice(2);
const files = ['src', 'test']
  .flatMap((d) => findTests(d))
  .filter((f) => filter.length === 0 || filter.some((s) => f.includes(s)))
  .sort();
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-reporter=spec', ...files], {
  stdio: 'inherit',
});
process.exit(r.status ?? 1);
