import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  EncryptionConfigurationError,
  loadEncryptionConfiguration,
  readEncryptionConfigurationFile,
  type KmsProviderConfig,
  type LoadEncryptionConfigurationOptions,
  type LocalProviderConfig,
} from './encryption-config.js';
import { providersFor } from './encryption-config-resolution.js';

const FIXTURES = new URL('../../test/fixtures/encryption-configs/', import.meta.url);
const KEY16 = 'c2VjcmV0IGlzIHNlY3VyZQ=='; // "secret is secure"
const KEY16B = 'dGhpcyBpcyBwYXNzd29yZA=='; // "this is password"
const KEY32 = 'YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXoxMjM0NTY=';
const KEY7 = 'c2VjcmV0IQ=='; // "secret!"

type Json = Record<string, unknown>;

function config(resources: unknown[]): string {
  return JSON.stringify({ apiVersion: 'apiserver.config.k8s.io/v1', kind: 'EncryptionConfiguration', resources });
}
function one(provider: Json, resources: string[] = ['secrets']): string {
  return config([{ resources, providers: [provider] }]);
}
function keys(type: string, ...list: { name?: string; secret?: string }[]): Json {
  return { [type]: { keys: list } };
}
function kms(fields: Json): Json {
  return { kms: { name: 'kms', endpoint: 'unix:///tmp/kms.sock', ...fields } };
}
const identity = { identity: {} };

function errorsOf(input: string | Uint8Array, opts?: LoadEncryptionConfigurationOptions): string[] {
  try {
    loadEncryptionConfiguration(input, opts);
  } catch (e) {
    assert.ok(e instanceof EncryptionConfigurationError, String(e));
    return e.errors.map((x) => x.message);
  }
  assert.fail('expected the configuration to be rejected');
}

function kmsOf(text: string, opts?: LoadEncryptionConfigurationOptions): KmsProviderConfig {
  const provider = loadEncryptionConfiguration(text, opts).resources[0]!.providers[0]!;
  assert.equal(provider.type, 'kms');
  return provider;
}

