// How a long-running `coffer` command (up, kms-plugin, keyserver) starts and stops: signal handlers go in before
// anything is announced, since a supervisor may signal the moment the ready line appears and Node's default for
// SIGTERM is to die on the spot (leaving a socket file behind). The first SIGINT/SIGTERM closes what was started and
// exits 0; a second one exits at once. A child of `coffer up` also stops when its lifeline closes, that is when its
// parent is gone, however it died (lib/lifeline.ts).
import type { Logger } from 'pino';
import { watchLifeline } from '../lib/lifeline.js';

export async function serveUntilSignal<T extends { close(): Promise<void> }>(
  log: Logger,
  start: () => Promise<T>,
  announce: (running: T) => void,
): Promise<void> {
  const state: { starting?: Promise<T> } = {};
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      if (signal === 'lifeline') return;
      log.warn({ signal }, 'second signal: exiting without waiting');
      process.exit(1);
    }
    stopping = true;
    log.info({ signal }, signal === 'lifeline' ? 'parent process gone (lifeline closed); shutting down' : 'shutting down');
    void (async () => {
      try {
        await (await state.starting?.catch(() => undefined))?.close();
        log.info('stopped');
        process.exit(0);
      } catch (e) {
        log.error({ error: e instanceof Error ? e.message : String(e) }, 'shutdown failed');
        process.exit(1);
      }
    })();
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  watchLifeline(() => stop('lifeline'));
  state.starting = start();
  const running = await state.starting;
  if (!stopping) announce(running);
}
