// The image built from deploy/Dockerfile (`npm run image`, scripts/build-image.mjs), run the way its manifests run it:
// as its USER, through its ENTRYPOINT (tini as PID 1), with a read-only root filesystem, no writable temp directory
// and one writable directory mounted at its WORKDIR, on the host's network (so the test and kubectl reach it on
// 127.0.0.1 and through the unix socket in that directory). Those properties are checked on the running processes
// (/proc/<pid>/status, mountinfo), not only that the commands succeed.
//
// It runs with `podman run` when podman starts the image here, with its default runtime or with runc (crun cannot on
// some hosts: docs/image.md). Otherwise, or with COFFER_IMAGE_RUNNER=rootfs, without an OCI runtime: the image's root
// filesystem (`buildah mount`) becomes the root of a private mount and PID namespace, read-only, with /proc, four
// device files and the writable directory mounted in, the image's environment, and the user set as the runtime would.
//
// Opt-in (COFFER_IMAGE_TEST=1): it needs root and buildah, and builds the image first if the engine lacks it, which
// takes many minutes on a clean machine.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { GrpcKmsV2Client } from '../src/kms/grpc-v2-client.js';

const ROOT = new URL('..', import.meta.url).pathname;
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
const TAG = `coffer:${pkg.version}`;

function whyNot(): string | false {
  if (process.env.COFFER_IMAGE_TEST !== '1') return 'opt-in: COFFER_IMAGE_TEST=1 (needs root and buildah; builds the image with `npm run image` if absent)';
  if (process.getuid?.() !== 0) return 'needs root (mount namespaces, buildah mount)';
  if (spawnSync('buildah', ['--version']).status !== 0) return 'needs buildah';
  return false;
}

function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

interface ImageConfig {
  User: string;
  Entrypoint: string[];
  Cmd: string[];
  WorkingDir: string;
  Env: string[];
}

// podman raises these limits by default, which needs CAP_SYS_RESOURCE; limits within the host's own need nothing.
const PODMAN_LIMITS = ['--ulimit', 'nofile=8192:8192', '--ulimit', 'nproc=4096:4096'];

/** The `podman` arguments that select a runtime able to start the image here, or undefined if none is. */
function podmanRuntime(): string[] | undefined {
  if (process.env.COFFER_IMAGE_RUNNER === 'rootfs' || spawnSync('podman', ['--version']).status !== 0) return undefined;
  const runc = spawnSync('sh', ['-c', 'command -v runc'], { encoding: 'utf8' }).stdout.trim();
  for (const runtime of [[], ...(runc ? [['--runtime', runc]] : [])]) {
    if (spawnSync('podman', [...runtime, 'run', '--rm', ...PODMAN_LIMITS, TAG]).status === 0) return runtime;
  }
  return undefined;
}

// Mounted over the read-only root: the process's only writable directory is the WORKDIR (its state, sockets).
// The shell is the host's and runs before the new root is entered; tini is PID 1 of the new PID namespace.
const SANDBOX = `set -e
rootfs=$1 root=$2 data=$3 workdir=$4 user=$5; shift 5
mount --bind "$rootfs" "$root"
mount -o remount,bind,ro "$root"
mount -t proc proc "$root/proc"
mount -t tmpfs -o mode=0755 tmpfs "$root/dev"
for d in null zero random urandom; do touch "$root/dev/$d"; mount --bind "/dev/$d" "$root/dev/$d"; done
mount -o remount,ro "$root/dev"
mount --bind "$data" "$root$workdir"
exec unshare --root="$root" --wd="$workdir" --setuid="\${user%%:*}" --setgid="\${user##*:}" -- "$@"`;