void describe('loading', () => {
  void test('loads every provider type from YAML, keys decoded to Buffers, and the config hash', async () => {
    const bytes = await readFile(new URL('valid/all-providers.yaml', FIXTURES));
    const cfg = loadEncryptionConfiguration(bytes);
    assert.equal(cfg.kind, 'EncryptionConfiguration');
    assert.match(cfg.hash, /^sha256:[0-9a-f]{64}$/);
    assert.deepEqual(cfg.resources[0]!.resources, ['secrets', 'configmaps']);
    const [v2, gcm, id] = cfg.resources[0]!.providers;
    assert.deepEqual(v2, {
      type: 'kms',
      apiVersion: 'v2',
      name: 'coffer',
      endpoint: 'unix:///var/run/coffer/kms.sock',
      timeoutMs: 90_000,
      noDekCache: false,
    });
    assert.equal(gcm!.type, 'aesgcm');
    const gcmKeys = (gcm as LocalProviderConfig).keys;
    assert.deepEqual(
      gcmKeys.map((k) => k.name),
      ['gcm1', 'gcm2'],
    );
    assert.ok(Buffer.isBuffer(gcmKeys[0]!.secret));
    assert.equal(gcmKeys[0]!.secret.toString(), 'secret is secure');
    assert.equal(gcmKeys[1]!.secret.toString(), 'this is password');
    assert.deepEqual(id, { type: 'identity' });
    const box = cfg.resources[2]!.providers[0] as LocalProviderConfig;
    assert.equal(box.type, 'secretbox');
    assert.equal(box.keys[0]!.secret.length, 32);
    assert.equal(cfg.resources[1]!.providers[0]!.type, 'aescbc');
  });

  void test('applies KMS defaults: apiVersion v1, timeout 3s, v1 cachesize 1000, v2 cachesize unset', () => {
    assert.deepEqual(kmsOf(one(kms({}))), {
      type: 'kms',
      apiVersion: 'v1',
      name: 'kms',
      endpoint: 'unix:///tmp/kms.sock',
      cachesize: 1000,
      timeoutMs: 3000,
      noDekCache: false,
    });
    const v2 = kmsOf(one(kms({ apiVersion: 'v2' })));
    assert.equal(v2.timeoutMs, 3000);
    assert.equal('cachesize' in v2, false);
    assert.equal(kmsOf(one(kms({ cachesize: -1 }))).cachesize, -1);
    assert.equal(kmsOf(one(kms({ timeout: '500ms' }))).timeoutMs, 500);
    assert.equal(kmsOf(one(kms({ timeout: '1.5h' }))).timeoutMs, 5_400_000);
  });

  void test('accepts JSON input', async () => {
    const cfg = loadEncryptionConfiguration(await readFile(new URL('valid/aescbc.json', FIXTURES), 'utf8'));
    assert.deepEqual(
      cfg.resources[0]!.providers.map((p) => p.type),
      ['aescbc', 'identity'],
    );
  });

  void test('accepts the legacy apiVersion v1 / kind EncryptionConfig with identity', async () => {
    const cfg = loadEncryptionConfiguration(await readFile(new URL('valid/legacy.yaml', FIXTURES)));
    assert.equal(cfg.kind, 'EncryptionConfig');
    assert.equal(cfg.apiVersion, 'v1');
    assert.deepEqual(providersFor(cfg, '', 'secrets'), [{ type: 'identity' }]);
  });

  void test('hash is sha256 of the raw bytes', () => {
    const text = one(identity);
    assert.equal(loadEncryptionConfiguration(text).hash, `sha256:${createHash('sha256').update(text).digest('hex')}`);
  });

  void test('readEncryptionConfigurationFile reads, loads and hashes a file', async () => {
    const path = new URL('valid/legacy.yaml', FIXTURES).pathname;
    const cfg = await readEncryptionConfigurationFile(path);
    assert.equal(cfg.hash, loadEncryptionConfiguration(await readFile(path)).hash);
  });

  void test('an empty file is an error naming the file', async () => {
    const path = new URL('invalid/empty.yaml', FIXTURES).pathname;
    await assert.rejects(readEncryptionConfigurationFile(path), (e: unknown) => {
      assert.ok(e instanceof EncryptionConfigurationError);
      assert.deepEqual(
        e.errors.map((x) => x.message),
        [`encryption provider config ${JSON.stringify(path)} is empty`],
      );
      return true;
    });
    assert.deepEqual(errorsOf(''), ['encryption provider config (input) is empty']);
  });

  void test('a missing file is an error naming the file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'coffer-enc-'));
    try {
      const path = join(dir, 'nope.yaml');
      await assert.rejects(readEncryptionConfigurationFile(path), {
        message: new RegExp(`cannot read encryption provider config file "${path}": ENOENT`),
      });
    } finally {
      await rm(dir, { recursive: true });
    }
  });

  void test('a document without an object, or not an object, is an error', () => {
    assert.deepEqual(errorsOf('# only a comment\n'), ['contains no EncryptionConfiguration object']);
    assert.deepEqual(errorsOf('- a\n- b\n'), ['must be a YAML or JSON object, got list']);
    assert.match(errorsOf('a: [1,\n')[0]!, /^invalid YAML at line \d+, column \d+ \([A-Z_]+\)$/);
  });
});

