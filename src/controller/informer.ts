// A list+watch cache over client-node's makeInformer (ListWatch) that restarts itself after watch errors (client-node
// stops on error and leaves restarting to the caller), with jittered backoff so a restarted API server is not hit by
// every informer at the same instant.
import { makeInformer, type KubeConfig, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from 'pino';

export interface ObjectInformer<T extends KubernetesObject> {
  get(name: string, namespace?: string): T | undefined;
  list(namespace?: string): readonly T[];
  onAdd(cb: (obj: T) => void): void;
  onUpdate(cb: (obj: T) => void): void;
  onDelete(cb: (obj: T) => void): void;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function startInformer<T extends KubernetesObject>(
  kc: KubeConfig,
  path: string,
  list: () => Promise<KubernetesListObject<T>>,
  opts: { logger: Logger; labelSelector?: string },
): ObjectInformer<T> {
  const informer = makeInformer<T>(kc, path, list, opts.labelSelector);
  let stopped = false;
  let failures = 0;
  let timer: NodeJS.Timeout | undefined;
  informer.on('connect', () => (failures = 0));
  informer.on('error', (err: unknown) => {
    if (stopped) return;
    const delay = Math.min(30_000, 500 * 2 ** failures++) * (0.5 + Math.random() / 2);
    opts.logger.warn({ path, error: err instanceof Error ? err.message : String(err), retryInMs: Math.round(delay) }, 'watch failed; restarting');
    timer = setTimeout(() => {
      if (!stopped) void start().catch(() => undefined); // a failed start emits 'error' again
    }, delay);
    timer.unref();
  });
  // client-node opens the watch once its list returns, without looking whether it was stopped in between: a stop
  // during a start is repeated once the start is over, so no watch outlives stop() (a server could not close on it).
  const start = async () => {
    await informer.start();
    if (stopped) await informer.stop();
  };
  return {
    get: (name, namespace) => informer.get(name, namespace),
    list: (namespace) => informer.list(namespace),
    onAdd: (cb) => informer.on('add', cb),
    onUpdate: (cb) => informer.on('update', cb),
    onDelete: (cb) => informer.on('delete', cb),
    start,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await informer.stop();
    },
  };
}
