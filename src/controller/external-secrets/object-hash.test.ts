import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatGoByteMap, hashSecretData, hashString } from './object-hash.js';

// Vectors from ESO's runtime/esutils/utils_test.go, and more computed by the same ObjectHash
// (runtime/esutils/utils.go), so Secrets ESO manages are adopted unchanged.
void describe('ESO ObjectHash', () => {
  void it('matches ESO for byte maps, strings and the created-by label', () => {
    const data = { foo: Buffer.from('value1'), bar: Buffer.from('value2') };
    assert.equal(formatGoByteMap(data), 'map[bar:[118 97 108 117 101 50] foo:[118 97 108 117 101 49]]');
    assert.equal(hashSecretData(data), '1bed8bcbcb4547ffe19a19cd47d9078e84aa6598266d86b99f992d64');
    assert.equal(hashString('hello there'), 'f78681ec611ebaeea0689bff6c7812a83ff98a7faba986d9af76c999');
    assert.equal(hashSecretData({}), '74a974446e359fb3e6baff9bd0058950e6edd0f040888d9989b0a11b');
    assert.equal(hashString('app/db-creds'), '7368e57a1d6f43c5025cec6de703ebb840117d62c7da91e9f680a9d0');
    assert.equal(hashSecretData({ password: Buffer.from('s3cr3t'), username: Buffer.from('admin') }), '4dc87f1bc1b42f99971f11cd8a752c3c1babc6486c0744d841d68c6a');
  });
});
