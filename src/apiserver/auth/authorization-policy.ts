// Who may do what: a small policy file in the spirit of kube's RBAC rules, kept in one YAML file (docs/authorization-policy.md).
//
//   rules:
//     - users: [alice]            # and/or groups: [dev]; "*" matches every authenticated user
//       verbs: [get, list, watch] # get list watch create update patch delete deletecollection, or "*"
//       resources: [secrets]      # secrets configmaps namespaces namespaces/status namespaces/finalize, or "*"
//       namespaces: [team-a]      # omitted or "*": every namespace, and cluster-scoped requests
//
// Without a policy file every authenticated user may do everything. Members of system:masters (the generated admin)
// may always do everything, as in Kubernetes, so a bad policy cannot lock the administrator out.
import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { InvalidError } from '../../lib/errors.js';
import type { UserInfo } from './authenticator.js';

export interface PolicyRule {
  users: string[];
  groups: string[];
  verbs: string[];
  resources: string[];
  /** undefined: any namespace and cluster scope. */
  namespaces: string[] | undefined;
}

export interface AccessRequest {
  verb: string;
  group: string;
  /** The resource, with its subresource when there is one: `secrets`, `namespaces/finalize`. */
  resource: string;
  namespace: string | undefined;
}

export const MASTERS_GROUP = 'system:masters';
const VERBS = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection', '*'];
const RULE_KEYS = ['users', 'groups', 'verbs', 'resources', 'namespaces'];

function strings(value: unknown, field: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
    throw new InvalidError(`must be a list of strings, got ${JSON.stringify(value)}`, { field });
  }
  return value;
}

export function parsePolicy(text: string): PolicyRule[] {
  const doc = parse(text) as Record<string, unknown> | null;
  const rules = doc?.rules;
  if (!Array.isArray(rules)) throw new InvalidError('must be a list of rules', { field: 'rules' });
  for (const key of Object.keys(doc ?? {})) {
    if (key !== 'rules') throw new InvalidError(`unknown field ${JSON.stringify(key)}`, { field: key });
  }
  return rules.map((raw: unknown, i) => {
    const at = (f: string) => `rules[${i}].${f}`;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new InvalidError('must be a mapping', { field: `rules[${i}]` });
    const r = raw as Record<string, unknown>;
    for (const key of Object.keys(r)) {
      if (!RULE_KEYS.includes(key)) throw new InvalidError(`unknown field ${JSON.stringify(key)}`, { field: at(key) });
    }
    const rule: PolicyRule = {
      users: strings(r.users, at('users')),
      groups: strings(r.groups, at('groups')),
      verbs: strings(r.verbs, at('verbs')),
      resources: strings(r.resources, at('resources')),
      namespaces: r.namespaces === undefined ? undefined : strings(r.namespaces, at('namespaces')),
    };
    for (const v of rule.verbs) {
      if (!VERBS.includes(v)) throw new InvalidError(`unknown verb ${JSON.stringify(v)}`, { field: at('verbs') });
    }
    if (rule.users.length + rule.groups.length === 0) throw new InvalidError('needs users or groups', { field: `rules[${i}]` });
    if (rule.verbs.length === 0) throw new InvalidError('needs at least one verb', { field: at('verbs') });
    if (rule.resources.length === 0) throw new InvalidError('needs at least one resource', { field: at('resources') });
    return rule;
  });
}

export async function readPolicyFile(path: string): Promise<PolicyRule[]> {
  try {
    return parsePolicy(await readFile(path, 'utf8'));
  } catch (e) {
    if (e instanceof InvalidError) throw new InvalidError(`${path}: ${e.message}`, { cause: e });
    throw e;
  }
}

const matches = (list: string[], value: string) => list.includes('*') || list.includes(value);

export function isAllowed(rules: PolicyRule[] | undefined, user: Pick<UserInfo, 'name' | 'groups'>, req: AccessRequest): boolean {
  if (!rules || user.groups.includes(MASTERS_GROUP)) return true;
  return rules.some(
    (r) =>
      (matches(r.users, user.name) || user.groups.some((g) => matches(r.groups, g))) &&
      matches(r.verbs, req.verb) &&
      matches(r.resources, req.resource) &&
      (r.namespaces === undefined || r.namespaces.includes('*') || (req.namespace !== undefined && r.namespaces.includes(req.namespace))),
  );
}

/** kube RBAC's denial text (forbiddenMessage in k8s.io/apiserver pkg/endpoints/handlers/responsewriters/errors.go). */
export function denialReason(user: Pick<UserInfo, 'name'>, req: AccessRequest): string {
  const where = req.namespace === undefined ? 'at the cluster scope' : `in the namespace "${req.namespace}"`;
  return `User "${user.name}" cannot ${req.verb} resource "${req.resource}" in API group "${req.group}" ${where}`;
}
