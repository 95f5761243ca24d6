// The API server's request pipeline, in kube-apiserver's order: health and version (anonymous), authentication (401),
// discovery and OpenAPI (every authenticated user, as kube's system:discovery role allows), then authorization (403)
// and the resource handlers. Every error leaves as a Status; every request is counted in /metrics.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { CofferError } from '../../lib/errors.js';
import { ApiStatusError, forbidden, nonResourceForbidden, unauthorized } from '../api-status.js';
import type { TokenAuthenticator, UserInfo } from '../auth/authenticator.js';
import { denialReason, isAllowed, type AccessRequest, type PolicyRule } from '../auth/authorization-policy.js';
import {
  apiGroupDocument,
  apiGroupListDocument,
  apiVersionsDocument,
  resourceListDocument,
  resourcesOf,
  versionDocument,
  type SubresourceInfo,
} from '../discovery/discovery.js';
import { NON_RESOURCE, type ApiMetrics, type RequestLabels } from '../metrics.js';
import { OPENAPI_V2_PROTOBUF, OPENAPI_V2_PROTOBUF_CONTENT_TYPE } from '../openapi/openapi-v2-protobuf.js';
import { OpenApiDocuments } from '../openapi/openapi-documents.js';
import { serveHealth, type HealthCheck } from './health.js';
import { SELF_SUBJECT_REVIEW_PATH, serveSelfSubjectReview } from './self-subject-review.js';
import { ACCESS_REVIEW_PATHS, serveAccessReview } from './access-review.js';
import { reviewGroupDocument, reviewGroupEntries } from '../discovery/review-groups.js';
import { JSON_REPRESENTATION, negotiate, parseMediaType, type Representation } from './media-type.js';
import { boolParam, watchRequested } from './request-options.js';
import { serveResource, verbOf, type ServedResource } from './resource-handler.js';
import { writeError, writeNotFoundPage, writeObject } from './response-writer.js';
import { pathSegments, ResourceRouter, splitRequestTarget, type ResourceRoute } from './router.js';

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

/** Why a request's signal aborts: the response closed (client gone, or done) or the server shuts down. */
const CLOSED = new DOMException('the request ended', 'AbortError');

const ANONYMOUS: UserInfo = { name: 'system:anonymous', uid: '', groups: ['system:unauthenticated'] };

function resourceAccess(route: ResourceRoute, verb: string): AccessRequest {
  const { info } = route.resource;
  const resource = route.subresource ? `${info.plural}/${route.subresource}` : info.plural;
  // As kube's RequestInfo: a request on one namespace object is "in" that namespace, so namespace rules cover it.
  const namespace = info.namespaced ? route.namespace : info.plural === 'namespaces' ? route.name : undefined;
  return { verb, group: info.group, resource, namespace };
}

function metricVerb(method: string, route: ResourceRoute, query: URLSearchParams, contentType: string | undefined): string {
  const verb = verbOf(method, route.name !== undefined, query);
  if (route.watchPath || verb === 'watch') return 'WATCH';
  if (verb === 'patch' && (contentType ?? '').startsWith('application/apply-patch')) return 'APPLY';
  return { get: 'GET', list: 'LIST', create: 'POST', update: 'PUT', patch: 'PATCH', delete: 'DELETE', deletecollection: 'DELETECOLLECTION' }[verb] ?? method;
}

