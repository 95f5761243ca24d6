// The ram column's evidence: a dump of one process's memory as the kernel sees it (/proc/PID/maps + /proc/PID/mem,
// the same bytes `gcore` writes into a core file), not a V8 heap snapshot, which leaves out Buffer contents, OpenSSL's
// and SQLite's allocations - exactly where keys and decrypted pages live. The process is stopped (SIGSTOP) while it is
// read, so the dump is one consistent instant, and continued afterwards.
import { spawn } from 'node:child_process';
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';

export interface MemoryRegion {
  start: bigint;
  end: bigint;
  perms: string;
  /** The mapping's name ([heap], [stack], a library path) or "anon". */
  name: string;
  /** Where this region's bytes start in the dump file. */
  fileOffset: number;
  length: number;
}

export interface MemoryDump {
  pid: number;
  file: string;
  regions: MemoryRegion[];
  bytes: number;
  method: 'proc-mem' | 'gcore';
}

/** Writable regions hold the process's data; read-only mappings are program text and files anyone can read. */
function wanted(perms: string, name: string): boolean {
  if (!perms.startsWith('rw')) return false;
  return !name.startsWith('[vvar') && !name.startsWith('[vsyscall');
}

export function parseMaps(text: string): Omit<MemoryRegion, 'fileOffset' | 'length'>[] {
  const out: Omit<MemoryRegion, 'fileOffset' | 'length'>[] = [];
  for (const line of text.split('\n')) {
    const m = /^([0-9a-f]+)-([0-9a-f]+)\s+(\S+)\s+\S+\s+\S+\s+\S+\s*(.*)$/.exec(line);
    if (!m) continue;
    out.push({ start: BigInt(`0x${m[1]!}`), end: BigInt(`0x${m[2]!}`), perms: m[3]!, name: m[4]!.trim() || 'anon' });
  }
  return out;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // the process is gone; reading its memory will say so
  }
}

/** Dumps every writable region of `pid` into `file` through /proc/PID/mem (needs root or ptrace rights over pid). */
export async function dumpProcessMemory(pid: number, file: string): Promise<MemoryDump> {
  const maps = parseMaps(await readFile(`/proc/${pid}/maps`, 'utf8')).filter((r) => wanted(r.perms, r.name));
  const regions: MemoryRegion[] = [];
  signal(pid, 'SIGSTOP');
  const mem = openSync(`/proc/${pid}/mem`, 'r');
  const out = openSync(file, 'w', 0o600);
  let offset = 0;
  try {
    const chunk = Buffer.allocUnsafe(1 << 20);
    for (const r of maps) {
      const length = Number(r.end - r.start);
      let done = 0;
      try {
        while (done < length) {
          const n = readSync(mem, chunk, 0, Math.min(chunk.length, length - done), Number(r.start) + done);
          if (n <= 0) break;
          writeSync(out, chunk, 0, n);
          done += n;
        }
      } catch {
        // a guard page or a mapping that went away: keep what was read
      }
      if (done > 0) {
        regions.push({ ...r, fileOffset: offset, length: done });
        offset += done;
      }
    }
    chunk.fill(0);
  } finally {
    closeSync(mem);
    closeSync(out);
    signal(pid, 'SIGCONT');
  }
  return { pid, file, regions, bytes: offset, method: 'proc-mem' };
}

/**
 * The same dump through gdb's `gcore` (a core file, as an offline "memory dump from backup" would be). Slower; kept
 * for machines where /proc/PID/mem is closed (Yama ptrace_scope) but gdb may attach.
 */
export async function dumpWithGcore(pid: number, prefix: string, signal: AbortSignal): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    const child = spawn('gcore', ['-o', prefix, String(pid)], { stdio: 'ignore', signal });
    child.once('error', (e) => reject(new Error(`gcore is not available (Debian package gdb): ${e.message}`)));
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`gcore ${pid} exited with ${code}`))));
  });
  const file = `${prefix}.${pid}`;
  await stat(file);
  return file;
}

/** Names a dump offset as evidence: which region, and where in it. */
export function locate(dump: Pick<MemoryDump, 'regions'>, offset: number): string {
  for (const r of dump.regions) {
    if (offset >= r.fileOffset && offset < r.fileOffset + r.length) {
      const addr = r.start + BigInt(offset - r.fileOffset);
      return `${r.name} ${r.perms} region 0x${r.start.toString(16)} at 0x${addr.toString(16)}`;
    }
  }
  return `dump offset ${offset}`;
}
