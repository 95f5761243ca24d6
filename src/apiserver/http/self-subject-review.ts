// authentication.k8s.io/v1 SelfSubjectReview (`kubectl auth whoami`): a create-only resource that answers who the
// request was authenticated as (k8s.io/kubernetes pkg/registry/authentication/selfsubjectreview). Every authenticated
// user may create one (kube's system:basic-user role); nothing is stored.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { methodNotAllowed } from '../api-status.js';
import type { UserInfo } from '../auth/authenticator.js';
import type { Representation } from './media-type.js';
import { readBody } from './request-body.js';
import { writeObject } from './response-writer.js';

export const SELF_SUBJECT_REVIEW_PATH = 'apis/authentication.k8s.io/v1/selfsubjectreviews';

export async function serveSelfSubjectReview(req: IncomingMessage, res: ServerResponse, user: UserInfo, rep: Representation): Promise<void> {
  if (req.method !== 'POST') throw methodNotAllowed((req.method ?? 'GET').toLowerCase(), { group: 'authentication.k8s.io', resource: 'selfsubjectreviews' });
  // The review has no input (kubectl sends it as protobuf): the body is read within the size limit and not decoded.
  await readBody(req);
  writeObject(res, 201, {
    kind: 'SelfSubjectReview',
    apiVersion: 'authentication.k8s.io/v1',
    metadata: { creationTimestamp: null },
    status: { userInfo: { username: user.name, ...(user.uid ? { uid: user.uid } : {}), groups: user.groups } },
  }, rep);
}
