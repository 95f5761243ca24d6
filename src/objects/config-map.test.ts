import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isConfigMap, readConfigMap, writeConfigMap, type ConfigMap } from './config-map.js';
import { ProtoReader, ProtoWriter } from '../lib/go/protobuf-wire.js';

const EMPTY_META = '0a10 0a00 1200 1a00 2200 2a00 3200 3800 4200';

void describe('ConfigMap protobuf', () => {
  void it('uses 2 data map<string,string>, 3 binaryData map<string,bytes>, 4 immutable', () => {
    const w = new ProtoWriter();
    writeConfigMap(w, { metadata: {}, data: { k: '' }, binaryData: { b: 'AAE=' }, immutable: true });
    const expected = [
      EMPTY_META,
      '12 05 0a01 6b 1200', // data entry: string values are always written, even empty
      '1a 07 0a01 62 1202 0001', // binaryData entry
      '20 01',
    ].join('');
    assert.equal(w.view().toString('hex'), expected.replace(/\s+/g, ''));
    const r = new ProtoReader(w.finish());
    assert.deepEqual(readConfigMap(r), {
      kind: 'ConfigMap',
      apiVersion: 'v1',
      metadata: {},
      immutable: true,
      data: { k: '' },
      binaryData: { b: 'AAE=' },
    } satisfies ConfigMap);
  });

  void it('omits empty maps and an unset immutable', () => {
    const w = new ProtoWriter();
    writeConfigMap(w, { metadata: {}, data: {}, binaryData: null });
    assert.equal(w.view().toString('hex'), EMPTY_META.replace(/\s+/g, ''));
    assert.deepEqual(readConfigMap(new ProtoReader(w.finish())), { kind: 'ConfigMap', apiVersion: 'v1', metadata: {} });
  });

  void it("refuses a bad binaryData value with Go's base64 error, as kube (which names no field)", () => {
    assert.throws(() => writeConfigMap(new ProtoWriter(), { binaryData: { bin: 'AA' } }), /^InvalidError: illegal base64 data at input byte 0$/);
  });

  void it('isConfigMap matches only v1 ConfigMap', () => {
    assert.equal(isConfigMap({ apiVersion: 'v1', kind: 'ConfigMap' }), true);
    assert.equal(isConfigMap({ apiVersion: 'v1', kind: 'Secret' }), false);
  });
});
