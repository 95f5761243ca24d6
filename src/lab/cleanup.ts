// Everything the lab starts (processes, temp dirs, mounts) is registered here as it is made, and undone in reverse
// order: at the end of a row, when an attack throws, and when the lab is interrupted (SIGINT/SIGTERM) - a lab that
// leaves an API server or a key server running with canaries in memory would itself be the leak.
import { rm } from 'node:fs/promises';
import type { ChildProcess } from 'node:child_process';

type Undo = () => Promise<void> | void;

export class CleanupStack {
  private readonly undos: { what: string; undo: Undo }[] = [];
  private running: Promise<string[]> | undefined;
  private closed = false;

  /**
   * Registers an undo; returns a function that runs it early (and removes it from the stack). Once the stack has
   * been emptied (after SIGINT, or at the end), an undo registered late - a process spawned by work still in flight -
   * runs at once, so nothing started after the cleanup survives it.
   */
  defer(what: string, undo: Undo): () => Promise<void> {
    if (this.closed) {
      void Promise.resolve()
        .then(undo)
        .catch(() => undefined);
      return async () => undefined;
    }
    const entry = { what, undo };
    this.undos.push(entry);
    return async () => {
      const i = this.undos.indexOf(entry);
      if (i < 0) return;
      this.undos.splice(i, 1);
      await undo();
    };
  }

  tempDir(dir: string): void {
    this.defer(`remove ${dir}`, () => rm(dir, { recursive: true, force: true }));
  }

  get size(): number {
    return this.undos.length;
  }

  /** Runs every undo, last first; returns the failures (one message each) instead of stopping at the first. */
  runAll(): Promise<string[]> {
    this.closed = true;
    this.running ??= (async () => {
      const failures: string[] = [];
      while (this.undos.length > 0) {
        const { what, undo } = this.undos.pop()!;
        try {
          await undo();
        } catch (e) {
          failures.push(`${what}: ${e instanceof Error ? e.message : String(e)}`);
        }
      }
      this.running = undefined;
      return failures;
    })();
    return this.running;
  }
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the child has exited. */
export async function stopChild(child: ChildProcess, graceMs = 5_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/**
 * Runs `body` with a cleanup stack that is emptied afterwards, also when body throws or the process receives
 * SIGINT/SIGTERM (then the process exits with 130/143 after cleaning up).
 */
export async function withCleanup<T>(body: (stack: CleanupStack) => Promise<T>): Promise<T> {
  const stack = new CleanupStack();
  const onSignal = (signal: NodeJS.Signals) => {
    process.stderr.write(`lab: ${signal}: stopping every process the lab started and removing its temp dirs\n`);
    void stack.runAll().then((failures) => {
      for (const f of failures) process.stderr.write(`lab: cleanup failed: ${f}\n`);
      process.exit(signal === 'SIGINT' ? 130 : 143);
    });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await body(stack);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    const failures = await stack.runAll();
    for (const f of failures) process.stderr.write(`lab: cleanup failed: ${f}\n`);
  }
}
