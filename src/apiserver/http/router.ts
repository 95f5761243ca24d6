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

export class ResourceRouter {
  /** "<group>/<version>" → plural → resource. */
  private readonly byGroupVersion = new Map<string, Map<string, ServedResource>>();

  constructor(readonly resources: readonly ServedResource[]) {
    for (const r of resources) {
      const key = `${r.info.group}/${r.info.version}`;
      const plurals = this.byGroupVersion.get(key) ?? new Map<string, ServedResource>();
      plurals.set(r.info.plural, r);
      this.byGroupVersion.set(key, plurals);
    }
  }

  /** Routes an API path (already split into decoded segments, without empty ones). */
  route(segments: readonly string[]): Route {
    let group: string;
    let version: string;
    let rest: string[];
    if (segments[0] === 'api' && segments.length >= 2) {
      [group, version, rest] = ['', segments[1]!, segments.slice(2)];
    } else if (segments[0] === 'apis' && segments.length >= 3) {
      [group, version, rest] = [segments[1]!, segments[2]!, segments.slice(3)];
    } else if (segments[0] === 'apis' && segments.length === 2) {
      return { kind: 'group', group: segments[1]! };
    } else return { kind: 'not-found' };
    const plurals = this.byGroupVersion.get(`${group}/${version}`);
    if (!plurals) return { kind: 'not-found' };
    if (rest.length === 0) return { kind: 'group-version', group, version };
    let watchPath = false;
    if (rest[0] === 'watch') {
      watchPath = true;
      rest = rest.slice(1);
    }
    const found = this.resolve(plurals, rest, watchPath);
    return found ?? { kind: 'not-found' };
  }

  private resolve(plurals: Map<string, ServedResource>, rest: string[], watchPath: boolean): ResourceRoute | undefined {
    // namespaces/<ns>/<resource>[/<name>[/<subresource>]] for namespaced resources ...
    if (rest[0] === 'namespaces' && rest.length >= 3) {
      const resource = plurals.get(rest[2]!);
      if (resource?.info.namespaced) {
        if (rest.length > 5) return undefined;
        return this.target(resource, rest[1], rest[3], rest[4], watchPath);
      }
    }
    // ... else <resource>[/<name>[/<subresource>]]: cluster-scoped objects, or a namespaced resource in all namespaces.
    const resource = plurals.get(rest[0]!);
    if (!resource || rest.length > 3) return undefined;
    if (resource.info.namespaced && rest.length > 1) return undefined;
    return this.target(resource, undefined, rest[1], rest[2], watchPath);
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
