// Discovery of the built-in groups whose resources are reviews, answered from the request and never stored:
// authentication.k8s.io/v1 (selfsubjectreviews) and authorization.k8s.io/v1 (selfsubjectaccessreviews,
// selfsubjectrulesreviews). kube lists them with the verb `create` only and without a storageVersionHash.
interface ReviewResource {
  name: string;
  kind: string;
}

const REVIEW_GROUPS: Record<string, ReviewResource[]> = {
  'authentication.k8s.io': [{ name: 'selfsubjectreviews', kind: 'SelfSubjectReview' }],
  'authorization.k8s.io': [
    { name: 'selfsubjectaccessreviews', kind: 'SelfSubjectAccessReview' },
    { name: 'selfsubjectrulesreviews', kind: 'SelfSubjectRulesReview' },
  ],
};

/** APIGroupList entries, listed before the custom resources' groups as kube lists built-in groups first. */
export function reviewGroupEntries(): Record<string, unknown>[] {
  return Object.keys(REVIEW_GROUPS).map((name) => {
    const v1 = { groupVersion: `${name}/v1`, version: 'v1' };
    return { name, versions: [v1], preferredVersion: v1 };
  });
}

/** The document of `apis/<group>` or `apis/<group>/v1` for a review group, else undefined. */
export function reviewGroupDocument(segments: readonly string[]): Record<string, unknown> | undefined {
  if (segments[0] !== 'apis' || segments[1] === undefined || !Object.hasOwn(REVIEW_GROUPS, segments[1])) return undefined;
  const group = segments[1];
  if (segments.length === 2) return { kind: 'APIGroup', apiVersion: 'v1', ...reviewGroupEntries().find((g) => g.name === group) };
  if (segments.length !== 3 || segments[2] !== 'v1') return undefined;
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: `${group}/v1`,
    resources: REVIEW_GROUPS[group]!.map((r) => ({ name: r.name, singularName: r.name.slice(0, -1), namespaced: false, kind: r.kind, verbs: ['create'] })),
  };
}
