// The REST verbs on one resource (k8s.io/apiserver pkg/endpoints/handlers): maps a request on a collection, an object
// or a subresource onto its ResourceStore, and writes what kube-apiserver writes - objects, lists, Tables, watch
// streams, Status objects.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { bodyTooDeep, DEPTH_ERROR } from '../../objects/nesting-depth.js';
import type { KubeObject } from '../../objects/object-meta.js';
import { applyPatch, patchContentType, unsupportedPatchMediaType } from '../patch/apply-patch.js';
import { ApiStatusError, badRequest, methodNotAllowed } from '../api-status.js';
import type { UserInfo } from '../auth/authenticator.js';
import type { ResourceInfo } from '../resource-info.js';
import type { ResourceStore, WriteOptions } from '../resource-store.js';
import { includeObjectParam, toTable } from '../table.js';
import { checkApplyFields, checkBodyFields, checkPatchedFields, warningHeader } from './field-validation.js';
import type { Representation } from './media-type.js';
import { decodeObjectBody, parseJsonOrYamlObject, readBody } from './request-body.js';
import {
  checkSendInitialEvents,
  deleteOptions,
  listOptions,
  mutationOptions,
  watchRequested,
  watchTimeoutSeconds,
  type MutationOptions,
} from './request-options.js';
import type { RequestLifetime } from './filters.js';
import { writeJson, writeObject } from './response-writer.js';
import { writeWatch } from './watch-response.js';

export type Subresource = 'status' | 'finalize';

/** A resource served over HTTP: what it is, where it is stored, which subresources it has. */
export interface ServedResource {
  info: ResourceInfo;
  store: ResourceStore;
  subresources?: readonly Subresource[];
  /** kube's ReturnDeletedObject (namespaces): a DELETE answers the object instead of a Success Status. */
  returnDeletedObject?: boolean;
}

/** A request after routing and authorization. */
export interface ResourceRequest {
  req: IncomingMessage;
  res: ServerResponse;
  resource: ServedResource;
  namespace: string | undefined;
  name: string | undefined;
  subresource: Subresource | undefined;
  query: URLSearchParams;
  user: UserInfo;
  rep: Representation;
  /** Aborted when the client disconnects or the server shuts down (its AbortController is made on first use). */
  lifetime: RequestLifetime;
  pretty: boolean;
}

/** The Kubernetes verb of a request, as authorization, metrics and audit name it. */
export function verbOf(method: string, named: boolean, query: URLSearchParams): string {
  if (method === 'GET' || method === 'HEAD') return watchRequested(query) ? 'watch' : named ? 'get' : 'list';
  if (method === 'DELETE') return named ? 'delete' : 'deletecollection';
  return ({ POST: 'create', PUT: 'update', PATCH: 'patch' } as Record<string, string>)[method] ?? method.toLowerCase();
}

const APPLY_PATCH = 'application/apply-patch+yaml';

function gr(info: ResourceInfo) {
  return { group: info.group, resource: info.plural };
}

function send(r: ResourceRequest, code: number, body: unknown, warnings: string[] = []): void {
  warnings = withDeprecation(r, warnings);
  const opts = warnings.length > 0 ? { pretty: r.pretty, headers: { Warning: [...new Set(warnings)].map(warningHeader) } } : { pretty: r.pretty };
  writeObject(r.res, code, body, { format: r.rep.format }, opts);
}

/** kube warns on every request to a deprecated custom resource version, first. */
function withDeprecation(r: ResourceRequest, warnings: string[]): string[] {
  const text = r.resource.info.customResource?.deprecationWarning;
  return text ? [text, ...warnings] : warnings;
}

function sendReadable(r: ResourceRequest, code: number, objects: KubeObject[], listMeta: Record<string, unknown> | undefined, whole: unknown): void {
  if (!r.rep.table) return send(r, code, whole);
  const table = toTable(r.resource.info, objects, listMeta ?? {}, {
    version: r.rep.table,
    includeObject: includeObjectParam(r.query),
  });
  const warnings = withDeprecation(r, []);
  const headers = warnings.length > 0 ? { Warning: warnings.map(warningHeader) } : undefined;
  writeObject(r.res, code, table, { format: 'json' }, { pretty: r.pretty, ...(headers ? { headers } : {}) });
}

