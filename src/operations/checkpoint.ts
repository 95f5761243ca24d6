// The reencrypt checkpoint: a header naming the run, then one line per object finished, appended (and flushed to the
// OS) as each one is done. A crash or SIGKILL loses at most the objects in flight, which the next run rewrites once
// more; everything listed is skipped. The file is the plan's progress, so it is refused for a different plan.
import { appendFileSync, closeSync, fsyncSync, openSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { CofferError } from '../lib/errors.js';

export interface CheckpointHeader {
  coffer: 'reencrypt-checkpoint';
  version: 1;
  server: string;
  resources: string[];
}

export class Checkpoint {
  private constructor(
    private readonly fd: number | undefined,
    readonly done: Set<string>,
    readonly complete: boolean,
  ) {}

  /** Opens (or creates) the file; `undefined` file: an in-memory checkpoint. */
  static async open(file: string | undefined, header: CheckpointHeader): Promise<Checkpoint> {
    if (file === undefined) return new Checkpoint(undefined, new Set(), false);
    const text = await readFile(file, 'utf8').catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return undefined;
      throw e;
    });
    const done = new Set<string>();
    let complete = false;
    if (text === undefined || text === '') {
      const fd = openSync(file, 'a', 0o600);
      appendFileSync(fd, `${JSON.stringify(header)}\n`);
      fsyncSync(fd);
      return new Checkpoint(fd, done, false);
    }
    const lines = text.split('\n');
    let found: Partial<CheckpointHeader> = {};
    try {
      found = JSON.parse(lines[0]!) as Partial<CheckpointHeader>;
    } catch {
      // reported below
    }
    if (found.coffer !== header.coffer || found.version !== header.version) {
      throw new CofferError(`checkpoint ${JSON.stringify(file)} is not a coffer reencrypt checkpoint; give another --checkpoint file`);
    }
    if (found.server !== header.server || JSON.stringify(found.resources) !== JSON.stringify(header.resources)) {
      throw new CofferError(
        `checkpoint ${JSON.stringify(file)} belongs to another run (server ${found.server}, resources ${String(found.resources)}); ` +
          `this run is server ${header.server}, resources ${header.resources.join(',')}: give another --checkpoint file or remove it`,
      );
    }
    // A line cut short by a crash has no newline after it; it was not finished, so it is ignored.
    for (const line of lines.slice(1, -1)) {
      if (line.startsWith('done ')) done.add(line.slice(5));
      else if (line === 'complete') complete = true;
    }
    return new Checkpoint(openSync(file, 'a', 0o600), done, complete);
  }

  record(id: string): void {
    this.done.add(id);
    if (this.fd !== undefined) appendFileSync(this.fd, `done ${id}\n`);
  }

  markComplete(): void {
    if (this.fd !== undefined) {
      appendFileSync(this.fd, 'complete\n');
      fsyncSync(this.fd);
    }
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
  }
}
