// Reads one YAML mapping of the plugin's configuration field by field. Every error names the field's full path and the
// value found, and a field nobody asked for is an error: a misspelt `tokenFlie` silently ignored would leave the plugin
// running with a default the operator never chose.
import { parseGoDuration } from '../encryption/go-duration.js';
import { InvalidError } from '../lib/errors.js';

/** A short, safe rendering of a config value for an error message (config files hold paths, never secrets). */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  const text = JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

export class ConfigFields {
  private readonly seen = new Set<string>();

  private constructor(
    private readonly value: Readonly<Record<string, unknown>>,
    /** The path of this mapping, e.g. `backend.members[0].backend`; "" for the document root. */
    readonly path: string,
  ) {}

  static of(value: unknown, path: string): ConfigFields {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw new InvalidError(`must be a mapping, got ${describeValue(value)}`, { field: path || '(document)' });
    }
    return new ConfigFields(value as Record<string, unknown>, path);
  }

  field(name: string): string {
    return this.path ? `${this.path}.${name}` : name;
  }

  has(name: string): boolean {
    return this.value[name] !== undefined && this.value[name] !== null;
  }

  raw(name: string): unknown {
    this.seen.add(name);
    return this.value[name];
  }

  /** Every field of this mapping, marked as read; for a backend whose own module validates them (pkcs11). */
  rest(): Record<string, unknown> {
    for (const k of Object.keys(this.value)) this.seen.add(k);
    return { ...this.value };
  }

  optionalString(name: string): string | undefined {
    const v = this.raw(name);
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string' || v === '') {
      throw new InvalidError(`must be a non-empty string, got ${describeValue(v)}`, { field: this.field(name) });
    }
    return v;
  }

  string(name: string, fallback?: string): string {
    const v = this.optionalString(name) ?? fallback;
    if (v === undefined) throw new InvalidError('required field is missing', { field: this.field(name) });
    return v;
  }

  oneOf<T extends string>(name: string, choices: readonly T[], fallback?: T): T {
    const v = this.optionalString(name) ?? fallback;
    if (v === undefined) {
      throw new InvalidError(`required field is missing (one of ${choices.join(', ')})`, { field: this.field(name) });
    }
    if (!(choices as readonly string[]).includes(v)) {
      throw new InvalidError(`must be one of ${choices.join(', ')}, got ${describeValue(v)}`, { field: this.field(name) });
    }
    return v as T;
  }

  optionalInteger(name: string, range: { min: number; max?: number }): number | undefined {
    const v = this.raw(name);
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < range.min || (range.max !== undefined && v > range.max)) {
      const bounds = range.max === undefined ? `>= ${range.min}` : `from ${range.min} to ${range.max}`;
      throw new InvalidError(`must be an integer ${bounds}, got ${describeValue(v)}`, { field: this.field(name) });
    }
    return v;
  }

  /** A Go duration string (`20s`, `1m30s`), as kube's own configuration files write them; returned in milliseconds. */
  durationMs(name: string, fallback: string, range: { minMs: number }): number {
    const v = this.raw(name) ?? fallback;
    if (typeof v !== 'string') {
      throw new InvalidError(`must be a duration string such as "20s", got ${describeValue(v)}`, { field: this.field(name) });
    }
    let ms: number;
    try {
      ms = parseGoDuration(v) / 1e6;
    } catch (e) {
      throw new InvalidError(`${(e as Error).message}`, { field: this.field(name), cause: e });
    }
    if (ms < range.minMs) {
      throw new InvalidError(`must be at least ${range.minMs}ms, got ${describeValue(v)}`, { field: this.field(name) });
    }
    return ms;
  }

  list(name: string, opts: { minItems: number }): unknown[] {
    const v = this.raw(name);
    if (!Array.isArray(v)) {
      throw new InvalidError(
        v === undefined ? 'required field is missing' : `must be a list, got ${describeValue(v)}`,
        { field: this.field(name) },
      );
    }
    if (v.length < opts.minItems) {
      throw new InvalidError(`must have at least ${opts.minItems} item(s), got ${v.length}`, { field: this.field(name) });
    }
    return v;
  }

  mapping(name: string): ConfigFields {
    const v = this.raw(name);
    if (v === undefined || v === null) throw new InvalidError('required field is missing', { field: this.field(name) });
    return ConfigFields.of(v, this.field(name));
  }

  /** Call once every known field was read: anything left is a typo or a field from another version. */
  rejectUnknown(): void {
    const unknown = Object.keys(this.value).filter((k) => !this.seen.has(k));
    if (unknown.length > 0) {
      throw new InvalidError(`unknown field ${JSON.stringify(unknown[0])}`, { field: this.field(unknown[0]!) });
    }
  }
}
