// The audit log: one JSON line per request, written before the response is sent (like Vault, a request whose audit
// record cannot be written fails). It records who did what to which path and how it ended - time, method, operation,
// path, token accessor, status, error - and never a request or response body, a token, a plaintext or a ciphertext.
//
// The lines of requests that finish in the same turn of the event loop are written together, in one write system
// call, and each request's answer waits until its own line is written: one system call per request was the largest
// item of the key server's own CPU under concurrent calls (docs/performance.md).
import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';

export interface AuditRecord {
  time: string;
  request_id: string;
  remote_address: string;
  method: string;
  operation: string;
  path: string;
  accessor: string;
  status: number;
  error?: string | undefined;
  duration_ms: number;
}

interface Waiter {
  resolve(): void;
  reject(e: unknown): void;
}

export class AuditLog {
  private fd: number | undefined;
  private lines: string[] = [];
  private waiters: Waiter[] = [];

  constructor(readonly file: string) {
    this.fd = openSync(file, 'a', 0o600);
  }

  /** Resolves once the record's line is in the file; rejects, as every line written with it, if it cannot be. */
  write(record: AuditRecord): Promise<void> {
    if (this.fd === undefined) return Promise.reject(new Error(`audit log ${this.file} is closed`));
    this.lines.push(`${JSON.stringify(record)}\n`);
    return new Promise((resolve, reject) => {
      if (this.waiters.push({ resolve, reject }) === 1) setImmediate(() => this.flush());
    });
  }

  private flush(): void {
    const [lines, waiters] = [this.lines, this.waiters];
    if (lines.length === 0) return;
    this.lines = [];
    this.waiters = [];
    try {
      if (this.fd === undefined) throw new Error(`audit log ${this.file} is closed`);
      const text = Buffer.from(lines.join(''));
      for (let at = 0; at < text.length; ) at += writeSync(this.fd, text, at);
    } catch (e) {
      for (const w of waiters) w.reject(e);
      return;
    }
    for (const w of waiters) w.resolve();
  }

  close(): void {
    if (this.fd === undefined) return;
    this.flush();
    fsyncSync(this.fd);
    closeSync(this.fd);
    this.fd = undefined;
  }
}
