// The seed's "native Kubernetes Secrets" row, as a user drives it: `coffer up` as a real process and the installed
// kubectl with a fresh cache, then the stored bytes read back from the store without the API server.
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { SqliteStore } from '../src/storage/sqlite/sqlite-store.js';

const BIN = new URL('../bin/coffer.js', import.meta.url).pathname;
const run = promisify(execFile);

const MYSECRET = `apiVersion: v1
kind: Secret
metadata:
  name: mysecret
  namespace: myapp
type: Opaque
data:
  USER_NAME: YWRtaW4K
  PASSWORD: cEBzc3cwcmQkCg==
`;

function encryptionConfig(keys: [string, string][]): string {
  const list = keys.map(([name, secret]) => `            - name: ${name}\n              secret: ${secret}\n`).join('');
  return `apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
  - resources: [secrets]
    providers:
      - aescbc:
          keys:
${list}      - identity: {}
`;
}
const KEY1: [string, string] = ['key1', 'c2VjcmV0IGlzIHNlY3VyZQ=='];
const KEY2: [string, string] = ['key2', 'dGhpcyBpcyBwYXNzd29yZA=='];

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

void describe('kubectl against coffer up', () => {
  let dir: string;
  let port: number;
  let server: ChildProcess | undefined;
  const dataDir = () => join(dir, 'data');

  async function up(config: string): Promise<void> {
    await writeFile(join(dir, 'enc.yaml'), config);
    const child = spawn(process.execPath, [BIN, 'up', '--data-dir', dataDir(), '--listen', `127.0.0.1:${port}`, '--encryption-config', join(dir, 'enc.yaml')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    server = child;
    await new Promise<void>((resolve, reject) => {
      let err = '';
      child.stderr.on('data', (c: Buffer) => (err += c.toString()));
      child.stdout.on('data', (c: Buffer) => c.toString().includes('export KUBECONFIG=') && resolve());
      child.once('exit', (code) => reject(new Error(`coffer up exited with ${code}: ${err}`)));
    });
  }

  async function down(): Promise<void> {
    const child = server;
    server = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }

  async function kubectl(args: string[], input?: string): Promise<string> {
    const full = ['--kubeconfig', join(dataDir(), 'kubeconfig'), '--cache-dir', join(dir, 'kube-cache'), ...args];
    if (input === undefined) return (await run('kubectl', full)).stdout;
    return new Promise((resolve, reject) => {
      const child = spawn('kubectl', full);
      let out = '';
      let err = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
      child.stderr.on('data', (c: Buffer) => (err += c.toString()));
      child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`kubectl ${args.join(' ')}: ${err}`))));
      child.stdin.end(input);
    });
  }

  async function storedValue(key: string): Promise<Buffer> {
    const store = await SqliteStore.open({ dataDir: join(dataDir(), 'store') });
    try {
      const { kv } = await store.get(key);
      assert.ok(kv, `${key} is stored`);
      return Buffer.from(kv.value);
    } finally {
      await store.close();
    }
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'coffer-e2e-'));
    port = await freePort();
    await up(encryptionConfig([KEY1]));
  });
  after(async () => {
    await down();
    await rm(dir, { recursive: true, force: true });
  });

  void it('applies the seed mysecret.yml and reads it back', async () => {
    await kubectl(['create', 'namespace', 'myapp']);
    await writeFile(join(dir, 'mysecret.yml'), MYSECRET);
    assert.match(await kubectl(['apply', '-f', join(dir, 'mysecret.yml')]), /secret\/mysecret created/);
    const password = await kubectl(['get', 'secret', 'mysecret', '-n', 'myapp', '-o', 'jsonpath={.data.PASSWORD}']);
    assert.equal(Buffer.from(password, 'base64').toString(), 'p@ssw0rd$\n');
    assert.match(await kubectl(['get', 'secrets', '-n', 'myapp']), /^NAME\s+TYPE\s+DATA\s+AGE\nmysecret\s+Opaque\s+2\s+/);
  });

  void it('creates generic, tls and docker-registry secrets, labels and patches them', async () => {
    await kubectl(['create', 'secret', 'generic', 'g1', '--from-literal=token=abc']);
    await kubectl(['create', 'secret', 'docker-registry', 'd1', '--docker-server=r.example', '--docker-username=u', '--docker-password=p']);
    // A real certificate and key pair: the server's own, made by `coffer up` at first start.
    const [cert, key] = ['apiserver.crt', 'apiserver.key'].map((f) => join(dataDir(), f));
    await kubectl(['create', 'secret', 'tls', 't1', `--cert=${cert}`, `--key=${key}`]);
    await kubectl(['label', 'secret', 'g1', 'app=web']);
    await kubectl(['patch', 'secret', 'g1', '-p', '{"data":{"extra":"eA=="}}']);
    await kubectl(['patch', 'secret', 'g1', '--type=merge', '-p', '{"metadata":{"annotations":{"owner":"team-a"}}}']);
    await kubectl(['patch', 'secret', 'g1', '--type=json', '-p', '[{"op":"add","path":"/metadata/labels/tier","value":"db"}]']);
    const g1 = JSON.parse(await kubectl(['get', 'secret', 'g1', '-o', 'json'])) as {
      data: Record<string, string>;
      metadata: { labels: Record<string, string>; annotations: Record<string, string> };
    };
    assert.deepEqual(Object.keys(g1.data).sort(), ['extra', 'token']);
    assert.equal(g1.metadata.labels.app, 'web');
    assert.equal(g1.metadata.labels.tier, 'db');
    assert.equal(g1.metadata.annotations.owner, 'team-a');
    const types = await kubectl(['get', 'secrets', '-o', 'jsonpath={range .items[*]}{.type}{"\\n"}{end}']);
    assert.match(types, /kubernetes\.io\/dockerconfigjson/);
    assert.match(types, /kubernetes\.io\/tls/);
  });

  void it('streams a watch event for an update (get -w)', async () => {
    const watch = spawn('kubectl', ['--kubeconfig', join(dataDir(), 'kubeconfig'), '--cache-dir', join(dir, 'kube-cache'), 'get', 'secrets', '-w', '--request-timeout=8s']);
    let out = '';
    watch.stdout.on('data', (c: Buffer) => (out += c.toString()));
    await new Promise((r) => setTimeout(r, 1500));
    await kubectl(['label', 'secret', 'g1', 'watched=yes']);
    await new Promise((r) => setTimeout(r, 1500));
    watch.kill();
    assert.equal(out.match(/^g1\s+Opaque/gm)?.length, 2, out); // once listed, once as the update
  });

  void it('stores Secrets encrypted, and `get -o json | replace` re-encrypts them after a key rotation', async () => {
    await down(); // the embedded store is one process's at a time
    const before = await storedValue('/registry/secrets/myapp/mysecret');
    assert.ok(before.toString('latin1').startsWith('k8s:enc:aescbc:v1:key1:'));
    assert.ok(!before.includes('p@ssw0rd$') && !before.includes('cEBzc3cwcmQk'));
    await up(encryptionConfig([KEY2, KEY1]));
    const json = await kubectl(['get', 'secrets', '-A', '-o', 'json']);
    // Coffer serves no OpenAPI v2, which kubectl wants for validating a `kind: List` client-side.
    await kubectl(['replace', '--validate=false', '-f', '-'], json);
    await down();
    const after = await storedValue('/registry/secrets/myapp/mysecret');
    assert.ok(after.toString('latin1').startsWith('k8s:enc:aescbc:v1:key2:'));
    await up(encryptionConfig([KEY2]));
    const password = await kubectl(['get', 'secret', 'mysecret', '-n', 'myapp', '-o', 'jsonpath={.data.PASSWORD}']);
    assert.equal(Buffer.from(password, 'base64').toString(), 'p@ssw0rd$\n');
  });

  void it('deletes a secret and a namespace with its content', async () => {
    assert.match(await kubectl(['delete', 'secret', 'g1']), /secret "g1" deleted/);
    await assert.rejects(kubectl(['get', 'secret', 'g1']), /NotFound|not found/);
    await kubectl(['delete', 'namespace', 'myapp']);
    await assert.rejects(kubectl(['get', 'secret', 'mysecret', '-n', 'myapp']), /not found/);
  });
});
