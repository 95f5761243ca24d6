// `coffer transform` as a user runs it: a real process, a config file, a real KMS plugin on a unix socket.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startBase64KmsPlugin } from '../src/kms/testing/base64-kms-plugin.js';

const BIN = new URL('../bin/coffer.js', import.meta.url).pathname;
const vectors = JSON.parse(
  await readFile(new URL('./fixtures/encryption-vectors.json', import.meta.url), 'utf8'),
) as { derived: Record<string, { value: string; plaintext: string; keyName?: string; keyB64?: string }> };
const V = vectors.derived;
const KEY = '/registry/secrets/default/secret1';

function coffer(args: string[], stdin: Uint8Array): Promise<{ code: number; stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    child.on('close', (code) =>
      resolve({ code: code ?? -1, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString() }),
    );
    child.stdin.end(stdin);
  });
}

void describe('coffer transform', () => {
  let dir: string;
  let plugin: Awaited<ReturnType<typeof startBase64KmsPlugin>>;
  let config: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'coffer-transform-'));
    plugin = await startBase64KmsPlugin();
    config = join(dir, 'enc.yaml');
    await writeFile(
      config,
      `apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
  - resources: [secrets]
    providers:
      - kms:
          apiVersion: v2
          name: kms-provider
          endpoint: ${plugin.endpoint}
      - aesgcm:
          keys:
            - name: ${V.aesgcm!.keyName}
              secret: ${V.aesgcm!.keyB64}
      - identity: {}
`,
    );
  });
  after(async () => {
    await plugin.close();
    await rm(dir, { recursive: true, force: true });
  });

  void it('decrypts a KMS v2 value through the plugin and says which provider read it', async () => {
    const r = await coffer(['transform', 'decrypt', '--encryption-config', config, '--key', KEY], Buffer.from(V.kmsv2_hkdf!.value, 'hex'));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.toString(), V.kmsv2_hkdf!.plaintext);
    assert.match(r.stderr, /decrypted by: kms v2 "kms-provider"/);
    assert.match(r.stderr, /stale: no/);
  });

  void it('reports a value written by a later provider as stale', async () => {
    const r = await coffer(['transform', 'decrypt', '--encryption-config', config, '--key', KEY], Buffer.from(V.aesgcm!.value, 'hex'));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.toString(), V.aesgcm!.plaintext);
    assert.match(r.stderr, /decrypted by: aesgcm, key "key1"/);
    assert.match(r.stderr, /stale: yes/);
  });

  void it('round-trips a Secret: encrypt from YAML, decrypt to JSON', async () => {
    const secret = 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: secret1\n  namespace: default\ntype: Opaque\ndata:\n  password: cEBzc3cwcmQk\n';
    const enc = await coffer(['transform', 'encrypt', '--encryption-config', config, '--key', KEY, '--input', 'yaml'], Buffer.from(secret));
    assert.equal(enc.code, 0, enc.stderr);
    assert.ok(enc.stdout.toString('latin1').startsWith('k8s:enc:kms:v2:kms-provider:'));
    assert.ok(!enc.stdout.includes('p@ssw0rd$') && !enc.stdout.includes('cEBzc3cwcmQk'));
    const dec = await coffer(['transform', 'decrypt', '--encryption-config', config, '--key', KEY, '-o', 'json'], enc.stdout);
    assert.equal(dec.code, 0, dec.stderr);
    const obj = JSON.parse(dec.stdout.toString()) as { kind: string; data: Record<string, string>; metadata: { name: string } };
    assert.equal(obj.kind, 'Secret');
    assert.equal(obj.metadata.name, 'secret1');
    assert.equal(Buffer.from(obj.data.password!, 'base64').toString(), 'p@ssw0rd$');
  });

  void it('refuses a value moved to another key, naming no secret', async () => {
    const r = await coffer(
      ['transform', 'decrypt', '--encryption-config', config, '--key', '/registry/secrets/default/other'],
      Buffer.from(V.aesgcm!.value, 'hex'),
    );
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^error: authentication failed: wrong key, wrong storage key, or tampered .*--key "\/registry\/secrets\/default\/other"/m);
    assert.equal(r.stdout.length, 0);
  });

  void it('names the bad option value', async () => {
    const r = await coffer(['transform', 'decrypt', '--encryption-config', config, '--key', KEY, '-o', 'xml'], Buffer.alloc(0));
    assert.equal(r.code, 1);
    assert.match(r.stderr, /--output: must be raw, json or yaml, got "xml"/);
  });
});
