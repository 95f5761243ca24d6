// RFC 6902 JSON Patch over a JSON document, with kube's error behaviour (spec §7.2): more than 10000 operations is
// 413; any failing operation (missing path, failed test) is a 422 whose text does not say which, as kube's.
import { ApiStatusError, badRequest } from '../api-status.js';

const MAX_OPERATIONS = 10000;

interface Operation {
  op: string;
  path: string;
  from?: string;
  value?: unknown;
}

class PatchFailed extends Error {}

function rejected(): ApiStatusError {
  return new ApiStatusError(422, 'Invalid', 'the server rejected our request due to an error in our request', {});
}

function pointer(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw new PatchFailed();
  return path
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

type Container = Record<string, unknown> | unknown[];

function parentOf(doc: unknown, tokens: string[]): { parent: Container; key: string } {
  let node = doc;
  for (const t of tokens.slice(0, -1)) {
    if (Array.isArray(node)) node = node[Number(t)];
    else if (node && typeof node === 'object' && Object.hasOwn(node, t)) node = (node as Record<string, unknown>)[t];
    else throw new PatchFailed();
    if (!node || typeof node !== 'object') throw new PatchFailed();
  }
  if (!node || typeof node !== 'object') throw new PatchFailed();
  return { parent: node as Container, key: tokens[tokens.length - 1]! };
}

function index(arr: unknown[], key: string, forAdd: boolean): number {
  if (forAdd && key === '-') return arr.length;
  if (!/^(0|[1-9]\d*)$/.test(key)) throw new PatchFailed();
  const i = Number(key);
  if (i > arr.length || (!forAdd && i === arr.length)) throw new PatchFailed();
  return i;
}

function get(doc: unknown, path: string): unknown {
  const tokens = pointer(path);
  if (tokens.length === 0) return doc;
  const { parent, key } = parentOf(doc, tokens);
  if (Array.isArray(parent)) return parent[index(parent, key, false)];
  if (!Object.hasOwn(parent, key)) throw new PatchFailed();
  return parent[key];
}

function remove(doc: unknown, path: string): unknown {
  const { parent, key } = parentOf(doc, pointer(path));
  if (Array.isArray(parent)) return parent.splice(index(parent, key, false), 1)[0];
  if (!Object.hasOwn(parent, key)) throw new PatchFailed();
  const old = parent[key];
  delete parent[key];
  return old;
}

function add(doc: unknown, path: string, value: unknown): unknown {
  const tokens = pointer(path);
  if (tokens.length === 0) return value;
  const { parent, key } = parentOf(doc, tokens);
  if (Array.isArray(parent)) parent.splice(index(parent, key, true), 0, value);
  else parent[key] = value;
  return doc;
}

export function applyJsonPatch(document: unknown, patchBody: Buffer): unknown {
  let ops: unknown;
  try {
    ops = JSON.parse(patchBody.toString('utf8'));
  } catch (e) {
    throw badRequest(`the body of the request could not be decoded: ${e instanceof Error ? e.message : ''}`);
  }
  if (!Array.isArray(ops)) throw badRequest('a JSON patch must be an array of operations');
  if (ops.length > MAX_OPERATIONS) {
    throw new ApiStatusError(
      413,
      'RequestEntityTooLarge',
      `Request entity too large: The allowed maximum operations in a JSON patch is ${MAX_OPERATIONS}, got ${ops.length}`,
    );
  }
  let doc = structuredClone(document);
  try {
    for (const raw of ops as Operation[]) {
      const copy = (v: unknown) => structuredClone(v);
      switch (raw.op) {
        case 'add':
          doc = add(doc, raw.path, copy(raw.value));
          break;
        case 'remove':
          remove(doc, raw.path);
          break;
        case 'replace':
          get(doc, raw.path);
          if (pointer(raw.path).length === 0) doc = copy(raw.value);
          else {
            remove(doc, raw.path);
            doc = add(doc, raw.path, copy(raw.value));
          }
          break;
        case 'move':
          doc = add(doc, raw.path, remove(doc, raw.from ?? ''));
          break;
        case 'copy':
          doc = add(doc, raw.path, copy(get(doc, raw.from ?? '')));
          break;
        case 'test':
          if (JSON.stringify(get(doc, raw.path)) !== JSON.stringify(raw.value)) throw new PatchFailed();
          break;
        default:
          throw new PatchFailed();
      }
    }
  } catch (e) {
    if (e instanceof PatchFailed) throw rejected();
    throw e;
  }
  return doc;
}
