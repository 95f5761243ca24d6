// The audit log: one JSON line per request, written before the response is sent (like Vault, a request whose audit
// record cannot be written fails). It records who did what to which path and how it ended - time, method, operation,
// path, token accessor, status, error - and never a request or response body, a token, a plaintext or a ciphertext.
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

export class AuditLog {
  private fd: number | undefined;

  constructor(readonly file: string) {
    this.fd = openSync(file, 'a', 0o600);
  }

  write(record: AuditRecord): void {
    if (this.fd === undefined) throw new Error(`audit log ${this.file} is closed`);
    writeSync(this.fd, `${JSON.stringify(record)}\n`);
  }

  close(): void {
    if (this.fd === undefined) return;
    fsyncSync(this.fd);
    closeSync(this.fd);
    this.fd = undefined;
  }
}
