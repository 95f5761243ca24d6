// Runs one child process of `coffer up` (the KMS plugin, the key server) and keeps it running, as systemd's
// Restart=always would: any exit this supervisor did not ask for - a crash, kill -9, a SIGTERM from someone else, even
// exit code 0 - is logged and the child restarted after a growing delay. Only stop() ends it for good.
//
// Children die with their parent, however the parent dies:
//  - each child gets a lifeline (lifeline.ts): a pipe whose other end only this process holds. When it exits, even by
//    kill -9, the child reads EOF and shuts down (serve-until-signal.ts watches it for every long-running command).
//  - each child runs in its own session, so Ctrl-C in a terminal reaches only the parent, which stops its children in
//    order instead of seeing them all exit at once and restarting them.
//  - with pidFile, the child's identity (process-identity.ts) is recorded while it runs, and the first start ends a
//    child an earlier run left behind (one hung too badly to act on its lifeline).
// The child announces readiness by printing one line to stdout that matches `ready`; its stderr (JSON logs) passes
// through to ours.
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import { LIFELINE_ENV, LIFELINE_FD } from './lifeline.js';
import { endLeftover, forgetProcess, recordProcess } from './process-identity.js';

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
  /** Where the running child's identity is recorded; a leftover recorded there is ended before the first start. */
  pidFile?: string;
  /**
   * Bytes for the child's stdin, asked for before each (re)start - a fresh single-use credential, so none need be kept
   * on disk. Written to a pipe that stays open for the child's life; a failure counts as a failed start.
   */
  stdin?: () => Promise<Uint8Array>;
}

export interface SupervisedProcess {
  /** Resolves with the ready line's match of the first start; rejects when the first start fails. */
  readonly ready: Promise<RegExpExecArray>;
  /** The current child's PID (undefined between an exit and its restart). */
  pid(): number | undefined;
  /** Number of restarts so far. */
  restarts(): number;
  /** SIGTERM, then SIGKILL after graceMs; no restart afterwards. */
  stop(graceMs?: number): Promise<void>;
}

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
  ready.catch(() => undefined); // observed by the caller; a failure after stop must not become an unhandled rejection
  const failFirstStart = (e: Error) => {
    firstStart = false;
    stopped = true;
    rejectReady(e);
  };

  const start = () => {
    if (stopped) return;
    if (!o.stdin) return spawnChild(undefined);
    o.stdin().then(
      (bytes) => (stopped ? undefined : spawnChild(bytes)),
      (e: Error) => {
        o.logger.error({ process: o.name, error: e.message }, "could not prepare the child's stdin");
        if (stopped) return;
        if (firstStart) return failFirstStart(new Error(`${o.name}: could not prepare its stdin: ${e.message}`));
        restartCount++;
        restartTimer = setTimeout(start, delay);
        delay = Math.min(delay * 2, maxDelay);
      },
    );
  };

  const spawnChild = (stdinBytes: Uint8Array | undefined) => {
    const startedAt = Date.now();
    const stdio: StdioOptions = [stdinBytes ? 'pipe' : 'ignore', 'pipe', 'inherit'];
    stdio[LIFELINE_FD] = 'pipe';
    const c = spawn(o.command, [...o.args], { stdio, detached: true, env: { ...(o.env ?? process.env), [LIFELINE_ENV]: String(LIFELINE_FD) } });
    child = c;
    if (stdinBytes) {
      c.stdin!.on('error', () => undefined); // a child that exits early closes the pipe; its exit is handled below
      c.stdin!.write(stdinBytes, () => stdinBytes.fill(0));
    }
    // Our end of the lifeline: read (nothing ever comes) so that the child's exit closes it and frees the handle.
    const lifeline = c.stdio[LIFELINE_FD] as Readable | null;
    lifeline?.on('error', () => undefined).resume();
    if (o.pidFile && c.pid !== undefined && !recordProcess(o.pidFile, c.pid)) {
      o.logger.warn({ process: o.name, pid: c.pid, pidFile: o.pidFile }, 'cannot record the child in its pid file');
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
      lifeline?.destroy();
      if (o.pidFile && c.pid !== undefined) forgetProcess(o.pidFile, c.pid);
      if (child === c) child = undefined;
      if (stopped) return;
      // A first start that fails is a configuration problem a restart will not fix: report it to the caller.
      if (firstStart) return failFirstStart(new Error(`${o.name} exited before it was ready (code ${code}, signal ${signal})`));
      if (Date.now() - startedAt > 60_000) delay = baseDelay;
      restartCount++;
      o.logger.error({ process: o.name, pid: c.pid, code, signal, restartInMs: delay }, 'child exited; restarting');
      restartTimer = setTimeout(start, delay);
      delay = Math.min(delay * 2, maxDelay);
    });
  };
  if (o.pidFile) {
    endLeftover(o.pidFile, { name: o.name, logger: o.logger }).then(start, (e: unknown) =>
      failFirstStart(new Error(`${o.name}: cannot check ${o.pidFile} for a leftover child: ${e instanceof Error ? e.message : String(e)}`)),
    );
  } else start();

  return {
    ready,
    pid: () => child?.pid,
    restarts: () => restartCount,
    async stop(graceMs = 5_000) {
      stopped = true;
      clearTimeout(restartTimer);
      if (firstStart) failFirstStart(new Error(`${o.name} stopped before it was ready`));
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