function writeOptions(
  r: ResourceRequest,
  m: MutationOptions,
  extra: { managedFieldsSet?: boolean; handedOver?: boolean } = {},
): WriteOptions & { subresource?: Subresource } {
  const opts: WriteOptions & { subresource?: Subresource } = {
    dryRun: m.dryRun,
    fieldManager: m.fieldManager,
    user: { name: r.user.name, groups: r.user.groups },
    signal: r.lifetime.signal,
    ...extra,
  };
  // The registry resets what a subresource may not change (e.g. k8s.io/kubernetes
  // pkg/registry/core/namespace/strategy.go); ResourceStore implementations that have no
  // subresources ignore the option.
  if (r.subresource) opts.subresource = r.subresource;
  return opts;
}

async function list(r: ResourceRequest): Promise<void> {
  const { store } = r.resource;
  const watch = watchRequested(r.query);
  const sendInitialEvents = checkSendInitialEvents(r.query, watch);
  if (watch) {
    const events = store.watch(r.namespace, {
      ...listOptions(r.query),
      ...(r.name ? { name: r.name } : {}),
      ...(sendInitialEvents !== undefined ? { sendInitialEvents } : {}),
      allowWatchBookmarks: r.query.get('allowWatchBookmarks') === 'true',
      signal: r.lifetime.signal,
    });
    return writeWatch(r.res, events, {
      abort: r.lifetime.controller,
      timeoutSeconds: watchTimeoutSeconds(r.query),
      ...(r.rep.table ? { table: { info: r.resource.info, version: r.rep.table, includeObject: includeObjectParam(r.query) } } : {}),
    });
  }
  const result = await store.list(r.namespace, { ...listOptions(r.query), signal: r.lifetime.signal });
  sendReadable(r, 200, result.items, result.metadata, result);
}

async function create(r: ResourceRequest): Promise<void> {
  const { info, store } = r.resource;
  if (info.namespaced && r.namespace === undefined) throw methodNotAllowed('create', gr(info));
  const m = mutationOptions(r.query, 'CreateOptions', { userAgent: r.req.headers['user-agent'] });
  const body = decodeObjectBody(await readBody(r.req), r.req.headers['content-type'], info);
  const warnings = checkBodyFields(info, body, m.fieldValidation);
  // The body was decoded for this call alone: the store may use it without a deep copy.
  send(r, 201, await store.create(r.namespace, body, writeOptions(r, m, { handedOver: true })), warnings);
}

async function update(r: ResourceRequest, name: string): Promise<void> {
  const { info, store } = r.resource;
  const m = mutationOptions(r.query, 'UpdateOptions', { userAgent: r.req.headers['user-agent'] });
  const body = decodeObjectBody(await readBody(r.req), r.req.headers['content-type'], info);
  const warnings = checkBodyFields(info, body, m.fieldValidation);
  send(r, 200, await store.update(r.namespace, name, body, writeOptions(r, m)), warnings);
}

function isNotFound(e: unknown): boolean {
  return e instanceof ApiStatusError && e.status.code === 404 && e.status.reason === 'NotFound';
}

async function patch(r: ResourceRequest, name: string): Promise<void> {
  const { info, store } = r.resource;
  const type = patchContentType(r.req.headers['content-type'], info);
  if (!type) throw unsupportedPatchMediaType(info);
  const apply = type === APPLY_PATCH;
  const m = mutationOptions(r.query, 'PatchOptions', { userAgent: r.req.headers['user-agent'], applyPatch: apply });
  const body = await readBody(r.req);
  // Every patch type is JSON or YAML text; the algorithms below recurse, so depth is bounded before any of them runs.
  if (bodyTooDeep(body)) throw badRequest(`error decoding patch: ${DEPTH_ERROR}`);
  let warnings: string[] = [];
  if (apply) warnings = checkApplyFields(info, parseJsonOrYamlObject(body, 'YAML'), m.fieldValidation);
  const patchOptions = {
    info,
    ...(r.query.get('fieldManager') !== null ? { fieldManager: r.query.get('fieldManager')! } : {}),
    ...(r.query.get('force') !== null ? { force: m.force } : {}),
    userAgent: r.req.headers['user-agent'],
    dryRun: r.query.getAll('dryRun'),
    fieldValidation: m.fieldValidation,
  };
  let created = false;
  const mutate = (current: KubeObject | undefined): KubeObject => {
    const result = applyPatch(current, { type, body }, patchOptions);
    created = result.created;
    // Apply configurations had their unknown fields checked above; every patched document must decode.
    const problems = checkPatchedFields(info, name, result.object, apply ? 'Ignore' : m.fieldValidation);
    if (!apply) warnings = problems;
    return result.object;
  };
  // An apply computes managedFields itself; other patches get the store's Update entry for this manager.
  const opts = writeOptions(r, m, apply ? { managedFieldsSet: true } : {});
  try {
    return send(r, 200, await store.guaranteedUpdate(r.namespace, name, mutate, opts), warnings);
  } catch (e) {
    if (!apply || !isNotFound(e) || r.subresource) throw e;
  }
  // Server-side apply creates what does not exist yet (201), through the normal create path (k8s.io/apiserver
  // pkg/endpoints/handlers/patch.go).
  const object = mutate(undefined);
  if (!created) throw new Error('server-side apply of a missing object did not create it');
  send(r, 201, await store.create(r.namespace, object, opts), warnings);
}

