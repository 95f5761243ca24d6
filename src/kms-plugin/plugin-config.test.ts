import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidError } from '../lib/errors.js';
import { parseKmsPluginConfig } from './plugin-config.js';

const parse = (text: string) => parseKmsPluginConfig(text, { file: '/etc/coffer/kms.yaml' });
const fails = (text: string, message: RegExp) =>
  assert.throws(() => parse(text), (e: Error) => {
    assert.ok(e instanceof InvalidError, e.message);
    assert.match(e.message, message);
    return true;
  });

void describe('kms-plugin config', () => {
  void it('reads a local backend with defaults; relative paths are relative to the config file', () => {
    const c = parse('endpoint: unix:///run/kms.sock\nbackend:\n  type: local\n  keyFiles: [kek-2, /keys/kek-1]\n');
    assert.deepEqual(c, {
      endpoint: 'unix:///run/kms.sock',
      healthListen: '127.0.0.1:8787',
      statusCacheTtlMs: 20_000,
      statusErrorCacheTtlMs: 3000,
      timeoutMs: 3000,
      backend: { type: 'local', keyFiles: ['/etc/coffer/kek-2', '/keys/kek-1'] },
    });
  });

  void it('reads vault-transit with token or AppRole auth', () => {
    const c = parse(`
endpoint: unix:///run/kms.sock
healthListen: 127.0.0.1:0
statusCacheTtl: 1m
timeout: 2500ms
backend:
  type: vault-transit
  address: https://vault.example:8200/
  namespace: /team-a/
  transitMount: kms-transit
  key: apiserver
  caFile: ca.pem
  auth:
    type: approle
    roleIdFile: role-id
    secretIdFile: /secrets/secret-id
`);
    assert.equal(c.statusCacheTtlMs, 60_000);
    assert.equal(c.timeoutMs, 2500);
    assert.deepEqual(c.backend, {
      type: 'vault-transit',
      address: 'https://vault.example:8200',
      namespace: 'team-a',
      transitMount: 'kms-transit',
      key: 'apiserver',
      caFile: '/etc/coffer/ca.pem',
      auth: { type: 'approle', mount: 'approle', roleIdFile: '/etc/coffer/role-id', secretIdFile: '/secrets/secret-id' },
    });
    const t = parse('endpoint: unix:///k.sock\nbackend: {type: vault-transit, address: "http://127.0.0.1:8200", auth: {type: token, tokenFile: /t}}\n');
    assert.deepEqual(t.backend, { type: 'vault-transit', address: 'http://127.0.0.1:8200', transitMount: 'transit', key: 'kms', auth: { type: 'token', tokenFile: '/t' } });
  });

  void it('reads multi with nested members, and passes pkcs11 settings through to its module', () => {
    const c = parse(`
endpoint: unix:///run/kms.sock
backend:
  type: multi
  writePolicy: quorum
  quorum: 1
  decryptOrder: fastest
  members:
    - name: dev
      backend: {type: local, keyFiles: [/k]}
    - name: hsm
      backend: {type: pkcs11, module: /usr/lib/softhsm/libsofthsm2.so, keyLabel: kek}
`);
    assert.equal(c.backend.type, 'multi');
    if (c.backend.type !== 'multi') return;
    assert.equal(c.backend.writeQuorum, 1);
    assert.equal(c.backend.decryptOrder, 'fastest');
    assert.deepEqual(c.backend.members[1], {
      name: 'hsm',
      backend: { type: 'pkcs11', field: 'backend.members[1].backend', settings: { module: '/usr/lib/softhsm/libsofthsm2.so', keyLabel: 'kek' }, baseDir: '/etc/coffer' },
    });
  });

  void it('names the field and value of every mistake', () => {
    const head = 'endpoint: unix:///k.sock\n';
    fails(`${head}backend: {type: local, keyFiles: [/k], keyfile: /x}\n`, /^\/etc\/coffer\/kms\.yaml: backend\.keyfile: unknown field "keyfile"/);
    fails(`${head}backend: {type: hsm}\n`, /backend\.type: must be one of vault-transit, local, multi, pkcs11, aws-kms, got "hsm"/);
    fails(`${head}backend: {type: local}\n`, /backend\.keyFiles: required field is missing/);
    fails(`${head}backend: {type: local, keyFiles: [/a, 7]}\n`, /backend\.keyFiles\[1\]: must be a file path, got 7/);
    fails(`${head}backend: {type: vault-transit, address: vault:8200, auth: {type: token, tokenFile: /t}}\n`, /backend\.address: must be an http\(s\) URL, got "vault:8200"/);
    fails(`${head}backend: {type: vault-transit, address: "http://v", auth: {type: token, token: s3cr3t}}\n`, /backend\.auth\.tokenFile: required field is missing/);
    fails(`${head}backend: {type: vault-transit, address: "http://v", auth: {type: token, tokenFile: /t, token: s3cr3t}}\n`, /backend\.auth\.token: unknown field "token"/);
    fails(`${head}statusCacheTtl: 20\nbackend: {type: local, keyFiles: [/k]}\n`, /statusCacheTtl: must be a duration string such as "20s", got 20/);
    fails(`${head}timeout: 3 s\nbackend: {type: local, keyFiles: [/k]}\n`, /timeout: time: unknown unit " s" in duration "3 s"/);
    fails(`${head}healthListen: localhost\nbackend: {type: local, keyFiles: [/k]}\n`, /healthListen: must be host:port/);
    fails('endpoint: tcp://x:1\nbackend: {type: local, keyFiles: [/k]}\n', /endpoint: invalid KMS endpoint "tcp:\/\/x:1": scheme must be unix/);
    fails(`${head}backend: {type: multi, members: [{name: A, backend: {type: local, keyFiles: [/k]}}]}\n`, /backend\.members\[0\]\.name: must be a lowercase DNS label/);
    fails(`${head}backend: {type: multi, quorum: 1, members: [{backend: {type: local, keyFiles: [/k]}}]}\n`, /backend\.quorum: only applies to writePolicy quorum/);
    fails(`${head}backend: {type: multi, writePolicy: quorum, quorum: 3, members: [{backend: {type: local, keyFiles: [/k]}}]}\n`, /backend\.quorum: must be an integer from 1 to 1, got 3/);
    fails(`${head}backend: {type: multi, members: [{backend: {type: local, keyFiles: [/k], x: 1}}]}\n`, /backend\.members\[0\]\.backend\.x: unknown field/);
    fails(`${head}backend: {type: local, keyFiles: [/k]}\nbackend: {type: local, keyFiles: [/k]}\n`, /not valid YAML/);
    fails('backend: {type: local, keyFiles: [/k]}\n', /endpoint: required field is missing/);
  });
});
