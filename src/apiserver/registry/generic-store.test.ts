// The registry store over a real SqliteStore and a real EncryptionEngine: CRUD and server-owned metadata,
// concurrency, dryRun, deletion, lists (selectors, paging, resourceVersion rules) and what lands in storage.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { contextForKey } from '../../encryption/transformer.js';
import { FakeClock } from '../../lib/clock.js';
import { decodeObject } from '../../objects/object-codec.js';
import type { KubeObject } from '../../objects/object-meta.js';
import { aes, encryptionYaml, IDENTITY, KEY1, KEY2, openRegistry, type RegistryFixture } from './testing/registry-fixture.js';
import { rejectsWith, statusOf } from './testing/status-assertions.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const CANARY = 'canary-value-7f3a9c';

function secret(name: string, fields: Record<string, unknown> = {}, meta: Record<string, unknown> = {}): KubeObject {
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name, ...meta }, ...fields };
}

void describe('GenericStore: create, get, update, delete', () => {
  let r: RegistryFixture;
  before(async () => {
    r = await openRegistry();
  });
  after(async () => {
    await r.close();
  });

  void it('create sets uid, creationTimestamp (whole seconds), resourceVersion and a kube-like managedFields entry', async () => {
    const created = await r.stores.secrets.create(
      'default',
      secret('s1', { stringData: { u: 'a' } }, { uid: 'client-uid', creationTimestamp: null, selfLink: '/x', deletionTimestamp: '2020-01-01T00:00:00Z' }),
      { fieldManager: 'kubectl-create' },
    );
    const meta = created.metadata!;
    assert.match(meta.uid!, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.notEqual(meta.uid, 'client-uid');
    assert.match(meta.creationTimestamp!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.equal(meta.resourceVersion, String(await r.store.currentRevision()));
    assert.equal(meta.namespace, 'default');
    assert.equal(meta.deletionTimestamp, undefined);
    assert.equal(meta.selfLink, undefined);
    assert.equal(meta.generation, undefined);
    assert.deepEqual(meta.managedFields, [
      { manager: 'kubectl-create', operation: 'Update', apiVersion: 'v1', time: meta.creationTimestamp, fieldsType: 'FieldsV1', fieldsV1: { 'f:data': { '.': {}, 'f:u': {} }, 'f:type': {} } },
    ]);
    assert.deepEqual(Object.keys(meta), ['name', 'namespace', 'uid', 'resourceVersion', 'creationTimestamp', 'managedFields'], "Go's field order");
    assert.deepEqual(await r.stores.secrets.get('default', 's1'), created);
  });

  void it('create refuses: namespace mismatch (400), existing name (409), resourceVersion set (500), unknown namespace (404)', async () => {
    const secrets = r.stores.secrets;
    await rejectsWith(secrets.create('default', secret('x', {}, { namespace: 'other' })), 400, 'the namespace of the provided object does not match the namespace sent on the request');
    await secrets.create('default', secret('dup'));
    const s = await rejectsWith(secrets.create('default', secret('dup')), 409, 'secrets "dup" already exists');
    assert.deepEqual([s.reason, s.details], ['AlreadyExists', { name: 'dup', kind: 'secrets' }]);
    await rejectsWith(secrets.create('default', secret('rv', {}, { resourceVersion: '5' })), 500, 'resourceVersion should not be set on objects to be created');
    await rejectsWith(secrets.create('nope', secret('x')), 404, 'namespaces "nope" not found');
    await rejectsWith(
      secrets.create('default', { apiVersion: 'apps/v1', kind: 'Secret', metadata: { name: 'v' } }),
      400,
      'the API version in the data (apps/v1) does not match the expected API version (v1)',
    );
    // Missing kind/apiVersion are taken from the endpoint.
    const defaulted = await secrets.create('default', { metadata: { name: 'typeless' } } as unknown as KubeObject);
    assert.deepEqual([defaulted.apiVersion, defaulted.kind], ['v1', 'Secret']);
  });

  void it('dryRun create validates and answers 201-style without a resourceVersion, writing nothing', async () => {
    const before = await r.store.currentRevision();
    const dry = await r.stores.secrets.create('default', secret('dry', { stringData: { a: 'b' } }), { dryRun: true });
    assert.ok(dry.metadata?.uid);
    assert.ok(dry.metadata?.creationTimestamp);
    assert.equal(dry.metadata?.resourceVersion, undefined);
    assert.equal(await r.store.currentRevision(), before);
    await rejectsWith(r.stores.secrets.get('default', 'dry'), 404, 'secrets "dry" not found');
    await rejectsWith(r.stores.secrets.create('default', secret('s1'), { dryRun: true }), 409, 'secrets "s1" already exists');
  });

  void it('update: resourceVersion precondition (409), unconditional without one, uid precondition, name mismatch, missing object', async () => {
    const secrets = r.stores.secrets;
    const v1 = await secrets.create('default', secret('u1', { data: { a: b64('1') } }));
    const v2 = await secrets.update('default', 'u1', { ...v1, data: { a: b64('2') } });
    assert.ok(Number(v2.metadata!.resourceVersion) > Number(v1.metadata!.resourceVersion));
    assert.equal(v2.metadata!.uid, v1.metadata!.uid);
    assert.equal(v2.metadata!.creationTimestamp, v1.metadata!.creationTimestamp);
    const stale = await rejectsWith(
      secrets.update('default', 'u1', { ...v1, data: { a: b64('3') } }),
      409,
      'Operation cannot be fulfilled on secrets "u1": the object has been modified; please apply your changes to the latest version and try again',
    );
    assert.deepEqual([stale.reason, stale.details], ['Conflict', { name: 'u1', kind: 'secrets' }]);
    // Secrets allow an unconditional update: no resourceVersion means "overwrite what is there".
    const v3 = await secrets.update('default', 'u1', secret('u1', { data: { a: b64('3') } }));
    assert.deepEqual(v3.data, { a: b64('3') });
    assert.equal(v3.metadata!.uid, v1.metadata!.uid, 'uid kept from the stored object');
    const uid = await statusOf(secrets.update('default', 'u1', secret('u1', {}, { uid: 'other' })));
    assert.equal(uid.code, 409);
    assert.equal(
      uid.message,
      'Operation cannot be fulfilled on secrets "u1": StorageError: invalid object, Code: 4, Key: /registry/secrets/default/u1, ' +
        `ResourceVersion: 0, AdditionalErrorMsg: Precondition failed: UID in precondition: other, UID in object meta: ${v1.metadata!.uid}`,
    );
    await rejectsWith(secrets.update('default', 'u1', secret('u2')), 400, 'the name of the object (u2) does not match the name on the URL (u1)');
    await rejectsWith(secrets.update('default', 'missing', secret('missing')), 404, 'secrets "missing" not found');
  });

  void it('a no-op update writes nothing: same resourceVersion, no new revision', async () => {
    const secrets = r.stores.secrets;
    const v1 = await secrets.create('default', secret('noop', { data: { a: b64('1') } }), { fieldManager: 'm' });
    const revision = await r.store.currentRevision();
    const same = await secrets.update('default', 'noop', v1, { fieldManager: 'm' });
    assert.equal(same.metadata!.resourceVersion, v1.metadata!.resourceVersion);
    assert.equal(await r.store.currentRevision(), revision);
    const patched = await secrets.guaranteedUpdate('default', 'noop', (cur) => cur, { fieldManager: 'kubectl-patch' });
    assert.equal(patched.metadata!.resourceVersion, v1.metadata!.resourceVersion);
  });

  void it('dryRun update returns the would-be object with the old resourceVersion', async () => {
    const v1 = await r.stores.secrets.create('default', secret('dryup', { data: { a: b64('1') } }));
    const dry = await r.stores.secrets.update('default', 'dryup', { ...v1, data: { a: b64('2') } }, { dryRun: true });
    assert.deepEqual([dry.data, dry.metadata!.resourceVersion], [{ a: b64('2') }, v1.metadata!.resourceVersion]);
    assert.deepEqual((await r.stores.secrets.get('default', 'dryup')).data, { a: b64('1') });
  });

  void it('guaranteedUpdate retries on conflicts so concurrent read-modify-writes all land', async () => {
    await r.stores.secrets.create('default', secret('counter', { data: { n: b64('0') } }));
    const bump = () =>
      r.stores.secrets.guaranteedUpdate('default', 'counter', (cur) => {
        const n = Number(Buffer.from((cur.data as Record<string, string>).n!, 'base64').toString());
        return { ...cur, data: { n: b64(String(n + 1)) } };
      });
    await Promise.all(Array.from({ length: 10 }, bump));
    const final = await r.stores.secrets.get('default', 'counter');
    assert.equal(Buffer.from((final.data as Record<string, string>).n!, 'base64').toString(), '10');
    // A mutation that sets a stale resourceVersion is a precondition: 409, not a retry.
    await rejectsWith(
      r.stores.secrets.guaranteedUpdate('default', 'counter', (cur) => ({ ...cur, metadata: { ...cur.metadata, resourceVersion: '1' } })),
      409,
      'Operation cannot be fulfilled on secrets "counter": the object has been modified; please apply your changes to the latest version and try again',
    );
  });

  void it('managedFields: a second manager takes the fields it changes; a sent list replaces, [{}] clears', async () => {
    const secrets = r.stores.secrets;
    const v1 = await secrets.create('default', secret('mf', { data: { u: b64('a') } }), { fieldManager: 'kubectl-create' });
    const v2 = await secrets.update('default', 'mf', { ...v1, metadata: { ...v1.metadata, labels: { app: 'x' } } }, { fieldManager: 'kubectl-label' });
    assert.deepEqual(
      new Map(v2.metadata!.managedFields!.map((e) => [e.manager, e.fieldsV1])),
      new Map<string | undefined, unknown>([
        ['kubectl-create', { 'f:data': { '.': {}, 'f:u': {} }, 'f:type': {} }],
        ['kubectl-label', { 'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } } }],
      ]),
    );
    const v3 = await secrets.update('default', 'mf', { ...v2, data: { u: b64('b'), v: b64('c') } }, { fieldManager: 'editor' });
    // Entries of one second are ordered by manager name, so compare them by manager.
    assert.deepEqual(
      new Map(v3.metadata!.managedFields!.map((e) => [e.manager, e.fieldsV1])),
      new Map<string | undefined, unknown>([
        // kubectl-create keeps the map node it created, but no longer the key another manager changed.
        ['kubectl-create', { 'f:data': {}, 'f:type': {} }],
        ['kubectl-label', { 'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } } }],
        ['editor', { 'f:data': { 'f:u': {}, 'f:v': {} } }],
      ]),
    );
    const cleared = await secrets.update('default', 'mf', { ...v3, metadata: { ...v3.metadata, managedFields: [{}] } }, { fieldManager: 'x' });
    assert.equal(cleared.metadata!.managedFields, undefined);
    const given = [{ manager: 'ssa', operation: 'Apply', apiVersion: 'v1', fieldsType: 'FieldsV1', fieldsV1: { 'f:data': { 'f:u': {} } } }];
    const applied = await secrets.guaranteedUpdate('default', 'mf', (cur) => ({ ...cur, metadata: { ...cur.metadata, managedFields: given } }), {
      fieldManager: 'ssa',
      managedFieldsSet: true,
    });
    assert.deepEqual(applied.metadata!.managedFields, given);
  });

  void it('delete returns the object; preconditions conflict; finalizers keep it with deletionTimestamp until removed', async () => {
    const secrets = r.stores.secrets;
    const v1 = await secrets.create('default', secret('d1'));
    await rejectsWith(
      secrets.delete('default', 'd1', { preconditions: { uid: 'nope' } }),
      409,
      'Operation cannot be fulfilled on secrets "d1": StorageError: invalid object, Code: 4, Key: /registry/secrets/default/d1, ' +
        `ResourceVersion: 0, AdditionalErrorMsg: Precondition failed: UID in precondition: nope, UID in object meta: ${v1.metadata!.uid}`,
    );
    await rejectsWith(
      secrets.delete('default', 'd1', { preconditions: { resourceVersion: '1' } }),
      409,
      'Operation cannot be fulfilled on secrets "d1": StorageError: invalid object, Code: 4, Key: /registry/secrets/default/d1, ' +
        `ResourceVersion: 0, AdditionalErrorMsg: Precondition failed: ResourceVersion in precondition: 1, ResourceVersion in object meta: ${v1.metadata!.resourceVersion}`,
    );
    const dry = await secrets.delete('default', 'd1', { dryRun: true });
    assert.equal(dry.deleted, true);
    await secrets.get('default', 'd1');
    const gone = await secrets.delete('default', 'd1', { preconditions: { uid: v1.metadata!.uid! } });
    assert.equal(gone.deleted, true);
    assert.equal(gone.object.metadata!.uid, v1.metadata!.uid);
    assert.ok(Number(gone.object.metadata!.resourceVersion) > Number(v1.metadata!.resourceVersion), 'the deletion has its own revision');
    await rejectsWith(secrets.delete('default', 'd1'), 404, 'secrets "d1" not found');

    await secrets.create('default', secret('held', {}, { finalizers: ['example.com/hold'] }));
    const marked = await secrets.delete('default', 'held');
    assert.equal(marked.deleted, false);
    assert.ok(marked.object.metadata!.deletionTimestamp);
    assert.equal(marked.object.metadata!.deletionGracePeriodSeconds, 0);
    const again = await secrets.delete('default', 'held');
    assert.deepEqual(again, { object: marked.object, deleted: false }, 'a repeated DELETE returns the object as stored');
    await rejectsWith(
      secrets.update('default', 'held', { ...marked.object, metadata: { ...marked.object.metadata, finalizers: ['example.com/hold', 'example.com/more'] } }),
      422,
      'Secret "held" is invalid: metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{"example.com/more"}',
    );
    await rejectsWith(secrets.create('default', secret('held')), 409, 'object is being deleted: secrets "held" already exists');
    // Removing the last finalizer deletes the object during the update.
    const last = await secrets.update('default', 'held', { ...marked.object, metadata: { ...marked.object.metadata, finalizers: [] } });
    assert.ok(last.metadata!.deletionTimestamp);
    await rejectsWith(secrets.get('default', 'held'), 404, 'secrets "held" not found');
  });

  void it('deleteCollection deletes what the selectors match and returns it', async () => {
    const configmaps = r.stores.configmaps;
    for (const [name, tier] of [['dc-a', 'web'], ['dc-b', 'web'], ['dc-c', 'db']] as const) {
      await configmaps.create('default', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, labels: { tier } } });
    }
    const deleted = await configmaps.deleteCollection('default', { labelSelector: 'tier=web' });
    assert.deepEqual(deleted.items.map((i) => i.metadata!.name), ['dc-a', 'dc-b']);
    assert.equal(deleted.kind, 'ConfigMapList');
    assert.deepEqual((await configmaps.list('default', { labelSelector: 'tier' })).items.map((i) => i.metadata!.name), ['dc-c']);
    const s = await statusOf(r.stores.namespaces.deleteCollection(undefined));
    assert.deepEqual([s.code, s.reason, s.message], [405, 'MethodNotAllowed', 'deletecollection is not supported on resources of kind "namespaces"']);
  });
});

void describe('GenericStore: lists', () => {
  let r: RegistryFixture;
  let rvAfterFirst: string;
  before(async () => {
    r = await openRegistry();
    await r.stores.namespaces.create(undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'other' } });
    for (let i = 0; i < 7; i++) {
      await r.stores.secrets.create('default', secret(`s${i}`, { type: i % 2 ? 'kubernetes.io/basic-auth' : 'Opaque', data: { username: '' } }, { labels: { n: String(i), parity: i % 2 ? 'odd' : 'even' } }));
      if (i === 0) rvAfterFirst = String(await r.store.currentRevision());
    }
    await r.stores.secrets.create('other', secret('elsewhere', {}, { labels: { n: '9' } }));
  });
  after(async () => {
    await r.close();
  });

  void it('lists in key order with the store revision and every item versioned', async () => {
    const all = await r.stores.secrets.list(undefined);
    assert.deepEqual(all.items.map((i) => `${i.metadata!.namespace}/${i.metadata!.name}`), [
      'default/s0', 'default/s1', 'default/s2', 'default/s3', 'default/s4', 'default/s5', 'default/s6', 'other/elsewhere',
    ]);
    assert.equal(all.metadata.resourceVersion, String(await r.store.currentRevision()));
    assert.deepEqual([all.apiVersion, all.kind], ['v1', 'SecretList']);
    assert.ok(all.items.every((i) => Number(i.metadata!.resourceVersion) > 0));
    assert.equal((await r.stores.secrets.list('default')).items.length, 7);
    assert.deepEqual((await r.stores.secrets.list('missing')).items, []);
  });

  void it('label and field selectors', async () => {
    const names = async (opts: Parameters<typeof r.stores.secrets.list>[1], ns?: string) =>
      (await r.stores.secrets.list(ns, opts)).items.map((i) => i.metadata!.name);
    assert.deepEqual(await names({ labelSelector: 'parity=odd,n notin (3)' }, 'default'), ['s1', 's5']);
    assert.deepEqual(await names({ labelSelector: 'n in (1,9)' }), ['s1', 'elsewhere']);
    assert.deepEqual(await names({ fieldSelector: 'type=kubernetes.io/basic-auth,metadata.name!=s1' }), ['s3', 's5']);
    assert.deepEqual(await names({ fieldSelector: 'metadata.namespace=other' }), ['elsewhere']);
    assert.deepEqual(await names({ fieldSelector: 'metadata.name=s4' }, 'default'), ['s4']);
    await rejectsWith(r.stores.secrets.list('default', { fieldSelector: 'foo=bar' }), 400, 'field label not supported: foo');
    await rejectsWith(r.stores.secrets.list('default', { labelSelector: 'a in (' }), 400, "unable to parse requirement: found '', expected: ',', ')' or identifier");
    const nsNames = (await r.stores.namespaces.list(undefined, { fieldSelector: 'status.phase=Active', labelSelector: 'kubernetes.io/metadata.name notin (default)' })).items.map((i) => i.metadata!.name);
    assert.deepEqual(nsNames, ['kube-node-lease', 'kube-public', 'kube-system', 'other']);
  });

  void it('limit/continue pages through one snapshot, with remainingItemCount when unfiltered', async () => {
    const p1 = await r.stores.secrets.list('default', { limit: 3 });
    assert.deepEqual(p1.items.map((i) => i.metadata!.name), ['s0', 's1', 's2']);
    assert.equal(p1.metadata.remainingItemCount, 4);
    const token = JSON.parse(Buffer.from(p1.metadata.continue!, 'base64url').toString()) as unknown;
    assert.deepEqual(token, { v: 'meta.k8s.io/v1', rv: Number(p1.metadata.resourceVersion), start: 's2\u0000' });
    // A write between pages does not show up in the continuation: it reads the first page's snapshot.
    await r.stores.secrets.create('default', secret('s3a'));
    const p2 = await r.stores.secrets.list('default', { limit: 3, continue: p1.metadata.continue! });
    assert.deepEqual(p2.items.map((i) => i.metadata!.name), ['s3', 's4', 's5']);
    assert.equal(p2.metadata.resourceVersion, p1.metadata.resourceVersion);
    const p3 = await r.stores.secrets.list('default', { limit: 3, continue: p2.metadata.continue! });
    assert.deepEqual(p3.items.map((i) => i.metadata!.name), ['s6']);
    assert.equal(p3.metadata.continue, undefined);
    await r.stores.secrets.delete('default', 's3a');

    // With a selector the page is filled across store reads, and no count is given.
    const odd = await r.stores.secrets.list('default', { limit: 2, labelSelector: 'parity=odd' });
    assert.deepEqual(odd.items.map((i) => i.metadata!.name), ['s1', 's3']);
    assert.equal(odd.metadata.remainingItemCount, undefined);
    const odd2 = await r.stores.secrets.list('default', { limit: 2, labelSelector: 'parity=odd', continue: odd.metadata.continue! });
    assert.deepEqual(odd2.items.map((i) => i.metadata!.name), ['s5']);
  });

  void it('resourceVersion rules: exact past reads, too old (410), too new (504), option validation (422, 400)', async () => {
    const secrets = r.stores.secrets;
    const exact = await secrets.list('default', { resourceVersion: rvAfterFirst, resourceVersionMatch: 'Exact' });
    assert.deepEqual(exact.items.map((i) => i.metadata!.name), ['s0']);
    assert.equal(exact.metadata.resourceVersion, rvAfterFirst);
    // Legacy: a resourceVersion with a limit and no match is exact too.
    assert.deepEqual((await secrets.list('default', { resourceVersion: rvAfterFirst, limit: 10 })).items.length, 1);
    // Without a limit it is "not older than": the current state.
    assert.equal((await secrets.list('default', { resourceVersion: rvAfterFirst })).items.length, 7);
    assert.equal((await secrets.list('default', { resourceVersion: '0' })).items.length, 7);
    const current = await r.store.currentRevision();
    const tooNew = await rejectsWith(secrets.list('default', { resourceVersion: String(current + 100) }), 504, `Timeout: Too large resource version: ${current + 100}, current: ${current}`);
    assert.deepEqual(tooNew.details, { causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }], retryAfterSeconds: 1 });
    await rejectsWith(secrets.get('default', 's1', { resourceVersion: String(current + 1) }), 504, `Timeout: Too large resource version: ${current + 1}, current: ${current}`);
    await rejectsWith(
      secrets.list('default', { resourceVersion: 'abc' }),
      400,
      'invalid resource version: resourceVersion: Invalid value: "abc": strconv.ParseUint: parsing "abc": invalid syntax',
    );
    const m = await rejectsWith(
      secrets.list('default', { resourceVersionMatch: 'Exact' }),
      422,
      'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided',
    );
    assert.deepEqual([m.details?.group, m.details?.kind], ['meta.k8s.io', 'ListOptions']);
    await rejectsWith(
      secrets.list('default', { resourceVersion: '0', resourceVersionMatch: 'Exact' }),
      422,
      'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: resourceVersionMatch "exact" is forbidden for resourceVersion "0"',
    );
    await rejectsWith(
      secrets.list('default', { resourceVersion: '5', resourceVersionMatch: 'Sometimes' as 'Exact' }),
      422,
      'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Unsupported value: "Sometimes": supported values: "Exact", "NotOlderThan", ""',
    );
    const page = await secrets.list('default', { limit: 1 });
    await rejectsWith(secrets.list('default', { continue: page.metadata.continue!, resourceVersion: '5' }), 400, 'specifying resource version is not allowed when using continue');
    await rejectsWith(secrets.list('default', { continue: '!!' }), 400, 'invalid continue token: continue key is not valid: illegal base64 data at input byte 0');
  });

  void it('after compaction: old exact reads and old continue tokens are 410 Expired (with a fresh token)', async () => {
    const secrets = r.stores.secrets;
    const page = await secrets.list('default', { limit: 2 });
    await secrets.update('default', 's0', secret('s0', {}, { labels: { touched: 'yes' } }));
    await r.store.compact(await r.store.currentRevision());
    await rejectsWith(secrets.list('default', { resourceVersion: rvAfterFirst, resourceVersionMatch: 'Exact' }), 410, 'The resourceVersion for the provided list is too old.');
    const s = await rejectsWith(
      secrets.list('default', { limit: 2, continue: page.metadata.continue! }),
      410,
      'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, ' +
        'or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an ' +
        'inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.',
    );
    assert.equal(s.reason, 'Expired');
    const fresh = await secrets.list('default', { limit: 2, continue: s.metadata.continue! });
    assert.deepEqual(fresh.items.map((i) => i.metadata!.name), ['s2', 's3']);
  });
});

