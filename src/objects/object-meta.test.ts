import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidError } from '../lib/errors.js';
import { readObjectMeta, rfc3339ToUnixSeconds, unixSecondsToRfc3339, writeObjectMeta, type ObjectMeta } from './object-meta.js';
import { ProtoReader, ProtoWriter } from '../lib/go/protobuf-wire.js';

function roundTrip(meta: unknown): ObjectMeta {
  const w = new ProtoWriter();
  writeObjectMeta(w, 1, meta);
  const r = new ProtoReader(w.finish());
  const tag = r.tag();
  return readObjectMeta(r, tag & 7);
}

void describe('metav1.Time conversions', () => {
  void it('reads RFC 3339 as Go does: offsets applied, fractions dropped', () => {
    assert.equal(rfc3339ToUnixSeconds('2023-09-01T15:56:49Z'), 1693583809);
    assert.equal(rfc3339ToUnixSeconds('2023-09-01T17:56:49+02:00'), 1693583809);
    assert.equal(rfc3339ToUnixSeconds('2023-09-01T10:26:49-05:30'), 1693583809);
    assert.equal(rfc3339ToUnixSeconds('2023-09-01T15:56:49.999999999Z'), 1693583809);
    assert.equal(rfc3339ToUnixSeconds('1970-01-01T00:00:00Z'), 0);
    assert.equal(rfc3339ToUnixSeconds('1969-12-31T23:59:59Z'), -1);
    assert.equal(rfc3339ToUnixSeconds('2024-02-29T00:00:00Z'), 1709164800);
    assert.equal(rfc3339ToUnixSeconds('2000-02-29T00:00:00Z'), 951782400);
    assert.equal(rfc3339ToUnixSeconds('0001-01-01T00:00:00Z'), -62135596800);
    assert.equal(rfc3339ToUnixSeconds('9999-12-31T23:59:59Z'), 253402300799);
  });

  void it('answers the same when the same text comes again, right after it or after another (the last parse is kept)', () => {
    for (const [text, seconds] of [
      ['2023-09-01T15:56:49Z', 1693583809],
      ['2023-09-01T15:56:49Z', 1693583809],
      ['2023-02-29T00:00:00Z', undefined],
      ['2023-02-29T00:00:00Z', undefined],
      ['2023-09-01T15:56:49Z', 1693583809],
      ['2023-09-01T17:56:49+02:00', 1693583809],
      ['1970-01-01T00:00:00Z', 0],
      ['1970-01-01T00:00:00Z', 0],
      ['', undefined],
      ['1970-01-01T00:00:00Z', 0],
    ] as const) {
      assert.equal(rfc3339ToUnixSeconds(text), seconds, text);
    }
  });

  void it('refuses what Go time.Parse(RFC3339) refuses', () => {
    for (const bad of [
      '2023-09-01',
      '2023-09-01 15:56:49Z',
      '2023-09-01T15:56:49',
      '2023-09-01T15:56:49z',
      '2023-02-29T00:00:00Z',
      '1900-02-29T00:00:00Z',
      '2023-13-01T00:00:00Z',
      '2023-04-31T00:00:00Z',
      '2023-09-01T24:00:00Z',
      '2023-09-01T15:60:00Z',
      '2023-09-01T15:56:60Z',
      '2023-09-01T15:56:49+24:00',
      '2023-9-1T15:56:49Z',
    ]) {
      assert.equal(rfc3339ToUnixSeconds(bad), undefined, bad);
    }
  });

  void it('formats UTC whole seconds and refuses years outside 0000-9999', () => {
    assert.equal(unixSecondsToRfc3339(1693583809), '2023-09-01T15:56:49Z');
    assert.equal(unixSecondsToRfc3339(-14182940), '1969-07-20T20:17:40Z');
    assert.equal(unixSecondsToRfc3339(-62167219200), '0000-01-01T00:00:00Z');
    assert.equal(unixSecondsToRfc3339(253402300799), '9999-12-31T23:59:59Z');
    assert.equal(unixSecondsToRfc3339(253402300800), undefined);
    assert.equal(unixSecondsToRfc3339(-62167219201), undefined);
  });
});

void describe('ObjectMeta protobuf', () => {
  void it('writes every always-present field, empty, for empty metadata (creationTimestamp as an empty Time)', () => {
    const w = new ProtoWriter();
    writeObjectMeta(w, 1, {});
    assert.equal(w.finish().toString('hex'), '0a10' + '0a00' + '1200' + '1a00' + '2200' + '2a00' + '3200' + '3800' + '4200');
    assert.deepEqual(roundTrip({}), {});
  });

  void it('keeps pre-1970 timestamps (negative seconds) and treats the Go zero time as unset', () => {
    assert.deepEqual(roundTrip({ creationTimestamp: '1969-07-20T20:17:40Z' }), { creationTimestamp: '1969-07-20T20:17:40Z' });
    assert.deepEqual(roundTrip({ creationTimestamp: '0001-01-01T00:00:00Z' }), {});
    assert.deepEqual(roundTrip({ creationTimestamp: null, deletionTimestamp: null }), {});
  });

  void it('normalises timestamps to UTC whole seconds', () => {
    assert.deepEqual(roundTrip({ deletionTimestamp: '2025-01-31T11:00:00.5+01:00' }), {
      deletionTimestamp: '2025-01-31T10:00:00Z',
    });
  });

  void it('drops resourceVersion and selfLink and writes them empty', () => {
    const w1 = new ProtoWriter();
    writeObjectMeta(w1, 1, { name: 'a', resourceVersion: '42', selfLink: '/api/v1/x' });
    const w2 = new ProtoWriter();
    writeObjectMeta(w2, 1, { name: 'a' });
    assert.deepEqual(w1.finish(), w2.finish());
    assert.deepEqual(roundTrip({ name: 'a', resourceVersion: '42' }), { name: 'a' });
  });

  void it('names the offending field, never its value', () => {
    const cases: [unknown, RegExp][] = [
      [{ name: 5 }, /^metadata\.name: must be a string$/],
      [{ generation: 1.5 }, /^metadata\.generation: must be an integer/],
      [{ generation: 2 ** 60 }, /^metadata\.generation: must be an integer within/],
      [{ labels: { a: 1 } }, /^metadata\.labels\[a\]: must be a string$/],
      [{ labels: ['x'] }, /^metadata\.labels: must be an object$/],
      [{ creationTimestamp: 'yesterday' }, /^metadata\.creationTimestamp: must be an RFC 3339 time/],
      [{ finalizers: [1] }, /^metadata\.finalizers\[0\]: must be a string$/],
      [{ ownerReferences: [{ controller: 'yes' }] }, /^metadata\.ownerReferences\[0\]\.controller: must be a boolean$/],
      [{ managedFields: [{ fieldsV1: [] }] }, /^metadata\.managedFields\[0\]\.fieldsV1: must be an object$/],
      ['meta', /^metadata: must be an object$/],
    ];
    for (const [meta, message] of cases) {
      assert.throws(() => writeObjectMeta(new ProtoWriter(), 1, meta), (err: unknown) => err instanceof InvalidError && message.test(err.message));
    }
  });
});
