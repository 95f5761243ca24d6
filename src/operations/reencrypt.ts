// Rewrites objects through the API server so that it stores them again with its current write key: GET, then PUT of
// the same object with the resourceVersion just read. kube-apiserver (and Coffer) write an unchanged object only when
// its stored value is stale, so this is exactly `kubectl get -o json | kubectl replace -f -`, object by object, with a
// rate limit, a bounded number in flight, a checkpoint to resume from, and a retry on 409 Conflict.
import { CofferError } from '../lib/errors.js';
import { Checkpoint } from './checkpoint.js';
import { KubeClient, objectPath, statusError, type KubeObject, type ResourcePath } from './kube-client.js';
import { Progress, RateLimiter, type ProgressOutput } from './progress.js';

export interface ReencryptTarget {
  resource: string;
  namespace?: string;
  name: string;
}

export interface ReencryptOptions {
  resources: string[];
  /** Only these objects (from a scan's stale findings); every object of the resources when absent. */
  targets?: ReencryptTarget[];
  qps: number;
  concurrency: number;
  checkpointFile?: string;
  progress?: ProgressOutput;
  signal?: AbortSignal;
  /** Attempts per object when the PUT meets 409 Conflict (someone else wrote it in between). */
  maxConflictRetries?: number;
}

export interface ReencryptSummary {
  total: number;
  /** PUTs answered 200 in this run. */
  rewritten: number;
  /** Listed in the checkpoint by an earlier run. */
  alreadyDone: number;
  /** Gone (404) by the time they were read or written. */
  deleted: number;
  conflictsRetried: number;
  failed: { target: string; error: string }[];
}

export const targetId = (t: ReencryptTarget) => `${t.resource} ${t.namespace ? `${t.namespace}/` : ''}${t.name}`;

const LIST_PAGE = 500;

async function listTargets(client: KubeClient, rp: ResourcePath, resource: string, signal?: AbortSignal): Promise<ReencryptTarget[]> {
  const out: ReencryptTarget[] = [];
  let cont = '';
  do {
    signal?.throwIfAborted();
    const page = await client.json<{ items: KubeObject[]; metadata: { continue?: string } }>(
      'GET',
      `${rp.base}/${rp.resource}?limit=${LIST_PAGE}${cont ? `&continue=${encodeURIComponent(cont)}` : ''}`,
    );
    for (const item of page.items) {
      out.push({ resource, name: item.metadata.name, ...(item.metadata.namespace ? { namespace: item.metadata.namespace } : {}) });
    }
    cont = page.metadata.continue ?? '';
  } while (cont);
  return out;
}

type Outcome = 'rewritten' | 'deleted';

export async function rewriteOne(client: KubeClient, rp: ResourcePath, t: ReencryptTarget, retries: number, onConflict: () => void): Promise<Outcome> {
  const path = objectPath(rp, t.namespace, t.name);
  for (let attempt = 0; ; attempt++) {
    const got = await client.request('GET', path);
    if (got.status === 404) return 'deleted';
    if (got.status !== 200) throw statusError('GET', path, got);
    const obj = JSON.parse(got.body.toString('utf8')) as KubeObject;
    // The object exactly as read, resourceVersion included: the server refuses it (409) if anything changed since.
    const put = await client.request('PUT', path, obj);
    if (put.status === 200 || put.status === 201) return 'rewritten';
    if (put.status === 404) return 'deleted';
    if (put.status === 409 && attempt < retries) {
      onConflict();
      continue;
    }
    throw statusError('PUT', path, put);
  }
}

export async function reencrypt(client: KubeClient, opts: ReencryptOptions): Promise<ReencryptSummary> {
  const paths = new Map<string, ResourcePath>();
  for (const r of opts.resources) paths.set(r, await client.resourcePath(r));
  const checkpoint = await Checkpoint.open(opts.checkpointFile, {
    coffer: 'reencrypt-checkpoint',
    version: 1,
    server: client.server,
    resources: opts.resources,
  });
  try {
    let targets = opts.targets;
    if (!targets) {
      targets = [];
      for (const r of opts.resources) targets.push(...(await listTargets(client, paths.get(r)!, r, opts.signal)));
    }
    targets = targets.filter((t) => paths.has(t.resource));
    const summary: ReencryptSummary = { total: targets.length, rewritten: 0, alreadyDone: 0, deleted: 0, conflictsRetried: 0, failed: [] };
    const todo = targets.filter((t) => {
      const skip = checkpoint.done.has(targetId(t));
      if (skip) summary.alreadyDone++;
      return !skip;
    });
    const progress = new Progress('reencrypt', todo.length, opts.progress ?? process.stderr);
    const limiter = new RateLimiter(opts.qps);
    let next = 0;
    const worker = async () => {
      while (next < todo.length) {
        opts.signal?.throwIfAborted();
        const t = todo[next++]!;
        await limiter.wait(opts.signal);
        try {
          const outcome = await rewriteOne(client, paths.get(t.resource)!, t, opts.maxConflictRetries ?? 5, () => summary.conflictsRetried++);
          if (outcome === 'rewritten') summary.rewritten++;
          else summary.deleted++;
          checkpoint.record(targetId(t));
        } catch (e) {
          summary.failed.push({ target: targetId(t), error: e instanceof Error ? e.message : String(e) });
        }
        progress.add();
      }
    };
    await Promise.all(Array.from({ length: Math.min(opts.concurrency, todo.length) }, worker));
    if (todo.length > 0) progress.finish();
    if (summary.failed.length === 0) checkpoint.markComplete();
    return summary;
  } finally {
    checkpoint.close();
  }
}

/** Parses `<prefix><resource>/<namespace>/<name>` (or `<prefix><resource>/<name>` for cluster-scoped objects). */
export function targetOfKey(key: string, prefix: string): ReencryptTarget {
  const parts = key.slice(prefix.length).split('/');
  if (!key.startsWith(prefix) || parts.length < 2 || parts.length > 3 || parts.some((p) => p === '')) {
    throw new CofferError(`storage key ${JSON.stringify(key)} is not <prefix>/<resource>/[<namespace>/]<name>`);
  }
  return parts.length === 3 ? { resource: parts[0]!, namespace: parts[1]!, name: parts[2]! } : { resource: parts[0]!, name: parts[1]! };
}
