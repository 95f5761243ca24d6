import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidError } from '../lib/errors.js';
import { isSecret, normalizeSecretForStorage, type Secret } from './secret.js';

void describe('normalizeSecretForStorage', () => {
  void it('merges stringData into data, overwriting, as UTF-8 base64, and defaults type to Opaque', () => {
    const input: Secret = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 's' },
      data: { a: 'YQ==', keep: 'aw==' },
      stringData: { a: 'overwritten', 'ü': 'héllo', empty: '' },
    };
    const out = normalizeSecretForStorage(input);
    assert.deepEqual(out, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 's' },
      data: { a: 'b3ZlcndyaXR0ZW4=', keep: 'aw==', 'ü': 'aMOpbGxv', empty: '' },
      type: 'Opaque',
    });
    assert.equal('stringData' in out, false);
    assert.deepEqual(input.data, { a: 'YQ==', keep: 'aw==' }, 'input not mutated');
    assert.ok(input.stringData);
  });

  void it('keeps an explicit type and leaves data alone without stringData', () => {
    const out = normalizeSecretForStorage({ apiVersion: 'v1', kind: 'Secret', metadata: {}, type: 'kubernetes.io/tls' });
    assert.deepEqual(out, { apiVersion: 'v1', kind: 'Secret', metadata: {}, type: 'kubernetes.io/tls' });
    assert.equal(normalizeSecretForStorage({ apiVersion: 'v1', kind: 'Secret', metadata: {}, type: '' }).type, 'Opaque');
  });

  void it('creates data when only stringData is given, and an own __proto__ key stays a plain key', () => {
    const stringData = JSON.parse('{"__proto__":"x"}') as Record<string, string>;
    const out = normalizeSecretForStorage({ apiVersion: 'v1', kind: 'Secret', metadata: {}, stringData });
    assert.equal(Object.getPrototypeOf(out.data), Object.prototype);
    assert.deepEqual(Object.entries(out.data!), [['__proto__', 'eA==']]);
  });

  void it('names a non-string stringData value without echoing anything', () => {
    const bad = { apiVersion: 'v1', kind: 'Secret', metadata: {}, stringData: { k: 5 } } as unknown as Secret;
    assert.throws(() => normalizeSecretForStorage(bad), (err: unknown) => err instanceof InvalidError && err.message === 'stringData[k]: must be a string');
  });
});

void describe('isSecret', () => {
  void it('matches only v1 Secret', () => {
    assert.equal(isSecret({ apiVersion: 'v1', kind: 'Secret' }), true);
    assert.equal(isSecret({ apiVersion: 'v1', kind: 'ConfigMap' }), false);
    assert.equal(isSecret({ apiVersion: 'v2', kind: 'Secret' }), false);
  });
});