void describe('strict decoding', () => {
  void test('unknown field is an error with upstream message', async () => {
    const bytes = await readFile(new URL('invalid/unknown-field.yaml', FIXTURES));
    assert.deepEqual(errorsOf(bytes), ['strict decoding error: unknown field "resources[0].providers[3].kms.pandas"']);
    assert.deepEqual(errorsOf(one(identity).replace('{"apiVersion"', '{"metadata":{},"apiVersion"')), [
      'strict decoding error: unknown field "metadata"',
    ]);
    assert.deepEqual(errorsOf(one({ identity: { foo: 1 } })), [
      'strict decoding error: unknown field "resources[0].providers[0].identity.foo"',
    ]);
  });

  void test('duplicate field is an error naming its path', async () => {
    const bytes = await readFile(new URL('invalid/duplicate-field.yaml', FIXTURES));
    assert.deepEqual(errorsOf(bytes), [
      'strict decoding error: duplicate field "resources[0].providers[0].aesgcm.keys[0].name"',
    ]);
    assert.deepEqual(errorsOf('{"kind":"a","kind":"b"}'), ['strict decoding error: duplicate field "kind"']);
  });

  void test('wrong types are errors naming the path, without the value', () => {
    assert.deepEqual(errorsOf(one(keys('aescbc', { name: 'k', secret: 12345 as unknown as string }))), [
      'resources[0].providers[0].aescbc.keys[0].secret: must be a string, got number',
    ]);
    assert.deepEqual(errorsOf(config([{ resources: 'secrets', providers: [identity] }])), [
      'resources[0].resources: must be a list, got string',
    ]);
    assert.deepEqual(errorsOf(one(kms({ cachesize: '10' }))), [
      'resources[0].providers[0].kms.cachesize: must be an integer, got string',
    ]);
    assert.deepEqual(errorsOf(one(kms({ cachesize: 1.5 }))), [
      'resources[0].providers[0].kms.cachesize: must be a 32-bit integer, got 1.5',
    ]);
    assert.deepEqual(errorsOf(one(kms({ timeout: 3 }))), [
      'resources[0].providers[0].kms.timeout: must be a string, got number',
    ]);
    assert.deepEqual(errorsOf(one({ aesgcm: 'x' })), [
      'resources[0].providers[0].aesgcm: must be an object, got string',
    ]);
  });

  void test('wrong kind or apiVersion is an error naming both', async () => {
    const expected = (kind: string, version: string) =>
      `no kind "${kind}" is registered for version "${version}": expected kind "EncryptionConfiguration" with ` +
      'apiVersion "apiserver.config.k8s.io/v1" (or the legacy kind "EncryptionConfig" with apiVersion "v1")';
    assert.deepEqual(errorsOf(await readFile(new URL('invalid/wrong-kind.yaml', FIXTURES))), [
      expected('EncryptionConfigurations', 'apiserver.config.k8s.io/v1'),
    ]);
    assert.deepEqual(errorsOf('{"apiVersion":"apiserver.config.k8s.io/v2","kind":"EncryptionConfiguration"}'), [
      expected('EncryptionConfiguration', 'apiserver.config.k8s.io/v2'),
    ]);
    assert.deepEqual(errorsOf('{"apiVersion":"v1","kind":"EncryptionConfiguration"}'), [
      expected('EncryptionConfiguration', 'v1'),
    ]);
    assert.deepEqual(errorsOf('{"resources":[]}'), [expected('', '')]);
  });

  void test('YAML anchors and aliases are followed', () => {
    const text = [
      'apiVersion: v1',
      'kind: EncryptionConfig',
      'resources:',
      '- resources: [secrets]',
      '  providers: &p',
      '  - aesgcm: {keys: [{name: k, secret: "c2VjcmV0IGlzIHNlY3VyZQ=="}]}',
      '- resources: [configmaps]',
      '  providers: *p',
      '',
    ].join('\n');
    const cfg = loadEncryptionConfiguration(text);
    assert.equal(providersFor(cfg, '', 'configmaps')![0]!.type, 'aesgcm');
  });

  void test('null means unset, as with Go encoding/json', () => {
    assert.deepEqual(errorsOf(one({ identity: null })), [
      'resources[0].providers[0]: provider does not contain any of the expected providers: kms, aesgcm, aescbc, secretbox, identity',
    ]);
    assert.equal(kmsOf(one(kms({ timeout: null }))).timeoutMs, 3000);
  });
});

void describe('structure rules', () => {
  void test('empty top-level resources', () => {
    assert.deepEqual(errorsOf(config([])), ['resources: must have at least one entry']);
    assert.deepEqual(errorsOf('{"apiVersion":"v1","kind":"EncryptionConfig"}'), ['resources: must have at least one entry']);
  });

  void test('empty resources in an entry', () => {
    assert.deepEqual(errorsOf(config([{ resources: [], providers: [identity] }])), [
      'resources[0].resources: must have at least one entry',
    ]);
  });

  void test('empty providers in an entry', () => {
    assert.deepEqual(errorsOf(config([{ resources: ['secrets'], providers: [] }])), [
      'resources[0].providers: must have at least one entry',
    ]);
  });

  void test('more than one provider in an element', () => {
    assert.deepEqual(errorsOf(one({ ...keys('aesgcm', { name: 'a', secret: KEY16 }), ...identity })), [
      'resources[0].providers[0]: more than one provider specified in a single element (aesgcm, identity), ' +
        'should split into different list elements',
    ]);
  });

  void test('no provider in an element', () => {
    assert.deepEqual(errorsOf(one({})), [
      'resources[0].providers[0]: provider does not contain any of the expected providers: kms, aesgcm, aescbc, secretbox, identity',
    ]);
  });
});

