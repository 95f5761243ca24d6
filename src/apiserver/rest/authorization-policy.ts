// Who may do what: a small policy file, read at start, in the spirit of kube's ABAC/RBAC rules but in one place.
//
//   rules:
//     - users: [alice]            # and/or groups: [dev]; "*" matches everyone authenticated
//       verbs: [get, list, watch] # get list watch create update patch delete deletecollection, or "*"
//       resources: [secrets]      # secrets configmaps namespaces, or "*"
//       namespaces: [team-a]      # omitted or "*": every namespace and cluster-scoped requests
//
// Members of the group system:masters (the generated admin) may do everything, as in Kubernetes.
import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { InvalidError } from '../../lib/errors.js';

export interface RequestUser {
  name: string;
  groups: string[];
}

export interface PolicyRule {
  users: string[];
  groups: string[];
  verbs: string[];
  resources: string[];
  namespaces: string[] | undefined;
}

export interface AccessRequest {
  verb: string;
  resource: string;
  namespace: string | undefined;
}

const VERBS = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection', '*'];

function strings(value: unknown, field: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
    throw new InvalidError(`must be a list of strings, got ${JSON.stringify(value)}`, { field });
  }
  return value;
}

export function parsePolicy(text: string): PolicyRule[] {
  const doc = parse(text) as { rules?: unknown } | null;
  const rules = doc?.rules;
  if (!Array.isArray(rules)) throw new InvalidError('must be a list of rules', { field: 'rules' });
  return rules.map((raw: Record<string, unknown>, i) => {
    const at = (f: string) => `rules[${i}].${f}`;
    const rule: PolicyRule = {
      users: strings(raw.users, at('users')),
      groups: strings(raw.groups, at('groups')),
      verbs: strings(raw.verbs, at('verbs')),
      resources: strings(raw.resources, at('resources')),
      namespaces: raw.namespaces === undefined ? undefined : strings(raw.namespaces, at('namespaces')),
    };
    for (const v of rule.verbs) {
      if (!VERBS.includes(v)) throw new InvalidError(`unknown verb ${JSON.stringify(v)}`, { field: at('verbs') });
    }
    if (rule.users.length + rule.groups.length === 0) throw new InvalidError('needs users or groups', { field: `rules[${i}]` });
    return rule;
  });
}

export async function readPolicyFile(path: string): Promise<PolicyRule[]> {
  return parsePolicy(await readFile(path, 'utf8'));
}

const matches = (list: string[], value: string) => list.includes('*') || list.includes(value);

export function isAllowed(rules: PolicyRule[] | undefined, user: RequestUser, req: AccessRequest): boolean {
  if (!rules || user.groups.includes('system:masters')) return true;
  return rules.some(
    (r) =>
      (matches(r.users, user.name) || user.groups.some((g) => matches(r.groups, g))) &&
      matches(r.verbs, req.verb) &&
      matches(r.resources, req.resource) &&
      (r.namespaces === undefined || r.namespaces.includes('*') || (req.namespace !== undefined && r.namespaces.includes(req.namespace))),
  );
}

/** kube's RBAC denial text. */
export function denialReason(user: RequestUser, req: AccessRequest): string {
  const where = req.namespace === undefined ? 'at the cluster scope' : `in the namespace "${req.namespace}"`;
  return `User "${user.name}" cannot ${req.verb} resource "${req.resource}" in API group "" ${where}`;
}
