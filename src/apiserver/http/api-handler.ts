// The API server's request pipeline, composed of filters in kube-apiserver's order (filters.ts): metrics, errors as
// Status, request info, then health and version (anonymous), authentication (401), discovery and OpenAPI (every
// authenticated user, as kube's system:discovery role allows), then the resource's authorization (403), content
// negotiation, the request's lifetime and the resource handler.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { nonResourceForbidden } from '../api-status.js';
import type { TokenAuthenticator, UserInfo } from '../auth/authenticator.js';
import { isAllowed, type PolicyRule } from '../auth/authorization-policy.js';
import {
  apiGroupDocument,
  apiGroupListDocument,
  apiVersionsDocument,
  resourceListDocument,
  resourcesOf,
  versionDocument,
  type SubresourceInfo,
} from '../discovery/discovery.js';
import { sharedLabels, type ApiMetrics, type RequestLabels } from '../metrics.js';
import { OPENAPI_V2_PROTOBUF, OPENAPI_V2_PROTOBUF_CONTENT_TYPE } from '../openapi/openapi-v2-protobuf.js';
import { OpenApiDocuments } from '../openapi/openapi-documents.js';
import {
  compose,
  toRequestHandler,
  withAuthentication,
  withAuthorization,
  withErrorStatus,
  withMetrics,
  withRequestInfo,
  withRequestLifetime,
  type Filter,
  type RequestContext,
} from './filters.js';
import { serveHealth, type HealthCheck } from './health.js';
import { SELF_SUBJECT_REVIEW_PATH, serveSelfSubjectReview } from './self-subject-review.js';
import { ACCESS_REVIEW_PATHS, serveAccessReview } from './access-review.js';
import { reviewGroupDocument, reviewGroupEntries } from '../discovery/review-groups.js';
import { JSON_REPRESENTATION, negotiate, parseMediaType, type Representation } from './media-type.js';
import { serveResource, verbOf, type ServedResource } from './resource-handler.js';
import { writeNotFoundPage, writeObject } from './response-writer.js';
import { ResourceRouter, type ResourceRoute } from './router.js';

export interface ApiHandlerOptions {
  resources: readonly ServedResource[];
  authenticator: TokenAuthenticator;
  /** undefined: every authenticated user may do everything. */
  policy: PolicyRule[] | undefined;
  /** host:port clients reach the server at (APIVersions.serverAddressByClientCIDRs). */
  serverAddress: string;
  metrics: ApiMetrics;
  logger: Logger;
  /** The checks of /readyz and /healthz besides `ping` (the store, the KMS providers); /livez has only `ping`. */
  healthChecks?: readonly HealthCheck[];
  /** Aborted when the server shuts down: open watches then end their streams normally. */
  shutdown?: AbortSignal;
}

const HEALTH = new Set(['healthz', 'livez', 'readyz']);

const ANONYMOUS: UserInfo = { name: 'system:anonymous', uid: '', groups: ['system:unauthenticated'] };

const SCOPES = ['resource', 'namespace', 'cluster'] as const;
const SUBRESOURCES = ['', 'status', 'finalize'] as const;

const METRIC_VERBS: Record<string, string> = { get: 'GET', list: 'LIST', create: 'POST', update: 'PUT', patch: 'PATCH', delete: 'DELETE', deletecollection: 'DELETECOLLECTION' };

function metricVerb(method: string, route: ResourceRoute, verb: string, contentType: string | undefined): string {
  if (route.watchPath || verb === 'watch') return 'WATCH';
  if (verb === 'patch' && (contentType ?? '').startsWith('application/apply-patch')) return 'APPLY';
  return METRIC_VERBS[verb] ?? method;
}

/**
 * The path of /metrics, a review or OpenAPI, which are no resource requests; undefined for any other path. The
 * segments are joined only when they can be one of them (one segment, four under /apis, or /openapi), not on every
 * resource request.
 */
function nonResourcePath(segments: readonly string[]): string | undefined {
  const first = segments[0];
  if (first === 'openapi') return segments.join('/');
  if (segments.length === 1) return first === 'metrics' ? first : undefined;
  if (segments.length !== 4 || first !== 'apis') return undefined;
  const path = segments.join('/');
  return path === SELF_SUBJECT_REVIEW_PATH || ACCESS_REVIEW_PATHS.has(path) ? path : undefined;
}

