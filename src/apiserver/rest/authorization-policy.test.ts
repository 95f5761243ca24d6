import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { denialReason, isAllowed, parsePolicy } from './authorization-policy.js';

const POLICY = `rules:
  - users: [alice]
    verbs: [get, list, watch]
    resources: [secrets]
    namespaces: [team-a]
  - groups: [ops]
    verbs: ["*"]
    resources: ["*"]
`;

void describe('authorization policy', () => {
  const rules = parsePolicy(POLICY);
  const alice = { name: 'alice', groups: [] };

  void it('allows what a rule names and nothing else', () => {
    assert.equal(isAllowed(rules, alice, { verb: 'get', resource: 'secrets', namespace: 'team-a' }), true);
    assert.equal(isAllowed(rules, alice, { verb: 'get', resource: 'secrets', namespace: 'team-b' }), false);
    assert.equal(isAllowed(rules, alice, { verb: 'delete', resource: 'secrets', namespace: 'team-a' }), false);
    assert.equal(isAllowed(rules, alice, { verb: 'list', resource: 'secrets', namespace: undefined }), false, 'all namespaces');
    assert.equal(isAllowed(rules, { name: 'bob', groups: ['ops'] }, { verb: 'delete', resource: 'namespaces', namespace: undefined }), true);
    assert.equal(isAllowed(rules, { name: 'root', groups: ['system:masters'] }, { verb: 'delete', resource: 'x', namespace: 'y' }), true);
    assert.equal(isAllowed(undefined, alice, { verb: 'delete', resource: 'secrets', namespace: 'y' }), true, 'no policy');
  });

  void it('words a denial as kube RBAC does', () => {
    assert.equal(
      denialReason(alice, { verb: 'get', resource: 'secrets', namespace: 'team-b' }),
      'User "alice" cannot get resource "secrets" in API group "" in the namespace "team-b"',
    );
    assert.match(denialReason(alice, { verb: 'list', resource: 'namespaces', namespace: undefined }), /at the cluster scope$/);
  });

  void it('names the bad field of a policy file', () => {
    assert.throws(() => parsePolicy('rules:\n  - users: [a]\n    verbs: [steal]\n'), /rules\[0\]\.verbs: unknown verb "steal"/);
    assert.throws(() => parsePolicy('rules:\n  - verbs: [get]\n'), /rules\[0\]: needs users or groups/);
    assert.throws(() => parsePolicy('nope: 1\n'), /rules: must be a list of rules/);
  });
});
