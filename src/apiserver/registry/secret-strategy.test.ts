// Secret validation through the registry: every rule of ValidateSecret and ObjectMeta validation (k8s.io/kubernetes
// pkg/apis/core/validation) with kube's exact Invalid text.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { KubeObject } from '../../objects/object-meta.js';
import { normalizeSecretForStorage, type Secret } from '../../objects/secret.js';
import { SECRET_STRATEGY } from './secret-strategy.js';
import { openRegistry, type RegistryFixture } from './testing/registry-fixture.js';
import { rejectsWith, statusOf } from './testing/status-assertions.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const SUBDOMAIN =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const CONFIG_KEY =
  "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')";
const IMMUTABLE = 'field is immutable when `immutable` is set';

function secret(name: string, fields: Record<string, unknown> = {}, meta: Record<string, unknown> = {}): KubeObject {
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name, ...meta }, ...fields };
}

void describe('Secret validation', () => {
  let r: RegistryFixture;
  before(async () => {
    r = await openRegistry();
  });
  after(async () => {
    await r.close();
  });
  const create = (obj: KubeObject) => r.stores.secrets.create('default', obj);
  const invalid = (obj: KubeObject, message: string) => rejectsWith(create(obj), 422, message);

  void it('names: required, DNS-1123 subdomain, length, generateName', async () => {
    await invalid(secret(''), 'Secret "" is invalid: metadata.name: Required value: name or generateName is required');
    await invalid(secret('Bad_Name'), `Secret "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": ${SUBDOMAIN}`);
    const long = 'a'.repeat(254);
    await invalid(secret(long), `Secret "${long}" is invalid: metadata.name: Invalid value: "${long}": must be no more than 253 characters`);
    // generateName fills the name before validation, so both are reported; the generated name is random.
    const s = await statusOf(create({ apiVersion: 'v1', kind: 'Secret', metadata: { generateName: 'Bad-' } }));
    assert.equal(s.code, 422);
    assert.deepEqual(s.details?.causes?.map((c) => c.field), ['metadata.generateName', 'metadata.name']);
    assert.equal(s.details?.causes?.[0]?.message, `Invalid value: "Bad-": ${SUBDOMAIN}`);
    const ok = await create({ apiVersion: 'v1', kind: 'Secret', metadata: { generateName: 'gen-' } });
    assert.match(ok.metadata!.name!, /^gen-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
  });

  void it('status details carry kind, name and one cause per error', async () => {
    const s = await invalid(
      secret('tls1', { type: 'kubernetes.io/tls' }),
      'Secret "tls1" is invalid: [data[tls.crt]: Required value, data[tls.key]: Required value]',
    );
    assert.equal(s.reason, 'Invalid');
    assert.deepEqual(s.details, {
      name: 'tls1',
      kind: 'Secret',
      causes: [
        { reason: 'FieldValueRequired', message: 'Required value', field: 'data[tls.crt]' },
        { reason: 'FieldValueRequired', message: 'Required value', field: 'data[tls.key]' },
      ],
    });
    await invalid(secret('tls2', { type: 'kubernetes.io/tls', data: { 'tls.crt': '' } }), 'Secret "tls2" is invalid: data[tls.key]: Required value');
    // Present but empty is fine (a mismatching pair is only a warning upstream).
    await create(secret('tls3', { type: 'kubernetes.io/tls', data: { 'tls.crt': '', 'tls.key': '' } }));
  });

  void it('data keys and total size', async () => {
    await invalid(secret('k1', { data: { 'bad key': b64('x') } }), `Secret "k1" is invalid: data[bad key]: Invalid value: "bad key": ${CONFIG_KEY}`);
    await invalid(secret('k2', { data: { '..x': '' } }), `Secret "k2" is invalid: data[..x]: Invalid value: "..x": must not start with '..'`);
    await invalid(secret('k3', { data: { '.': '' } }), `Secret "k3" is invalid: data[.]: Invalid value: ".": must not be '.'`);
    await invalid(secret('k4', { data: { '..': '' } }), `Secret "k4" is invalid: data[..]: Invalid value: "..": must not be '..'`);
    const key = 'k'.repeat(254);
    await invalid(secret('k5', { data: { [key]: '' } }), `Secret "k5" is invalid: data[${key}]: Invalid value: "${key}": must be no more than 253 characters`);
    const half = Buffer.alloc(524288, 1).toString('base64');
    await invalid(secret('big', { data: { a: half, b: half, c: b64('x') } }), 'Secret "big" is invalid: data: Too long: may not be more than 1048576 bytes');
    await create(secret('exactly-1mib', { data: { a: half, b: half } }));
  });

  void it('stringData is merged into data (overwriting) and type defaults to Opaque', async () => {
    const s = await create(secret('sd', { data: { a: b64('old'), keep: b64('k') }, stringData: { a: 'new', b: 'x' } }));
    assert.deepEqual(s.data, { a: b64('new'), b: b64('x'), keep: b64('k') });
    assert.equal(s.type, 'Opaque');
    assert.equal('stringData' in s, false);
    // stringData keys are validated as data keys.
    await invalid(secret('sd2', { stringData: { 'a b': 'x' } }), `Secret "sd2" is invalid: data[a b]: Invalid value: "a b": ${CONFIG_KEY}`);
  });

  void it('defaults as normalizeSecretForStorage does, with or without stringData and type', () => {
    const inputs = [
      secret('t1', { data: { a: b64('x') } }),
      secret('t2', { type: '', data: { a: b64('x') } }),
      secret('t3', { type: 'kubernetes.io/tls', immutable: true }),
      secret('t4', { stringData: { a: 'y' }, type: null }),
      secret('t5', { data: { a: b64('x') }, stringData: {} }),
    ];
    for (const input of inputs) {
      const expected = normalizeSecretForStorage(structuredClone(input) as Secret);
      const got = SECRET_STRATEGY.applyDefaults(structuredClone(input));
      assert.deepEqual(got, expected);
      assert.deepEqual(Object.keys(got), Object.keys(expected)); // the same order, too
    }
  });

  void it('required keys per built-in type', async () => {
    await invalid(secret('d1', { type: 'kubernetes.io/dockerconfigjson' }), 'Secret "d1" is invalid: data[.dockerconfigjson]: Required value');
    await invalid(
      secret('d2', { type: 'kubernetes.io/dockerconfigjson', data: { '.dockerconfigjson': b64('not json') } }),
      `Secret "d2" is invalid: data[.dockerconfigjson]: Invalid value: "<secret contents redacted>": invalid character 'o' in literal null (expecting 'u')`,
    );
    await invalid(
      secret('d3', { type: 'kubernetes.io/dockerconfigjson', data: { '.dockerconfigjson': b64('["x"]') } }),
      'Secret "d3" is invalid: data[.dockerconfigjson]: Invalid value: "<secret contents redacted>": json: cannot unmarshal array into Go value of type map[string]interface {}',
    );
    await create(secret('d4', { type: 'kubernetes.io/dockerconfigjson', data: { '.dockerconfigjson': b64('{"auths":{}}') } }));
    await invalid(secret('c1', { type: 'kubernetes.io/dockercfg' }), 'Secret "c1" is invalid: data[.dockercfg]: Required value');
    await invalid(
      secret('c2', { type: 'kubernetes.io/dockercfg', data: { '.dockercfg': b64('{') } }),
      'Secret "c2" is invalid: data[.dockercfg]: Invalid value: "<secret contents redacted>": unexpected end of JSON input',
    );
    await invalid(secret('b1', { type: 'kubernetes.io/basic-auth' }), 'Secret "b1" is invalid: [data[username]: Required value, data[password]: Required value]');
    await create(secret('b2', { type: 'kubernetes.io/basic-auth', data: { username: '' } }));
    await create(secret('b3', { type: 'kubernetes.io/basic-auth', data: { password: b64('p') } }));
    await invalid(secret('s1', { type: 'kubernetes.io/ssh-auth', data: { 'ssh-privatekey': '' } }), 'Secret "s1" is invalid: data[ssh-privatekey]: Required value');
    await invalid(
      secret('sa1', { type: 'kubernetes.io/service-account-token' }),
      'Secret "sa1" is invalid: metadata.annotations[kubernetes.io/service-account.name]: Required value',
    );
    await create(secret('sa2', { type: 'kubernetes.io/service-account-token' }, { annotations: { 'kubernetes.io/service-account.name': 'x' } }));
    await create(secret('custom', { type: 'example.com/anything' }));
  });

  void it('metadata: labels, annotations, finalizers, owner references', async () => {
    await invalid(
      secret('l1', {}, { labels: { 'bad key!': 'v' } }),
      `Secret "l1" is invalid: metadata.labels: Invalid value: "bad key!": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`,
    );
    await invalid(
      secret('l2', {}, { labels: { k: 'bad value!' } }),
      `Secret "l2" is invalid: metadata.labels: Invalid value: "bad value!": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')`,
    );
    await invalid(
      secret('a1', {}, { annotations: { big: 'x'.repeat(262142) } }),
      'Secret "a1" is invalid: metadata.annotations: Too long: may not be more than 262144 bytes',
    );
    await create(secret('a2', {}, { annotations: { 'Example.COM/Mixed_Case': 'ok' } }));
    await invalid(
      secret('f1', {}, { finalizers: ['myfinalizer'] }),
      'Secret "f1" is invalid: metadata.finalizers[0]: Invalid value: "myfinalizer": name is neither a standard finalizer name nor is it fully qualified',
    );
    await invalid(
      secret('f2', {}, { finalizers: ['orphan', 'foregroundDeletion'] }),
      'Secret "f2" is invalid: metadata.finalizers: Invalid value: []string{"orphan", "foregroundDeletion"}: finalizer orphan and foregroundDeletion cannot be both set',
    );
    await invalid(
      secret('o1', {}, { ownerReferences: [{ apiVersion: '', kind: '', name: '', uid: '' }] }),
      'Secret "o1" is invalid: [metadata.ownerReferences.apiVersion: Invalid value: "": version must not be empty, ' +
        'metadata.ownerReferences.kind: Invalid value: "": kind must not be empty, metadata.ownerReferences.name: Invalid value: "": name must not be empty, ' +
        'metadata.ownerReferences.uid: Invalid value: "": uid must not be empty]',
    );
    // Entries that do not decode are dropped by kube's field manager before validation sees them.
    const m1 = await r.stores.secrets.create('default', secret('m1', {}, { managedFields: [{ manager: 'm', operation: 'x', fieldsType: 'FieldsV1' }] }), { fieldManager: 'tester' });
    assert.deepEqual(m1.metadata?.managedFields?.map((e) => `${e.manager}/${e.operation}`), ['tester/Update']);
  });

  void it('updates: type immutable (omitted type kept), immutable freezes data and cannot be unset', async () => {
    const secrets = r.stores.secrets;
    await create(secret('t1', { type: 'kubernetes.io/tls', data: { 'tls.crt': '', 'tls.key': '' } }));
    const kept = await secrets.update('default', 't1', secret('t1', { data: { 'tls.crt': b64('c'), 'tls.key': '' } }));
    assert.equal(kept.type, 'kubernetes.io/tls');
    await create(secret('t2', { data: { 'tls.crt': '', 'tls.key': '' } }));
    await rejectsWith(
      secrets.update('default', 't2', secret('t2', { type: 'kubernetes.io/tls', data: { 'tls.crt': '', 'tls.key': '' } })),
      422,
      'Secret "t2" is invalid: type: Invalid value: "kubernetes.io/tls": field is immutable',
    );

    await create(secret('frozen', { data: { a: b64('1') }, immutable: true }));
    await rejectsWith(
      secrets.update('default', 'frozen', secret('frozen', { data: { a: b64('2') }, immutable: true })),
      422,
      `Secret "frozen" is invalid: data: Forbidden: ${IMMUTABLE}`,
    );
    await rejectsWith(
      secrets.update('default', 'frozen', secret('frozen', { data: { a: b64('1') }, immutable: false })),
      422,
      `Secret "frozen" is invalid: immutable: Forbidden: ${IMMUTABLE}`,
    );
    await rejectsWith(
      secrets.update('default', 'frozen', secret('frozen', { stringData: { a: 'changed' }, data: { a: b64('1') } })),
      422,
      `Secret "frozen" is invalid: [immutable: Forbidden: ${IMMUTABLE}, data: Forbidden: ${IMMUTABLE}]`,
    );
    const labelled = await secrets.update('default', 'frozen', secret('frozen', { data: { a: b64('1') }, immutable: true }, { labels: { x: 'y' } }));
    assert.deepEqual(labelled.metadata?.labels, { x: 'y' }, 'metadata stays writable');
    await secrets.delete('default', 'frozen');
  });
});
