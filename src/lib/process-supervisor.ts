// Runs one child process of `coffer up` (the KMS plugin, the key server) and keeps it running: a crash is logged and
// the process restarted after a growing delay, as systemd's Restart=on-failure would. A clean exit (code 0, SIGTERM,
// SIGINT, SIGHUP) is not a failure: Ctrl-C in a terminal signals the whole process group, children included. The child announces readiness
// by printing one line to stdout that matches `ready`; its stderr (JSON logs) passes through to ours.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Logger } from 'pino';

export interface SupervisedProcessOptions {
  /** For logs: `kms-plugin`, `keyserver`. */
  name: string;
  command: string;
  args: readonly string[];
  /** A stdout line matching this means the child is serving; its match is what `ready` resolves to. */
  ready: RegExp;
  logger: Logger;
  /** How long a start may take before it counts as failed. */
  startTimeoutMs?: number;
  /** First restart delay; doubles after each crash up to maxRestartDelayMs, reset once a run lasts a minute. */
  restartDelayMs?: number;
  maxRestartDelayMs?: number;
  env?: NodeJS.ProcessEnv;
  /**
   * Bytes for the child's stdin, asked for before each (re)start - a fresh single-use credential, so none need be kept
   * on disk. Written to a pipe that stays open for the child's life; a failure counts as a failed start.
   */
  stdin?: () => Promise<Uint8Array>;
}

export interface SupervisedProcess {
  /** Resolves with the ready line's match of the first start; rejects when the first start fails. */
  readonly ready: Promise<RegExpExecArray>;
  /** The current child's PID (undefined between a crash and its restart). */
  pid(): number | undefined;
  /** Number of restarts after crashes so far. */
  restarts(): number;
  /** SIGTERM, then SIGKILL after graceMs; no restart afterwards. */
  stop(graceMs?: number): Promise<void>;
}

const CLEAN_SIGNALS = new Set(['SIGTERM', 'SIGINT', 'SIGHUP']);

export function superviseProcess(o: SupervisedProcessOptions): SupervisedProcess {
  const startTimeoutMs = o.startTimeoutMs ?? 30_000;
  const baseDelay = o.restartDelayMs ?? 500;
  const maxDelay = o.maxRestartDelayMs ?? 30_000;
  let child: ChildProcess | undefined;
  let stopped = false;
  let restartCount = 0;
  let delay = baseDelay;
  let restartTimer: NodeJS.Timeout | undefined;
  let firstStart = true;
  let resolveReady!: (m: RegExpExecArray) => void;
  let rejectReady!: (e: Error) => void;
  const ready = new Promise<RegExpExecArray>((res, rej) => {
    resolveReady = res;
    rejectReady = rej;
  });
  ready.catch(() => undefined); // observed by the caller; a crash after stop must not become an unhandled rejection

  const start = () => {
    if (!o.stdin) return spawnChild(undefined);
    o.stdin().then(
      (bytes) => (stopped ? undefined : spawnChild(bytes)),
      (e: Error) => {
        o.logger.error({ process: o.name, error: e.message }, 'could not prepare the child\'s stdin');
        if (stopped) return;
        if (firstStart) {
          firstStart = false;
          stopped = true;
          rejectReady(new Error(`${o.name}: could not prepare its stdin: ${e.message}`));
          return;
        }
        restartCount++;
        restartTimer = setTimeout(start, delay);
        delay = Math.min(delay * 2, maxDelay);
      },
    );
  };

  const spawnChild = (stdinBytes: Uint8Array | undefined) => {
    const startedAt = Date.now();
    const c = spawn(o.command, [...o.args], { stdio: [stdinBytes ? 'pipe' : 'ignore', 'pipe', 'inherit'], env: o.env ?? process.env });
    child = c;
    if (stdinBytes) {
      c.stdin!.on('error', () => undefined); // a child that exits early closes the pipe; its exit is handled below
      c.stdin!.write(stdinBytes, () => stdinBytes.fill(0));
    }
    let isReady = false;
    const timer = setTimeout(() => {
      if (isReady) return;
      o.logger.error({ process: o.name, pid: c.pid, timeoutMs: startTimeoutMs }, 'child did not become ready in time; killing it');
      c.kill('SIGKILL');
    }, startTimeoutMs);
    createInterface({ input: c.stdout! }).on('line', (line) => {
      const m = isReady ? null : o.ready.exec(line);
      if (!m) return;
      isReady = true;
      clearTimeout(timer);
      o.logger.info({ process: o.name, pid: c.pid }, 'child ready');
      if (firstStart) {
        firstStart = false;
        resolveReady(m);
      }
    });
    c.on('error', (e) => o.logger.error({ process: o.name, error: e.message }, 'could not start child'));
    c.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (child === c) child = undefined;
      if (stopped) return;
      if (firstStart) {
        firstStart = false;
        stopped = true;
        rejectReady(new Error(`${o.name} exited before it was ready (code ${code}, signal ${signal})`));
        return;
      }
      if (code === 0 || CLEAN_SIGNALS.has(signal ?? '')) {
        stopped = true;
        o.logger.info({ process: o.name, code, signal }, 'child exited cleanly; not restarting');
        return;
      }
      if (Date.now() - startedAt > 60_000) delay = baseDelay;
      restartCount++;
      o.logger.error({ process: o.name, code, signal, restartInMs: delay }, 'child exited; restarting');
      restartTimer = setTimeout(start, delay);
      delay = Math.min(delay * 2, maxDelay);
    });
  };
  start();

  return {
    ready,
    pid: () => child?.pid,
    restarts: () => restartCount,
    async stop(graceMs = 5_000) {
      stopped = true;
      clearTimeout(restartTimer);
      const c = child;
      if (!c || c.exitCode !== null || c.signalCode !== null) return;
      const exited = new Promise<void>((res) => c.once('exit', () => res()));
      c.kill('SIGTERM');
      const kill = setTimeout(() => c.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(kill);
    },
  };
}