void describe(`the ${TAG} image, run as its manifests run it`, { skip: whyNot() }, () => {
  let config: ImageConfig;
  let container: string;
  let rootfs: string;
  let dir: string;
  let podman: string[] | undefined;
  const children: ChildProcess[] = [];
  const containers: string[] = [];

  before(async () => {
    if (spawnSync('buildah', ['inspect', '--type', 'image', TAG]).status !== 0) {
      const r = spawnSync(process.execPath, [join(ROOT, 'scripts/build-image.mjs')], { stdio: ['ignore', 'inherit', 'inherit'] });
      assert.equal(r.status, 0, 'npm run image failed');
    }
    config = (JSON.parse(run('buildah', ['inspect', '--type', 'image', TAG])) as { OCIv1: { config: ImageConfig } }).OCIv1.config;
    container = run('buildah', ['from', '--pull=never', '--quiet', TAG]).trim();
    rootfs = run('buildah', ['mount', container]).trim();
    dir = await mkdtemp(join(tmpdir(), 'coffer-image-'));
    podman = podmanRuntime();
    if (process.env.COFFER_IMAGE_RUNNER === 'podman') assert.ok(podman, 'COFFER_IMAGE_RUNNER=podman, but podman run cannot start the image here');
    process.stderr.write(`# runs the image with ${podman ? `podman run${podman.length ? ` --runtime ${podman[1]}` : ''}` : 'its root filesystem (no OCI runtime)'}\n`);
  });
  after(async () => {
    for (const name of containers) spawnSync('podman', ['rm', '--force', name]);
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    if (container) spawnSync('buildah', ['rm', container]); // also unmounts
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** A fresh writable directory for one run, owned by the image's user, mounted at its WORKDIR. */
  async function dataDir(name: string): Promise<string> {
    const d = join(dir, name);
    await mkdir(d);
    const [uid, gid] = config.User.split(':').map(Number);
    chownSync(d, uid!, gid ?? uid!);
    return d;
  }

  /** The image's ENTRYPOINT with `args` (or its CMD), with `data` at its WORKDIR; `ready` is matched against stdout's lines. */
  async function start(data: string, args: string[], ready: RegExp) {
    const name = `coffer-image-test-${process.pid}-${containers.length}`;
    let child: ChildProcess;
    let pid1: () => number;
    if (podman) {
      containers.push(name);
      const flags = ['--name', name, '--read-only', '--read-only-tmpfs=false', '--network', 'host', ...PODMAN_LIMITS, '--volume', `${data}:${config.WorkingDir}`];
      child = spawn('podman', [...podman, 'run', '--rm', ...flags, TAG, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      pid1 = () => Number(run('podman', ['inspect', '--format', '{{.State.Pid}}', name]).trim());
    } else {
      const root = await mkdtemp(join(dir, 'root-'));
      const command = [...config.Entrypoint, ...(args.length ? args : config.Cmd)];
      child = spawn('unshare', ['--mount', '--propagation', 'private', '--pid', '--fork', '--', 'sh', '-c', SANDBOX, 'sh', rootfs, root, data, config.WorkingDir, config.User, ...command], {
        env: Object.fromEntries(config.Env.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)])),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      // tini, once the shell has exec'd: unshare --fork's child.
      pid1 = () => Number(readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(/\s+/)[0]);
    }
    children.push(child);
    let stdout = '';
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-16000)));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    const match = new Promise<RegExpExecArray>((resolve, reject) => {
      createInterface({ input: child.stdout! }).on('line', (line) => {
        stdout += `${line}\n`;
        const m = ready.exec(line);
        if (m) resolve(m);
      });
      void exited.then((code) => reject(new Error(`${args[0] ?? 'coffer'} exited ${code}: ${stderr}`)));
    });
    // As a container runtime stops a container: SIGTERM to its PID 1, which tini forwards to coffer.
    const stop = async () => {
      if (child.exitCode !== null) return child.exitCode;
      process.kill(pid1(), 'SIGTERM');
      return exited;
    };
    return { match, exited, stop, pid1, stdout: () => stdout, stderr: () => stderr };
  }

  function status(pid: number): Record<string, string> {
    return Object.fromEntries(
      readFileSync(`/proc/${pid}/status`, 'utf8')
        .trim()
        .split('\n')
        .map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim()]),
    );
  }

  /** What a running coffer runs as and may write: checked on its PID 1 (tini) and its one child (node). */
  function assertConfined(pid1: number, workdir: string) {
    assert.match(status(pid1).NSpid!, /\s1$/, 'PID 1 of its PID namespace');
    // Seen from the host, the path starts at the host's root, not the image's.
    assert.ok(readlinkSync(`/proc/${pid1}/exe`).endsWith(config.Entrypoint[0]!), 'PID 1 is tini');
    const node = Number(readFileSync(`/proc/${pid1}/task/${pid1}/children`, 'utf8').trim().split(/\s+/)[0]);
    const s = status(node);
    const [uid, gid] = config.User.split(':');
    assert.deepEqual(s.Uid!.split(/\s+/), [uid, uid, uid, uid]);
    assert.deepEqual(s.Gid!.split(/\s+/), [gid, gid, gid, gid]);
    // Runtimes give a numeric user:group that group as its one supplementary group (podman, docker); nothing else.
    assert.deepEqual(s.Groups!.split(/\s+/).filter((g) => g && g !== gid), [], 'no supplementary group but its own');
    assert.equal(readFileSync(`/proc/${node}/cmdline`, 'utf8').split('\0')[0], config.Entrypoint[2], "the image's node");
    // The root is read-only, the WORKDIR writable, and no writable file system is mounted on a temp directory.
    const mounts = new Map(
      readFileSync(`/proc/${node}/mountinfo`, 'utf8')
        .trim()
        .split('\n')
        .map((l) => l.split(' '))
        .map((f) => [f[4]!, f[5]!.split(',')]),
    );
    assert.ok(mounts.get('/')?.includes('ro'), 'read-only root');
    assert.ok(mounts.get(workdir)?.includes('rw'), `${workdir} mounted writable`);
    for (const t of ['/tmp', '/var/tmp', '/run']) assert.equal(mounts.get(t)?.includes('rw') ?? false, false, `${t} is writable`);
  }

  void it('is configured as deploy/Dockerfile says: non-root numeric user, tini as PID-1 wrapper, help by default', () => {
    assert.equal(config.User, '65532:65532');
    assert.deepEqual(config.Entrypoint, ['/usr/bin/tini', '--', '/usr/local/bin/node', '/opt/coffer/bin/coffer.js']);
    assert.deepEqual(config.Cmd, ['--help']);
    assert.equal(config.WorkingDir, '/var/lib/coffer');
    assert.ok(config.Env.includes('NODE_ENV=production'));
  });

  void it('holds a static tini, the built addons, and no compiler, build tools or TypeScript tooling', () => {
    // A static ELF has no PT_INTERP program header (no dynamic loader, so no dependency on the runtime's libc).
    const tini = readFileSync(join(rootfs, 'usr/bin/tini'));
    assert.equal(tini.subarray(0, 4).toString('latin1'), '\x7fELF');
    const phoff = Number(tini.readBigUInt64LE(0x20));
    const [phentsize, phnum] = [tini.readUInt16LE(0x36), tini.readUInt16LE(0x38)];
    const types = Array.from({ length: phnum }, (_, i) => tini.readUInt32LE(phoff + i * phentsize));
    assert.ok(types.includes(1), 'has loadable segments');
    assert.equal(types.includes(3), false, 'tini is statically linked');
    assert.ok(statSync(join(rootfs, 'usr/bin/tini')).mode & 0o111, 'tini is executable');

    const binDirs = ['usr/bin', 'usr/local/bin', 'bin', 'usr/sbin'].map((d) => join(rootfs, d)).filter(existsSync);
    const tools = binDirs.flatMap((d) => readdirSync(d)).filter((f) => /^(gcc|g\+\+|cc|c\+\+|cpp|clang|ld|as|make|python)[\d.-]*$|^x86_64-linux-gnu-(gcc|g\+\+|ld|as)\b/.test(f));
    assert.deepEqual(tools, [], 'no compiler, linker, make or python in the runtime stage');
    assert.equal(existsSync(join(rootfs, 'usr/include/stdio.h')), false, 'no C library headers');
    for (const tool of ['typescript', 'tsx', 'esbuild', 'node-gyp']) assert.equal(existsSync(join(rootfs, 'opt/coffer/node_modules', tool)), false, `${tool} in the image`);
    for (const addon of ['better-sqlite3-multiple-ciphers/build/Release/better_sqlite3.node', 'pkcs11js/build/Release/pkcs11.node']) {
      assert.ok(existsSync(join(rootfs, 'opt/coffer/node_modules', addon)), `${addon} built`);
    }
    const state = statSync(join(rootfs, config.WorkingDir));
    assert.deepEqual([state.uid, state.gid].join(':'), config.User, 'the WORKDIR belongs to the user that writes its state there');
    // The application belongs to root: the user it runs as cannot change it.
    for (const p of ['opt/coffer', 'opt/coffer/dist/cli/coffer.js', 'opt/coffer/node_modules']) {
      const st = statSync(join(rootfs, p));
      assert.equal(st.uid, 0, p);
      assert.equal(st.mode & 0o022, 0, `${p} is writable by group or others`);
    }
  });

  void it('its default command prints the help, as 65532, read-only, with no writable temp directory', async () => {
    const help = await start(await dataDir('help'), [], /^ {2}kms-plugin {2,}serve the Kubernetes KMS plugin API/);
    await help.match;
    assert.equal(await help.exited, 0);
    assert.match(help.stdout(), /^Usage: coffer /m);
    assert.doesNotMatch(help.stderr(), /tini|warn/i, 'no warning from tini (it runs as PID 1) or from node');
  });

  void it('coffer kms-plugin answers on its unix socket in the writable directory, and stops on SIGTERM', async () => {
    const data = await dataDir('plugin');
    await writeFile(join(data, 'kek'), randomBytes(32).toString('base64'), { mode: 0o600 });
    await writeFile(join(data, 'plugin.yaml'), `endpoint: unix://${config.WorkingDir}/kms.sock\nhealthListen: 127.0.0.1:0\nbackend:\n  type: local\n  keyFiles: [kek]\n`);
    for (const f of ['kek', 'plugin.yaml']) chownSync(join(data, f), 65532, 65532);
    const plugin = await start(data, ['kms-plugin', '--config', 'plugin.yaml', '--log-level', 'warn'], /^coffer kms-plugin ready endpoint=(\S+) health=(\S+)/);
    try {
      const [, endpoint, health] = await plugin.match;
      assert.equal(endpoint, `unix://${config.WorkingDir}/kms.sock`);
      assertConfined(plugin.pid1(), config.WorkingDir);
      const client = new GrpcKmsV2Client(`unix://${join(data, 'kms.sock')}`, { timeoutMs: 10_000 });
      try {
        const { keyId, healthz } = await client.status();
        assert.equal(healthz, 'ok');
        const plaintext = randomBytes(32);
        const sealed = await client.encrypt(plaintext, { uid: 'image-test' });
        assert.deepEqual(Buffer.from(await client.decrypt(sealed.ciphertext, { uid: 'image-test', keyId, annotations: sealed.annotations })), plaintext);
      } finally {
        client.close();
      }
      assert.equal((await fetch(`${health}/healthz`)).status, 200);
    } finally {
      assert.equal(await plugin.stop(), 0, 'tini forwards SIGTERM and coffer exits cleanly');
    }
  });

  void it('coffer keyserver serves the Vault API from the writable directory', async () => {
    const data = await dataDir('keyserver');
    const ks = await start(data, ['keyserver', '--data-dir', 'ks', '--root-key-file', 'root.key', '--init', '--root-token-file', 'root.token', '--listen', '127.0.0.1:0'], /^keyserver listening on (\S+)/);
    try {
      const [, url] = await ks.match;
      assertConfined(ks.pid1(), config.WorkingDir);
      const health = await fetch(`${url}/v1/sys/health`);
      assert.equal(health.status, 200);
      assert.equal(((await health.json()) as { sealed: boolean }).sealed, false);
      const token = (await readFile(join(data, 'root.token'), 'utf8')).trim();
      const self = await fetch(`${url}/v1/auth/token/lookup-self`, { headers: { 'X-Vault-Token': token } });
      assert.equal(self.status, 200);
    } finally {
      assert.equal(await ks.stop(), 0);
    }
  });

  void it('coffer up --encryption aesgcm reaches ready, and kubectl on the host creates and reads a Secret', async () => {
    const data = await dataDir('up');
    const up = await start(data, ['up', '--encryption', 'aesgcm', '--listen', '127.0.0.1:0', '--log-format', 'text'], /^export KUBECONFIG=(\S+)$/);
    try {
      const [, kubeconfig] = await up.match;
      assert.ok(kubeconfig!.startsWith(`${config.WorkingDir}/`), kubeconfig);
      const hostKubeconfig = join(data, kubeconfig!.slice(config.WorkingDir.length + 1));
      for (let i = 0; i < 600 && !/^coffer is ready in /m.test(up.stderr()); i++) await new Promise((r) => setTimeout(r, 100));
      assert.match(up.stderr(), /^coffer is ready in \d+\.\d s$/m);
      assert.match(up.stderr(), /^ {2}encryption {3}aesgcm/m);
      assertConfined(up.pid1(), config.WorkingDir);

      const value = randomBytes(12).toString('hex');
      const kubectl = (...args: string[]) => run('kubectl', ['--kubeconfig', hostKubeconfig, ...args]);
      kubectl('create', 'secret', 'generic', 'from-image', `--from-literal=password=${value}`);
      assert.equal(Buffer.from(kubectl('get', 'secret', 'from-image', '-o', 'jsonpath={.data.password}'), 'base64').toString(), value);
      // Encrypted at rest: the value is in no file the server wrote.
      const files = (d: string): string[] => readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(d, e.name)) : [join(d, e.name)]));
      for (const f of files(data)) assert.equal(readFileSync(f).includes(value), false, `${f} holds the Secret's value in clear`);
    } finally {
      assert.equal(await up.stop(), 0);
    }
  });
});
