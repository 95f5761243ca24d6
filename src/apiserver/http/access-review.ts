// authorization.k8s.io/v1 SelfSubjectAccessReview and SelfSubjectRulesReview (`kubectl auth can-i`, `can-i --list`):
// create-only resources that ask the server's own authorizer about the requesting user, as
// k8s.io/kubernetes pkg/registry/authorization/selfsubjectaccessreview and selfsubjectrulesreview do. Every
// authenticated user may create them (kube's system:basic-user role); nothing is stored.
//
// The answers come from the same decisions the request path makes: the authorization policy for resources and
// non-resource paths, plus what the request path always lets through (discovery, OpenAPI and the public-info paths).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { hasK8sProtobufMagic, readK8sEnvelope } from '../../objects/k8s-protobuf.js';
import { ProtoReader, WIRE_LEN } from '../../lib/go/protobuf-wire.js';
import { badRequest, invalid, methodNotAllowed } from '../api-status.js';
import type { UserInfo } from '../auth/authenticator.js';
import { isAllowed, MASTERS_GROUP, type PolicyRule } from '../auth/authorization-policy.js';
import { goQuote, invalidValue } from '../registry/field-errors.js';
import { baseContentType, type Representation } from './media-type.js';
import { parseJsonOrYamlObject, readBody, unsupportedMediaType } from './request-body.js';
import { writeObject } from './response-writer.js';

export const ACCESS_REVIEW_PATHS = new Map<string, 'SelfSubjectAccessReview' | 'SelfSubjectRulesReview'>([
  ['apis/authorization.k8s.io/v1/selfsubjectaccessreviews', 'SelfSubjectAccessReview'],
  ['apis/authorization.k8s.io/v1/selfsubjectrulesreviews', 'SelfSubjectRulesReview'],
]);

const GROUP = 'authorization.k8s.io';

/** GET of these paths is open to every authenticated user: discovery and OpenAPI (kube's system:discovery). */
const DISCOVERY_PATHS = ['/api', '/api/*', '/apis', '/apis/*', '/openapi', '/openapi/*'];
/** GET of these is open to everyone, even without credentials (kube's system:public-info-viewer). */
const PUBLIC_INFO_PATHS = ['/healthz', '/livez', '/readyz', '/version'];

function pathMatches(pattern: string, path: string): boolean {
  return pattern === '*' || pattern === path || (pattern.endsWith('*') && path.startsWith(pattern.slice(0, -1)));
}

export interface ResourceAttributes {
  namespace: string;
  verb: string;
  group: string;
  resource: string;
  subresource: string;
  name: string;
}

export interface NonResourceAttributes {
  path: string;
  verb: string;
}

/** The decision the request path would make (api-handler.ts authorize / authorizeNonResource). */
export function reviewAccess(
  policy: PolicyRule[] | undefined,
  user: UserInfo,
  spec: { resourceAttributes?: ResourceAttributes; nonResourceAttributes?: NonResourceAttributes },
): boolean {
  const r = spec.resourceAttributes;
  if (r) {
    if (r.group === GROUP && (r.resource === 'selfsubjectaccessreviews' || r.resource === 'selfsubjectrulesreviews') && r.verb === 'create') return true;
    if (r.group === 'authentication.k8s.io' && r.resource === 'selfsubjectreviews' && r.verb === 'create') return true;
    const resource = r.subresource ? `${r.resource}/${r.subresource}` : r.resource;
    return isAllowed(policy, user, { verb: r.verb, group: r.group, resource, namespace: r.namespace || undefined });
  }
  const n = spec.nonResourceAttributes!;
  if (n.verb === 'get' && [...DISCOVERY_PATHS, ...PUBLIC_INFO_PATHS].some((p) => pathMatches(p, n.path))) return true;
  return isAllowed(policy, user, { verb: n.verb, group: '', resource: n.path, namespace: undefined });
}

interface ResourceRule {
  verbs: string[];
  apiGroups: string[];
  resources: string[];
}
interface NonResourceRule {
  verbs: string[];
  nonResourceURLs: string[];
}

/** What `user` may do in `namespace`, as kube's SubjectRulesReviewStatus lists it. */
export function rulesFor(policy: PolicyRule[] | undefined, user: UserInfo, namespace: string): { resourceRules: ResourceRule[]; nonResourceRules: NonResourceRule[] } {
  const resourceRules: ResourceRule[] = [
    { verbs: ['create'], apiGroups: [GROUP], resources: ['selfsubjectaccessreviews', 'selfsubjectrulesreviews'] },
    { verbs: ['create'], apiGroups: ['authentication.k8s.io'], resources: ['selfsubjectreviews'] },
  ];
  const nonResourceRules: NonResourceRule[] = [{ verbs: ['get'], nonResourceURLs: [...DISCOVERY_PATHS, ...PUBLIC_INFO_PATHS] }];
  if (!policy || user.groups.includes(MASTERS_GROUP)) {
    resourceRules.unshift({ verbs: ['*'], apiGroups: ['*'], resources: ['*'] });
    nonResourceRules.unshift({ verbs: ['*'], nonResourceURLs: ['*'] });
    return { resourceRules, nonResourceRules };
  }
  const mine = policy.filter(
    (r) =>
      (r.users.includes('*') || r.users.includes(user.name) || user.groups.some((g) => r.groups.includes('*') || r.groups.includes(g))) &&
      (r.namespaces === undefined || r.namespaces.includes('*') || r.namespaces.includes(namespace)),
  );
  for (const rule of mine) {
    // A policy rule names resources in every API group; "*" also covers non-resource paths (authorization-policy.ts).
    const resources = rule.resources.filter((r) => !r.startsWith('/'));
    const paths = rule.resources.filter((r) => r.startsWith('/') || r === '*');
    if (resources.length > 0) resourceRules.push({ verbs: rule.verbs, apiGroups: ['*'], resources });
    if (paths.length > 0 && rule.namespaces === undefined) nonResourceRules.push({ verbs: rule.verbs, nonResourceURLs: paths });
  }
  return { resourceRules, nonResourceRules };
}

