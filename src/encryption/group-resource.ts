// The (group, resource) pair that selects providers, parsed like apimachinery's schema.ParseGroupResource.

export interface GroupResource {
  readonly group: string;
  readonly resource: string;
}

/**
 * Splits at the FIRST '.': left is the resource, the rest the group. So "secrets" is core, "deployments.apps" is
 * ("apps", "deployments"), "*." is every core resource and "*.*" everything.
 */
export function parseGroupResource(text: string): GroupResource {
  const dot = text.indexOf('.');
  if (dot < 0) return { group: '', resource: text };
  return { group: text.slice(dot + 1), resource: text.slice(0, dot) };
}

/** The form a config file would use, as upstream prints it in errors: "secrets", "deployments.apps", "*.", "*.*". */
export function formatGroupResource(gr: GroupResource): string {
  if (gr.group === '' && gr.resource === '*') return '*.';
  return gr.group === '' ? gr.resource : `${gr.resource}.${gr.group}`;
}

/**
 * The GroupResource of a storage key such as `/registry/secrets/<ns>/<name>`.
 *
 * Limitation: kube-apiserver's key holds the resource but not its group (deployments live under
 * `/registry/deployments/...`, not `.../deployments.apps/...`), so this maps every `<prefix>/<resource>/...` to the
 * core group "". That is right for the core resources Coffer stores (secrets, configmaps, namespaces); callers that
 * store other groups must know their GroupResource instead of deriving it from the key.
 */
export function groupResourceFromStorageKey(key: string, opts?: { prefix?: string }): GroupResource | null {
  const prefix = (opts?.prefix ?? '/registry').replace(/\/+$/, '');
  if (!key.startsWith(`${prefix}/`)) return null;
  const resource = key.slice(prefix.length + 1).split('/')[0];
  if (!resource) return null;
  return { group: '', resource };
}
