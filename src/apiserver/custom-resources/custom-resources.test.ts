// Custom resources end to end inside the registry: the ESO schemas' validation messages, pruning and defaults, the
// status subresource and generation rules, v1beta1 over v1 storage, JSON at /registry/<group>/<plural>/ through the
// encryption engine, printer columns, and deploy/crds/ matching what is served.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { contextForKey } from '../../encryption/transformer.js';
import type { KubeObject } from '../../objects/object-meta.js';
import { unknownFields } from '../http/field-validation.js';
import { aes, encryptionYaml, IDENTITY, KEY1, openRegistry, type RegistryFixture } from '../registry/testing/registry-fixture.js';
import { rejectsWith, statusOf } from '../registry/testing/status-assertions.js';
import { toTable } from '../table.js';
import { crdManifestFileName, crdManifestYaml } from './crd-manifest.js';
import { EXTERNAL_SECRETS_CRDS } from './external-secrets/external-secrets-crds.js';
import { evaluateJsonPath, parseJsonPath } from './kubectl-jsonpath.js';
import { CRD_DIR } from './write-crd-manifests.js';

const ES_V1 = 'external-secrets.io/v1';

function externalSecret(name: string, spec: Record<string, unknown>, extra: Record<string, unknown> = {}): KubeObject {
  return { apiVersion: ES_V1, kind: 'ExternalSecret', metadata: { name }, spec, ...extra };
}

const VALID_SPEC = {
  refreshInterval: '1h',
  secretStoreRef: { name: 'fake-store', kind: 'SecretStore' },
  target: { name: 'db-creds' },
  data: [{ secretKey: 'token', remoteRef: { key: '/api/token', version: 'v1' } }],
  dataFrom: [{ extract: { key: '/db/creds' } }],
};

