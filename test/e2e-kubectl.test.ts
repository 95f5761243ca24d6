// The seed's "native Kubernetes Secrets" row, as a user drives it: `coffer up` as a real process (on the embedded
// SQLite store, then on a real etcd) and the installed kubectl with a fresh cache, all without --validate=false; then
// the stored bytes read back from the store without the API server.
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { freeLoopbackPort as freePort } from '../src/lib/free-port.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { openEtcdStore } from '../src/storage/etcd/etcd-store.js';
import { startEtcd, type EtcdProcess } from '../src/storage/etcd/testing/etcd-process.js';
import { SqliteStore } from '../src/storage/sqlite/sqlite-store.js';

const BIN = new URL('../bin/coffer.js', import.meta.url).pathname;
const run = promisify(execFile);

/** The seed document's example, as is. */
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


function until(check: () => boolean, what: string, ms = 10_000): Promise<void> {
  const start = Date.now();
  return new Promise((resolve, reject) => {
    const tick = () => {
      if (check()) resolve();
      else if (Date.now() - start > ms) reject(new Error(`timed out waiting for ${what}`));
      else setTimeout(tick, 50);
    };
    tick();
  });
}

function kubectlSuite(storeName: 'sqlite' | 'etcd'): void {
  let dir: string;
  let port: number;
  let etcd: EtcdProcess | undefined;
  let server: ChildProcess | undefined;
  let logs = '';
  const dataDir = () => join(dir, 'data');
  const configFile = () => join(dir, 'enc.yaml');

  async function up(): Promise<void> {
    const storeArgs = storeName === 'etcd' ? ['--store', 'etcd', '--etcd-endpoints', etcd!.endpoints.join(',')] : [];
    const args = [BIN, 'up', '--data-dir', dataDir(), '--listen', `127.0.0.1:${port}`, '--encryption-config', configFile(), '--encryption-config-reload-interval', '0.2', ...storeArgs];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    server = child;
    logs = '';
    child.stderr.on('data', (c: Buffer) => (logs += c.toString()));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (c: Buffer) => c.toString().includes('export KUBECONFIG=') && resolve());
      child.once('exit', (code) => reject(new Error(`coffer up exited with ${code}: ${logs}`)));
    });
  }

  async function down(): Promise<void> {
    const child = server;
    server = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise<string>((r) => child.once('exit', (code, signal) => r(`${code} ${signal}`)));
    child.kill('SIGTERM');
    assert.equal(await exited, '0 null', `coffer up exits 0 on SIGTERM: ${logs.slice(-2000)}`);
  }

  const baseArgs = () => ['--kubeconfig', join(dataDir(), 'kubeconfig'), '--cache-dir', join(dir, 'kube-cache')];

  async function kubectl(args: string[], input?: string): Promise<string> {
    if (input === undefined) return (await run('kubectl', [...baseArgs(), ...args])).stdout;
    return new Promise((resolve, reject) => {
      const child = spawn('kubectl', [...baseArgs(), ...args]);
      let out = '';
      let err = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
      child.stderr.on('data', (c: Buffer) => (err += c.toString()));
      child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`kubectl ${args.join(' ')}: ${err}`))));
      child.stdin.end(input);
    });
  }

  /** The bytes the store holds for a key, read without the API server. */
  async function storedValue(key: string): Promise<Buffer> {
    if (storeName === 'etcd') {
      const store = await openEtcdStore({ endpoints: etcd!.endpoints });
      try {
        const { kv } = await store.get(key);
        assert.ok(kv, `${key} is stored`);
        return Buffer.from(kv.value);
      } finally {
        await store.close();
      }
    }
    await down(); // the embedded store belongs to one process at a time
    const store = await SqliteStore.open({ dataDir: join(dataDir(), 'store') });
    try {
      const { kv } = await store.get(key);
      assert.ok(kv, `${key} is stored`);
      return Buffer.from(kv.value);
    } finally {
      await store.close();
      await up();
    }
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), `coffer-e2e-${storeName}-`));
    port = await freePort();
    if (storeName === 'etcd') etcd = await startEtcd();
    await writeFile(configFile(), encryptionConfig([KEY1]));
    await up();
  });
  after(async () => {
    await down();
    await etcd?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  void it('applies the seed mysecret.yml and reads it back (get -o yaml, table)', async () => {
    assert.match(await kubectl(['create', 'namespace', 'myapp']), /namespace\/myapp created/);
    await writeFile(join(dir, 'mysecret.yml'), MYSECRET);
    assert.match(await kubectl(['apply', '-f', join(dir, 'mysecret.yml')]), /secret\/mysecret created/);
    assert.match(await kubectl(['apply', '-f', join(dir, 'mysecret.yml')]), /secret\/mysecret unchanged/);
    const yaml = await kubectl(['get', 'secret', 'mysecret', '-n', 'myapp', '-o', 'yaml']);
    assert.match(yaml, /^ {2}PASSWORD: cEBzc3cwcmQkCg==$/m);
    assert.match(yaml, /^ {2}namespace: myapp$/m);
    const password = await kubectl(['get', 'secret', 'mysecret', '-n', 'myapp', '-o', 'jsonpath={.data.PASSWORD}']);
    assert.equal(Buffer.from(password, 'base64').toString(), 'p@ssw0rd$\n');
    assert.match(await kubectl(['get', 'secrets', '-n', 'myapp']), /^NAME\s+TYPE\s+DATA\s+AGE\nmysecret\s+Opaque\s+2\s+\d+s\n$/);
    assert.match(await kubectl(['get', 'secrets', '-A']), /^NAMESPACE\s+NAME\s+TYPE\s+DATA\s+AGE\nmyapp\s+mysecret\s+Opaque\s+2\s+/);
  });

  void it('stores the Secret encrypted at kube-apiserver\'s key', async () => {
    const stored = await storedValue('/registry/secrets/myapp/mysecret');
    assert.ok(stored.toString('latin1').startsWith('k8s:enc:aescbc:v1:key1:'));
    assert.ok(!stored.includes('p@ssw0rd$') && !stored.includes('cEBzc3cwcmQk'));
  });

  void it('creates generic, tls and docker-registry secrets, labels and patches them with all three patch types', async () => {
    assert.match(await kubectl(['create', 'secret', 'generic', 'g1', '--from-literal=token=abc']), /secret\/g1 created/);
    await kubectl(['create', 'secret', 'docker-registry', 'd1', '--docker-server=r.example', '--docker-username=u', '--docker-password=p']);
    // A real certificate and key pair: the server's own, made by `coffer up` at first start.
    const [cert, key] = ['apiserver.crt', 'apiserver.key'].map((f) => join(dataDir(), f));
    await kubectl(['create', 'secret', 'tls', 't1', `--cert=${cert}`, `--key=${key}`]);
    assert.match(await kubectl(['label', 'secret', 'g1', 'app=web']), /secret\/g1 labeled/);
    assert.match(await kubectl(['patch', 'secret', 'g1', '-p', '{"data":{"extra":"eA=="}}']), /secret\/g1 patched/);
    await kubectl(['patch', 'secret', 'g1', '--type=merge', '-p', '{"metadata":{"annotations":{"owner":"team-a"}}}']);
    await kubectl(['patch', 'secret', 'g1', '--type=json', '-p', '[{"op":"add","path":"/metadata/labels/tier","value":"db"}]']);
    await assert.rejects(
      kubectl(['patch', 'secret', 'g1', '--type=json', '-p', '[{"op":"remove","path":"/data/nope"}]']),
      /The request is invalid: the server rejected our request due to an error in our request/,
    );
    const g1 = JSON.parse(await kubectl(['get', 'secret', 'g1', '-o', 'json'])) as {
      data: Record<string, string>;
      metadata: { labels: Record<string, string>; annotations: Record<string, string> };
    };
    assert.deepEqual(Object.keys(g1.data).sort(), ['extra', 'token']);
    assert.deepEqual(g1.metadata.labels, { app: 'web', tier: 'db' });
    assert.equal(g1.metadata.annotations.owner, 'team-a');
    const table = await kubectl(['get', 'secrets']);
    assert.match(table, /^d1\s+kubernetes\.io\/dockerconfigjson\s+1\s+/m);
    assert.match(table, /^t1\s+kubernetes\.io\/tls\s+2\s+/m);
    assert.match(await kubectl(['get', 'secrets', '--field-selector', 'type=kubernetes.io/tls', '-o', 'name']), /^secret\/t1\n$/);
    assert.match(await kubectl(['get', 'secrets', '-l', 'app in (web),!legacy', '-o', 'name']), /^secret\/g1\n$/);
  });

  void it('replaces a secret from its own YAML and refuses unknown fields unless asked to warn', async () => {
    const current = await kubectl(['get', 'secret', 'g1', '-o', 'yaml']);
    const edited = current.replace(/^ {2}token: .*$/m, `  token: ${Buffer.from('rotated').toString('base64')}`);
    assert.match(await kubectl(['replace', '-f', '-'], edited), /secret\/g1 replaced/);
    const token = await kubectl(['get', 'secret', 'g1', '-o', 'jsonpath={.data.token}']);
    assert.equal(Buffer.from(token, 'base64').toString(), 'rotated');
    const bad = 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: bad\nfoo: bar\n';
    await assert.rejects(kubectl(['apply', '-f', '-'], bad), /strict decoding error: unknown field "foo"/);
    assert.match(await kubectl(['apply', '--validate=warn', '-f', '-'], bad), /secret\/bad created/);
    await kubectl(['delete', 'secret', 'bad']);
  });

  // Issue 14: decoding errors in kube's wording, with Go's position; Go's decoder also skips line breaks.
  void it('refuses invalid base64 in data with Go\'s error and position, and takes base64 wrapped over lines', async () => {
    const secret = (name: string, value: string) => `apiVersion: v1\nkind: Secret\nmetadata:\n  name: ${name}\ndata:\n  k: ${JSON.stringify(value)}\n`;
    await assert.rejects(kubectl(['apply', '-f', '-'], secret('b64bad', 'ab$d')), /Secret in version "v1" cannot be handled as a Secret: illegal base64 data at input byte 2/);
    await assert.rejects(kubectl(['create', '-f', '-'], secret('b64short', 'YWJj\nZA=')), /illegal base64 data at input byte 8/);
    assert.match(await kubectl(['create', '-f', '-'], secret('b64wrapped', 'YWJj\r\nZA==\n')), /secret\/b64wrapped created/);
    assert.equal(await kubectl(['get', 'secret', 'b64wrapped', '-o', 'jsonpath={.data.k}']), 'YWJjZA==');
    await kubectl(['delete', 'secret', 'b64wrapped']);
  });

  // Issue 14: authentication.k8s.io/v1 SelfSubjectReview.
  void it('tells kubectl auth whoami who it is', async () => {
    const review = JSON.parse(await kubectl(['auth', 'whoami', '-o', 'json'])) as { kind: string; status: { userInfo: { username: string; groups: string[] } } };
    assert.equal(review.kind, 'SelfSubjectReview');
    assert.equal(review.status.userInfo.username, 'admin');
    assert.deepEqual(review.status.userInfo.groups, ['system:masters', 'system:authenticated']);
    assert.match(await kubectl(['auth', 'whoami']), /^Username\s+admin$/m);
  });

  void it('applies server-side, sharing fields with the client-side apply and owning its own', async () => {
    assert.match(await kubectl(['apply', '--server-side', '-f', join(dir, 'mysecret.yml')]), /secret\/mysecret serverside-applied/);
    const ssa = 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: ssa1\n  labels:\n    owner: ssa\nstringData:\n  k: v\n';
    assert.match(await kubectl(['apply', '--server-side', '-f', '-'], ssa), /secret\/ssa1 serverside-applied/);
    const obj = JSON.parse(await kubectl(['get', 'secret', 'ssa1', '-o', 'json', '--show-managed-fields'])) as {
      data: Record<string, string>;
      metadata: { managedFields: { manager: string; operation: string }[] };
    };
    assert.equal(Buffer.from(obj.data.k!, 'base64').toString(), 'v');
    assert.deepEqual(obj.metadata.managedFields.map((m) => `${m.manager}/${m.operation}`), ['kubectl/Apply']);
    const password = await kubectl(['get', 'secret', 'mysecret', '-n', 'myapp', '-o', 'jsonpath={.data.PASSWORD}']);
    assert.equal(Buffer.from(password, 'base64').toString(), 'p@ssw0rd$\n', 'no data lost');
  });

  void it('explains secrets from the served OpenAPI schema', async () => {
    const text = await kubectl(['explain', 'secret']);
    assert.match(text, /^KIND:\s+Secret\nVERSION:\s+v1\n/);
    assert.match(text, /^ {2}data\t<map\[string\]string>$/m);
    assert.match(await kubectl(['explain', 'secret.metadata.ownerReferences']), /uid\t<string> -required-/);
  });

  void it('streams a watch event for an update (get -w, on the list and on one object)', async () => {
    const start = (args: string[]) => {
      const child = spawn('kubectl', [...baseArgs(), 'get', ...args, '-w', '--request-timeout=20s']);
      const out = { text: '' };
      child.stdout.on('data', (c: Buffer) => (out.text += c.toString()));
      return { child, out };
    };
    const all = start(['secrets']);
    const one = start(['secret', 'g1']);
    try {
      await until(() => /^g1\s+Opaque/m.test(all.out.text) && /^g1\s+Opaque/m.test(one.out.text), 'the listed rows');
      await kubectl(['label', 'secret', 'g1', 'watched=yes']);
      const rows = (text: string) => text.match(/^g1\s+Opaque/gm)?.length ?? 0;
      await until(() => rows(all.out.text) >= 2 && rows(one.out.text) >= 2, 'the update rows');
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(rows(all.out.text), 2, all.out.text);
      assert.equal(rows(one.out.text), 2, one.out.text);
      assert.equal(all.out.text.match(/^NAME\s+TYPE/gm)?.length, 1, 'one header');
    } finally {
      all.child.kill();
      one.child.kill();
    }
  });

  void it('re-encrypts everything with `get -A -o json | replace -f -` after the configuration reloads', async () => {
    await writeFile(configFile(), encryptionConfig([KEY2, KEY1]));
    await until(() => logs.includes('encryption configuration reloaded'), 'the configuration reload');
    const json = await kubectl(['get', 'secrets', '-A', '-o', 'json']);
    assert.match(await kubectl(['replace', '-f', '-'], json), /secret\/mysecret replaced/);
    const after = await storedValue('/registry/secrets/myapp/mysecret');
    assert.ok(after.toString('latin1').startsWith('k8s:enc:aescbc:v1:key2:'));
    await down();
    await writeFile(configFile(), encryptionConfig([KEY2])); // key1 gone: everything must read with key2 alone
    await up();
    for (const [name, ns] of [['mysecret', 'myapp'], ['g1', 'default'], ['t1', 'default'], ['d1', 'default']] as const) {
      assert.ok((await kubectl(['get', 'secret', name, '-n', ns, '-o', 'name'])).includes(name));
    }
    const password = await kubectl(['get', 'secret', 'mysecret', '-n', 'myapp', '-o', 'jsonpath={.data.PASSWORD}']);
    assert.equal(Buffer.from(password, 'base64').toString(), 'p@ssw0rd$\n');
  });

  void it('deletes a secret and a namespace with its content; logs hold no secret', async () => {
    assert.match(await kubectl(['delete', 'secret', 'g1']), /secret "g1" deleted/);
    await assert.rejects(kubectl(['get', 'secret', 'g1']), /Error from server \(NotFound\): secrets "g1" not found/);
    assert.match(await kubectl(['delete', 'namespace', 'myapp']), /namespace "myapp" deleted/);
    await assert.rejects(kubectl(['get', 'secret', 'mysecret', '-n', 'myapp']), /not found/);
    const token = (await readFile(join(dataDir(), 'admin.token'), 'utf8')).trim();
    assert.ok(!logs.includes(token) && !logs.includes('p@ssw0rd') && !logs.includes(KEY2[1]));
  });
}

void describe('kubectl against coffer up on the embedded SQLite store', () => kubectlSuite('sqlite'));
void describe('kubectl against coffer up on etcd', () => kubectlSuite('etcd'));
