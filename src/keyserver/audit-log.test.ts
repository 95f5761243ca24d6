import assert from 'node:assert/strict';
import { closeSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { AuditLog, type AuditRecord } from './audit-log.js';

const record = (path: string): AuditRecord => ({
  time: '2026-12-07T00:00:00Z',
  request_id: path,
  remote_address: '127.0.0.1',
  method: 'POST',
  operation: 'update',
  path,
  accessor: '',
  status: 200,
  duration_ms: 0,
});

void describe('AuditLog', () => {
  let dir: string;
  let file: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'coffer-audit-'));
    file = join(dir, 'audit.log');
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  const paths = (): string[] => readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map((l) => (JSON.parse(l) as AuditRecord).path);

  void it("settles each write only once its line is in the file, and keeps the order of writes made together", async () => {
    const log = new AuditLog(file);
    const seen: string[][] = [];
    const writes = ['a', 'b', 'c'].map((p) => log.write(record(p)).then(() => seen.push(paths())));
    assert.deepEqual(paths(), [], 'nothing written before the batch is flushed');
    await Promise.all(writes);
    assert.deepEqual(seen, [['a', 'b', 'c'], ['a', 'b', 'c'], ['a', 'b', 'c']]);
    await log.write(record('d'));
    assert.deepEqual(paths(), ['a', 'b', 'c', 'd']);
    log.close();
  });

  void it('writes the lines still waiting when closed, and refuses writes after', async () => {
    const log = new AuditLog(file);
    const pending = log.write(record('last'));
    log.close();
    await pending;
    assert.deepEqual(paths(), ['last']);
    await assert.rejects(log.write(record('late')), /audit log .* is closed/);
  });

  void it('fails every write of a batch whose line cannot be written (the requests are refused)', async () => {
    const log = new AuditLog(file);
    const writes = [log.write(record('x')), log.write(record('y'))];
    // A descriptor that names no open file under the log (its own closed, so that nothing reuses the number before the
    // flush): the write system call fails with EBADF.
    const inner = log as unknown as { fd: number };
    closeSync(inner.fd);
    inner.fd = 1 << 30;
    for (const w of writes) await assert.rejects(w, { code: 'EBADF' });
  });
});