// ---- decoding: kubectl sends these as Kubernetes protobuf (k8s.io/api authorization/v1 generated.proto) ----

type Schema = Record<number, [string, 'string' | Schema]>;
const RESOURCE_ATTRIBUTES: Schema = {
  1: ['namespace', 'string'],
  2: ['verb', 'string'],
  3: ['group', 'string'],
  4: ['version', 'string'],
  5: ['resource', 'string'],
  6: ['subresource', 'string'],
  7: ['name', 'string'],
};
const REVIEW_SCHEMAS: Record<string, Schema> = {
  SelfSubjectAccessReview: { 2: ['spec', { 1: ['resourceAttributes', RESOURCE_ATTRIBUTES], 2: ['nonResourceAttributes', { 1: ['path', 'string'], 2: ['verb', 'string'] }] }] },
  SelfSubjectRulesReview: { 2: ['spec', { 1: ['namespace', 'string'] }] },
};

/** Reads the fields the schema names (others, such as metadata and selectors, are skipped) into their JSON shape. */
function readMessage(r: ProtoReader, schema: Schema): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  while (r.more()) {
    const tag = r.tag();
    const field = schema[tag >>> 3];
    if (!field) {
      r.skip(tag & 7, tag >>> 3);
      continue;
    }
    const [name, type] = field;
    if (type === 'string') out[name] = r.string(tag & 7, name);
    else {
      r.expect(tag & 7, WIRE_LEN, name);
      const outer = r.enter(tag & 7, name);
      out[name] = readMessage(r, type);
      r.leave(outer);
    }
  }
  return out;
}

function decodeReview(body: Buffer, contentType: string | undefined, kind: string): Record<string, unknown> {
  const type = baseContentType(contentType) || 'application/json';
  if (type === 'application/vnd.kubernetes.protobuf') {
    const unrecognized = (detail: string) => badRequest(`the object provided is unrecognized (must be of type ${kind}): ${detail}`);
    if (!hasK8sProtobufMagic(body)) throw unrecognized('provided data does not appear to be a protobuf message, expected prefix [107 56 115 0]');
    try {
      const r = new ProtoReader(body, 4);
      const env = readK8sEnvelope(r);
      if (env.kind !== kind) throw unrecognized(`no kind "${env.kind}" is registered for version "${env.apiVersion}"`);
      return readMessage(new ProtoReader(body, env.rawStart, env.rawEnd), REVIEW_SCHEMAS[kind]!);
    } catch (e) {
      if (e instanceof Error && !('status' in e)) throw unrecognized(e.message.split('\n')[0]!);
      throw e;
    }
  }
  if (type !== 'application/json' && type !== 'application/yaml') {
    throw unsupportedMediaType(['application/json', 'application/yaml', 'application/vnd.kubernetes.protobuf']);
  }
  return parseJsonOrYamlObject(body, kind);
}

const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const record = (v: unknown): Record<string, unknown> | undefined =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;

export async function serveAccessReview(
  req: IncomingMessage,
  res: ServerResponse,
  kind: 'SelfSubjectAccessReview' | 'SelfSubjectRulesReview',
  user: UserInfo,
  policy: PolicyRule[] | undefined,
  rep: Representation,
): Promise<void> {
  const plural = `${kind.toLowerCase()}s`;
  if (req.method !== 'POST') throw methodNotAllowed((req.method ?? 'GET').toLowerCase(), { group: GROUP, resource: plural });
  const review = decodeReview(await readBody(req), req.headers['content-type'], kind);
  const spec = record(review.spec) ?? {};
  const answer = { kind, apiVersion: `${GROUP}/v1`, metadata: { creationTimestamp: null } };

  if (kind === 'SelfSubjectRulesReview') {
    // pkg/registry/authorization/selfsubjectrulesreview/rest.go
    const namespace = str(spec.namespace);
    if (namespace === '') throw badRequest('no namespace on request');
    writeObject(res, 201, { ...answer, spec: { namespace }, status: { ...rulesFor(policy, user, namespace), incomplete: false } }, rep);
    return;
  }

  // pkg/apis/authorization/validation ValidateSelfSubjectAccessReviewSpec
  const ra = record(spec.resourceAttributes);
  const nra = record(spec.nonResourceAttributes);
  if (ra && nra) throw invalid({ group: GROUP, kind }, '', [invalidValue('spec.nonResourceAttributes', { goSyntax: `authorization.NonResourceAttributes{Path:${goQuote(str(nra.path))}, Verb:${goQuote(str(nra.verb))}}` }, 'cannot be specified in combination with resourceAttributes')]);
  if (!ra && !nra) throw invalid({ group: GROUP, kind }, '', [invalidValue('spec.resourceAttributes', 'null', 'exactly one of nonResourceAttributes or resourceAttributes must be specified')]);
  const attrs = ra
    ? { resourceAttributes: { namespace: str(ra.namespace), verb: str(ra.verb), group: str(ra.group), resource: str(ra.resource), subresource: str(ra.subresource), name: str(ra.name) } }
    : { nonResourceAttributes: { path: str(nra!.path), verb: str(nra!.verb) } };
  const allowed = reviewAccess(policy, user, attrs);
  const echoed = ra ? { resourceAttributes: { ...ra } } : { nonResourceAttributes: { ...nra } };
  writeObject(res, 201, { ...answer, spec: echoed, status: { allowed, ...(allowed ? { reason: 'allowed by the Coffer authorization policy' } : {}) } }, rep);
}
