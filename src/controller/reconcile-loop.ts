// Runs a reconciler over a work queue with N workers: success forgets the key's failures and honours requeueAfterMs,
// an error retries with backoff, a TerminalError waits for the next event. Errors are logged, never thrown, so one
// bad object cannot stop the controller.
import type { Logger } from 'pino';
import { formatKey, parseKey, TerminalError, type Reconciler } from './reconciler.js';
import type { WorkQueue } from './work-queue.js';

export interface ReconcileLoopOptions {
  name: string;
  workers: number;
  signal: AbortSignal;
  logger: Logger;
}

export async function runReconcileLoop(queue: WorkQueue, reconciler: Reconciler, opts: ReconcileLoopOptions): Promise<void> {
  const worker = async () => {
    for (;;) {
      const key = await queue.get();
      if (key === undefined || opts.signal.aborted) return;
      try {
        const result = await reconciler.reconcile(parseKey(key), { signal: opts.signal });
        queue.forget(key);
        if (result.requeueAfterMs !== undefined && result.requeueAfterMs >= 0) queue.addAfter(key, result.requeueAfterMs);
      } catch (e) {
        if (opts.signal.aborted) return;
        const error = e instanceof Error ? e.message : String(e);
        if (e instanceof TerminalError) {
          queue.forget(key);
          opts.logger.warn({ controller: opts.name, key: formatKey(parseKey(key)), error }, 'reconcile failed; waiting for a change');
        } else {
          const retryMs = queue.addRateLimited(key);
          opts.logger.warn({ controller: opts.name, key, error, retryInMs: Math.round(retryMs) }, 'reconcile failed; retrying');
        }
      } finally {
        queue.done(key);
      }
    }
  };
  const stop = () => queue.shutDown();
  // Already aborted (a stop while the controller was starting): 'abort' will not fire again, so shut down now.
  if (opts.signal.aborted) stop();
  else opts.signal.addEventListener('abort', stop, { once: true });
  try {
    await Promise.all(Array.from({ length: Math.max(1, opts.workers) }, worker));
  } finally {
    opts.signal.removeEventListener('abort', stop);
  }
}
