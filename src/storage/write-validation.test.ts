import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidError } from '../lib/errors.js';
import { DEFAULT_KEY_PREFIX, MAX_VALUE_BYTES, validateKey, validateWrite } from './write-validation.js';

const opts = { prefix: DEFAULT_KEY_PREFIX };

void describe('write validation', () => {
  void it('accepts keys under the prefix and values up to 1.5 MiB', () => {
    validateWrite('/registry/secrets/default/a', new Uint8Array(0), opts);
    validateWrite('/registry/secrets/default/\u{1F600}', new Uint8Array(MAX_VALUE_BYTES), opts);
    assert.equal(MAX_VALUE_BYTES, 1572864);
  });

  void it('refuses empty keys, keys outside the prefix, the bare prefix and broken Unicode', () => {
    for (const key of ['', '/other/a', '/registry', '/registry/', 'registry/a', '/registry/a\uD800', '/registry/\uDC00b']) {
      assert.throws(() => validateKey(key, opts), InvalidError, JSON.stringify(key));
    }
    assert.throws(() => validateKey('/registry/a', { prefix: '/coffer/' }), /not under the store's prefix "\/coffer\/"/);
  });

  void it('refuses an oversized value naming the key and the size, never the value', () => {
    const value = Buffer.alloc(MAX_VALUE_BYTES + 1, 'canary!');
    assert.throws(
      () => validateWrite('/registry/secrets/ns/big', value, opts),
      (e: Error) =>
        e instanceof InvalidError &&
        e.message.includes('"/registry/secrets/ns/big"') &&
        e.message.includes(String(MAX_VALUE_BYTES + 1)) &&
        !e.message.includes('canary'),
    );
  });

  void it('refuses values that are not bytes', () => {
    assert.throws(() => validateWrite('/registry/a', 'text' as unknown as Uint8Array, opts), /must be bytes/);
  });
});
