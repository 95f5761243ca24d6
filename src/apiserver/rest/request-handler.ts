// Maps Kubernetes REST requests (spec kubernetes-api-for-kubectl.md §3.1) onto the registry's ResourceStores and
// writes results and errors as kube-apiserver does: objects, lists, Tables, watch streams and Status objects.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse as parseYaml } from 'yaml';
import { decodeObject } from '../../objects/object-codec.js';
import type { KubeObject } from '../../objects/object-meta.js';
import {
  ApiStatusError,
  badRequest,
  forbidden,
  internalError,
  methodNotAllowed,
  requestEntityTooLarge,
  unauthorized,
} from '../api-status.js';
import type { ResourceStores } from '../registry/resource-stores.js';
import type { GenericStore } from '../registry/generic-store.js';
import { CONFIG_MAPS, NAMESPACES, SECRETS, type ResourceInfo } from '../resource-info.js';
import type { DeleteOptions, ListOptions } from '../resource-store.js';
import {
  apiGroupListDocument,
  apiVersionsDocument,
  coreResourceListDocument,
  openApiV3CoreDocument,
  openApiV3IndexDocument,
  versionDocument,
} from './discovery.js';
import { applyJsonPatch } from './json-patch.js';
import { checkFields, warningHeader } from './field-validation.js';
import { mergePatch } from './merge-patch.js';
import { denialReason, isAllowed, type PolicyRule, type RequestUser } from './authorization-policy.js';
import { toTable, wantsTable } from './table.js';

const MAX_BODY = 3 * 1024 * 1024;
const RESOURCES = [NAMESPACES, SECRETS, CONFIG_MAPS];
const PUBLIC_PATHS = new Set(['/healthz', '/livez', '/readyz', '/version']);

export interface HandlerContext {
  stores: ResourceStores;
  /** Bearer tokens accepted, each with its user. */
  tokens: ReadonlyMap<string, RequestUser>;
  /** Undefined: every authenticated user may do everything. */
  policy: PolicyRule[] | undefined;
  serverAddress: string;
  metrics(): Promise<string>;
}

interface Target {
  info: ResourceInfo;
  store: GenericStore;
  namespace: string | undefined;
  name: string | undefined;
}

function send(res: ServerResponse, code: number, body: unknown): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json' });
  res.end(text);
}

