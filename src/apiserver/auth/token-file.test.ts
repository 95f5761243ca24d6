import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TokenAuthenticator } from './authenticator.js';
import { parseTokenFile } from './token-file.js';

void describe('token auth file', () => {
  void it('reads kube-apiserver --token-auth-file CSV, quoted groups included', () => {
    const t = parseTokenFile('# comment\n\ntok-1,alice,1001,"dev,ops"\ntok-2,bob,1002\n');
    assert.deepEqual(t.get('tok-1'), { name: 'alice', uid: '1001', groups: ['dev', 'ops'] });
    assert.deepEqual(t.get('tok-2'), { name: 'bob', uid: '1002', groups: [] });
  });

  void it('names the bad line and never the token', () => {
    assert.throws(() => parseTokenFile('s3cr3t-token\n'), (e: Error) => /line 1/.test(e.message) && !e.message.includes('s3cr3t'));
    assert.throws(() => parseTokenFile('dup,a,1\ndup,b,2\n'), (e: Error) => /line 2: duplicate token/.test(e.message) && !e.message.includes('dup,'));
  });

  void it('authenticates bearer tokens and adds system:authenticated', () => {
    const auth = new TokenAuthenticator(parseTokenFile('tok-1,alice,1001,"dev"\n'));
    assert.deepEqual(auth.authenticate({ authorization: 'Bearer tok-1' }), { name: 'alice', uid: '1001', groups: ['dev', 'system:authenticated'] });
    assert.equal(auth.authenticate({ authorization: 'Bearer tok-2' }), undefined);
    assert.equal(auth.authenticate({ authorization: 'Basic dG9rLTE=' }), undefined);
    assert.equal(auth.authenticate({}), undefined);
  });
});