void describe('key rules', () => {
  void test('empty keys', () => {
    assert.deepEqual(errorsOf(one(keys('aescbc'))), ['resources[0].providers[0].aescbc.keys: must have at least one key']);
  });

  void test('empty key name', () => {
    assert.deepEqual(errorsOf(one(keys('aesgcm', { name: '', secret: KEY16 }))), [
      'resources[0].providers[0].aesgcm.keys[0].name: name is a mandatory field for a key',
    ]);
  });

  void test('empty secret', () => {
    assert.deepEqual(errorsOf(one(keys('secretbox', { name: 'k' }))), [
      'resources[0].providers[0].secretbox.keys[0].secret: secret is a mandatory field for a key',
    ]);
  });

  void test('bad base64 is reported without the value', () => {
    for (const secret of ['c2VjcmV0IGlzIHNlY3VyZQ', 'P@ssword', '-qcnfOFX3aRXM9PuY7lQXDWYIQ3GWUdBc3nYBo91SCA=']) {
      assert.deepEqual(errorsOf(one(keys('aescbc', { name: 'k', secret }))), [
        'resources[0].providers[0].aescbc.keys[0].secret: is not valid base64 (standard alphabet with padding); value not shown',
      ]);
    }
  });

  void test('CR/LF inside a secret are ignored like Go', () => {
    const cfg = loadEncryptionConfiguration(one(keys('aesgcm', { name: 'k', secret: 'c2VjcmV0IGlz\nIHNlY3VyZQ==' })));
    assert.equal((cfg.resources[0]!.providers[0] as LocalProviderConfig).keys[0]!.secret.toString(), 'secret is secure');
  });

  void test('wrong key length for aesgcm, aescbc and secretbox', () => {
    assert.deepEqual(errorsOf(one(keys('aesgcm', { name: 'k', secret: KEY7 }))), [
      'resources[0].providers[0].aesgcm.keys[0].secret: must be 16, 24 or 32 bytes after base64 decoding, got 7',
    ]);
    assert.deepEqual(errorsOf(one(keys('aescbc', { name: 'k', secret: KEY16 }, { name: 'l', secret: KEY7 }))), [
      'resources[0].providers[0].aescbc.keys[1].secret: must be 16, 24 or 32 bytes after base64 decoding, got 7',
    ]);
    assert.deepEqual(errorsOf(one(keys('secretbox', { name: 'k', secret: KEY16 }))), [
      'resources[0].providers[0].secretbox.keys[0].secret: must be 32 bytes after base64 decoding, got 16',
    ]);
    // aescbc takes 16/24/32 like upstream's code (its docs say 32).
    assert.equal(loadEncryptionConfiguration(one(keys('aescbc', { name: 'k', secret: KEY16 }))).resources.length, 1);
    assert.equal(loadEncryptionConfiguration(one(keys('secretbox', { name: 'k', secret: KEY32 }))).resources.length, 1);
  });

  void test('key names may repeat and contain ":" (upstream does not check)', () => {
    const text = one(keys('aesgcm', { name: 'a:b', secret: KEY16 }, { name: 'a:b', secret: KEY16B }));
    assert.equal(loadEncryptionConfiguration(text).resources.length, 1);
  });
});