export function createApiHandler(opts: ApiHandlerOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const router = new ResourceRouter(opts.resources);
  const infos = opts.resources.map((r) => r.info);
  const subresources: SubresourceInfo[] = opts.resources.flatMap((r) =>
    (r.subresources ?? []).map((name) => ({ resource: r.info, name, verbs: name === 'finalize' ? ['update'] : ['get', 'patch', 'update'] })),
  );
  const openapi = new OpenApiDocuments(infos);

  function authorize(user: UserInfo, access: AccessRequest, name?: string): void {
    if (isAllowed(opts.policy, user, access)) return;
    throw forbidden({ group: access.group, resource: access.resource }, name, denialReason(user, access));
  }

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

  /** Server-side failures are logged with their detail (Coffer's messages and drivers' texts hold no secret values). */
  function logFailure(req: IncomingMessage, err: unknown): void {
    const where = { method: req.method, path: (req.url ?? '').split('?')[0] };
    if (err instanceof ApiStatusError) {
      if (err.status.code < 500) return;
      const cause = err.cause instanceof Error ? { cause: `${err.cause.name}: ${err.cause.message}` } : {};
      opts.logger.warn({ ...where, code: err.status.code, reason: err.status.reason, message: err.status.message, ...cause }, 'request failed');
    } else if (err instanceof CofferError) {
      opts.logger.error({ ...where, error: err.name, message: err.message }, 'request failed');
    } else {
      // Not ours: its message may quote request bytes, so only the type and the stack are kept.
      const stack = err instanceof Error ? err.stack?.split('\n').slice(1, 8).join('\n') : undefined;
      opts.logger.error({ ...where, error: err instanceof Error ? err.name : typeof err, stack }, 'request failed');
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse, labels: { current: RequestLabels }): Promise<void> {
    let rep: Representation = JSON_REPRESENTATION;
    const method = req.method ?? 'GET';
    try {
      const target = splitRequestTarget(req.url ?? '/');
      const segments = pathSegments(target.path);
      if (!segments) return writeNotFoundPage(res);
      const query = target.query;
      const pretty = boolParam(query, 'pretty') === true;

      const health = segments.length >= 1 && segments.length <= 2 && HEALTH.has(segments[0]!);
      const version = segments.length === 1 && segments[0] === 'version';
      if (health || version) {
        // kube's system:public-info-viewer lets anyone GET exactly these paths; any other verb, or one check's path,
        // is authorized as a non-resource request (anonymous: 403), never answered as a GET would be.
        const publicInfo = (method === 'GET' || method === 'HEAD') && segments.length === 1;
        if (!publicInfo) authorizeNonResource(opts.authenticator.authenticate(req.headers), method, `/${segments.join('/')}`);
        if (version) return writeObject(res, 200, versionDocument(), JSON_REPRESENTATION, { pretty: true });
        const checks = segments[0] === 'livez' ? [] : (opts.healthChecks ?? []);
        return await serveHealth(res, segments[0]!, segments[1], query, { checks, logger: opts.logger });
      }

      const user = opts.authenticator.authenticate(req.headers);
      if (!user) throw unauthorized();

      if (segments.length === 1 && segments[0] === 'metrics') {
        authorizeNonResource(user, method, '/metrics');
        const { body, contentType } = await opts.metrics.text();
        res.writeHead(200, { 'Content-Type': contentType }).end(body);
        return;
      }
      if (segments.join('/') === SELF_SUBJECT_REVIEW_PATH) {
        return await serveSelfSubjectReview(req, res, user, negotiate(req.headers.accept, { tables: false }));
      }
      const review = ACCESS_REVIEW_PATHS.get(segments.join('/'));
      if (review) return await serveAccessReview(req, res, review, user, opts.policy, negotiate(req.headers.accept, { tables: false }));
      if (segments[0] === 'openapi') {
        if (serveOpenApi(req, res, segments, query)) return;
        return writeNotFoundPage(res);
      }
      const route = router.route(segments);
      if (route.kind !== 'resource') {
        rep = negotiate(req.headers.accept, { tables: false });
        if (serveDiscovery(res, segments, rep)) return;
        return writeNotFoundPage(res);
      }

      const verb = verbOf(method, route.name !== undefined, route.watchPath ? new URLSearchParams('watch=true') : query);
      const { info } = route.resource;
      labels.current = {
        verb: metricVerb(method, route, query, req.headers['content-type']),
        group: info.group,
        version: info.version,
        resource: info.plural,
        subresource: route.subresource ?? '',
        scope: route.name !== undefined ? 'resource' : route.namespace !== undefined ? 'namespace' : 'cluster',
      };
      authorize(user, resourceAccess(route, verb), route.name);
      rep = negotiate(req.headers.accept, { tables: method === 'GET' });
      const abort = new AbortController();
      const stop = () => abort.abort(CLOSED);
      opts.shutdown?.addEventListener('abort', stop, { once: true });
      res.once('close', () => {
        // A shared reason: abort() without one builds a DOMException (with its stack) on every request.
        abort.abort(CLOSED);
        opts.shutdown?.removeEventListener('abort', stop);
      });
      if (route.watchPath) query.set('watch', 'true');
      let stopGauge: (() => void) | undefined;
      if (watchRequested(query)) stopGauge = opts.metrics.watchStarted(labels.current);
      try {
        await serveResource({
          req,
          res,
          resource: route.resource,
          namespace: route.namespace,
          name: route.name,
          subresource: route.subresource,
          query,
          user,
          rep,
          abort,
          pretty,
        });
      } finally {
        stopGauge?.();
      }
    } catch (err) {
      logFailure(req, err);
      writeError(res, err, rep);
    }
  }

  return (req, res) => {
    const start = process.hrtime.bigint();
    const labels: { current: RequestLabels } = { current: { verb: req.method ?? 'GET', ...NON_RESOURCE } };
    res.once('finish', () => opts.metrics.observe(labels.current, res.statusCode, Number(process.hrtime.bigint() - start) / 1e9));
    void handle(req, res, labels);
  };
}
