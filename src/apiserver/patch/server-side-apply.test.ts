import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeObject } from '../../objects/object-meta.js';
import { ApiStatusError, type Status } from '../api-status.js';
import { NAMESPACES, SECRETS, type ResourceInfo } from '../resource-info.js';
import { applyPatch } from './apply-patch.js';
import { updateManagedFields } from './managed-fields.js';
import { LAST_APPLIED_ANNOTATION } from './server-side-apply.js';

const T0 = '2025-01-31T10:00:00Z';
const T1 = '2025-01-31T10:01:00Z';
const T2 = '2025-01-31T10:02:00Z';

function apply(current: KubeObject | undefined, config: unknown, fieldManager: string, time: string, extra: { force?: boolean; info?: ResourceInfo } = {}) {
  const body = Buffer.from(typeof config === 'string' ? config : JSON.stringify(config));
  return applyPatch(current, { type: 'application/apply-patch+yaml', body }, {
    info: extra.info ?? SECRETS,
    fieldManager,
    ...(extra.force !== undefined ? { force: extra.force } : {}),
    now: new Date(time),
  });
}

/** What the store adds when it writes the object, so later patches see a stored object. */
function stored(obj: KubeObject, rv = '1'): KubeObject {
  return { ...obj, metadata: { uid: 'u-1', creationTimestamp: T0, ...obj.metadata, resourceVersion: rv } };
}

function statusOf(fn: () => unknown): Status {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ApiStatusError, `expected an ApiStatusError, got ${String(e)}`);
    return e.status;
  }
  assert.fail('expected an error');
}

function secretConfig(data: Record<string, string>, meta: Record<string, unknown> = {}) {
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'default', ...meta }, data, type: 'Opaque' };
}

const managers = (obj: KubeObject) => (obj.metadata?.managedFields ?? []).map((e) => [e.manager, e.operation, e.fieldsV1]);

void describe('server-side apply: create and re-apply', () => {
  void it('creates a missing object with an Apply entry shaped exactly as kube writes it', () => {
    const { object, created } = apply(undefined, secretConfig({ password: 'czNjcjN0' }, { labels: { app: 'web' } }), 'kubectl', T0);
    assert.equal(created, true);
    assert.equal(
      JSON.stringify(object),
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: {
          name: 's',
          namespace: 'default',
          labels: { app: 'web' },
          managedFields: [
            {
              manager: 'kubectl',
              operation: 'Apply',
              apiVersion: 'v1',
              time: T0,
              fieldsType: 'FieldsV1',
              fieldsV1: { 'f:data': { 'f:password': {} }, 'f:metadata': { 'f:labels': { 'f:app': {} } }, 'f:type': {} },
            },
          ],
        },
        data: { password: 'czNjcjN0' },
        type: 'Opaque',
      }),
    );
  });

  void it('re-applying the same configuration changes nothing, not even the time', () => {
    const config = secretConfig({ password: 'czNjcjN0' });
    const live = stored(apply(undefined, config, 'kubectl', T0).object);
    const again = apply(live, config, 'kubectl', T1);
    assert.equal(again.created, false);
    assert.deepEqual(again.object, live);
  });

  void it('reads YAML bodies (JSON is YAML)', () => {
    const yaml = 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n  user: admin\n';
    const { object } = apply(undefined, yaml, 'm', T0);
    assert.deepEqual(object.stringData, { user: 'admin' });
    assert.deepEqual(managers(object), [['m', 'Apply', { 'f:stringData': { 'f:user': {} } }]]);
  });

  void it('refuses a uid when there is nothing to match it', () => {
    const status = statusOf(() => apply(undefined, secretConfig({}, { uid: 'abc' }), 'm', T0));
    assert.equal(status.code, 409);
    assert.equal(status.message, 'Operation cannot be fulfilled on secrets "s": uid mismatch: the provided object specified uid abc, and no existing object was found');
  });
});