void describe('GenericStore: what is stored, encryption, rotation', () => {
  void it('stores at /registry/secrets/<ns>/<name> encrypted (no plaintext), decryptable by the engine to the object without resourceVersion', async () => {
    const r = await openRegistry();
    try {
      const created = await r.stores.secrets.create('default', secret('db-creds', { stringData: { password: CANARY } }, { labels: { app: 'db' } }));
      const { kv } = await r.store.get('/registry/secrets/default/db-creds');
      assert.ok(kv);
      const stored = Buffer.from(kv.value);
      assert.equal(stored.subarray(0, 'k8s:enc:aesgcm:v1:key1:'.length).toString(), 'k8s:enc:aesgcm:v1:key1:');
      assert.equal(stored.includes(CANARY), false, 'the secret value is not in the stored bytes');
      assert.equal(stored.includes(b64(CANARY)), false);
      assert.equal(stored.includes('db-creds'), false, 'the whole object is encrypted, metadata included');
      const plain = await r.engine.transformerFor({ group: '', resource: 'secrets' }).fromStorage(kv.value, contextForKey('/registry/secrets/default/db-creds'));
      assert.equal(Buffer.from(plain.data).subarray(0, 4).toString('latin1'), 'k8s\0', "kube's protobuf storage encoding");
      const { resourceVersion: _rv, ...meta } = created.metadata!;
      assert.deepEqual(decodeObject(plain.data), { ...created, metadata: meta });
      // The key is the AAD: the same bytes under another key do not decrypt.
      await assert.rejects(r.engine.transformerFor({ group: '', resource: 'secrets' }).fromStorage(kv.value, contextForKey('/registry/secrets/default/other')));
      // ConfigMaps are not in the config: identity, plaintext protobuf.
      await r.stores.configmaps.create('default', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm' }, data: { k: 'visible' } });
      const cm = await r.store.get('/registry/configmaps/default/cm');
      assert.equal(Buffer.from(cm.kv!.value).subarray(0, 4).toString('latin1'), 'k8s\0');
      assert.ok((await r.store.get('/registry/namespaces/default')).kv, 'cluster-scoped key');
    } finally {
      await r.close();
    }
  });

  void it('key rotation aescbc key1 -> key2: replacing every Secret unchanged rewrites it under key2 (stale reads force the write)', async () => {
    const clock = new FakeClock();
    const r = await openRegistry({ encryption: encryptionYaml(aes('aescbc', [['key1', KEY1]])), clock });
    try {
      const secrets = r.stores.secrets;
      for (const name of ['a', 'b', 'c']) await secrets.create('default', secret(name, { stringData: { v: `${CANARY}-${name}` } }), { fieldManager: 'kubectl-create' });
      await clock.advance(60_000);
      const prefixOf = async (name: string) => Buffer.from((await r.store.get(`/registry/secrets/default/${name}`)).kv!.value).subarray(0, 23).toString();
      assert.equal(await prefixOf('a'), 'k8s:enc:aescbc:v1:key1:');

      // Step 1 of the documented rotation: key2 first, key1 still readable.
      await r.engine.load(encryptionYaml(aes('aescbc', [['key2', KEY2], ['key1', KEY1]])));
      // `kubectl get secrets -A -o json | kubectl replace -f -`: every object PUT back exactly as read.
      const list = await secrets.list(undefined);
      for (const item of list.items) {
        // PUT for a and b; a no-op PATCH (guaranteedUpdate) for c, which must rewrite a stale value just the same.
        const replaced =
          item.metadata!.name === 'c'
            ? await secrets.guaranteedUpdate('default', 'c', (cur) => cur)
            : await secrets.update(item.metadata!.namespace, item.metadata!.name!, item, { fieldManager: 'kubectl-create' });
        assert.ok(Number(replaced.metadata!.resourceVersion) > Number(item.metadata!.resourceVersion), 'a stale value is rewritten');
        assert.deepEqual(replaced.data, item.data);
        assert.deepEqual(replaced.metadata!.managedFields, item.metadata!.managedFields, 'nothing changed, so neither did managedFields times');
      }
      for (const name of ['a', 'b', 'c']) assert.equal(await prefixOf(name), 'k8s:enc:aescbc:v1:key2:');
      // Now fresh: a second replace is a no-op.
      const again = await secrets.get('default', 'a');
      assert.equal((await secrets.update('default', 'a', again)).metadata!.resourceVersion, again.metadata!.resourceVersion);

      // key1 can go: everything still reads.
      await r.engine.load(encryptionYaml(aes('aescbc', [['key2', KEY2]])));
      const b = await secrets.get('default', 'b');
      assert.equal(Buffer.from((b.data as Record<string, string>).v!, 'base64').toString(), `${CANARY}-b`);
    } finally {
      await r.close();
    }
  });

  void it('a value that cannot be decrypted is a 500 naming the key, never the value; metrics count by prefix and status', async () => {
    const r = await openRegistry({ encryption: encryptionYaml(aes('aesgcm', [['key1', KEY1]]) + IDENTITY) });
    try {
      await r.stores.secrets.create('default', secret('locked', { stringData: { v: CANARY } }));
      await r.stores.secrets.get('default', 'locked');
      await r.engine.load(encryptionYaml(aes('aesgcm', [['other', KEY2]])));
      const s = await statusOf(r.stores.secrets.get('default', 'locked'));
      assert.deepEqual([s.code, s.reason], [500, 'InternalError']);
      assert.match(s.message!, /^Internal error occurred: unable to transform key "\/registry\/secrets\/default\/locked": /);
      assert.equal(s.message!.includes(CANARY), false);
      assert.equal((await statusOf(r.stores.secrets.list('default'))).code, 500, 'a list fails as a whole, as on kube');

      const counts = await r.stores.transformationMetrics.snapshot();
      const count = (type: string, status: string) =>
        counts.find((c) => c.labels.resource === 'secrets' && c.labels.transformation_type === type && c.labels.transformer_prefix === 'k8s:enc:aesgcm:v1:' && c.labels.status === status)?.value;
      assert.equal(count('to_storage', 'OK'), 1);
      assert.equal(count('from_storage', 'OK'), 1);
      assert.equal(count('from_storage', 'Unknown'), 2);
      assert.ok(counts.some((c) => c.labels.resource === 'namespaces' && c.labels.transformer_prefix === 'identity'));
    } finally {
      await r.close();
    }
  });
});
