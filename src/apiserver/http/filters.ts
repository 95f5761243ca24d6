// The API server's request filters, composed into one handler as k8s.io/apiserver's DefaultBuildHandlerChain wraps
// the API handler (pkg/server/config.go; the filters in pkg/endpoints/filters): each filter does one thing and calls
// the next, or answers and stops. The chain itself is assembled in api-handler.ts.
import { getEventListeners } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { CofferError } from '../../lib/errors.js';
import { ApiStatusError, forbidden, unauthorized } from '../api-status.js';
import type { TokenAuthenticator, UserInfo } from '../auth/authenticator.js';
import { denialReason, isAllowed, type AccessRequest, type PolicyRule } from '../auth/authorization-policy.js';
import { nonResourceLabels, type ApiMetrics, type RequestLabels } from '../metrics.js';
import { JSON_REPRESENTATION, type Representation } from './media-type.js';
import { boolParam, watchRequested } from './request-options.js';
import { writeError, writeNotFoundPage } from './response-writer.js';
import { pathSegments, splitRequestTarget, type ResourceRoute } from './router.js';

/** One request as it passes the filters; each filter fills in what it found out. */
export interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  method: string;
  /** The labels the request is counted under in /metrics (kube's apiserver_request_total). */
  labels: RequestLabels;
  /** How a response, and an error, is written: JSON until the content negotiation of the endpoint. */
  rep: Representation;
  // From withRequestInfo:
  segments: string[];
  query: URLSearchParams;
  pretty: boolean;
  /** From withAuthentication. */
  user?: UserInfo;
  /** For a resource request: where it goes and its Kubernetes verb (get, list, watch, create...). */
  resource?: { route: ResourceRoute; verb: string };
  /** From withRequestLifetime: aborted when the response closes (client gone, or done) or the server shuts down. */
  lifetime?: RequestLifetime;
}

/** A filter calls `next(ctx)` to pass the request on; `next` is the same function for every request. */
export type Next = (ctx: RequestContext) => Promise<void>;
export type Filter = (ctx: RequestContext, next: Next) => Promise<void>;

const DONE: Next = () => Promise.resolve();

/**
 * One handler from filters, outermost first (hono's and koa's compose). Each filter's `next` is made once, here, not
 * per request: a request passes the chain without a closure per filter. The last filter's `next` does nothing.
 */
export function compose(filters: readonly Filter[]): Next {
  let next = DONE;
  for (let i = filters.length - 1; i >= 0; i--) {
    const filter = filters[i]!;
    const after = next;
    next = (ctx) => filter(ctx, after);
  }
  return next;
}

const NO_SEGMENTS: string[] = [];
const NO_QUERY = new URLSearchParams();

/** A Node request handler running the chain; every request gets a context with defaults. */
export function toRequestHandler(chain: (ctx: RequestContext) => Promise<void>): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const method = req.method ?? 'GET';
    void chain({
      req,
      res,
      method,
      labels: nonResourceLabels(method),
      rep: JSON_REPRESENTATION,
      segments: NO_SEGMENTS,
      // withRequestInfo gives every request its own query before any filter reads or changes it; until then (a
      // request it refused) the query is this shared empty one, not a new URLSearchParams per request.
      query: NO_QUERY,
      pretty: false,
    });
  };
}

/** Counts every request and its latency once the response is written (WithMetrics-style instrumentation). */
export function withMetrics(metrics: ApiMetrics): Filter {
  // One listener function for every response ('finish' comes once): the request's context and start ride on it.
  function finished(this: ServerResponse & Counted): void {
    const counted = this[COUNTED];
    if (!counted) return; // counted already (should 'finish' ever come twice)
    this[COUNTED] = undefined;
    metrics.observe(counted.ctx.labels, this.statusCode, (performance.now() - counted.start) / 1000);
  }
  return (ctx, next) => {
    // performance.now(): the monotonic clock in fractional milliseconds (microsecond resolution and better), without
    // the BigInt that hrtime.bigint() allocates twice per request.
    (ctx.res as ServerResponse & Counted)[COUNTED] = { ctx, start: performance.now() };
    ctx.res.on('finish', finished);
    return next(ctx);
  };
}

const COUNTED = Symbol('counted request');
interface Counted {
  [COUNTED]?: { ctx: RequestContext; start: number };
}

/**
 * Whatever a later filter throws leaves as a Status (k8s.io/apiserver pkg/endpoints/handlers/responsewriters);
 * server-side failures are logged with their detail (Coffer's messages and drivers' texts hold no secret values).
 */
export function withErrorStatus(logger: Logger): Filter {
  return async (ctx, next) => {
    try {
      await next(ctx);
    } catch (err) {
      logFailure(logger, ctx.req, err);
      writeError(ctx.res, err, ctx.rep);
    }
    ctx.lifetime?.handlerSettled();
  };
}

function logFailure(logger: Logger, req: IncomingMessage, err: unknown): void {
  const where = { method: req.method, path: (req.url ?? '').split('?')[0] };
  if (err instanceof ApiStatusError) {
    if (err.status.code < 500) return;
    const cause = err.cause instanceof Error ? { cause: `${err.cause.name}: ${err.cause.message}` } : {};
    logger.warn({ ...where, code: err.status.code, reason: err.status.reason, message: err.status.message, ...cause }, 'request failed');
  } else if (err instanceof CofferError) {
    logger.error({ ...where, error: err.name, message: err.message }, 'request failed');
  } else {
    // Not ours: its message may quote request bytes, so only the type and the stack are kept.
    const stack = err instanceof Error ? err.stack?.split('\n').slice(1, 8).join('\n') : undefined;
    logger.error({ ...where, error: err instanceof Error ? err.name : typeof err, stack }, 'request failed');
  }
}

