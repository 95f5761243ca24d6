// Which providers serve which GroupResource, as kube-apiserver builds it from the entries of an EncryptionConfiguration
// (apiserver:pkg/server/options/encryptionconfig/config.go, getTransformerOverridesAndKMSPluginHealthzCheckers and
// transformerFromOverrides).
import { InvalidError } from '../lib/errors.js';
import { formatGroupResource, parseGroupResource, type GroupResource } from './group-resource.js';

export interface ResourceRule<P> {
  readonly resources: readonly string[];
  readonly providers: readonly P[];
}

export interface ResolvedProviders<P> {
  /** Keyed by formatGroupResource: "secrets", "deployments.apps", "*.apps", "*.", "*.*". */
  readonly providersByResource: ReadonlyMap<string, readonly P[]>;
}

const ANY_GROUP_ANY_RESOURCE: GroupResource = { group: '*', resource: '*' };

/**
 * Entries are taken in file order. A resource after an earlier entry's `*.<group>` or `*.*` could never be selected,
 * so upstream refuses it (the first match wins at lookup, and a silently dead rule would leave data unencrypted that
 * the operator meant to encrypt); a wildcard after an exact resource is fine. An exact resource named in two entries
 * gets both provider lists, concatenated in entry order (no error upstream either).
 *
 * Only earlier entries are checked: overlaps within one entry are validation errors already. `skip` holds paths
 * (`resources[i].resources[j]`) of resource strings that failed validation and must not take part.
 */
export function resolveResourceRules<P>(
  rules: readonly ResourceRule<P>[],
  opts?: { skip?: ReadonlySet<string> },
): ResolvedProviders<P> & { errors: InvalidError[] } {
  const providersByResource = new Map<string, P[]>();
  const errors: InvalidError[] = [];
  rules.forEach((rule, i) => {
    const earlier = new Set(providersByResource.keys());
    rule.resources.forEach((name, j) => {
      const path = `resources[${i}].resources[${j}]`;
      if (opts?.skip?.has(path)) return;
      const gr = parseGroupResource(name);
      const key = formatGroupResource(gr);
      const masks = [{ group: gr.group, resource: '*' }, ANY_GROUP_ANY_RESOURCE].map(formatGroupResource);
      const mask = masks.find((m) => earlier.has(m));
      if (mask !== undefined) {
        const message = `resource ${JSON.stringify(key)} is masked by earlier rule ${JSON.stringify(mask)}`;
        errors.push(new InvalidError(message, { field: path }));
        return;
      }
      providersByResource.set(key, [...(providersByResource.get(key) ?? []), ...rule.providers]);
    });
  });
  return { providersByResource, errors };
}

/**
 * The providers for a GroupResource: exact match, then `*.<group>`, then `*.*`. null means no rule applies and the
 * caller must use upstream's default, identity that refuses to read values starting with `k8s:enc:`.
 */
export function providersFor<P>(resolved: ResolvedProviders<P>, group: string, resource: string): readonly P[] | null {
  const candidates = [{ group, resource }, { group, resource: '*' }, ANY_GROUP_ANY_RESOURCE];
  for (const gr of candidates) {
    const providers = resolved.providersByResource.get(formatGroupResource(gr));
    if (providers) return providers;
  }
  return null;
}
