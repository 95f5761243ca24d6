// Property tests on generated inputs for decoding strategies, key rewrite and conversion, plus ESO's documented cases.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { decodeValue } from './decoding-strategy.js';
import { GoRegexp } from '../../lib/go/regexp.js';
import { convertKeys, validateKeys } from './key-conversion.js';
import { rewriteKeys } from './rewrite.js';

// A small deterministic generator, so a failure reproduces.
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}
const ALPHABET = 'abcXYZ019-._/ :@ü';
function genKey(r: () => number): string {
  const n = 1 + Math.floor(r() * 12);
  return Array.from({ length: n }, () => ALPHABET[Math.floor(r() * ALPHABET.length)]).join('');
}

void describe('decodingStrategy', () => {
  void it('Base64 and Base64URL round-trip any bytes; Auto decodes what encoding produced', () => {
    for (let i = 0; i < 300; i++) {
      const bytes = randomBytes(i % 50);
      assert.deepEqual(decodeValue(Buffer.from(bytes.toString('base64')), 'Base64'), bytes);
      const url = bytes.toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
      assert.deepEqual(decodeValue(Buffer.from(url), 'Base64URL'), bytes);
      assert.deepEqual(decodeValue(Buffer.from(bytes.toString('base64')), 'Auto'), bytes);
      assert.deepEqual(decodeValue(bytes, 'None'), bytes);
    }
  });

  void it('is strict like Go: missing padding and stray characters are errors, Auto leaves them alone', () => {
    assert.throws(() => decodeValue(Buffer.from('YWJj ZA=='), 'Base64'), /illegal base64 data/);
    assert.throws(() => decodeValue(Buffer.from('YWJjZA'), 'Base64'), /illegal base64 data/);
    assert.deepEqual(decodeValue(Buffer.from('YWJj\r\nZA=='), 'Base64'), Buffer.from('abcd'));
    assert.equal(decodeValue(Buffer.from('not base64!'), 'Auto').toString(), 'not base64!');
    assert.equal(decodeValue(Buffer.from('1234'), 'Auto').length, 3, 'ESO documents this mis-decoding');
    assert.throws(() => decodeValue(Buffer.from('x'), 'Hex'), /decoding strategy Hex is not supported/);
  });
});

void describe('rewrite and key conversion', () => {
  void it('regexp rewrite with Go expansion ($1, ${1}, $name, $$, missing groups)', () => {
    const data = { 'path/to/key': 1, other: 2 };
    assert.deepEqual(rewriteKeys(data, [{ regexp: { source: '^path/to/(.*)', target: 'k-${1}' } }]), { 'k-key': 1, other: 2 });
    assert.deepEqual(rewriteKeys({ 'a-b': 1 }, [{ regexp: { source: '(?P<x>a)-(b)', target: '$x.$2.$$.$9.$1x' } }]), { 'a.b.$..': 1 });
    assert.deepEqual(rewriteKeys({ ABC: 1 }, [{ regexp: { source: '(?i)abc', target: 'x' } }]), { x: 1 });
    assert.deepEqual(rewriteKeys({ 'db/user': 1 }, [{ regexp: { source: '/', target: '_' } }, { transform: { template: '{{ .value | upper }}' } }]), { DB_USER: 1 });
    assert.equal(GoRegexp.compile('a*').replaceAllString('baaac', 'X'), 'XbXcX', 'Go skips an empty match right after a match');
    assert.equal(GoRegexp.compile('[[:digit:]]+').replaceAllString('a12b3', '#'), 'a#b#');
    assert.throws(() => rewriteKeys({ a: 1 }, [{ regexp: { source: '(?=a)', target: '' } }]), /failed rewrite operation\[0\]: regexp failed with failed to compile: error parsing regexp: invalid or unsupported Perl syntax: `\(\?=`/);
  });

  void it('identity rewrites keep every key; literal targets replace every match (generated keys)', () => {
    const r = rng(42);
    for (let i = 0; i < 300; i++) {
      const key = genKey(r);
      assert.deepEqual(Object.keys(rewriteKeys({ [key]: 0 }, [{ regexp: { source: '^(.*)$', target: '${1}' } }])), [key]);
      assert.equal(GoRegexp.compile('/').replaceAllString(key, '_'), key.split('/').join('_'));
      assert.equal(GoRegexp.compile('zzz-never').replaceAllString(key, 'q'), key);
    }
  });

  void it('conversion yields only valid keys, and Default is the same as Unicode up to the escape (generated keys)', () => {
    const r = rng(7);
    for (let i = 0; i < 300; i++) {
      const key = genKey(r);
      const d = Object.keys(convertKeys({ [key]: 0 }, 'Default'))[0]!;
      const u = Object.keys(convertKeys({ [key]: 0 }, 'Unicode'))[0]!;
      assert.doesNotThrow(() => validateKeys({ [d]: 0, [u]: 0 }));
      assert.equal(d.length, [...key].length === key.length ? key.length : d.length);
      assert.equal(u.replace(/_U[0-9a-f]{4,}_/g, '_'), d);
    }
    assert.deepEqual(convertKeys({ '/path/key1': 1 }, 'Default'), { _path_key1: 1 });
    assert.deepEqual(convertKeys({ 'a/[': 1 }, 'Unicode'), { a_U002f__U005b_: 1 });
    assert.throws(() => convertKeys({ 'a/b': 1, a_b: 2 }, 'Default'), /secret name collision during conversion: a_b/);
    assert.throws(() => validateKeys({ 'a b': 1 }), /key has invalid character {2}, only alphanumeric/);
  });
});
