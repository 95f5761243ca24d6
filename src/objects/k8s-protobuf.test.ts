import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidError } from '../lib/errors.js';
import { beginK8sEnvelope, endK8sEnvelope, hasK8sProtobufMagic, readK8sEnvelope, setOwn } from './k8s-protobuf.js';
import { ProtoReader, ProtoWriter } from '../lib/go/protobuf-wire.js';

void describe('runtime.Unknown envelope', () => {
  void it('writes magic, typeMeta, raw and the always-present empty contentEncoding/contentType', () => {
    const w = new ProtoWriter();
    const raw = beginK8sEnvelope(w, 'v1', 'Secret');
    w.string(1, 'x'.repeat(200));
    endK8sEnvelope(w, raw);
    const out = w.finish();
    const head = '6b387300' + '0a0c0a0276311206' + Buffer.from('Secret').toString('hex') + '12cb01';
    assert.equal(out.subarray(0, head.length / 2).toString('hex'), head);
    assert.equal(out.subarray(-4).toString('hex'), '1a002200');
    assert.equal(out.length, 4 + 14 + 3 + 203 + 4);

    const r = new ProtoReader(out, 4);
    const env = readK8sEnvelope(r);
    assert.deepEqual({ ...env }, { apiVersion: 'v1', kind: 'Secret', rawStart: 21, rawEnd: 224 });
  });

  void it('reads fields in any order and ignores contentType, as upstream does', () => {
    const body = Buffer.from('2203666f6f' + '1201aa' + '0a0c0a027631120643617463686b', 'hex');
    const env = readK8sEnvelope(new ProtoReader(Buffer.concat([Buffer.from('6b387300', 'hex'), body]), 4));
    assert.equal(env.kind, 'Catchk');
    assert.equal(env.rawEnd - env.rawStart, 1);
  });

  void it('recognises only the k8s\\0 magic', () => {
    assert.equal(hasK8sProtobufMagic(Buffer.from('6b387300', 'hex')), true);
    assert.equal(hasK8sProtobufMagic(Buffer.from('k8s:enc:aescbc:v1:')), false);
    assert.equal(hasK8sProtobufMagic(Buffer.from('6b3873', 'hex')), false);
  });

  void it('requires a kind', () => {
    const r = new ProtoReader(Buffer.from('0a040a027631', 'hex'));
    assert.throws(() => readK8sEnvelope(r), (e: unknown) => e instanceof InvalidError && /no kind/.test(e.message));
  });
});

void describe('map conventions', () => {
  void it('setOwn creates an own __proto__ property instead of changing the prototype', () => {
    const target: Record<string, string> = {};
    setOwn(target, '__proto__', 'v');
    setOwn(target, 'a', 'b');
    assert.equal(Object.getPrototypeOf(target), Object.prototype);
    assert.deepEqual(Object.keys(target), ['__proto__', 'a']);
  });
});