void describe('kms rules', () => {
  const at = 'resources[0].providers[0].kms';

  void test('name missing', () => {
    assert.deepEqual(errorsOf(one(kms({ name: '' }))), [`${at}.name: name is a mandatory field for a kms provider`]);
  });

  void test('v2 name with ":" is an error; v1 name with ":" is accepted like upstream', () => {
    assert.deepEqual(errorsOf(one(kms({ name: 'a:b', apiVersion: 'v2' }))), [
      `${at}.name: invalid KMS provider name "a:b", must not contain ':'`,
    ]);
    assert.equal(kmsOf(one(kms({ name: 'a:b' }))).name, 'a:b');
  });

  void test('duplicate names: v2 after any KMS provider, across entries too', () => {
    const dup = 'duplicate KMS provider name "foo", names must be unique';
    assert.deepEqual(
      errorsOf(config([{ resources: ['secrets'], providers: [kms({ name: 'foo' }), kms({ name: 'foo', apiVersion: 'v2' })] }])),
      [`resources[0].providers[1].kms.name: ${dup}`],
    );
    assert.deepEqual(
      errorsOf(
        config([
          { resources: ['secrets'], providers: [kms({ name: 'foo', apiVersion: 'v2' })] },
          { resources: ['secrets'], providers: [kms({ name: 'foo', apiVersion: 'v2' })] },
        ]),
      ),
      [`resources[1].providers[0].kms.name: ${dup}`],
    );
  });

  void test('duplicate v1 names are an error only with reload', () => {
    const text = config([{ resources: ['secrets'], providers: [kms({ name: 'foo' }), kms({ name: 'foo' })] }]);
    assert.equal(loadEncryptionConfiguration(text).resources[0]!.providers.length, 2);
    assert.deepEqual(errorsOf(text, { reload: true }), [
      'resources[0].providers[1].kms.name: duplicate KMS provider name "foo", names must be unique',
    ]);
  });

  void test('timeout must be positive and parse as a Go duration', () => {
    assert.deepEqual(errorsOf(one(kms({ timeout: '0s' }))), [`${at}.timeout: timeout should be a positive value, got "0s"`]);
    assert.deepEqual(errorsOf(one(kms({ timeout: '-1m' }))), [`${at}.timeout: timeout should be a positive value, got "-1m"`]);
    assert.deepEqual(errorsOf(one(kms({ timeout: 'soon' }))), [`${at}.timeout: invalid duration "soon"`]);
    assert.deepEqual(errorsOf(one(kms({ timeout: '5' }))), [`${at}.timeout: missing unit in duration "5"`]);
  });

  void test('endpoint missing, with a bad scheme, or unparseable', () => {
    assert.deepEqual(errorsOf(one(kms({ endpoint: '' }))), [`${at}.endpoint: endpoint is a mandatory field for a kms provider`]);
    assert.deepEqual(errorsOf(one(kms({ endpoint: 'https://kms.example' }))), [
      `${at}.endpoint: unsupported scheme "https" for KMS provider, only unix is supported, got "https://kms.example"`,
    ]);
    assert.deepEqual(errorsOf(one(kms({ endpoint: '/tmp/kms.sock' }))), [
      `${at}.endpoint: unsupported scheme "" for KMS provider, only unix is supported, got "/tmp/kms.sock"`,
    ]);
    assert.deepEqual(errorsOf(one(kms({ endpoint: 'unix:///foo\n.socket' }))), [
      `${at}.endpoint: invalid endpoint for kms provider "unix:///foo\\n.socket": net/url: invalid control character in URL`,
    ]);
    assert.deepEqual(errorsOf(one(kms({ endpoint: 'unix:///tmp/%zz' }))), [
      `${at}.endpoint: invalid endpoint for kms provider "unix:///tmp/%zz": invalid URL escape "%zz"`,
    ]);
    assert.equal(kmsOf(one(kms({ endpoint: 'UNIX:///@abstract' }))).endpoint, 'UNIX:///@abstract');
  });

  void test('cachesize 0 for v1, any cachesize for v2', () => {
    assert.deepEqual(errorsOf(one(kms({ cachesize: 0 }))), [
      `${at}.cachesize: cachesize should be a positive value, or negative to disable, got 0`,
    ]);
    assert.deepEqual(errorsOf(one(kms({ cachesize: 10, apiVersion: 'v2' }))), [
      `${at}.cachesize: cachesize is not supported in v2, got 10`,
    ]);
  });

  void test('bad apiVersion', () => {
    assert.deepEqual(errorsOf(one(kms({ apiVersion: 'v3' }))), [
      `${at}.apiVersion: unsupported apiVersion "v3" for KMS provider, only v1 and v2 are supported`,
    ]);
  });

  void test('kmsNoDekCache option: all v2 providers, or those named; never v1', () => {
    const text = config([
      {
        resources: ['secrets'],
        providers: [kms({ name: 'a', apiVersion: 'v2' }), kms({ name: 'b', apiVersion: 'v2' }), kms({ name: 'c' })],
      },
    ]);
    const flags = (opt?: boolean | string[]) =>
      loadEncryptionConfiguration(text, { kmsNoDekCache: opt }).resources[0]!.providers.map(
        (p) => (p as KmsProviderConfig).noDekCache,
      );
    assert.deepEqual(flags(), [false, false, false]);
    assert.deepEqual(flags(true), [true, true, false]);
    assert.deepEqual(flags(['b']), [false, true, false]);
    assert.deepEqual(errorsOf(text, { kmsNoDekCache: ['c', 'zz'] }), [
      'kmsNoDekCache: no KMS v2 provider is named "c"',
      'kmsNoDekCache: no KMS v2 provider is named "zz"',
    ]);
  });
});

