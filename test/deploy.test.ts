// deploy/ holds real files, so they are checked like code: every manifest parses and passes the Kubernetes schema of
// its kind (strict: unknown fields are errors); the kustomize layout renders with kubectl's own kustomize; probes point
// at the paths and ports the processes serve, and volumes cover every path the configuration names; and each systemd
// unit's ExecStart runs as written, with its absolute paths moved under a temp directory: the key server unit, then the
// plugin unit with deploy/kms-plugin/kms-plugin.yaml, answering KMS v2 Status and the static pod's probe paths.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { parse, parseAllDocuments } from 'yaml';
import { provisionKeyserver, writePluginTokenFileUnsafe } from '../src/stack/kms-stack.js';
import { GrpcKmsV2Client } from '../src/kms/grpc-v2-client.js';
import { validateManifest } from './support/kubernetes-schema.js';

const ROOT = new URL('..', import.meta.url).pathname;
const DEPLOY = join(ROOT, 'deploy');
const COFFER_BIN = join(ROOT, 'bin/coffer.js');

async function yamlFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await yamlFiles(p)));
    else if (/\.ya?ml$/.test(e.name)) out.push(p);
  }
  return out.sort();
}

function docs(text: string, file: string): unknown[] {
  return parseAllDocuments(text).map((d) => {
    assert.equal(d.errors.length, 0, `${file}: ${d.errors.map((e) => e.message).join('; ')}`);
    return d.toJS() as unknown;
  });
}

/** The [Service] section of a unit file, keys to their values (repeated keys keep the last). */
function unitSection(text: string, section: string): Map<string, string> {
  const out = new Map<string, string>();
  let current = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const s = /^\[(.+)\]$/.exec(line);
    if (s) current = s[1]!;
    else if (current === section) {
      const eq = line.indexOf('=');
      assert.ok(eq > 0, `not key=value: ${line}`);
      out.set(line.slice(0, eq), line.slice(eq + 1));
    }
  }
  return out;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

type Pod = {
  spec: {
    containers: {
      args: string[];
      livenessProbe: { httpGet: { host: string; port: number; path: string } };
      readinessProbe: { httpGet: { host: string; port: number; path: string } };
      volumeMounts: { name: string; mountPath: string; readOnly?: boolean }[];
    }[];
    volumes: { name: string; hostPath: { path: string } }[];
  };
};