void describe('custom resources: external-secrets.io', () => {
  let r: RegistryFixture;
  const store = (kind: string, version = 'v1') => r.stores.customResources.find((s) => s.info.kind === kind && s.info.version === version)!;

  before(async () => {
    r = await openRegistry({ encryption: encryptionYaml(aes('aesgcm', [['key1', KEY1]]) + IDENTITY, '[externalsecrets.external-secrets.io]') });
  });
  after(async () => {
    await r.close();
  });

  void it('stores JSON at /registry/external-secrets.io/externalsecrets/<ns>/<name>, encrypted when configured', async () => {
    const created = await store('ExternalSecret').create('default', externalSecret('stored', VALID_SPEC));
    assert.equal(created.metadata?.generation, 1);
    const { kv } = await r.store.get('/registry/external-secrets.io/externalsecrets/default/stored');
    assert.ok(kv);
    assert.ok(Buffer.from(kv.value).subarray(0, 40).toString().startsWith('k8s:enc:aesgcm:v1:key1:'));
    const plain = await r.engine.transformerFor({ group: 'external-secrets.io', resource: 'externalsecrets' }).fromStorage(kv.value, contextForKey(kv.key));
    const json = JSON.parse(Buffer.from(plain.data).toString()) as KubeObject;
    assert.equal(json.apiVersion, ES_V1);
    assert.equal((json.spec as { target: { creationPolicy: string } }).target.creationPolicy, 'Owner', 'defaults are stored');
  });

  void it('applies schema defaults (refreshInterval, target policies) and prunes unknown fields', async () => {
    const created = await store('ExternalSecret').create('default', externalSecret('defaults', { data: [{ secretKey: 'a', remoteRef: { key: 'b', bogus: 1 } }], foo: 1 }));
    const spec = created.spec as Record<string, unknown>;
    assert.equal(spec.refreshInterval, '1h0m0s');
    assert.deepEqual(spec.target, { creationPolicy: 'Owner', deletionPolicy: 'Retain' });
    assert.equal(spec.foo, undefined);
    assert.deepEqual(spec.data, [{ secretKey: 'a', remoteRef: { key: 'b' } }]);
    assert.deepEqual(unknownFields(store('ExternalSecret').info, { metadata: { name: 'x', lables: {} }, spec: { foo: 1, data: [{ remoteRef: { bar: 1 } }] } }), [
      'metadata.lables',
      'spec.foo',
      'spec.data[0].remoteRef.bar',
    ]);
  });

  void it('refuses schema violations with kube-openapi messages as 422 field causes', async () => {
    const bad = externalSecret('bad', { refreshInterval: 10, secretStoreRef: { name: '', kind: 'Foo' }, data: [{ remoteRef: { key: 'x' } }] });
    const err = await statusOf(store('ExternalSecret').create('default', bad));
    assert.equal(err.code, 422);
    assert.equal(err.reason, 'Invalid');
    assert.equal(
      err.message,
      'ExternalSecret.external-secrets.io "bad" is invalid: [spec.data[0].secretKey: Required value, ' +
        'spec.refreshInterval: Invalid value: "integer": spec.refreshInterval in body must be of type string: "integer", ' +
        'spec.secretStoreRef.kind: Unsupported value: "Foo": supported values: "SecretStore", "ClusterSecretStore", ' +
        'spec.secretStoreRef.name: Invalid value: "": spec.secretStoreRef.name in body should be at least 1 chars long, ' +
        `spec.secretStoreRef.name: Invalid value: "": spec.secretStoreRef.name in body should match '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$']`,
    );
    assert.deepEqual(err.details?.causes?.map((c) => c.field), [
      'spec.data[0].secretKey',
      'spec.refreshInterval',
      'spec.secretStoreRef.kind',
      'spec.secretStoreRef.name',
      'spec.secretStoreRef.name',
    ]);
    assert.equal(err.details?.kind, 'ExternalSecret');
    assert.equal(err.details?.group, 'external-secrets.io');
  });

  void it('SecretStore: exactly one provider; refreshInterval int-or-string', async () => {
    const ss = (name: string, spec: Record<string, unknown>) => ({ apiVersion: ES_V1, kind: 'SecretStore', metadata: { name }, spec });
    const two = await statusOf(store('SecretStore').create('default', ss('two', { provider: { fake: { data: [] }, vault: { server: 'x' } } })));
    assert.match(two.message!, /spec\.provider: Too many: 2: must have at most 1 items/);
    const none = await statusOf(store('SecretStore').create('default', ss('none', { provider: {} })));
    assert.match(none.message!, /spec\.provider: Invalid value: 0: spec\.provider in body should have at least 1 properties/);
    const ok = await store('SecretStore').create('default', ss('ok', { refreshInterval: 600, provider: { aws: { service: 'SecretsManager', region: 'eu-west-1' } } }));
    assert.deepEqual((ok.spec as { provider: unknown }).provider, { aws: { service: 'SecretsManager', region: 'eu-west-1' } }, 'unmodelled providers are kept');
    const bool = await statusOf(store('SecretStore').create('default', ss('bool', { refreshInterval: true, provider: { fake: { data: [] } } })));
    assert.equal(bool.code, 422);
    const vault = await store('SecretStore').create('default', ss('vault', { provider: { vault: { server: 'https://v:8200', auth: { kubernetes: { role: 'app' } } } } }));
    assert.deepEqual((vault.spec as { provider: { vault: unknown } }).provider.vault, {
      server: 'https://v:8200',
      version: 'v2',
      auth: { kubernetes: { role: 'app', mountPath: 'kubernetes' } },
    });
  });

  void it('status subresource: main writes keep status, /status writes only status; generation counts spec changes', async () => {
    const es = store('ExternalSecret');
    const created = await es.create('default', externalSecret('gen', VALID_SPEC, { status: { refreshTime: '2025-01-01T10:00:00Z' } }));
    assert.equal(created.status, undefined, 'status is dropped on create');
    const status = { conditions: [{ type: 'Ready', status: 'True', reason: 'SecretSynced', message: 'secret synced', lastTransitionTime: '2025-01-01T10:00:00Z' }], refreshTime: '2025-01-01T10:00:00Z' };
    const s1 = await es.guaranteedUpdate('default', 'gen', (cur) => ({ ...cur, status, spec: { ...(cur.spec as object), refreshInterval: '5m' } }), { subresource: 'status' });
    assert.deepEqual(s1.status, status);
    assert.equal((s1.spec as { refreshInterval: string }).refreshInterval, '1h', '/status ignores spec');
    assert.equal(s1.metadata?.generation, 1);
    const m1 = await es.guaranteedUpdate('default', 'gen', (cur) => ({ ...cur, status: { refreshTime: null }, metadata: { ...cur.metadata, labels: { a: 'b' } } }));
    assert.deepEqual(m1.status, status, 'the main resource ignores status');
    assert.equal(m1.metadata?.generation, 1, 'metadata changes do not count');
    const m2 = await es.guaranteedUpdate('default', 'gen', (cur) => ({ ...cur, spec: { ...(cur.spec as object), refreshInterval: '2h' } }));
    assert.equal(m2.metadata?.generation, 2);
    const badStatus = await statusOf(
      es.guaranteedUpdate('default', 'gen', (cur) => ({ ...cur, status: { conditions: [{ type: 'Bogus', status: 'True' }], refreshTime: 'yesterday' } }), { subresource: 'status' }));
    assert.match(badStatus.message!, /status\.conditions\[0\]\.type: Unsupported value: "Bogus"/);
    assert.match(badStatus.message!, /status\.refreshTime: Invalid value: "yesterday": status\.refreshTime in body must be of type date-time: "yesterday"/);
  });

  void it('serves v1beta1 over the v1 storage (conversion None)', async () => {
    await store('ExternalSecret').create('default', externalSecret('both', VALID_SPEC));
    const beta = await store('ExternalSecret', 'v1beta1').get('default', 'both');
    assert.equal(beta.apiVersion, 'external-secrets.io/v1beta1');
    await store('ExternalSecret', 'v1beta1').create('default', { ...externalSecret('from-beta', VALID_SPEC), apiVersion: 'external-secrets.io/v1beta1' });
    assert.equal((await store('ExternalSecret').get('default', 'from-beta')).apiVersion, ES_V1);
    const { kv } = await r.store.get('/registry/external-secrets.io/externalsecrets/default/from-beta');
    const plain = await r.engine.transformerFor({ group: 'external-secrets.io', resource: 'externalsecrets' }).fromStorage(kv!.value, contextForKey(kv!.key));
    assert.equal((JSON.parse(Buffer.from(plain.data).toString()) as KubeObject).apiVersion, ES_V1, 'stored as v1');
    assert.equal(store('ExternalSecret', 'v1beta1').info.customResource?.deprecationWarning, 'external-secrets.io/v1beta1 ExternalSecret is deprecated; use external-secrets.io/v1 ExternalSecret');
  });

  void it('field selectors: metadata and the CRD selectableFields', async () => {
    const es = store('ExternalSecret');
    const names = (await es.list('default', { fieldSelector: 'spec.target.name=db-creds' })).items.map((i) => i.metadata!.name);
    assert.ok(names.includes('stored') && !names.includes('defaults'));
    await rejectsWith(es.list('default', { fieldSelector: 'spec.foo=x' }), 400, 'field label not supported: spec.foo');
    await rejectsWith(
      store('SecretStore').list('default', { fieldSelector: 'spec.foo=x' }),
      400,
      '"spec.foo" is not a known field selector: only "metadata.name", "metadata.namespace"',
    );
  });

  void it('cluster-scoped kinds are stored without a namespace', async () => {
    await store('ClusterSecretStore').create(undefined, { apiVersion: ES_V1, kind: 'ClusterSecretStore', metadata: { name: 'css' }, spec: { provider: { fake: { data: [{ key: 'k', value: 'v' }] } } } });
    const { kv } = await r.store.get('/registry/external-secrets.io/clustersecretstores/css');
    assert.ok(kv);
  });

  void it('tables use the printer columns (JSONPath filters, dates as ages)', () => {
    const info = store('ExternalSecret').info;
    const now = new Date('2025-01-01T11:00:00Z');
    const table = toTable(info, [externalSecret('t', VALID_SPEC, { status: { conditions: [{ type: 'Ready', status: 'True', reason: 'SecretSynced' }], refreshTime: '2025-01-01T10:00:00Z' } })], {}, { now });
    const columns = (table.columnDefinitions as { name: string }[]).map((c) => c.name);
    assert.deepEqual(columns, ['Name', 'StoreType', 'Store', 'Refresh Interval', 'Status', 'Ready', 'Last Sync']);
    assert.deepEqual((table.rows as { cells: unknown[] }[])[0]!.cells, ['t', 'SecretStore', 'fake-store', '1h', 'SecretSynced', 'True', '60m']);
    const empty = toTable(info, [externalSecret('e', {})], {}, { now });
    assert.deepEqual((empty.rows as { cells: unknown[] }[])[0]!.cells, ['e', null, null, null, null, null, null]);
  });

  void it('JSONPath subset', () => {
    const doc = { a: { list: [{ type: 'x', v: 1 }, { type: 'Ready', v: 2 }], 'dotted.key': 'd' } };
    assert.deepEqual(evaluateJsonPath(parseJsonPath('.a.list[?(@.type=="Ready")].v'), doc), [2]);
    assert.deepEqual(evaluateJsonPath(parseJsonPath(".a['dotted.key']"), doc), ['d']);
    assert.deepEqual(evaluateJsonPath(parseJsonPath('.a.list[*].type'), doc), ['x', 'Ready']);
    assert.deepEqual(evaluateJsonPath(parseJsonPath('.a.list[1].v'), doc), [2]);
    assert.deepEqual(evaluateJsonPath(parseJsonPath('.a.missing.x'), doc), []);
  });

  void it('deploy/crds/ holds exactly the served definitions', async () => {
    for (const crd of EXTERNAL_SECRETS_CRDS) {
      const file = join(CRD_DIR, crdManifestFileName(crd));
      assert.equal(
        await readFile(file, 'utf8'),
        crdManifestYaml(crd),
        `${file} is out of date: run node --import tsx src/apiserver/custom-resources/write-crd-manifests.ts`,
      );
    }
  });
});
