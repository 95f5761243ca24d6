// The optimistic-concurrency rules of a write (k8s.io/apiserver pkg/registry/generic/registry/store.go and
// pkg/storage/etcd3/store.go): what a uid or resourceVersion sent with an update or a delete demands of the stored
// object. One place, so the registry and the controller's test fake (src/controller/testing) enforce the same rules.

export interface ObjectVersion {
  uid?: string | undefined;
  resourceVersion?: string | undefined;
}

/** Why an update is refused: `precondition` (a uid that is not the object's) or `conflict` (a stale resourceVersion). */
export type UpdateRefusal = { kind: 'precondition'; detail: string } | { kind: 'conflict' } | undefined;

/**
 * A uid in the body must be the stored object's; a resourceVersion in the body must be the current one. Without a
 * resourceVersion the update is unconditional (the kinds the registry serves all allow that).
 */
export function updateRefusal(sent: ObjectVersion, current: ObjectVersion): UpdateRefusal {
  if (sent.uid && sent.uid !== current.uid) return { kind: 'precondition', detail: `UID in precondition: ${sent.uid}, UID in object meta: ${current.uid ?? ''}` };
  if (sent.resourceVersion && sent.resourceVersion !== current.resourceVersion) return { kind: 'conflict' };
  return undefined;
}

/** DeleteOptions.preconditions against the stored object: the failure's detail text, or undefined when they hold. */
export function deletePreconditionFailure(pre: ObjectVersion | undefined, current: ObjectVersion): string | undefined {
  if (pre?.uid && pre.uid !== current.uid) return `UID in precondition: ${pre.uid}, UID in object meta: ${current.uid ?? ''}`;
  if (pre?.resourceVersion && pre.resourceVersion !== current.resourceVersion) {
    return `ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${current.resourceVersion ?? ''}`;
  }
  return undefined;
}
