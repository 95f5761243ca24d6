import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseKmsEndpoint } from './unix-endpoint.js';

void describe('parseKmsEndpoint', () => {
  void it('takes the socket path from the URL path', () => {
    assert.deepEqual(parseKmsEndpoint('unix:///var/run/kms.sock'), {
      path: '/var/run/kms.sock',
      abstract: false,
      grpcTarget: 'unix:///var/run/kms.sock',
    });
  });

  void it('reads a host-form URL as Go does: the host is not part of the path', () => {
    assert.equal(parseKmsEndpoint('unix://tmp/x.sock').path, '/x.sock');
  });

  void it('maps /@name to a Linux abstract socket', () => {
    const e = parseKmsEndpoint('unix:///@kms-plugin');
    assert.equal(e.abstract, true);
    assert.equal(e.path, '@kms-plugin');
    assert.equal(e.grpcTarget, 'unix:\0kms-plugin');
  });

  void it('refuses other schemes, non-URLs and empty paths, naming the endpoint', () => {
    assert.throws(() => parseKmsEndpoint('tcp://127.0.0.1:9000'), /"tcp:\/\/127\.0\.0\.1:9000".*scheme must be unix, got "tcp"/);
    assert.throws(() => parseKmsEndpoint('/var/run/kms.sock'), /"\/var\/run\/kms\.sock": not a URL/);
    assert.throws(() => parseKmsEndpoint('unix://'), /no socket path/);
  });
});
