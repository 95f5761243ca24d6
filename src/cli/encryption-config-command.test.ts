import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Command } from 'commander';
import { registerEncryptionConfigCommand, runValidate } from './encryption-config-command.js';

const fixture = (name: string) => new URL(`../../test/fixtures/encryption-configs/${name}`, import.meta.url).pathname;

let dir = '';
void before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'coffer-enc-cli-'));
});
void after(async () => {
  await rm(dir, { recursive: true });
});

void test('a valid file: providers per resource pattern in order, the config hash, warnings on stderr, exit 0', async () => {
  const file = fixture('valid/all-providers.yaml');
  const hash = `sha256:${createHash('sha256').update(await readFile(file)).digest('hex')}`;
  const result = await runValidate(file);
  assert.equal(result.exitCode, 0);
  const v2 = 'kms v2: name "coffer", endpoint "unix:///var/run/coffer/kms.sock", timeout 1m30s';
  assert.equal(
    result.stdout,
    [
      'resource "secrets":',
      `  - ${v2}`,
      '  - aesgcm: keys "gcm1", "gcm2"',
      '  - identity',
      '  - aescbc: keys "cbc1"',
      'resource "configmaps":',
      `  - ${v2}`,
      '  - aesgcm: keys "gcm1", "gcm2"',
      '  - identity',
      'resource "*.apps":',
      '  - secretbox: keys "box1"',
      'resource "*.*":',
      '  - kms v1: name "legacy", endpoint "unix:///@abstract-kms", timeout 3s, cachesize 1000',
      '  - identity',
      `config hash: ${hash}`,
      '',
    ].join('\n'),
  );
  const warnings = result.stderr.trimEnd().split('\n');
  assert.equal(warnings.length, 2);
  assert.match(warnings[0]!, /^warning: resources\[1\]\.providers\[0\]\.aescbc: aescbc is not recommended/);
  assert.match(warnings[1]!, /^warning: resources\[3\]\.providers\[0\]\.kms: KMS v1 is deprecated/);
});

void test('an invalid file: every error on its own line on stderr, nothing on stdout, exit 1', async () => {
  const result = await runValidate(fixture('invalid/many-errors.yaml'));
  assert.equal(result.exitCode, 1);
  assert.equal(result.stdout, '');
  const lines = result.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 7);
  assert.equal(lines[0], 'resources[0].resources[0]: resource name "Secrets" must be lowercase');
  assert.equal(lines[6], 'resources[2].resources[0]: resource "configmaps" is masked by earlier rule "*.*"');
});

void test('an empty or missing file is an error naming the file', async () => {
  const empty = fixture('invalid/empty.yaml');
  assert.deepEqual(await runValidate(empty), {
    exitCode: 1,
    stdout: '',
    stderr: `encryption provider config ${JSON.stringify(empty)} is empty\n`,
  });
  const missing = join(dir, 'missing.yaml');
  const result = await runValidate(missing);
  assert.equal(result.exitCode, 1);
  assert.ok(result.stderr.startsWith(`cannot read encryption provider config file "${missing}": ENOENT`));
});

void test('--reload makes duplicate KMS v1 names an error', async () => {
  const file = join(dir, 'dup-v1.yaml');
  await writeFile(
    file,
    [
      'apiVersion: apiserver.config.k8s.io/v1',
      'kind: EncryptionConfiguration',
      'resources:',
      '- resources: [secrets]',
      '  providers:',
      '  - kms: {name: foo, endpoint: "unix:///a.sock"}',
      '  - kms: {name: foo, endpoint: "unix:///b.sock"}',
      '',
    ].join('\n'),
  );
  assert.equal((await runValidate(file)).exitCode, 0);
  const reload = await runValidate(file, { reload: true });
  assert.equal(reload.exitCode, 1);
  assert.equal(
    reload.stderr,
    'resources[0].providers[1].kms.name: duplicate KMS provider name "foo", names must be unique\n',
  );
});

void test('key bytes never appear in the output, valid or not', async () => {
  const canary = Buffer.from('CANARY-KEY-BYTES-0123456789abcd!'); // 32 bytes
  const b64 = canary.toString('base64');
  const forbidden = [b64, b64.slice(0, 16), canary.toString(), canary.toString('hex'), canary.subarray(0, 16).toString('base64')];
  const yaml = (secret: string, type: string) =>
    [
      'apiVersion: apiserver.config.k8s.io/v1',
      'kind: EncryptionConfiguration',
      'resources:',
      '- resources: [secrets]',
      '  providers:',
      `  - ${type}:`,
      '      keys:',
      '      - name: canary-key',
      `        secret: ${secret}`,
      '',
    ].join('\n');
  const cases = [
    yaml(b64, 'secretbox'), // valid
    yaml(b64, 'aescbc'), // valid, with a warning
    yaml(canary.subarray(0, 20).toString('base64'), 'aesgcm'), // wrong length
    yaml(b64.replace(/=+$/, ''), 'aesgcm'), // no padding
    yaml(`"${b64}\\z"`, 'aesgcm'), // YAML error inside the secret
  ];
  let valid = 0;
  for (const [i, text] of cases.entries()) {
    const file = join(dir, `canary-${i}.yaml`);
    await writeFile(file, text);
    const result = await runValidate(file);
    if (result.exitCode === 0) {
      valid++;
      assert.match(result.stdout, /keys "canary-key"/);
    }
    for (const f of forbidden) {
      assert.ok(!result.stdout.includes(f) && !result.stderr.includes(f), `output of case ${i} leaks key material`);
    }
  }
  assert.equal(valid, 2);
});

void test('the commander glue prints the result and sets process.exitCode', async () => {
  const written: string[] = [];
  const sink = { write: (text: string) => written.push(text) };
  const program = new Command('coffer').exitOverride();
  registerEncryptionConfigCommand(program, { stdout: sink, stderr: sink });
  const previousExitCode = process.exitCode;
  try {
    await program.parseAsync(['encryption-config', 'validate', fixture('invalid/wrong-kind.yaml')], { from: 'user' });
    assert.equal(process.exitCode, 1);
    assert.match(written.join(''), /no kind "EncryptionConfigurations" is registered/);
    written.length = 0;
    process.exitCode = undefined;
    await program.parseAsync(['encryption-config', 'validate', fixture('valid/legacy.yaml')], { from: 'user' });
    assert.equal(process.exitCode, 0);
    assert.match(written.join(''), /resource "secrets":\n {2}- identity\nconfig hash: sha256:/);
  } finally {
    process.exitCode = previousExitCode;
  }
});
