import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Acl, parsePolicy } from './acl-policy.js';

const acl = (...texts: string[]) => new Acl(texts.map((t, i) => parsePolicy(`p${i}`, t)));

void describe('ACL policies', () => {
  void it('parses HCL with comments, the JSON form, and the old policy shorthand', () => {
    const hcl = parsePolicy('a', `
      # comment
      path "secret/data/app/*" {
        capabilities = ["read", "list"] // trailing comment
        allowed_parameters = { "key" = [] }
      }
      /* block comment */
      path "transit/encrypt/kms" { policy = "write" }
    `);
    assert.deepEqual(hcl.rules.map((r) => [r.pattern, [...r.capabilities].sort()]), [
      ['secret/data/app/*', ['list', 'read']],
      ['transit/encrypt/kms', ['create', 'delete', 'list', 'read', 'update']],
    ]);
    const json = parsePolicy('b', '{"path":{"secret/*":{"capabilities":["read"]}}}');
    assert.deepEqual([...json.rules[0]!.capabilities], ['read']);
  });

  void it('rejects unknown capabilities and keys with Vault’s wording', () => {
    assert.throws(() => parsePolicy('x', 'path "a" { capabilities = ["fly"] }'), /failed to parse policy: path "a": invalid capability "fly"/);
    assert.throws(() => parsePolicy('x', 'path "a" { capability = ["read"] }'), /invalid key "capability"/);
    assert.throws(() => parsePolicy('x', 'path "a" { capabilities = ["read"]'), /failed to parse policy: line 1/);
  });

  void it('prefers an exact match, then the most specific glob', () => {
    const a = acl(`
      path "secret/*"            { capabilities = ["read"] }
      path "secret/data/app/*"   { capabilities = ["update"] }
      path "secret/data/app/x"   { capabilities = ["delete"] }
    `);
    assert.deepEqual([...a.capabilities('secret/data/app/x')], ['delete']);
    assert.deepEqual([...a.capabilities('secret/data/app/y')], ['update']);
    assert.deepEqual([...a.capabilities('secret/other')], ['read']);
    assert.equal(a.allows('transit/keys/k', 'read'), false);
  });

  void it('matches + as exactly one segment, and ranks later wildcards above earlier ones', () => {
    const a = acl(`
      path "secret/data/+/config" { capabilities = ["read"] }
      path "secret/data/+/*"      { capabilities = ["list"] }
      path "secret/+/team/*"      { capabilities = ["update"] }
    `);
    assert.ok(a.allows('secret/data/dev/config', 'read'));
    assert.ok(!a.allows('secret/data/dev/sub/config', 'read'));
    assert.ok(a.allows('secret/data/dev/sub/config', 'list'));
    // "secret/data/+/*" has its first wildcard later than "secret/+/team/*", so it wins.
    assert.deepEqual([...a.capabilities('secret/data/team/x')], ['list']);
  });

  void it('unions the same pattern across policies, and deny beats everything', () => {
    const a = acl('path "secret/*" { capabilities = ["read"] }', 'path "secret/*" { capabilities = ["list"] }');
    assert.deepEqual([...a.capabilities('secret/x')].sort(), ['list', 'read']);
    const d = acl('path "secret/*" { capabilities = ["read", "sudo"] }', 'path "secret/*" { capabilities = ["deny"] }');
    assert.equal(d.allows('secret/x', 'read'), false);
  });

  void it('matches LIST paths with and without the trailing slash', () => {
    const a = acl('path "secret/metadata/app" { capabilities = ["list"] }', 'path "secret/metadata/team/*" { capabilities = ["list"] }');
    assert.ok(a.allows('secret/metadata/app/', 'list', { list: true }));
    assert.ok(a.allows('secret/metadata/team/', 'list', { list: true }));
    assert.ok(!a.allows('secret/metadata/other/', 'list', { list: true }));
  });

  void it('gives root everything', () => {
    assert.ok(new Acl([], { root: true }).allows('anything/at/all', 'sudo'));
  });
});
