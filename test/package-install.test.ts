// The package as a user gets it: `npm pack` of a copy of this checkout (its `prepare` compiles dist/), then
// `npx` from the tarball, and `npm install -g --prefix <tmp> coffer-*.tgz`, then `coffer` from <tmp>/bin with no
// TypeScript tooling installed:
// `coffer up` (which starts `coffer keyserver` and `coffer kms-plugin` from the installed package), and
// `coffer kms-plugin` on a read-only root filesystem with no writable temp directory, as in its static pod.
//
// The install reads dependencies from the npm cache (--prefer-offline; the registry only for what the cache lacks)
// and skips install scripts: compiling SQLCipher and pkcs11js from source takes minutes. The two native modules are
// then copied from this checkout's node_modules (same versions, same Node), so everything else - the files list, the
// bin link, the compiled JavaScript, the proto files, dependency resolution from the installed tree - is the real one.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, symlinkSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { GrpcKmsV2Client } from '../src/kms/grpc-v2-client.js';

const ROOT = new URL('..', import.meta.url).pathname;
const NATIVE_MODULES = ['better-sqlite3-multiple-ciphers', 'pkcs11js'];
const COPY_SKIP = new Set(['node_modules', '.git', 'dist', '.coffer', '.coffer.keys', 'tmp']);