void describe('resource name rules', () => {
  const nameErrors = (name: string) => errorsOf(one(identity, [name]));

  void test('uppercase resource', () => {
    assert.deepEqual(nameErrors('apiServerIPInfo'), ['resources[0].resources[0]: resource name "apiServerIPInfo" must be lowercase']);
  });

  void test('"*" alone', () => {
    assert.deepEqual(nameErrors('*'), [
      'resources[0].resources[0]: resource "*" is not allowed: use "*." for all core resources or "*.*" for all resources',
    ]);
  });

  void test('resources without a REST API', () => {
    for (const name of ['apiserveripinfo', 'serviceipallocations', 'servicenodeportallocations']) {
      assert.deepEqual(nameErrors(name), [`resources[0].resources[0]: resource "${name}" has no REST API and cannot be encrypted`]);
    }
  });

  void test('events.k8s.io group', () => {
    for (const name of ['events.events.k8s.io', '*.events.k8s.io']) {
      assert.deepEqual(nameErrors(name), [
        `resources[0].resources[0]: resource "${name}": group "events.k8s.io" is not allowed, events are stored as core "events"`,
      ]);
    }
  });

  void test('extensions group', () => {
    for (const name of ['*.extensions', 'foo.extensions']) {
      assert.deepEqual(nameErrors(name), [
        `resources[0].resources[0]: resource "${name}": group "extensions" is not allowed, its resources are stored under their current groups`,
      ]);
    }
  });

  void test('"<resource>.*"', () => {
    assert.deepEqual(errorsOf(one(identity, ['*.', 'foos.*'])), [
      'resources[0].resources[1]: resource "foos.*" is not allowed: a resource cannot be selected across all groups, use "*.*" or name the group',
    ]);
  });

  void test('empty resource name (Coffer addition)', () => {
    assert.deepEqual(nameErrors(''), ['resources[0].resources[0]: resource name must not be empty']);
  });
});

void describe('overlap within one resources list', () => {
  const listErrors = (names: string[]) => errorsOf(one(identity, names));

  void test('duplicates, also spelled differently', () => {
    assert.deepEqual(listErrors(['secrets', 'secrets']), ['resources[0].resources: duplicate resources: "secrets" repeats "secrets"']);
    assert.deepEqual(listErrors(['secrets', 'secrets.']), ['resources[0].resources: duplicate resources: "secrets." repeats "secrets"']);
  });

  void test('*.* with anything', () => {
    assert.deepEqual(listErrors(['secrets', '*.*']), [
      'resources[0].resources: overlapping resources: "secrets" and "*.*" select the same resources',
    ]);
    assert.deepEqual(listErrors(['*.', '*.*']), ['resources[0].resources: overlapping resources: "*." and "*.*" select the same resources']);
  });

  void test('a resource with its group wildcard', () => {
    assert.deepEqual(listErrors(['secrets', '*.']), ['resources[0].resources: overlapping resources: "secrets" and "*." select the same resources']);
    assert.deepEqual(listErrors(['deployments.apps', '*.apps']), [
      'resources[0].resources: overlapping resources: "deployments.apps" and "*.apps" select the same resources',
    ]);
  });

  void test('different groups do not overlap', () => {
    assert.equal(loadEncryptionConfiguration(one(identity, ['*.apps', '*.'])).resources.length, 1);
    assert.equal(loadEncryptionConfiguration(one(identity, ['deployments.apps', '*.'])).resources.length, 1);
  });
});