void describe('deploy/ manifests', () => {
  void it('every YAML file parses, and every Kubernetes object passes the schema of its kind', async () => {
    const files = await yamlFiles(DEPLOY);
    assert.ok(files.length >= 9, `only ${files.length} YAML files under deploy/`);
    let objects = 0;
    for (const file of files) {
      for (const obj of docs(await readFile(file, 'utf8'), file)) {
        const kind = (obj as { kind?: string }).kind;
        if (kind === 'Kustomization' || !kind) continue; // kustomize's own file; a plugin configuration has no kind
        assert.deepEqual(validateManifest(obj), [], relative(ROOT, file));
        objects++;
      }
    }
    assert.ok(objects >= 9);
  });

  void it('the schema check refuses what kubectl --validate=strict refuses', () => {
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'i', readinessProbe: { httpGet: { path: '/x' } } }], hostNetwrk: true } };
    assert.deepEqual(validateManifest(pod), ['Pod.spec.containers[0].readinessProbe.httpGet.port: required by V1HTTPGetAction', 'Pod.spec.hostNetwrk: unknown field "hostNetwrk" in V1PodSpec']);
    assert.deepEqual(validateManifest({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'c', ports: [{ containerPort: '80' }] }] } }), [
      'Pod.spec.containers[0].ports[0].containerPort: want a number, got "80"',
    ]);
    assert.match(validateManifest({ apiVersion: 'v2', kind: 'Pod', metadata: { name: 'p' } })[0]!, /no schema known/);
  });

  void it('deploy/controller renders with kustomize: CRDs, namespace, RBAC and a Deployment whose probes hit its metrics port', () => {
    const r = spawnSync('kubectl', ['kustomize', join(DEPLOY, 'controller')], { encoding: 'utf8' });
    assert.equal(r.error, undefined, 'kubectl not found: install the Debian package kubectl');
    assert.equal(r.status, 0, r.stderr);
    const objects = docs(r.stdout, 'kubectl kustomize deploy/controller') as { kind: string; metadata: { name: string } }[];
    const kinds = objects.map((o) => o.kind).sort();
    assert.deepEqual(kinds, ['ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition', 'CustomResourceDefinition', 'CustomResourceDefinition', 'CustomResourceDefinition', 'CustomResourceDefinition', 'Deployment', 'Namespace', 'ServiceAccount']);
    for (const o of objects) assert.deepEqual(validateManifest(o), [], `${o.kind}/${o.metadata.name}`);
    const deployment = objects.find((o) => o.kind === 'Deployment') as unknown as {
      spec: { selector: { matchLabels: Record<string, string> }; template: { metadata: { labels: Record<string, string> }; spec: { serviceAccountName: string; containers: { args: string[]; ports: { name: string; containerPort: number }[]; livenessProbe: { httpGet: { path: string; port: string } }; readinessProbe: { httpGet: { path: string; port: string } } }[] } } };
    };
    const c = deployment.spec.template.spec.containers[0]!;
    assert.deepEqual(deployment.spec.template.metadata.labels, { ...deployment.spec.template.metadata.labels, ...deployment.spec.selector.matchLabels });
    const addr = c.args[c.args.indexOf('--metrics-addr') + 1]!;
    for (const probe of [c.livenessProbe, c.readinessProbe]) {
      assert.equal(probe.httpGet.path, '/metrics'); // the only path `coffer controller` serves
      const port = c.ports.find((p) => p.name === probe.httpGet.port);
      assert.ok(port, `probe port ${probe.httpGet.port} is no container port`);
      assert.equal(addr, `0.0.0.0:${port.containerPort}`);
    }
    const sa = objects.find((o) => o.kind === 'ServiceAccount')!;
    assert.equal(deployment.spec.template.spec.serviceAccountName, sa.metadata.name);
    const binding = objects.find((o) => o.kind === 'ClusterRoleBinding') as unknown as { roleRef: { name: string }; subjects: { name: string; namespace: string }[] };
    assert.equal(binding.roleRef.name, objects.find((o) => o.kind === 'ClusterRole')!.metadata.name);
    assert.deepEqual(binding.subjects.map((s) => s.name), [sa.metadata.name]);
  });

  void it('the static pod mounts every path its plugin configuration names, and probes its health port', async () => {
    const [pod] = docs(await readFile(join(DEPLOY, 'kms-plugin/coffer-kms-plugin.pod.yaml'), 'utf8'), 'pod') as Pod[];
    const config = parse(await readFile(join(DEPLOY, 'kms-plugin/kms-plugin.yaml'), 'utf8')) as { endpoint: string; healthListen: string; backend: { auth: { tokenFile: string } } };
    const c = pod!.spec.containers[0]!;
    const configPath = c.args[c.args.indexOf('--config') + 1]!;
    const mounted = (path: string) =>
      c.volumeMounts.find((m) => path === m.mountPath || path.startsWith(`${m.mountPath}/`) && pod!.spec.volumes.some((v) => v.name === m.name));
    for (const path of [configPath, config.backend.auth.tokenFile, dirname(new URL(config.endpoint).pathname)]) {
      assert.ok(mounted(path), `${path} is on no volume of the static pod`);
    }
    // The socket directory is the host's, so kube-apiserver (another pod) sees the same socket; it must be writable.
    const socketMount = mounted(dirname(new URL(config.endpoint).pathname))!;
    assert.notEqual(socketMount.readOnly, true);
    assert.equal(pod!.spec.volumes.find((v) => v.name === socketMount.name)!.hostPath.path, socketMount.mountPath);
    const [host, port] = config.healthListen.split(':');
    for (const probe of [c.livenessProbe, c.readinessProbe]) {
      assert.equal(probe.httpGet.host, host);
      assert.equal(probe.httpGet.port, Number(port));
    }
    assert.equal(c.livenessProbe.httpGet.path, '/livez');
    assert.equal(c.readinessProbe.httpGet.path, '/healthz');
  });
});