/** The path's segments (validated, Go's http.NotFound page when they are not) and the query (WithRequestInfo). */
export const withRequestInfo: Filter = (ctx, next) => {
  const target = splitRequestTarget(ctx.req.url ?? '/');
  const segments = pathSegments(target.path);
  if (!segments) {
    writeNotFoundPage(ctx.res);
    return Promise.resolve();
  }
  ctx.segments = segments;
  ctx.query = target.query;
  ctx.pretty = boolParam(target.query, 'pretty') === true;
  return next(ctx);
};

/** A bearer token that names a user, or 401 (WithAuthentication). */
export function withAuthentication(authenticator: TokenAuthenticator): Filter {
  return (ctx, next) => {
    const user = authenticator.authenticate(ctx.req.headers);
    if (!user) throw unauthorized();
    ctx.user = user;
    return next(ctx);
  };
}

/** The resource request's verb on its resource, allowed by the policy, or 403 with kube's reason (WithAuthorization). */
export function withAuthorization(policy: PolicyRule[] | undefined): Filter {
  return (ctx, next) => {
    const { route, verb } = ctx.resource!;
    const access = resourceAccess(route, verb);
    if (!isAllowed(policy, ctx.user!, access)) {
      throw forbidden({ group: access.group, resource: access.resource }, route.name, denialReason(ctx.user!, access));
    }
    return next(ctx);
  };
}

function resourceAccess(route: ResourceRoute, verb: string): AccessRequest {
  const { info } = route.resource;
  const resource = route.subresource ? `${info.plural}/${route.subresource}` : info.plural;
  // As kube's RequestInfo: a request on one namespace object is "in" that namespace, so namespace rules cover it.
  const namespace = info.namespaced ? route.namespace : info.plural === 'namespaces' ? route.name : undefined;
  return { verb, group: info.group, resource, namespace };
}

/** Why a request's signal aborts: the response closed (client gone, or done) or the server shuts down. */
const CLOSED = new DOMException('the request ended', 'AbortError');

/** At most this many controllers wait for reuse (one per request in flight is plenty). */
const SPARE_CONTROLLERS = 256;

/**
 * A request's AbortController, made only when a handler asks for one (watches, lists, writes); a GET of one object
 * never does, which spares most requests an AbortController and its listeners. Aborted when the response closes or
 * the server shuts down.
 *
 * A write's controller outlives its request unaborted when aborting could stop nothing: the handler is over (its
 * promise settled: nothing of the request runs any more), the response was written in full, and no 'abort' listener
 * is left on the signal. It then serves a later request instead of being aborted and dropped: an AbortSignal (an
 * EventTarget with its listener map) and the abort event dispatched to nobody were 3-4% of a create's server CPU
 * (docs/performance.md). A request whose client went away, or whose handler still runs, is aborted as before.
 */
export class RequestLifetime {
  private made: AbortController | undefined;
  private ended = false;
  private settled = false;

  constructor(
    private readonly open: Set<RequestLifetime>,
    private readonly shutdown: AbortSignal | undefined,
    private readonly res: { readonly writableFinished: boolean } = { writableFinished: false },
    private readonly spare: AbortController[] = [],
  ) {}

  get controller(): AbortController {
    if (!this.made) {
      // An ended lifetime's controller is a new one, aborted at once: never a spare another request may take.
      this.made = (!this.ended && this.spare.pop()) || new AbortController();
      if (this.ended || this.shutdown?.aborted) this.made.abort(CLOSED);
      else this.open.add(this);
    }
    return this.made;
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** The request's handler is over: its promise settled (withErrorStatus says so). */
  handlerSettled(): void {
    this.settled = true;
  }

  /** The response closed, or the server shuts down. */
  end(): void {
    this.ended = true;
    this.open.delete(this);
    const made = this.made;
    if (!made) return;
    this.made = undefined;
    const { signal } = made;
    if (this.settled && this.res.writableFinished && !signal.aborted && this.spare.length < SPARE_CONTROLLERS && getEventListeners(signal, 'abort').length === 0) {
      this.spare.push(made);
      return;
    }
    // A shared reason: abort() without one builds a DOMException (with its stack) on every request.
    made.abort(CLOSED);
  }
}

/**
 * The request's lifetime (its AbortSignal on demand), ended when the response closes or the server shuts down (open
 * watches then end their streams normally): the shutdown signal has one listener for every request in flight, not one
 * per request. A watch counts in the open-watches gauge while it runs.
 */
export function withRequestLifetime(metrics: ApiMetrics, shutdown: AbortSignal | undefined): Filter {
  const open = new Set<RequestLifetime>();
  const spare: AbortController[] = [];
  const endAll = () => {
    for (const lifetime of open) lifetime.end();
  };
  shutdown?.addEventListener('abort', endAll, { once: true });
  return (ctx, next) => {
    const lifetime = new RequestLifetime(open, shutdown, ctx.res, spare);
    (ctx.res as ServerResponse & Lived)[LIFETIME] = lifetime;
    ctx.res.on('close', endLifetime);
    ctx.lifetime = lifetime;
    return watchRequested(ctx.query) ? watching(ctx, next, metrics.watchStarted(ctx.labels)) : next(ctx);
  };
}

async function watching(ctx: RequestContext, next: Next, stopGauge: () => void): Promise<void> {
  try {
    await next(ctx);
  } finally {
    stopGauge();
  }
}

const LIFETIME = Symbol('request lifetime');
interface Lived {
  [LIFETIME]?: RequestLifetime;
}

/** One 'close' listener function for every response (it comes once), instead of a closure per request. */
function endLifetime(this: ServerResponse & Lived): void {
  this[LIFETIME]?.end();
}