void describe('masking across entries and resolution', () => {
  const entries = (...lists: string[][]) => config(lists.map((resources) => ({ resources, providers: [identity] })));

  void test('a resource after an earlier *. , *.* or *.<group> is masked', () => {
    assert.deepEqual(errorsOf(entries(['*.'], ['secrets'])), [
      'resources[1].resources[0]: resource "secrets" is masked by earlier rule "*."',
    ]);
    assert.deepEqual(errorsOf(entries(['*.'], ['*.'])), ['resources[1].resources[0]: resource "*." is masked by earlier rule "*."']);
    assert.deepEqual(errorsOf(entries(['*.*'], ['configmaps', '*.apps'], ['*.*'])), [
      'resources[1].resources[0]: resource "configmaps" is masked by earlier rule "*.*"',
      'resources[1].resources[1]: resource "*.apps" is masked by earlier rule "*.*"',
      'resources[2].resources[0]: resource "*.*" is masked by earlier rule "*.*"',
    ]);
    assert.deepEqual(errorsOf(entries(['*.apps'], ['deployments.apps'])), [
      'resources[1].resources[0]: resource "deployments.apps" is masked by earlier rule "*.apps"',
    ]);
  });

  void test('a wildcard after an exact resource is fine', () => {
    const cfg = loadEncryptionConfiguration(entries(['secrets'], ['*.'], ['deployments.apps'], ['*.apps'], ['*.*']));
    assert.deepEqual([...cfg.providersByResource.keys()], ['secrets', '*.', 'deployments.apps', '*.apps', '*.*']);
  });

  void test('an exact resource in two entries gets both provider lists, in entry order', () => {
    const text = config([
      { resources: ['secrets', 'configmaps'], providers: [keys('aescbc', { name: 'first', secret: KEY16 })] },
      { resources: ['secrets.'], providers: [keys('aesgcm', { name: 'second', secret: KEY16B }), identity] },
    ]);
    const cfg = loadEncryptionConfiguration(text);
    const secrets = providersFor(cfg, '', 'secrets')!;
    assert.deepEqual(
      secrets.map((p) => p.type),
      ['aescbc', 'aesgcm', 'identity'],
    );
    // One ProviderConfig object per entry element, shared by that entry's resources (one transformer per entry).
    assert.equal(secrets[0], providersFor(cfg, '', 'configmaps')![0]);
    assert.deepEqual(
      providersFor(cfg, '', 'configmaps')!.map((p) => p.type),
      ['aescbc'],
    );
  });

  void test('lookup: exact, then *.<group>, then *.*, then null for the default identity', () => {
    const text = config([
      { resources: ['secrets'], providers: [keys('aescbc', { name: 'exact', secret: KEY16 })] },
      { resources: ['*.apps'], providers: [keys('aescbc', { name: 'apps', secret: KEY16 })] },
      { resources: ['*.'], providers: [keys('aescbc', { name: 'core', secret: KEY16 })] },
      { resources: ['*.*'], providers: [keys('aescbc', { name: 'all', secret: KEY16 })] },
    ]);
    const cfg = loadEncryptionConfiguration(text);
    const keyName = (group: string, resource: string) =>
      (providersFor(cfg, group, resource)![0] as LocalProviderConfig).keys[0]!.name;
    assert.equal(keyName('', 'secrets'), 'exact');
    assert.equal(keyName('', 'configmaps'), 'core');
    assert.equal(keyName('apps', 'deployments'), 'apps');
    assert.equal(keyName('batch', 'jobs'), 'all');
    const onlySecrets = loadEncryptionConfiguration(one(identity));
    assert.equal(providersFor(onlySecrets, '', 'configmaps'), null);
    assert.equal(providersFor(onlySecrets, 'apps', 'secrets'), null);
  });
});

void describe('warnings', () => {
  void test('KMS v1 and aescbc are accepted with a warning; v2, aesgcm, secretbox, identity are not warned about', () => {
    const cfg = loadEncryptionConfiguration(
      config([
        {
          resources: ['secrets'],
          providers: [
            kms({ name: 'v2', apiVersion: 'v2' }),
            kms({ name: 'v1' }),
            keys('aescbc', { name: 'k', secret: KEY16 }),
            keys('aesgcm', { name: 'k', secret: KEY16 }),
            keys('secretbox', { name: 'k', secret: KEY32 }),
            identity,
          ],
        },
      ]),
    );
    assert.deepEqual(cfg.warnings, [
      'resources[0].providers[1].kms: KMS v1 is deprecated and disabled by default since Kubernetes 1.29 ' +
        '(kube-apiserver needs --feature-gates=KMSv1=true); use apiVersion: v2',
      'resources[0].providers[2].aescbc: aescbc is not recommended: it is vulnerable to padding-oracle attacks; ' +
        'prefer kms v2, or aesgcm/secretbox with frequent key rotation',
    ]);
  });
});