export function createApiHandler(opts: ApiHandlerOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const router = new ResourceRouter(opts.resources);
  const infos = opts.resources.map((r) => r.info);
  const subresources: SubresourceInfo[] = opts.resources.flatMap((r) =>
    (r.subresources ?? []).map((name) => ({ resource: r.info, name, verbs: name === 'finalize' ? ['update'] : ['get', 'patch', 'update'] })),
  );
  const openapi = new OpenApiDocuments(infos);

  /**
   * A non-resource URL (kube's RBAC verb is the lower-case HTTP method). Without credentials the request is
   * system:anonymous, who may only read the public-info paths; denial is kube's Forbidden for a path.
   */
  function authorizeNonResource(user: UserInfo | undefined, method: string, path: string): void {
    const verb = method.toLowerCase();
    if (user && isAllowed(opts.policy, user, { verb, group: '', resource: path, namespace: undefined })) return;
    throw nonResourceForbidden((user ?? ANONYMOUS).name, verb, path);
  }

  /** A JSON document that may be cached by content (ETag / If-None-Match), as kube serves OpenAPI. */
  function sendDocument(req: IncomingMessage, res: ServerResponse, body: string | Buffer, hash: string, contentType: string, extra: Record<string, string> = {}): void {
    const etag = `"${hash}"`;
    const headers = { ETag: etag, Vary: 'Accept', ...extra };
    if (req.headers['if-none-match'] === etag) {
      res.writeHead(304, headers).end();
      return;
    }
    res.writeHead(200, { ...headers, 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  }

  function serveOpenApi(req: IncomingMessage, res: ServerResponse, segments: string[], query: URLSearchParams): boolean {
    if (segments[1] === 'v2' && segments.length === 2) {
      // kubectl asks for gnostic protobuf; browsers and curl get JSON.
      const wantsProtobuf = (req.headers.accept ?? '')
        .split(',')
        .some((a) => `${parseMediaType(a)?.type}/${parseMediaType(a)?.subtype}` === OPENAPI_V2_PROTOBUF.toLowerCase());
      if (wantsProtobuf) sendDocument(req, res, openapi.v2Protobuf, openapi.v2Json.hash, OPENAPI_V2_PROTOBUF_CONTENT_TYPE);
      else {
        negotiate(req.headers.accept, { tables: false, yaml: false });
        sendDocument(req, res, openapi.v2Json.body, openapi.v2Json.hash, 'application/json');
      }
      return true;
    }
    if (segments[1] !== 'v3') return false;
    negotiate(req.headers.accept, { tables: false, yaml: false });
    if (segments.length === 2) {
      sendDocument(req, res, openapi.v3Index.body, openapi.v3Index.hash, 'application/json');
      return true;
    }
    const path = segments.slice(2).join('/');
    const doc = openapi.v3(path);
    if (!doc) return false;
    const asked = query.get('hash');
    if (asked !== null && asked !== doc.hash) {
      // A stale hash points at the current document, so a client's immutable cache entry is never reused wrongly.
      res.writeHead(301, { Location: `/openapi/v3/${path}?hash=${doc.hash}` }).end();
      return true;
    }
    const caching: Record<string, string> =
      asked === doc.hash
        ? { 'Cache-Control': 'public, immutable', Expires: new Date(Date.now() + 365 * 24 * 3600 * 1000).toUTCString() }
        : { 'Cache-Control': 'no-cache, private' };
    sendDocument(req, res, doc.body, doc.hash, 'application/json', caching);
    return true;
  }

  /** Discovery documents; true when the path was one. */
  function serveDiscovery(res: ServerResponse, segments: string[], rep: Representation): boolean {
    const path = segments.join('/');
    let doc: unknown;
    if (path === 'api') doc = apiVersionsDocument(opts.serverAddress);
    else if (path === 'apis') {
      const list = apiGroupListDocument(infos);
      doc = { ...list, groups: [...reviewGroupEntries(), ...(list.groups as unknown[])] };
    } else if ((doc = reviewGroupDocument(segments)) === undefined) {
      const route = router.route(segments);
      if (route.kind === 'group') doc = apiGroupDocument(infos, route.group);
      else if (route.kind === 'group-version') {
        const gv = route.group ? `${route.group}/${route.version}` : route.version;
        doc = resourceListDocument(gv, resourcesOf(infos, gv), subresources);
      }
    }
    if (doc === undefined) return false;
    writeObject(res, 200, doc, rep);
    return true;
  }

  /**
   * /healthz, /livez, /readyz and /version, answered before authentication. (A filter that only passes a request on
   * is no async function: an API request passes the chain without a promise per filter.)
   */
  const publicInfo: Filter = (ctx, next) => {
    const { segments } = ctx;
    const health = segments.length >= 1 && segments.length <= 2 && HEALTH.has(segments[0]!);
    const version = segments.length === 1 && segments[0] === 'version';
    return health || version ? servePublicInfo(ctx, version) : next(ctx);
  };

  async function servePublicInfo(ctx: RequestContext, version: boolean): Promise<void> {
    const { segments, method } = ctx;
    // kube's system:public-info-viewer lets anyone GET exactly these paths; any other verb, or one check's path, is
    // authorized as a non-resource request (anonymous: 403), never answered as a GET would be.
    const publicPath = (method === 'GET' || method === 'HEAD') && segments.length === 1;
    if (!publicPath) authorizeNonResource(opts.authenticator.authenticate(ctx.req.headers), method, `/${segments.join('/')}`);
    if (version) return writeObject(ctx.res, 200, versionDocument(), JSON_REPRESENTATION, { pretty: true });
    const checks = segments[0] === 'livez' ? [] : (opts.healthChecks ?? []);
    await serveHealth(ctx.res, segments[0]!, segments[1], ctx.query, { checks, logger: opts.logger });
  }

  /**
   * A resource request's metric labels, made once per resource, metric verb, scope and subresource and shared by the
   * requests they describe (sharedLabels), not an object and a key text per request.
   */
  const resourceLabels = new WeakMap<ServedResource, Map<string, RequestLabels[]>>();
  function labelsOf(route: ResourceRoute, verb: string): RequestLabels {
    const scope = route.name !== undefined ? 'resource' : route.namespace !== undefined ? 'namespace' : 'cluster';
    const subresource = route.subresource ?? '';
    let byVerb = resourceLabels.get(route.resource);
    if (!byVerb) resourceLabels.set(route.resource, (byVerb = new Map<string, RequestLabels[]>()));
    let slots = byVerb.get(verb);
    if (!slots) byVerb.set(verb, (slots = []));
    const { info } = route.resource;
    return (slots[SCOPES.indexOf(scope) * SUBRESOURCES.length + SUBRESOURCES.indexOf(subresource)] ??= sharedLabels({
      verb,
      group: info.group,
      version: info.version,
      resource: info.plural,
      subresource,
      scope,
    }));
  }

  /** /metrics, the reviews, OpenAPI and discovery: the non-resource endpoints every authenticated user reaches. */
  const nonResource: Filter = (ctx, next) => {
    const { req, res, segments } = ctx;
    const path = nonResourcePath(segments);
    if (path !== undefined) return serveNonResource(ctx, path);
    const route = router.route(segments);
    if (route.kind === 'resource') {
      // The verb as authorization and metrics name it; a watch path is a watch whatever the query says.
      if (route.watchPath) ctx.query.set('watch', 'true');
      const verb = verbOf(ctx.method, route.name !== undefined, ctx.query);
      ctx.resource = { route, verb };
      ctx.labels = labelsOf(route, metricVerb(ctx.method, route, verb, req.headers['content-type']));
      return next(ctx);
    }
    ctx.rep = negotiate(req.headers.accept, { tables: false });
    if (!serveDiscovery(res, segments, ctx.rep)) writeNotFoundPage(res);
    return Promise.resolve();
  };

  async function serveNonResource(ctx: RequestContext, path: string): Promise<void> {
    const { req, res, segments, user } = ctx;
    if (path === 'metrics') {
      authorizeNonResource(user, ctx.method, '/metrics');
      const { body, contentType } = await opts.metrics.text();
      res.writeHead(200, { 'Content-Type': contentType }).end(body);
      return;
    }
    if (path === SELF_SUBJECT_REVIEW_PATH) return serveSelfSubjectReview(req, res, user!, negotiate(req.headers.accept, { tables: false }));
    const review = ACCESS_REVIEW_PATHS.get(path);
    if (review) return serveAccessReview(req, res, review, user!, opts.policy, negotiate(req.headers.accept, { tables: false }));
    if (!serveOpenApi(req, res, segments, ctx.query)) writeNotFoundPage(res);
  }

  /** The representation of the response (JSON, YAML, protobuf-like Tables for GET), or 406. */
  const contentNegotiation: Filter = (ctx, next) => {
    ctx.rep = negotiate(ctx.req.headers.accept, { tables: ctx.method === 'GET' });
    return next(ctx);
  };

  const resourceHandler: Filter = (ctx) => {
    const { route } = ctx.resource!;
    return serveResource({
      req: ctx.req,
      res: ctx.res,
      resource: route.resource,
      namespace: route.namespace,
      name: route.name,
      subresource: route.subresource,
      query: ctx.query,
      user: ctx.user!,
      rep: ctx.rep,
      lifetime: ctx.lifetime!,
      pretty: ctx.pretty,
    });
  };

  return toRequestHandler(
    compose([
      withMetrics(opts.metrics),
      withErrorStatus(opts.logger),
      withRequestInfo,
      publicInfo,
      withAuthentication(opts.authenticator),
      nonResource,
      withAuthorization(opts.policy),
      contentNegotiation,
      withRequestLifetime(opts.metrics, opts.shutdown),
      resourceHandler,
    ]),
  );
}
