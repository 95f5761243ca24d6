import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ContinueTokenError, decodeContinue, encodeContinue } from './continue-token.js';

const PREFIX = '/registry/secrets/';
const token = (json: string) => Buffer.from(json).toString('base64url');

function fails(t: string, message: string): void {
  assert.throws(() => decodeContinue(t, PREFIX), (err: unknown) => err instanceof ContinueTokenError && err.message === message, message);
}

void describe('continue tokens', () => {
  void it("encode kube's {v, rv, start} relative to the prefix, base64url without padding", () => {
    const t = encodeContinue('/registry/secrets/default/b\0', PREFIX, 42);
    assert.equal(Buffer.from(t, 'base64url').toString(), '{"v":"meta.k8s.io/v1","rv":42,"start":"default/b\\u0000"}');
    assert.doesNotMatch(t, /[=+/]/);
    assert.deepEqual(decodeContinue(t, PREFIX), { startKey: '/registry/secrets/default/b\0', revision: 42 });
    assert.deepEqual(decodeContinue(token('{"v":"meta.k8s.io/v1","rv":-1,"start":"x"}'), PREFIX).revision, -1);
  });

  void it('refuses malformed, foreign and escaping tokens', () => {
    fails('a*b', 'continue key is not valid: illegal base64 data at input byte 1');
    fails(token('{"v":"meta.k8s.io/v2","rv":1,"start":"a"}'), 'continue key is not valid server does not recognize this encoded version "meta.k8s.io/v2"');
    fails(token('{"v":"meta.k8s.io/v1","rv":0,"start":"a"}'), 'continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
    fails(token('{"v":"meta.k8s.io/v1","rv":3,"start":""}'), 'continue key is not valid: encoded start key empty (version meta.k8s.io/v1)');
    fails(token('{"v":"meta.k8s.io/v1","rv":3,"start":"../configmaps/x"}'), 'continue key is not valid: ../configmaps/x');
    fails(token('{"v":"meta.k8s.io/v1","rv":3,"start":"a//b"}'), 'continue key is not valid: a//b');
  });
});
