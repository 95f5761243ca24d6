// Kubernetes URL layout (k8s.io/apiserver pkg/endpoints/request/requestinfo.go): which resource, namespace, object and
// subresource a path names, under /api/v1 for the core group and /apis/<group>/<version> for named groups, including
// the legacy /watch/ paths.
import { badRequest } from '../api-status.js';
import type { ServedResource, Subresource } from './resource-handler.js';

export interface ResourceRoute {
  kind: 'resource';
  resource: ServedResource;
  namespace: string | undefined;
  name: string | undefined;
  subresource: Subresource | undefined;
  /** The path had the legacy `/watch/` segment: the request is a watch whatever its query says. */
  watchPath: boolean;
}

export type Route =
  | ResourceRoute
  | { kind: 'group-version'; group: string; version: string } // /api/v1, /apis/g/v
  | { kind: 'group'; group: string } // /apis/g
  | { kind: 'not-found' };

/** Shared: a not-found route holds nothing of the request. */
const NOT_FOUND: Route = Object.freeze({ kind: 'not-found' });

export class ResourceRouter {
  /** group → version → plural → resource (nested maps: no key text to build per request). */
  private readonly byGroupVersion = new Map<string, Map<string, Map<string, ServedResource>>>();

  constructor(readonly resources: readonly ServedResource[]) {
    for (const r of resources) {
      const versions = this.byGroupVersion.get(r.info.group) ?? new Map<string, Map<string, ServedResource>>();
      const plurals = versions.get(r.info.version) ?? new Map<string, ServedResource>();
      plurals.set(r.info.plural, r);
      versions.set(r.info.version, plurals);
      this.byGroupVersion.set(r.info.group, versions);
    }
  }

  /**
   * Routes an API path (already split into decoded segments, without empty ones). The segments after the version are
   * read in place, from an index, rather than sliced into new arrays on every request.
   */
  route(segments: readonly string[]): Route {
    let group: string;
    let version: string;
    let at: number;
    if (segments[0] === 'api' && segments.length >= 2) {
      group = '';
      version = segments[1]!;
      at = 2;
    } else if (segments[0] === 'apis' && segments.length >= 3) {
      group = segments[1]!;
      version = segments[2]!;
      at = 3;
    } else if (segments[0] === 'apis' && segments.length === 2) {
      return { kind: 'group', group: segments[1]! };
    } else return NOT_FOUND;
    const plurals = this.byGroupVersion.get(group)?.get(version);
    if (!plurals) return NOT_FOUND;
    if (at === segments.length) return { kind: 'group-version', group, version };
    let watchPath = false;
    if (segments[at] === 'watch') {
      watchPath = true;
      at++;
    }
    return this.resolve(plurals, segments, at, watchPath) ?? NOT_FOUND;
  }

  /** The resource request of segments[at...]. */
  private resolve(plurals: Map<string, ServedResource>, segments: readonly string[], at: number, watchPath: boolean): ResourceRoute | undefined {
    const rest = segments.length - at;
    // namespaces/<ns>/<resource>[/<name>[/<subresource>]] for namespaced resources ...
    if (segments[at] === 'namespaces' && rest >= 3) {
      const resource = plurals.get(segments[at + 2]!);
      if (resource?.info.namespaced) {
        if (rest > 5) return undefined;
        return this.target(resource, segments[at + 1], segments[at + 3], segments[at + 4], watchPath);
      }
    }
    // ... else <resource>[/<name>[/<subresource>]]: cluster-scoped objects, or a namespaced resource in all namespaces.
    const resource = plurals.get(segments[at]!);
    if (!resource || rest > 3) return undefined;
    if (resource.info.namespaced && rest > 1) return undefined;
    return this.target(resource, undefined, segments[at + 1], segments[at + 2], watchPath);
  }

  private target(
    resource: ServedResource,
    namespace: string | undefined,
    name: string | undefined,
    sub: string | undefined,
    watchPath: boolean,
  ): ResourceRoute | undefined {
    let subresource: Subresource | undefined;
    if (sub !== undefined) {
      if (!resource.subresources?.includes(sub as Subresource)) return undefined;
      subresource = sub as Subresource;
    }
    if (watchPath && subresource) return undefined;
    return { kind: 'resource', resource, namespace, name, subresource, watchPath };
  }
}

/**
 * Why a decoded path segment can never be a name (apimachinery pkg/api/validation/path IsValidPathSegmentName): `.` and
 * `..` would walk up the URL, `/` would add a segment, `%` would decode twice. Empty when the segment is fine.
 */
export function invalidSegmentReasons(segment: string): string[] {
  if (segment === '.' || segment === '..') return [`may not be '${segment}'`];
  const out: string[] = [];
  if (segment.includes('/')) out.push("may not contain '/'");
  if (segment.includes('%')) out.push("may not contain '%'");
  return out;
}

/**
 * The request target's path segments, percent-decoded, read from the raw target: WHATWG URL parsing would resolve
 * `%2e%2e` as `..` and route `secrets/%2e%2e` to the namespace itself. A segment that is no valid name is a 400, with
 * the text of kube's NamespaceKeyFunc (k8s.io/apiserver pkg/registry/generic/registry/store.go), before routing;
 * undefined when a segment is not valid percent-encoding (404, as Go's mux answers).
 */
export function pathSegments(rawPath: string): string[] | undefined {
  const out: string[] = [];
  for (const raw of rawPath.split('/')) {
    if (raw === '') continue;
    // Without '%' a segment decodes to itself and can hold neither '/' nor '%': only '.' and '..' remain to refuse.
    // That is every segment of a usual request, which skips decodeURIComponent and the checks' array.
    if (!raw.includes('%') && raw !== '.' && raw !== '..') {
      out.push(raw);
      continue;
    }
    let s: string;
    try {
      s = decodeURIComponent(raw);
    } catch {
      return undefined;
    }
    const reasons = invalidSegmentReasons(s);
    if (reasons.length > 0) throw badRequest(`Name parameter invalid: ${JSON.stringify(s)}: ${reasons.join(';')}`);
    out.push(s);
  }
  return out;
}

/** Path and query of a request target, as sent: origin form (`/a?b`) or absolute form (`https://host/a?b`). */
export function splitRequestTarget(target: string): { path: string; query: URLSearchParams } {
  // Origin form (every client but a proxy's) starts with '/': no scheme to strip.
  const withoutOrigin = target.startsWith('/') ? target : target.replace(/^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/?#]*/, '');
  const hash = withoutOrigin.indexOf('#');
  const noHash = hash >= 0 ? withoutOrigin.slice(0, hash) : withoutOrigin;
  const q = noHash.indexOf('?');
  return q >= 0 ? { path: noHash.slice(0, q), query: new URLSearchParams(noHash.slice(q + 1)) } : { path: noHash, query: new URLSearchParams() };
}
