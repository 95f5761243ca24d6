import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CONFIG_MAPS, EVENTS, SECRETS } from '../resource-info.js';
import { decodingError, unknownFields } from './field-validation.js';

// The texts field validation produces, pinned: the walks skip scalars and build a path only where it is used, and the
// kind's definition is looked up once; none of that may change a path, its order or a Go error text.
void describe('field validation', () => {
  void it('lists unknown fields at every depth, in document order', () => {
    const body = {
      metadata: {
        name: 'a',
        lables: { x: 'y' },
        ownerReferences: [{ apiVersion: 'v1', kind: 'K', name: 'n', uid: 'u', foo: 1 }, { bar: { baz: 1 } }],
        managedFields: [{ manager: 'm', fieldsV1: { 'f:data': {} }, zzz: [1] }],
      },
      data: { v: 'eA==' },
      stringData: { a: 'b' },
      type: 'Opaque',
      extra: { deep: [1, { x: 2 }] },
    };
    assert.deepEqual(unknownFields(SECRETS, body), ['metadata.lables', 'metadata.ownerReferences[0].foo', 'metadata.ownerReferences[1].bar', 'metadata.managedFields[0].zzz', 'extra']);
    assert.deepEqual(unknownFields(CONFIG_MAPS, body), [
      'metadata.lables',
      'metadata.ownerReferences[0].foo',
      'metadata.ownerReferences[1].bar',
      'metadata.managedFields[0].zzz',
      'stringData',
      'type',
      'extra',
    ]);
    assert.deepEqual(unknownFields(SECRETS, { 1: 'a', b: { c: 1 }, metadata: { 2: 1 } }), ['1', 'b', 'metadata.2']);
    assert.deepEqual(unknownFields(EVENTS, { involvedObject: { kind: 'K', zz: 1 }, count: 1, spec: 1 }), ['involvedObject.zz', 'spec']);
    // An inherited enumerable property is not the body's.
    const inherited = Object.assign(Object.create({ inheritedField: 1 }) as object, { data: {} });
    assert.deepEqual(unknownFields(SECRETS, inherited), []);
  });

  void it("words type mismatches as Go's encoding/json", () => {
    const cases: [unknown, string | undefined][] = [
      [{ metadata: { labels: { a: { b: 1 } } } }, 'json: cannot unmarshal object into Go struct field ObjectMeta.metadata.labels of type string'],
      [{ metadata: { finalizers: 'x' } }, 'json: cannot unmarshal string into Go struct field ObjectMeta.metadata.finalizers of type []string'],
      [{ metadata: { generation: 1.5 } }, 'json: cannot unmarshal number 1.5 into Go struct field ObjectMeta.metadata.generation of type int64'],
      [{ metadata: { ownerReferences: [{ controller: 'yes' }] } }, 'json: cannot unmarshal string into Go struct field OwnerReference.metadata.ownerReferences.controller of type bool'],
      [{ data: { a: 1 } }, 'json: cannot unmarshal number into Go struct field Secret.data of type []uint8'],
      [{ data: [1] }, 'json: cannot unmarshal array into Go struct field Secret.data of type map[string][]uint8'],
      [{ immutable: 'true' }, 'json: cannot unmarshal string into Go struct field Secret.immutable of type bool'],
      [{ metadata: { managedFields: [{ time: 5 }] } }, 'json: cannot unmarshal number into Go struct field ManagedFieldsEntry.metadata.managedFields.time of type v1.Time'],
      [{ metadata: { annotations: [] }, status: { phase: 3 } }, 'json: cannot unmarshal array into Go struct field ObjectMeta.metadata.annotations of type map[string]string'],
      [{ metadata: { name: 'a' }, data: { v: 'eA==' }, spec: { x: 1 } }, undefined],
    ];
    for (const [body, want] of cases) assert.equal(decodingError(SECRETS, body), want, JSON.stringify(body));
    assert.equal(decodingError(EVENTS, { involvedObject: { kind: 1 } }), 'json: cannot unmarshal number into Go struct field ObjectReference.involvedObject.kind of type string');
  });
});