async function remove(r: ResourceRequest, name: string): Promise<void> {
  const { info, store } = r.resource;
  const raw = await readBody(r.req);
  const body = raw.length > 0 ? parseJsonOrYamlObject(raw, 'DeleteOptions') : undefined;
  const opts = { ...deleteOptions(body, r.query), signal: r.lifetime.signal };
  const { object, deleted } = await store.delete(r.namespace, name, opts);
  if (!deleted || r.resource.returnDeletedObject) return send(r, 200, object);
  // kubectl's --wait reads details.uid; details.kind is the resource name (finalizeDelete, k8s.io/apiserver
  // pkg/registry/generic/registry/store.go).
  send(r, 200, {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Success',
    details: { name, ...(info.group ? { group: info.group } : {}), kind: info.plural, uid: object.metadata?.uid },
  });
}

async function removeCollection(r: ResourceRequest): Promise<void> {
  const { info, store } = r.resource;
  if (!info.verbs.includes('deletecollection')) throw methodNotAllowed('deletecollection', gr(info));
  const raw = await readBody(r.req);
  const body = raw.length > 0 ? parseJsonOrYamlObject(raw, 'DeleteOptions') : undefined;
  send(r, 200, await store.deleteCollection(r.namespace, listOptions(r.query), { ...deleteOptions(body, r.query), signal: r.lifetime.signal }));
}

function getOne(r: ResourceRequest, name: string): Promise<void> {
  const rv = r.query.get('resourceVersion');
  const { store, info } = r.resource;
  if (store.getJson && !rv && r.rep.format === 'json' && !r.rep.table && !r.pretty && !info.customResource?.deprecationWarning) {
    // The common GET (client-go's): the newest object as compact JSON, which the store may have encoded already.
    // (No async function here: one promise fewer on the most frequent request.)
    return store.getJson(r.namespace, name).then((body) => writeJson(r.res, 200, body));
  }
  return getObject(r, name, rv);
}

async function getObject(r: ResourceRequest, name: string, rv: string | null): Promise<void> {
  // No signal: a GET of one object is one bounded read, not worth an AbortController per request.
  const obj = await r.resource.store.get(r.namespace, name, rv ? { resourceVersion: rv } : {});
  sendReadable(r, 200, [obj], { resourceVersion: obj.metadata?.resourceVersion }, obj);
}

/**
 * Serves one routed, authorized resource request. Not an async function (one promise fewer per request): what it
 * throws before a handler's promise exists reaches withErrorStatus all the same, which calls the chain in its try.
 */
export function serveResource(r: ResourceRequest): Promise<void> {
  const method = r.req.method ?? 'GET';
  const { info } = r.resource;
  if (r.subresource) {
    const name = r.name!;
    const allowed = r.subresource === 'finalize' ? ['PUT'] : ['GET', 'PUT', 'PATCH'];
    if (!allowed.includes(method)) throw methodNotAllowed(method.toLowerCase(), gr(info));
    if (method === 'GET') return getOne(r, name);
    return method === 'PUT' ? update(r, name) : patch(r, name);
  }
  if (r.name === undefined) {
    switch (method) {
      case 'GET':
        return list(r);
      case 'POST':
        return create(r);
      case 'DELETE':
        return removeCollection(r);
      default:
        throw methodNotAllowed(verbOf(method, false, r.query), gr(info));
    }
  }
  switch (method) {
    case 'GET':
      // A watch on one object by URL (the legacy form; kubectl uses a field selector instead).
      return watchRequested(r.query) ? list(r) : getOne(r, r.name);
    case 'PUT':
      return update(r, r.name);
    case 'PATCH':
      return patch(r, r.name);
    case 'DELETE':
      return remove(r, r.name);
    case 'POST':
      // kube: POST to an object URL is a create with a name in the path; it answers 405 for our resources.
      throw methodNotAllowed('create', gr(info));
    default:
      throw methodNotAllowed(method.toLowerCase(), gr(info));
  }
}
