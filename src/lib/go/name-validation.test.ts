import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fullyQualifiedDomainNameError, isDns1123Label, isDns1123Subdomain, isQualifiedName } from './name-validation.js';

// Cases from k8s.io/apimachinery pkg/util/validation/validation_test.go, with upstream's messages.
void describe('apimachinery name rules', () => {
  void it('DNS-1123 labels and subdomains', () => {
    for (const ok of ['a', 'ab', 'a-b', '0', 'a'.repeat(63)]) assert.deepEqual(isDns1123Label(ok), [], ok);
    assert.deepEqual(isDns1123Label('a.b'), ['must not contain dots']);
    assert.deepEqual(isDns1123Label('a'.repeat(64)), ['must be no more than 63 characters']);
    assert.match(isDns1123Label('-a')[0]!, /^a lowercase RFC 1123 label must consist of .*\(e\.g\. 'my-name', {2}or '123-abc', regex used/);
    for (const ok of ['a.b', 'a-1.b-2', 'a'.repeat(253)]) assert.deepEqual(isDns1123Subdomain(ok), [], ok.slice(0, 10));
    assert.equal(isDns1123Subdomain('A.b').length, 1);
    assert.deepEqual(isDns1123Subdomain('a'.repeat(254)).slice(0, 1), ['must be no more than 253 characters']);
  });

  void it('qualified names ([prefix/]name)', () => {
    assert.deepEqual(isQualifiedName('example.com/My_Name'), []);
    assert.deepEqual(isQualifiedName('/a'), ['prefix part must be non-empty']);
    assert.match(isQualifiedName('a/b/c')[0]!, /with an optional DNS subdomain prefix and '\/'/);
  });

  void it('fully qualified domain names name the part that is wrong', () => {
    assert.equal(fullyQualifiedDomainNameError('kms.example.com.'), undefined);
    assert.deepEqual(fullyQualifiedDomainNameError('localhost'), { value: 'localhost', detail: 'should be a domain with at least two segments separated by dots' });
    assert.equal(fullyQualifiedDomainNameError('Bad.example')?.value, 'Bad.example');
    assert.deepEqual(fullyQualifiedDomainNameError(`${'a'.repeat(64)}.example`), { value: 'a'.repeat(64), detail: 'must be no more than 63 characters' });
  });
});
