import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeObject, encodeObject } from './object-codec.js';
import { isNamespace, readNamespace, writeNamespace, type Namespace } from './namespace.js';
import { ProtoReader, ProtoWriter } from '../lib/go/protobuf-wire.js';

const EMPTY_META = '0a10 0a00 1200 1a00 2200 2a00 3200 3800 4200';
const hex = (s: string) => s.replace(/\s+/g, '');

void describe('Namespace protobuf', () => {
  void it('always writes spec, status, phase and every condition string and time, as gogo does', () => {
    const w = new ProtoWriter();
    writeNamespace(w, {
      metadata: {},
      spec: { finalizers: ['kubernetes'] },
      status: { phase: 'Terminating', conditions: [{ type: 'T', status: 'False', lastTransitionTime: '1970-01-01T00:00:01Z' }] },
    });
    const expected = [
      EMPTY_META,
      '12 0c 0a0a 6b756265726e65746573', // spec {1 "kubernetes"}
      '1a 23', // status
      '0a0b 5465726d696e6174696e67', // phase "Terminating"
      '12 14 0a01 54 1205 46616c7365 2204 0801 1000 2a00 3200', // condition: type, status, time {1, 0}, reason "", message ""
    ].join('');
    assert.equal(w.view().toString('hex'), hex(expected));
    assert.deepEqual(readNamespace(new ProtoReader(w.finish())), {
      kind: 'Namespace',
      apiVersion: 'v1',
      metadata: {},
      spec: { finalizers: ['kubernetes'] },
      status: { phase: 'Terminating', conditions: [{ type: 'T', status: 'False', lastTransitionTime: '1970-01-01T00:00:01Z' }] },
    } satisfies Namespace);
  });

  void it('writes empty spec and status messages and reads them back as empty objects', () => {
    const w = new ProtoWriter();
    writeNamespace(w, { metadata: {} });
    assert.equal(w.view().toString('hex'), hex(`${EMPTY_META} 1200 1a02 0a00`));
    assert.deepEqual(readNamespace(new ProtoReader(w.finish())), { kind: 'Namespace', apiVersion: 'v1', metadata: {}, spec: {}, status: {} });
  });

  void it('an unset condition time is an empty message and reads as absent', () => {
    const w = new ProtoWriter();
    writeNamespace(w, { metadata: {}, status: { conditions: [{ type: 'A', status: 'True', reason: 'R', message: 'm' }] } });
    const ns = readNamespace(new ProtoReader(w.finish()));
    assert.deepEqual(ns.status, { conditions: [{ type: 'A', status: 'True', reason: 'R', message: 'm' }] });
  });

  void it('round-trips through the object codec as k8s protobuf and as JSON', () => {
    const ns: Namespace = {
      kind: 'Namespace',
      apiVersion: 'v1',
      metadata: {
        name: 'team-a',
        uid: 'u-1',
        creationTimestamp: '2025-01-31T10:00:00Z',
        labels: { 'kubernetes.io/metadata.name': 'team-a' },
        resourceVersion: '7',
      },
      spec: { finalizers: ['kubernetes'] },
      status: { phase: 'Active' },
    };
    const bytes = encodeObject(ns);
    assert.equal(bytes.subarray(0, 4).toString('latin1'), 'k8s\0');
    const { resourceVersion: _rv, ...meta } = ns.metadata;
    assert.deepEqual(decodeObject(bytes), { ...ns, metadata: meta });
    assert.deepEqual(decodeObject(encodeObject(ns, { mediaType: 'json' })), { ...ns, metadata: meta });
  });

  void it('names a malformed field without echoing it', () => {
    assert.throws(() => writeNamespace(new ProtoWriter(), { spec: { finalizers: [1] } }), /^InvalidError: spec\.finalizers\[0\]: must be a string/);
    assert.throws(
      () => writeNamespace(new ProtoWriter(), { status: { conditions: [{ lastTransitionTime: 'yesterday' }] } }),
      /^InvalidError: status\.conditions\[0\]\.lastTransitionTime: must be an RFC 3339 time/,
    );
  });

  void it('isNamespace matches only v1 Namespace', () => {
    assert.equal(isNamespace({ apiVersion: 'v1', kind: 'Namespace' }), true);
    assert.equal(isNamespace({ apiVersion: 'v1', kind: 'Secret' }), false);
  });
});