void describe('deploy/ systemd units, run as written under a temp root', () => {
  let root: string;
  const children: ChildProcess[] = [];
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'coffer-deploy-'));
  });
  after(async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    await rm(root, { recursive: true, force: true });
  });

  /** ExecStart with the binary replaced by this checkout's and every absolute path moved under the temp root. */
  function commandLine(execStart: string, replace: Record<string, string> = {}): string[] {
    const words = execStart.split(/\s+/);
    assert.equal(words[0], '/usr/local/bin/coffer');
    return [COFFER_BIN, ...words.slice(1).map((w) => replace[w] ?? (w.startsWith('/') ? join(root, w) : w))];
  }

  function start(args: string[], ready: RegExp): Promise<RegExpExecArray> {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000);
    });
    return new Promise((resolve, reject) => {
      createInterface({ input: child.stdout }).on('line', (line) => {
        const m = ready.exec(line);
        if (m) resolve(m);
      });
      child.once('exit', (code) => reject(new Error(`${args.slice(1, 2).join(' ')} exited ${code}: ${stderr}`)));
    });
  }

  void it('the key server unit and the plugin unit start, and the plugin answers Status and the probe paths', async () => {
    const ksUnit = unitSection(await readFile(join(DEPLOY, 'keyserver/coffer-keyserver.service'), 'utf8'), 'Service');
    const pluginUnit = unitSection(await readFile(join(DEPLOY, 'kms-plugin/coffer-kms-plugin.service'), 'utf8'), 'Service');

    // What systemd would create before ExecStart: StateDirectory, ConfigurationDirectory, RuntimeDirectory.
    await mkdir(join(root, 'var/lib', ksUnit.get('StateDirectory')!), { recursive: true, mode: 0o700 });
    await mkdir(join(root, 'etc', ksUnit.get('ConfigurationDirectory')!), { recursive: true, mode: 0o700 });
    await mkdir(join(root, 'run', pluginUnit.get('RuntimeDirectory')!), { recursive: true, mode: 0o700 });
    const ksArgs = ksUnit.get('ExecStart')!.split(/\s+/);
    assert.equal(ksArgs[ksArgs.indexOf('--data-dir') + 1], `/var/lib/${ksUnit.get('StateDirectory')}`);
    assert.equal(dirname(ksArgs[ksArgs.indexOf('--root-key-file') + 1]!), ksUnit.get('ReadWritePaths'));

    // The key server listens where the plugin configuration's backend address says; here on a free port instead.
    const config = parse(await readFile(join(DEPLOY, 'kms-plugin/kms-plugin.yaml'), 'utf8')) as {
      endpoint: string;
      healthListen: string;
      backend: { address: string; key: string; auth: { tokenFile: string } };
    };
    assert.equal(new URL(config.backend.address).host, ksArgs[ksArgs.indexOf('--listen') + 1]);
    const ksPort = await freePort();
    const [, url] = await start(commandLine(ksUnit.get('ExecStart')!, { '127.0.0.1:8200': `127.0.0.1:${ksPort}` }), /^keyserver listening on (\S+)/);
    await mkdir(join(root, 'etc/coffer'), { recursive: true });
    const rootToken = join(root, 'etc/coffer-keyserver/root.token');
    await provisionKeyserver(url!, rootToken, pino({ level: 'silent' }));
    await writePluginTokenFileUnsafe(url!, rootToken, join(root, config.backend.auth.tokenFile));
    assert.equal(config.backend.key, 'coffer-kek'); // the transit key provisionKeyserver creates, as `coffer up` does

    const pluginArgs = pluginUnit.get('ExecStart')!.split(/\s+/);
    const configPath = pluginArgs[pluginArgs.indexOf('--config') + 1]!;
    assert.ok(configPath.startsWith(`${pluginUnit.get('ReadOnlyPaths')}/`));
    assert.equal(dirname(new URL(config.endpoint).pathname), `/run/${pluginUnit.get('RuntimeDirectory')}`);
    const healthPort = await freePort();
    const endpoint = `unix://${join(root, new URL(config.endpoint).pathname)}`;
    await writeFile(
      join(root, configPath),
      (await readFile(join(DEPLOY, 'kms-plugin/kms-plugin.yaml'), 'utf8'))
        .replace(config.endpoint, endpoint)
        .replace(config.healthListen, `127.0.0.1:${healthPort}`)
        .replace(config.backend.address, url!)
        .replace(config.backend.auth.tokenFile, join(root, config.backend.auth.tokenFile)),
    );
    const [, servedEndpoint, health] = await start(commandLine(pluginUnit.get('ExecStart')!), /^coffer kms-plugin ready endpoint=(\S+) health=(\S+)/);
    assert.equal(servedEndpoint, endpoint);

    const client = new GrpcKmsV2Client(endpoint, { timeoutMs: 10_000 });
    try {
      const status = await client.status();
      assert.equal(status.healthz, 'ok');
      assert.ok(status.keyId.length > 0);
    } finally {
      client.close();
    }
    const [pod] = docs(await readFile(join(DEPLOY, 'kms-plugin/coffer-kms-plugin.pod.yaml'), 'utf8'), 'pod') as Pod[];
    for (const probe of [pod!.spec.containers[0]!.livenessProbe, pod!.spec.containers[0]!.readinessProbe]) {
      const res = await fetch(`${health}${probe.httpGet.path}`);
      assert.equal(res.status, 200, `${probe.httpGet.path}: ${await res.text()}`);
    }
    for (const c of children) c.kill('SIGTERM');
    await Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : Promise.resolve())));
    assert.deepEqual(children.map((c) => c.exitCode), [0, 0]);
  });
});