function run(cmd: string, args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv }): string {
  const r = spawnSync(cmd, args, { ...opts, encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

void describe('the packed package, installed into a temporary prefix', () => {
  let dir: string;
  let coffer: string;
  let pkgDir: string;
  let tarball: string;
  const env = (): NodeJS.ProcessEnv => {
    // No tsx loader, no NODE_OPTIONS from the test runner: the installed CLI must stand on its own.
    const { NODE_OPTIONS: _ignored, ...rest } = process.env;
    return { ...rest, PATH: `${join(dir, 'prefix/bin')}:${process.env.PATH ?? ''}` };
  };
  const children: ChildProcess[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'coffer-pack-'));
    const checkout = join(dir, 'checkout');
    cpSync(ROOT, checkout, { recursive: true, filter: (src) => !COPY_SKIP.has(src.slice(ROOT.length).split('/')[0]!) && !/^dist\.|\.log$/.test(src.slice(ROOT.length)) });
    symlinkSync(realpathSync(join(ROOT, 'node_modules')), join(checkout, 'node_modules'));
    run('npm', ['pack', '--pack-destination', dir, '--no-audit', '--no-fund'], { cwd: checkout });
    const tgz = readdirSync(dir).find((f) => /^coffer-.*\.tgz$/.test(f));
    assert.ok(tgz, 'npm pack wrote no coffer-*.tgz');
    tarball = join(dir, tgz);
    run('npm', ['install', '-g', '--prefix', join(dir, 'prefix'), '--prefer-offline', '--ignore-scripts', '--no-audit', '--no-fund', tarball], { cwd: dir });
    pkgDir = join(dir, 'prefix/lib/node_modules/coffer');
    for (const m of NATIVE_MODULES) {
      const version = (file: string) => (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
      assert.equal(version(join(pkgDir, 'node_modules', m, 'package.json')), version(join(ROOT, 'node_modules', m, 'package.json')), m);
      cpSync(join(ROOT, 'node_modules', m, 'build/Release'), join(pkgDir, 'node_modules', m, 'build/Release'), {
        recursive: true,
        filter: (src) => !/\/(obj|obj\.target|\.deps)(\/|$)/.test(src),
      });
    }
    coffer = join(dir, 'prefix/bin/coffer');
  });
  after(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });

  function start(args: string[], ready: RegExp, opts: { command?: string; env?: NodeJS.ProcessEnv } = {}) {
    const child = spawn(opts.command ?? coffer, args, { cwd: dir, env: opts.env ?? env(), stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-8000);
    });
    const match = new Promise<RegExpExecArray>((resolve, reject) => {
      createInterface({ input: child.stdout }).on('line', (line) => {
        const m = ready.exec(line);
        if (m) resolve(m);
      });
      child.once('exit', (code) => reject(new Error(`coffer ${args[0]} exited ${code}: ${stderr}`)));
    });
    const stop = async () => {
      if (child.exitCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      return new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    };
    return { child, match, stop, stderr: () => stderr };
  }

  void it('ships compiled JavaScript, the proto files and the CRDs, and no TypeScript sources or tooling', () => {
    assert.ok(existsSync(join(pkgDir, 'dist/cli/coffer.js')));
    assert.ok(existsSync(join(pkgDir, 'proto/kms-v2.proto')));
    assert.ok(existsSync(join(pkgDir, 'deploy/crds/external-secrets.io_externalsecrets.yaml')));
    assert.equal(existsSync(join(pkgDir, 'src')), false);
    for (const tool of ['tsx', 'typescript', 'esbuild']) assert.equal(existsSync(join(pkgDir, 'node_modules', tool)), false, `${tool} installed`);
    const help = run(coffer, ['--help'], { cwd: dir, env: env() });
    assert.match(help, /^ {2}kms-plugin {2,}serve the Kubernetes KMS plugin API/m);
  });

  void it('runs from the tarball with npx (npm exec --package), offline', () => {
    // npx installs into <cache>/_npx: a cache of our own whose package store is the shared one, so the install is
    // offline and leaves nothing behind in the user's cache but the store entries a normal install adds.
    const cache = join(dir, 'npx-cache');
    mkdirSync(cache);
    symlinkSync(join(run('npm', ['config', 'get', 'cache'], { cwd: dir, env: env() }).trim(), '_cacache'), join(cache, '_cacache'));
    const help = run('npm', ['exec', '--yes', '--offline', '--ignore-scripts', '--no-audit', '--no-fund', '--cache', cache, '--package', tarball, '--', 'coffer', '--help'], { cwd: dir, env: env() });
    assert.match(help, /^ {2}up {2,}run the Kubernetes-compatible API server for Secrets/m);
    assert.equal(existsSync(join(cache, '_npx')), true, 'npx installed into the temporary cache');
  });

  void it('coffer up runs the API server with the key server and plugin it starts from the installed package', async () => {
    const up = start(['up', '--listen', '127.0.0.1:0', '--data-dir', join(dir, 'up'), '--log-format', 'text'], /^export KUBECONFIG=(\S+)$/);
    try {
      const [, kubeconfig] = await up.match;
      assert.equal(kubeconfig, join(dir, 'up/kubeconfig'));
      // The plugin and key server are this process's children, started from the installed bin/coffer.js.
      const kids = readFileSync(`/proc/${up.child.pid}/task/${up.child.pid}/children`, 'utf8').trim().split(/\s+/);
      const cmdlines = kids.map((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0'));
      assert.deepEqual(cmdlines.map((c) => c[2]).sort(), ['keyserver', 'kms-plugin']);
      for (const c of cmdlines) assert.equal(c[1], join(pkgDir, 'bin/coffer.js'));
      // The ready summary follows the export line once the plugin's Status answered.
      for (let i = 0; i < 600 && !up.stderr().includes('  store  '); i++) await new Promise((r) => setTimeout(r, 100));
      assert.match(up.stderr(), /^coffer is ready in \d+\.\d s$/m);
      assert.match(up.stderr(), /^ {2}encryption {3}KMS v2 \(provider "coffer", key_id sha256:[0-9a-f]{64}, healthz ok\)$/m);
      assert.doesNotMatch(up.stderr(), /^\{"level"/m); // --log-format text: no JSON lines, the children's included
    } finally {
      assert.equal(await up.stop(), 0);
    }
  });

  void it('coffer keyserver serves from the installed package', async () => {
    const ks = start(['keyserver', '--data-dir', join(dir, 'ks'), '--root-key-file', join(dir, 'ks.key'), '--init', '--root-token-file', join(dir, 'ks.token'), '--listen', '127.0.0.1:0'], /^keyserver listening on (\S+)/);
    try {
      const [, url] = await ks.match;
      const res = await fetch(`${url}/v1/sys/health`);
      assert.equal(res.status, 200);
      assert.equal(((await res.json()) as { sealed: boolean }).sealed, false);
    } finally {
      assert.equal(await ks.stop(), 0);
    }
  });

  void it('coffer kms-plugin runs on a read-only root filesystem with TMPDIR=/proc', async () => {
    await writeFile(join(dir, 'kek'), randomBytes(32).toString('base64'), { mode: 0o600 });
    await writeFile(join(dir, 'plugin.yaml'), 'endpoint: unix:///@unused\nbackend:\n  type: local\n  keyFiles: [kek]\n');
    const roEnv = { ...env(), TMPDIR: '/proc' };
    // Help first: it used to hang for ever there (tsx's recursive mkdir of its cache under /proc).
    assert.match(run(coffer, ['kms-plugin', '--help'], { cwd: dir, env: roEnv }), /^Usage: coffer kms-plugin/);
    // A private mount namespace whose root is remounted read-only; the abstract socket (network namespace) is what
    // the test reaches from outside. The shell checks that nothing is writable before it execs the plugin.
    const endpoint = `unix:///@coffer-ro-${process.pid}`;
    const script = 'mount --make-rprivate / && mount -o remount,bind,ro / && ! touch "$1/probe" 2>/dev/null && shift && exec "$@"';
    const plugin = start(['-m', '--', 'sh', '-c', script, 'sh', dir, coffer, 'kms-plugin', '--config', join(dir, 'plugin.yaml'), '--endpoint', endpoint, '--health-listen', '127.0.0.1:0', '--log-level', 'warn'], /^coffer kms-plugin ready endpoint=(\S+) health=(\S+)/, {
      command: 'unshare',
      env: roEnv,
    });
    try {
      const [, served, health] = await plugin.match;
      assert.equal(served, endpoint);
      const client = new GrpcKmsV2Client(endpoint, { timeoutMs: 10_000 });
      try {
        const { keyId } = await client.status();
        const plaintext = randomBytes(32);
        const sealed = await client.encrypt(plaintext, { uid: 'ro-test' });
        assert.deepEqual(Buffer.from(await client.decrypt(sealed.ciphertext, { uid: 'ro-test', keyId, annotations: sealed.annotations })), plaintext);
      } finally {
        client.close();
      }
      assert.equal((await fetch(`${health}/livez`)).status, 200);
    } finally {
      assert.equal(await plugin.stop(), 0);
    }
    assert.equal(await readFile(join(dir, 'probe')).catch(() => 'absent'), 'absent');
  });
});