void describe('all errors at once, and no secrets in them', () => {
  void test('every problem of a file is reported in one go', async () => {
    assert.deepEqual(errorsOf(await readFile(new URL('invalid/many-errors.yaml', FIXTURES))), [
      'resources[0].resources[0]: resource name "Secrets" must be lowercase',
      'resources[0].providers[0].aescbc.keys[0].secret: must be 16, 24 or 32 bytes after base64 decoding, got 7',
      `resources[0].providers[1].kms.name: invalid KMS provider name "kms:v2", must not contain ':'`,
      'resources[0].providers[1].kms.endpoint: unsupported scheme "https" for KMS provider, only unix is supported, got "https://kms.example.com"',
      'resources[0].providers[1].kms.cachesize: cachesize is not supported in v2, got 100',
      'resources[2].providers: must have at least one entry',
      'resources[2].resources[0]: resource "configmaps" is masked by earlier rule "*.*"',
    ]);
  });

  void test('decoding and rule errors are collected together, without repeating a decode error', () => {
    assert.deepEqual(
      errorsOf(
        config([
          { resources: ['secrets'], providers: [keys('aesgcm', { name: 7 as unknown as string, secret: KEY7 }), { pandas: {} }] },
        ]),
      ),
      [
        'resources[0].providers[0].aesgcm.keys[0].name: must be a string, got number',
        'strict decoding error: unknown field "resources[0].providers[1].pandas"',
        'resources[0].providers[0].aesgcm.keys[0].secret: must be 16, 24 or 32 bytes after base64 decoding, got 7',
        'resources[0].providers[1]: provider does not contain any of the expected providers: kms, aesgcm, aescbc, secretbox, identity',
      ],
    );
  });

  void test('no secret bytes, base64 or decoded, appear in any message', () => {
    const canary = Buffer.from('CANARY-KEY-BYTES'); // 16 bytes
    const b64 = canary.toString('base64');
    const forbidden = [b64, b64.replace(/=+$/, ''), b64.slice(0, 12), canary.toString(), canary.toString('hex')];
    const bad = [
      one(keys('secretbox', { name: 'k', secret: b64 })), // wrong length
      one(keys('aescbc', { name: 'k', secret: b64.replace(/=+$/, '') })), // missing padding
      one(keys('aescbc', { name: 'k', secret: `${b64} ` })), // trailing space
      one(keys('aescbc', { name: 'k', secret: `!${b64}` })), // bad character
      one({ aescbc: { keys: [{ name: 'k', [b64]: 'x' }] } }), // secret in key position
      one({ aescbc: { keys: [{ name: 'k', [b64.replace(/=+$/, '')]: 'x' }] } }),
      one({ aescbc: { keys: [{ name: 'k', secret: { [b64]: 1 } }] } }), // wrong type
      `{"apiVersion":"v1","kind":"EncryptionConfig","resources":[{"resources":["secrets"],"providers":[{"aescbc":{"keys":[{"name":"k","secret":"${b64}","secret":"${b64}"}]}}]}]}`,
      `{"apiVersion":"v1","kind":"EncryptionConfig","resources":[{"resources":["secrets"],"providers":[{"aescbc":{"keys":[{"name":"k","secret":"\\q${b64}"}]}}]}]}`, // bad escape
      `apiVersion: v1\nkind: EncryptionConfig\nresources:\n- resources: [secrets]\n  providers:\n  - aescbc:\n      keys:\n      - name: k\n        secret: |x ${b64}\n`, // bad block scalar header
    ];
    for (const text of bad) {
      const messages = errorsOf(text);
      assert.ok(messages.length > 0);
      let aggregate = '';
      try {
        loadEncryptionConfiguration(text, { sourceName: 'cfg.yaml' });
      } catch (e) {
        aggregate = (e as Error).message;
      }
      for (const m of [...messages, aggregate]) {
        for (const f of forbidden) assert.ok(!m.includes(f), `message leaks key material: ${m}`);
      }
    }
  });
});

void test('writeFile round trip: a file written with CRLF line endings loads', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'coffer-enc-'));
  try {
    const path = join(dir, 'crlf.yaml');
    const yaml = (await readFile(new URL('valid/all-providers.yaml', FIXTURES), 'utf8')).replace(/\n/g, '\r\n');
    await writeFile(path, yaml);
    const cfg = await readEncryptionConfigurationFile(path);
    assert.equal(cfg.resources.length, 4);
  } finally {
    await rm(dir, { recursive: true });
  }
});