function sendError(res: ServerResponse, e: unknown): void {
  const err = e instanceof ApiStatusError ? e : internalError(e instanceof Error ? e.message : String(e));
  const status = { ...err.status };
  if (status.reason === '') delete status.reason; // kube omits an empty reason
  if (!res.headersSent) send(res, status.code, status);
  else res.end();
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw requestEntityTooLarge(MAX_BODY);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function parseObject(body: Buffer, contentType?: string): KubeObject {
  // kubectl 1.32 sends built-in kinds as kube protobuf (`k8s\0` + runtime.Unknown), the format they are stored in.
  if ((contentType ?? '').startsWith('application/vnd.kubernetes.protobuf')) {
    try {
      return decodeObject(body);
    } catch (e) {
      throw badRequest(`the body of the request could not be decoded: ${e instanceof Error ? e.message : ''}`);
    }
  }
  let value: unknown;
  try {
    value = parseYaml(body.toString('utf8')); // JSON is YAML
  } catch (e) {
    throw badRequest(`the body of the request could not be decoded: ${e instanceof Error ? e.message.split('\n')[0] : ''}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw badRequest('the body of the request must be a JSON or YAML object');
  }
  return value as KubeObject;
}

function resolve(stores: ResourceStores, segments: string[]): Target | undefined {
  const byPlural = (plural: string) =>
    plural === 'secrets' ? stores.secrets : plural === 'configmaps' ? stores.configmaps : plural === 'namespaces' ? stores.namespaces : undefined;
  const [a, b, c, d, ...rest] = segments;
  if (rest.length > 0 || a === undefined) return undefined;
  if (a === 'namespaces' && c !== undefined) {
    const store = byPlural(c);
    if (!store || !store.info.namespaced) return undefined;
    return { info: store.info, store, namespace: b, name: d };
  }
  if (c !== undefined) return undefined;
  const store = byPlural(a);
  if (!store) return undefined;
  return { info: store.info, store, namespace: undefined, name: b };
}

function listOptions(q: URLSearchParams): ListOptions {
  const o: ListOptions = {};
  for (const k of ['labelSelector', 'fieldSelector', 'continue', 'resourceVersion'] as const) {
    const v = q.get(k);
    if (v !== null && v !== '') o[k] = v;
  }
  const limit = q.get('limit');
  if (limit) o.limit = Number(limit);
  const match = q.get('resourceVersionMatch');
  if (match === 'NotOlderThan' || match === 'Exact') o.resourceVersionMatch = match;
  return o;
}

async function serveWatch(req: IncomingMessage, res: ServerResponse, t: Target, q: URLSearchParams): Promise<void> {
  const ac = new AbortController();
  res.on('close', () => ac.abort());
  const timeout = Number(q.get('timeoutSeconds') ?? 1800);
  const timer = setTimeout(() => ac.abort(), timeout * 1000);
  const events = t.store.watch(t.namespace, {
    ...listOptions(q),
    ...(t.name ? { name: t.name } : {}),
    allowWatchBookmarks: q.get('allowWatchBookmarks') === 'true',
    signal: ac.signal,
  });
  const table = wantsTable(req.headers.accept);
  res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
  res.flushHeaders(); // clients wait for the headers before they count the watch as started
  try {
    for await (const event of events) {
      // `kubectl get -w` asks for Tables: each event then carries a one-row Table, as kube sends it.
      const asTable = table && (event.type === 'ADDED' || event.type === 'MODIFIED' || event.type === 'DELETED');
      const object = asTable
        ? toTable(t.info, [event.object], { resourceVersion: event.object.metadata?.resourceVersion })
        : event.object;
      res.write(JSON.stringify({ type: event.type, object }) + '\n');
    }
  } catch (e) {
    if (!ac.signal.aborted) throw e;
  } finally {
    clearTimeout(timer);
    res.end();
  }
}

/** kube's default field manager: the user agent up to its first `/` (`kubectl/v1.32.4 (linux/amd64)` → `kubectl`). */
function defaultFieldManager(userAgent: string | undefined): string {
  return (userAgent ?? '').split('/')[0]!.slice(0, 128) || 'unknown';
}

/** fieldValidation on a create/update body: Strict throws; the default adds Warning headers. */
function validated(res: ServerResponse, t: Target, obj: KubeObject, q: URLSearchParams): KubeObject {
  const warnings = checkFields(t.info, obj, q.get('fieldValidation'));
  if (warnings.length > 0) res.setHeader('Warning', warnings.map(warningHeader));
  return obj;
}

/** The Kubernetes verb of a request, as authorization and audit name it. */
function verbOf(method: string, t: Target, q: URLSearchParams): string {
  const watch = q.get('watch') === 'true' || q.get('watch') === '1';
  if (method === 'GET') return t.name ? 'get' : watch ? 'watch' : 'list';
  if (method === 'DELETE') return t.name ? 'delete' : 'deletecollection';
  return { POST: 'create', PUT: 'update', PATCH: 'patch' }[method] ?? method.toLowerCase();
}

async function serveResource(
  req: IncomingMessage,
  res: ServerResponse,
  t: Target,
  q: URLSearchParams,
  user: RequestUser,
  policy: PolicyRule[] | undefined,
): Promise<void> {
  const method = req.method ?? 'GET';
  const access = { verb: verbOf(method, t, q), resource: t.info.plural, namespace: t.info.namespaced ? t.namespace : undefined };
  if (!isAllowed(policy, user, access)) {
    throw forbidden({ group: t.info.group, resource: t.info.plural }, t.name, denialReason(user, access));
  }
  const table = wantsTable(req.headers.accept);
  const write = { dryRun: q.get('dryRun') === 'All', fieldManager: q.get('fieldManager') ?? defaultFieldManager(req.headers['user-agent']), user };
  if (!t.name) {
    if (method === 'GET' && (q.get('watch') === 'true' || q.get('watch') === '1')) return serveWatch(req, res, t, q);
    if (method === 'GET') {
      const list = await t.store.list(t.namespace, listOptions(q));
      return send(res, 200, table ? toTable(t.info, list.items, list.metadata) : list);
    }
    if (method === 'POST') {
      if (t.info.namespaced && !t.namespace) throw methodNotAllowed('create', { group: t.info.group, resource: t.info.plural });
      const body = validated(res, t, parseObject(await readBody(req), req.headers['content-type']), q);
      const created = await t.store.create(t.namespace, body, write);
      return send(res, 201, created);
    }
    if (method === 'DELETE' && t.info.verbs.includes('deletecollection')) {
      return send(res, 200, await t.store.deleteCollection(t.namespace, listOptions(q), { dryRun: write.dryRun }));
    }
    throw methodNotAllowed(method.toLowerCase(), { group: t.info.group, resource: t.info.plural });
  }
  const name = t.name;
  switch (method) {
    case 'GET': {
      const obj = await t.store.get(t.namespace, name);
      return send(res, 200, table ? toTable(t.info, [obj], { resourceVersion: obj.metadata?.resourceVersion }) : obj);
    }
    case 'PUT': {
      const body = validated(res, t, parseObject(await readBody(req), req.headers['content-type']), q);
      return send(res, 200, await t.store.update(t.namespace, name, body, write));
    }
    case 'PATCH': {
      const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim();
      const body = await readBody(req);
      let mutate: (current: KubeObject) => KubeObject;
      if (type === 'application/json-patch+json') {
        mutate = (current) => applyJsonPatch(current, body) as KubeObject;
      } else if (type === 'application/merge-patch+json' || type === 'application/strategic-merge-patch+json') {
        const patch = parseObject(body);
        const strategic = type === 'application/strategic-merge-patch+json';
        mutate = (current) => mergePatch(current, patch, { strategic }) as KubeObject;
      } else {
        throw new ApiStatusError(
          415,
          'UnsupportedMediaType',
          'the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json',
        );
      }
      return send(res, 200, await t.store.guaranteedUpdate(t.namespace, name, mutate, write));
    }
    case 'DELETE': {
      const body = await readBody(req);
      const opts: DeleteOptions = { dryRun: write.dryRun };
      if (body.length > 0) Object.assign(opts, parseObject(body, req.headers['content-type']));
      const { object, deleted } = await t.store.delete(t.namespace, name, opts);
      if (!deleted || t.info.kind === 'Namespace') return send(res, 200, object);
      return send(res, 200, {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Success',
        details: { name, kind: t.info.plural, uid: object.metadata?.uid },
      });
    }
    default:
      throw methodNotAllowed(method.toLowerCase(), { group: t.info.group, resource: t.info.plural });
  }
}

export async function handleRequest(ctx: HandlerContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  try {
    const url = new URL(req.url ?? '/', 'https://localhost');
    const path = url.pathname.replace(/\/+$/, '') || '/';
    if (path === '/healthz' || path === '/livez' || path === '/readyz') return send(res, 200, 'ok');
    if (path === '/version') return send(res, 200, versionDocument());
    if (!PUBLIC_PATHS.has(path)) {
      const auth = req.headers.authorization ?? '';
      const user = auth.startsWith('Bearer ') ? ctx.tokens.get(auth.slice(7).trim()) : undefined;
      if (!user) throw unauthorized();
      if (path === '/metrics') return send(res, 200, await ctx.metrics());
      if (path === '/api') return send(res, 200, apiVersionsDocument(ctx.serverAddress));
      if (path === '/api/v1') return send(res, 200, coreResourceListDocument(RESOURCES));
      if (path === '/apis') return send(res, 200, apiGroupListDocument());
      if (path === '/openapi/v3') return send(res, 200, openApiV3IndexDocument(openApiV3CoreDocument(RESOURCES)));
      if (path === '/openapi/v3/api/v1') return send(res, 200, openApiV3CoreDocument(RESOURCES));
      const segments = path.split('/').filter(Boolean);
      if (segments[0] === 'api' && segments[1] === 'v1') {
        const target = resolve(ctx.stores, segments.slice(2));
        if (target) return await serveResource(req, res, target, url.searchParams, user, ctx.policy);
      }
    }
    send(res, 404, '404 page not found'); // kube answers unknown paths as Go's http.NotFound
  } catch (e) {
    sendError(res, e);
  }
}
