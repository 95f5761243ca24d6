// Who a PID is, told from /proc: the boot, the start time (clock ticks since boot, fixed for the life of a process)
// and the command line. A PID alone is not an identity: after a crash the kernel hands a dead child's PID to any new
// process, and a start that killed "its leftover child" by PID alone could kill a stranger. Records of children
// (pid files) hold the whole identity, and a process is signalled only while all of it still matches.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Logger } from 'pino';

export interface ProcessIdentity {
  pid: number;
  /** /proc/sys/kernel/random/boot_id: start times count from boot, so a record from an earlier boot names nobody. */
  bootId: string;
  /** Field 22 of /proc/<pid>/stat. */
  startTime: string;
  cmdline: string[];
}

function readProc(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined; // gone, or no /proc (not Linux)
  }
}

/** The identity of a running process, or undefined when there is none (exited, a zombie, or no /proc). */
export function identityOf(pid: number): ProcessIdentity | undefined {
  const stat = readProc(`/proc/${pid}/stat`);
  const cmdline = readProc(`/proc/${pid}/cmdline`);
  const bootId = readProc('/proc/sys/kernel/random/boot_id');
  if (stat === undefined || cmdline === undefined || bootId === undefined) return undefined;
  // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so fields count from the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  if (fields[0] === 'Z' || fields[0] === 'X') return undefined; // exited, not yet reaped: nothing left to end
  const startTime = fields[19]; // field 22 overall; fields[0] is field 3
  if (!startTime) return undefined;
  return { pid, bootId: bootId.trim(), startTime, cmdline: cmdline.split('\0').filter((a, i, all) => a !== '' || i < all.length - 1) };
}

export function sameProcess(a: ProcessIdentity, b: ProcessIdentity): boolean {
  return a.pid === b.pid && a.bootId === b.bootId && a.startTime === b.startTime && a.cmdline.join('\0') === b.cmdline.join('\0');
}

/** What a pid file holds: the identity, and the pid file's own path when written. */
interface ProcessRecord extends ProcessIdentity {
  /** A copy of the data directory (a backup restored beside the original) must not end the original's children. */
  pidFile: string;
}

/** Writes the identity of a just-spawned child to pidFile (mode 0600); false when it cannot (no /proc, no such dir). */
export function recordProcess(pidFile: string, pid: number): boolean {
  const id = identityOf(pid);
  if (!id) return false;
  const record: ProcessRecord = { ...id, pidFile: resolve(pidFile) };
  try {
    writeFileSync(pidFile, `${JSON.stringify(record)}\n`, { mode: 0o600 });
  } catch {
    return false; // the child runs all the same; only a later cleanup of it is lost
  }
  return true;
}

/** Removes pidFile if it still records pid (a restarted child may have recorded itself there already). */
export function forgetProcess(pidFile: string, pid: number): void {
  const text = readProc(pidFile);
  if (text === undefined) return;
  try {
    if ((JSON.parse(text) as Partial<ProcessIdentity>).pid !== pid) return;
  } catch {
    // unreadable: remove it
  }
  try {
    rmSync(pidFile, { force: true });
  } catch {
    // left for the next start, which checks it before acting on it
  }
}

function parseRecord(text: string): ProcessRecord | undefined {
  try {
    const r = JSON.parse(text) as Partial<ProcessRecord>;
    const fields = typeof r.bootId === 'string' && typeof r.startTime === 'string' && Array.isArray(r.cmdline) && typeof r.pidFile === 'string';
    if (fields && Number.isSafeInteger(r.pid) && (r.pid as number) > 1) return r as ProcessRecord;
  } catch {
    // fall through
  }
  return undefined;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function exitWithin(record: ProcessIdentity, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    const now = identityOf(record.pid);
    if (!now || !sameProcess(now, record)) return true;
    if (Date.now() >= deadline) return false;
    await sleep(50);
  }
}

export type LeftoverOutcome = 'none' | 'gone' | 'not-ours' | 'ended';

/**
 * Ends the process pidFile records if it is still the very same process (a child left behind by a parent that died
 * without stopping it): SIGTERM, then SIGKILL after graceMs. A recycled PID, a record from another boot, a record
 * written at another path (a copy of the data directory) or an unreadable record is left alone. The record is removed in every case. Only the holder of the data directory's lock
 * may call this: the record then cannot belong to a live supervisor.
 */
export async function endLeftover(pidFile: string, o: { name: string; logger: Logger; graceMs?: number }): Promise<LeftoverOutcome> {
  const text = await readFile(pidFile, 'utf8').catch(() => undefined);
  if (text === undefined) return 'none';
  const record = parseRecord(text);
  const now = record && identityOf(record.pid);
  let outcome: LeftoverOutcome;
  if (!record || !now) outcome = 'gone';
  else if (record.pidFile !== resolve(pidFile)) {
    outcome = 'not-ours';
    o.logger.info({ process: o.name, pid: record.pid, pidFile, recordedAt: record.pidFile }, 'the pid file was written elsewhere (a copied data directory); leaving its process alone');
  } else if (!sameProcess(now, record)) {
    outcome = 'not-ours';
    o.logger.info({ process: o.name, pid: record.pid, pidFile }, 'the recorded pid now belongs to another process; leaving it alone');
  } else {
    outcome = 'ended';
    o.logger.warn({ process: o.name, pid: record.pid, pidFile }, 'a child left by an earlier run is still running; ending it');
    const signal = (s: NodeJS.Signals) => {
      try {
        process.kill(record.pid, s);
      } catch {
        // exited meanwhile
      }
    };
    signal('SIGTERM');
    signal('SIGCONT'); // a stopped process acts on SIGTERM only once continued
    if (!(await exitWithin(record, o.graceMs ?? 10_000))) {
      signal('SIGKILL');
      await exitWithin(record, 10_000);
    }
  }
  rmSync(pidFile, { force: true });
  return outcome;
}