void describe('server-side apply: ownership', () => {
  void it('answers a change to a field another manager owns with 409 and kube exact message (k8s.io/apimachinery pkg/util/managedfields/internal/conflict.go)', () => {
    const created = updateManagedFields(undefined, stored(secretConfig({ password: 'b2xk' })), { manager: 'kubectl-client-side-apply', now: new Date(T0), info: SECRETS });
    const status = statusOf(() => apply(created, secretConfig({ password: 'bmV3' }), 'helm', T1));
    assert.equal(
      JSON.stringify(status),
      JSON.stringify({
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: 'Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using v1: .data.password',
        reason: 'Conflict',
        details: { causes: [{ reason: 'FieldManagerConflict', message: 'conflict with "kubectl-client-side-apply" using v1', field: '.data.password' }] },
        code: 409,
      }),
    );
    assert.ok(!JSON.stringify(status).includes('bmV3') && !JSON.stringify(status).includes('b2xk'), 'no values in the error');
  });

  void it('lists several conflicts grouped by manager, Apply managers without a version', () => {
    let live = stored(apply(undefined, secretConfig({ x: 'MQ==', y: 'MQ==' }), 'a', T0).object);
    const labelled = { ...live, metadata: { ...live.metadata, labels: { env: 'dev' } } };
    live = updateManagedFields(live, labelled, { manager: 'b', now: new Date(T1), info: SECRETS });
    const status = statusOf(() => apply(live, secretConfig({ x: 'Mg==', y: 'Mg==' }, { labels: { env: 'prod' } }), 'c', T2));
    assert.equal(
      status.message,
      'Apply failed with 3 conflicts: conflicts with "a":\n- .data.x\n- .data.y\nconflicts with "b" using v1:\n- .metadata.labels.env',
    );
    assert.deepEqual(status.details?.causes?.map((c) => [c.message, c.field]), [
      ['conflict with "a"', '.data.x'],
      ['conflict with "a"', '.data.y'],
      ['conflict with "b" using v1', '.metadata.labels.env'],
    ]);
  });

  void it('shares fields applied with the same value; force takes the others', () => {
    const live = stored(apply(undefined, secretConfig({ x: 'MQ==', y: 'MQ==' }), 'a', T0).object);
    const shared = apply(live, secretConfig({ x: 'MQ==' }), 'b', T1).object;
    // An apply that changed nothing records no time (kube stamps only changing writes), so it sorts first.
    assert.deepEqual(managers(shared), [
      ['b', 'Apply', { 'f:data': { 'f:x': {} }, 'f:type': {} }],
      ['a', 'Apply', { 'f:data': { 'f:x': {}, 'f:y': {} }, 'f:type': {} }],
    ]);
    assert.equal(shared.metadata?.managedFields?.[0]?.time, undefined);
    const forced = apply(stored(shared, '2'), secretConfig({ y: 'Mg==' }), 'b', T2, { force: true }).object;
    assert.deepEqual(forced.data, { x: 'MQ==', y: 'Mg==' });
    assert.deepEqual(managers(forced), [
      ['a', 'Apply', { 'f:data': { 'f:x': {} }, 'f:type': {} }],
      ['b', 'Apply', { 'f:data': { 'f:y': {} }, 'f:type': {} }],
    ]);
    assert.equal(forced.metadata?.managedFields?.[1]?.time, T2);
  });

  void it('removes fields it applied before and omits now, unless another manager still owns them', () => {
    let live = stored(apply(undefined, secretConfig({ x: 'MQ==', y: 'MQ==' }, { labels: { a: '1', b: '1' } }), 'app', T0).object);
    // kubectl label secret s b=2 --overwrite: the label's new value belongs to kubectl-label
    const relabelled = { ...live, metadata: { ...live.metadata, labels: { a: '1', b: '2' } } };
    live = stored(updateManagedFields(live, relabelled, { manager: 'kubectl-label', now: new Date(T1), info: SECRETS }), '2');
    const out = apply(live, secretConfig({ x: 'MQ==' }, { labels: { a: '1' } }), 'app', T2).object;
    assert.deepEqual(out.data, { x: 'MQ==' });
    assert.deepEqual(out.metadata?.labels, { a: '1', b: '2' });
    assert.deepEqual(managers(out), [
      ['app', 'Apply', { 'f:data': { 'f:x': {} }, 'f:metadata': { 'f:labels': { 'f:a': {} } }, 'f:type': {} }],
      ['kubectl-label', 'Update', { 'f:metadata': { 'f:labels': { 'f:b': {} } } }],
    ]);
    // A manager applying only the last-applied annotation (kubectl-last-applied) removes nothing of the others.
    const annotated = apply(stored(out, '3'), { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', annotations: { [LAST_APPLIED_ANNOTATION]: '{}' } } }, 'kubectl-last-applied', T2).object;
    assert.deepEqual(annotated.data, { x: 'MQ==' });
    assert.deepEqual(annotated.metadata?.labels, { a: '1', b: '2' });
  });

  void it('merges finalizers as a set and ownerReferences by uid across managers', () => {
    const ref = (uid: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', name: `cm-${uid}`, uid });
    const first = stored(apply(undefined, secretConfig({}, { finalizers: ['example.com/a'], ownerReferences: [ref('1')] }), 'a', T0).object);
    assert.deepEqual(first.metadata?.managedFields?.[0]?.fieldsV1, {
      'f:data': {}, // `data: {}` in the configuration: an empty map is owned as a leaf
      'f:metadata': { 'f:finalizers': { 'v:"example.com/a"': {} }, 'f:ownerReferences': { 'k:{"uid":"1"}': {} } },
      'f:type': {},
    });
    const second = apply(first, secretConfig({}, { finalizers: ['example.com/b'], ownerReferences: [ref('2')] }), 'b', T1).object;
    assert.deepEqual(second.metadata?.finalizers, ['example.com/a', 'example.com/b']);
    assert.deepEqual(second.metadata?.ownerReferences, [ref('1'), ref('2')]);
    const status = statusOf(() => apply(stored(second), secretConfig({}, { ownerReferences: [{ ...ref('1'), name: 'other' }] }), 'b', T2));
    assert.equal(status.message, 'Apply failed with 1 conflict: conflict with "a": .metadata.ownerReferences[uid="1"]');
  });

  void it('gives the fields of an untracked object to "before-first-apply"', () => {
    const live = stored(secretConfig({ x: 'MQ==', y: 'MQ==' }));
    const status = statusOf(() => apply(live, secretConfig({ x: 'Mg==' }), 'm', T1));
    assert.equal(status.message, 'Apply failed with 1 conflict: conflict with "before-first-apply" using v1: .data.x');
    const same = apply(live, secretConfig({ x: 'MQ==' }), 'm', T1).object;
    assert.deepEqual(
      same.metadata?.managedFields?.map((e) => [e.manager, e.operation, e.time, e.fieldsV1]),
      [
        ['m', 'Apply', undefined, { 'f:data': { 'f:x': {} }, 'f:type': {} }],
        ['before-first-apply', 'Update', T1, { 'f:data': { '.': {}, 'f:x': {}, 'f:y': {} }, 'f:type': {} }],
      ],
    );
  });

  void it('ignores a Namespace status: never owned, never conflicting', () => {
    const ns = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'n', labels: { team: 'a' } }, status: { phase: 'Active' } };
    const { object } = apply(undefined, ns, 'kubectl', T0, { info: NAMESPACES });
    assert.deepEqual(object.metadata?.managedFields?.[0]?.fieldsV1, { 'f:metadata': { 'f:labels': { 'f:team': {} } } });
  });
});

void describe('server-side apply after client-side kubectl apply', () => {
  const lastApplied = (data: Record<string, string>) =>
    `${JSON.stringify({ apiVersion: 'v1', data, kind: 'Secret', metadata: { annotations: {}, name: 's', namespace: 'default' }, type: 'Opaque' })}\n`;

  /** `kubectl apply -f` (client-side) of a file holding `data`: a POST with the annotation, manager kubectl-client-side-apply. */
  function clientSideApplied(data: Record<string, string>): KubeObject {
    const obj = stored(secretConfig(data, { annotations: { [LAST_APPLIED_ANNOTATION]: lastApplied(data) } }));
    return updateManagedFields(undefined, obj, { manager: 'kubectl-client-side-apply', now: new Date(T0), info: SECRETS });
  }

  void it('kubectl apply --server-side of a changed file takes over what the last-applied annotation proves', () => {
    const live = clientSideApplied({ password: 'b2xk' });
    const config = secretConfig({ password: 'bmV3' });
    const { object } = apply(live, config, 'kubectl', T1);
    assert.deepEqual(object.data, { password: 'bmV3' });
    // kube keeps the annotation in step with what kubectl applied, in Go's JSON encoding.
    assert.equal(
      object.metadata?.annotations?.[LAST_APPLIED_ANNOTATION],
      '{"apiVersion":"v1","data":{"password":"bmV3"},"kind":"Secret","metadata":{"name":"s","namespace":"default"},"type":"Opaque"}\n',
    );
    assert.deepEqual(managers(object), [
      ['kubectl', 'Apply', { 'f:data': { 'f:password': {} }, 'f:type': {} }],
      // type had the same value in both: shared. The annotation rewrite is not tracked, as in kube.
      [
        'kubectl-client-side-apply',
        'Update',
        { 'f:data': {}, 'f:metadata': { 'f:annotations': { '.': {}, [`f:${LAST_APPLIED_ANNOTATION}`]: {} } }, 'f:type': {} },
      ],
    ]);
  });

  void it('the same change by another manager, or a value edited since the last apply, still conflicts', () => {
    const live = clientSideApplied({ password: 'b2xk' });
    assert.equal(statusOf(() => apply(live, secretConfig({ password: 'bmV3' }), 'other', T1)).code, 409);
    const edited = updateManagedFields(live, { ...live, data: { password: 'ZWRpdA==' } }, { manager: 'kubectl-edit', now: new Date(T1), info: SECRETS });
    const status = statusOf(() => apply(edited, secretConfig({ password: 'bmV3' }), 'kubectl', T2));
    assert.equal(status.message, 'Apply failed with 1 conflict: conflict with "kubectl-edit" using v1: .data.password');
  });
});

void describe('server-side apply: bad requests', () => {
  const message = (config: unknown, fieldManager = 'm') => statusOf(() => apply(undefined, config, fieldManager, T0));

  void it('checks kind and apiVersion, managedFields, and decoding, with kube texts', () => {
    assert.equal(message({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 's' } }).message, 'invalid object type: /v1, Kind=ConfigMap');
    assert.equal(message({ apiVersion: 'apps/v1', kind: 'Secret', metadata: { name: 's' } }).message, 'invalid object type: apps/v1, Kind=Secret');
    assert.equal(message({ kind: 'Secret' }).message, 'invalid object type: /, Kind=Secret');
    assert.deepEqual(message({ ...secretConfig({}), metadata: { name: 's', managedFields: [] } }), {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'metadata.managedFields must be nil',
      reason: 'BadRequest',
      code: 400,
    });
    assert.match(message('a: [1\n').message ?? '', /^error decoding YAML: error converting YAML to JSON: yaml: /);
    assert.equal(
      message('[1]').message,
      'error decoding YAML: error unmarshaling JSON: while decoding JSON: json: cannot unmarshal array into Go value of type map[string]interface {}',
    );
  });

  void it('answers a configuration outside the schema with kube\'s typed-object text as a 400 (kube: 500)', () => {
    const one = message({ ...secretConfig({}), spec: { a: 1 } });
    assert.deepEqual(one, {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'failed to create typed patch object (default/s; /v1, Kind=Secret): .spec: field not declared in schema',
      reason: 'BadRequest',
      code: 400,
    });
    const several = message({ ...secretConfig({}, { finalizers: ['a', 'a'], ownerReferences: [{ name: 'x' }] }), sops: {} });
    assert.equal(
      several.message,
      'failed to create typed patch object (default/s; /v1, Kind=Secret): errors:\n' +
        '  .metadata.finalizers: duplicate entries for key [="a"]\n' +
        '  .metadata.ownerReferences: element 0: associative list with keys has an element that omits key field "uid"\n' +
        '  .sops: field not declared in schema',
    );
  });

  void it('requires a field manager (422 PatchOptions)', () => {
    assert.equal(message(secretConfig({}), '').code, 422);
  });
});
