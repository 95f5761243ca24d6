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

const req = (verb: string, resource: string, namespace: string | undefined) => ({ verb, group: '', resource, namespace });

void describe('authorization policy', () => {
  const rules = parsePolicy(POLICY);
  const alice = { name: 'alice', groups: ['system:authenticated'] };

  void it('allows what a rule names and nothing else', () => {
    assert.equal(isAllowed(rules, alice, req('get', 'secrets', 'team-a')), true);
    assert.equal(isAllowed(rules, alice, req('get', 'secrets', 'team-b')), false);
    assert.equal(isAllowed(rules, alice, req('delete', 'secrets', 'team-a')), false);
    assert.equal(isAllowed(rules, alice, req('list', 'secrets', undefined)), false, 'all namespaces');
    assert.equal(isAllowed(rules, { name: 'bob', groups: ['ops'] }, req('delete', 'namespaces', undefined)), true);
    assert.equal(isAllowed(rules, { name: 'root', groups: ['system:masters'] }, req('delete', 'x', 'y')), true);
    assert.equal(isAllowed(undefined, alice, req('delete', 'secrets', 'y')), true, 'no policy');
  });

  void it('words a denial as kube RBAC does', () => {
    assert.equal(
      denialReason(alice, req('get', 'secrets', 'team-b')),
      'User "alice" cannot get resource "secrets" in API group "" in the namespace "team-b"',
    );
    assert.match(denialReason(alice, req('list', 'namespaces', undefined)), /at the cluster scope$/);
  });

  void it('names the bad field of a policy file', () => {
    assert.throws(() => parsePolicy('rules:\n  - users: [a]\n    verbs: [steal]\n    resources: [secrets]\n'), /rules\[0\]\.verbs: unknown verb "steal"/);
    assert.throws(() => parsePolicy('rules:\n  - verbs: [get]\n'), /rules\[0\]: needs users or groups/);
    assert.throws(() => parsePolicy('rules:\n  - users: [a]\n    verbs: [get]\n    resource: [secrets]\n'), /rules\[0\]\.resource: unknown field "resource"/);
    assert.throws(() => parsePolicy('nope: 1\n'), /rules: must be a list of rules/);
  });
});
