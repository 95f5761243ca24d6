// A secret that lives in a file (a Vault token, an AppRole secret_id): read when needed and read again when the file
// changes, so a token rotated by vault-agent or a Kubernetes Secret volume is picked up without a restart. Secrets come
// from files, never flags, because command lines are visible to every user of the machine in /proc.
import { readFile, stat } from 'node:fs/promises';
import { InvalidError } from './errors.js';

export class SecretFile {
  private cached: { value: Buffer; stamp: string } | undefined;

  constructor(
    readonly path: string,
    /** For messages: `auth.tokenFile`. */
    private readonly what: string,
  ) {}

  /** The file's bytes with surrounding whitespace trimmed (editors add a final newline). Throws when empty or missing. */
  async read(): Promise<Buffer> {
    let stamp: string;
    try {
      const s = await stat(this.path);
      stamp = `${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`;
    } catch (e) {
      throw new InvalidError(`cannot read ${this.what} ${this.path}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`, { cause: e });
    }
    if (this.cached?.stamp === stamp) return this.cached.value;
    let raw: Buffer;
    try {
      raw = await readFile(this.path);
    } catch (e) {
      throw new InvalidError(`cannot read ${this.what} ${this.path}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`, { cause: e });
    }
    let start = 0;
    let end = raw.length;
    while (start < end && isSpace(raw[start]!)) start++;
    while (end > start && isSpace(raw[end - 1]!)) end--;
    const value = Buffer.from(raw.subarray(start, end));
    raw.fill(0);
    if (value.length === 0) throw new InvalidError(`${this.what} ${this.path} is empty`);
    this.cached?.value.fill(0);
    this.cached = { value, stamp };
    return value;
  }

  /** True when the file changed since the last read (or was never read). */
  async changed(): Promise<boolean> {
    try {
      const s = await stat(this.path);
      return this.cached?.stamp !== `${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`;
    } catch {
      return true;
    }
  }

  wipe(): void {
    this.cached?.value.fill(0);
    this.cached = undefined;
  }
}

function isSpace(b: number): boolean {
  return b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
}
