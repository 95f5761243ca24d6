// JSON that keeps every number literal as sent. Vault decodes request bodies with Go's UseNumber and KV v2 re-emits
// the exact literal, so a secret value such as 12345678901234567890 or 1.50 reads back byte for byte; JSON.parse would
// round it to a double. Literals that survive a double round trip become plain numbers; the rest stay JsonNumber.

export class JsonNumber {
  constructor(readonly text: string) {}
  valueOf(): number {
    return Number(this.text);
  }
}

export type JsonValue = null | boolean | string | number | JsonNumber | JsonValue[] | { [key: string]: JsonValue };

export class JsonSyntaxError extends Error {}

/** Parses JSON text; errors name the offset, never the content (a body may be a secret). */
export function parseJson(text: string): JsonValue {
  // V8's parser gives the same value for JSON that holds no number (strings are decoded by JSON.parse below as well,
  // keys land as own properties, the last of a repeated key wins in both) and is several times faster; a body with a
  // number, nested too deep or malformed is parsed again below, for the literals and the errors.
  let fast: unknown;
  try {
    fast = JSON.parse(text);
  } catch {
    fast = NOT_PARSED;
  }
  if (fast !== NOT_PARSED && numberFree(fast, 0)) return fast as JsonValue;
  const p = new Parser(text);
  p.space();
  const v = p.value(0);
  p.space();
  if (p.i < text.length) throw new JsonSyntaxError(`invalid character after top-level value at offset ${p.i}`);
  return v;
}

const MAX_DEPTH = 1000;
const NOT_PARSED = Symbol('not parsed');

/** True when a value from JSON.parse holds no number and no value deeper than MAX_DEPTH (which Parser refuses). */
function numberFree(v: unknown, depth: number): boolean {
  if (depth > MAX_DEPTH || typeof v === 'number') return false;
  if (typeof v !== 'object' || v === null) return true;
  if (Array.isArray(v)) {
    for (const item of v) if (!numberFree(item, depth + 1)) return false;
    return true;
  }
  for (const key in v) if (!numberFree((v as Record<string, unknown>)[key], depth + 1)) return false;
  return true;
}
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

class Parser {
  i = 0;
  constructor(private readonly s: string) {}

  space(): void {
    while (this.i < this.s.length && ' \t\n\r'.includes(this.s[this.i]!)) this.i++;
  }

  fail(what: string): never {
    throw new JsonSyntaxError(this.i >= this.s.length ? 'unexpected end of JSON input' : `${what} at offset ${this.i}`);
  }

  value(depth: number): JsonValue {
    if (depth > MAX_DEPTH) this.fail('nesting too deep');
    const c = this.s[this.i];
    if (c === '{') return this.object(depth);
    if (c === '[') return this.array(depth);
    if (c === '"') return this.string();
    for (const [word, v] of [['true', true], ['false', false], ['null', null]] as const) {
      if (this.s.startsWith(word, this.i)) {
        this.i += word.length;
        return v;
      }
    }
    NUMBER.lastIndex = this.i;
    const m = NUMBER.exec(this.s);
    if (!m) this.fail('invalid character');
    this.i += m[0].length;
    const n = Number(m[0]);
    return String(n) === m[0] ? n : new JsonNumber(m[0]);
  }

  object(depth: number): { [key: string]: JsonValue } {
    const out: { [key: string]: JsonValue } = {};
    this.i++;
    this.space();
    if (this.s[this.i] === '}') {
      this.i++;
      return out;
    }
    for (;;) {
      this.space();
      if (this.s[this.i] !== '"') this.fail('expected a string key');
      const key = this.string();
      this.space();
      if (this.s[this.i] !== ':') this.fail("expected ':'");
      this.i++;
      this.space();
      // defineProperty, because assigning "__proto__" would change the object's prototype instead of adding a key.
      Object.defineProperty(out, key, { value: this.value(depth + 1), enumerable: true, writable: true, configurable: true });
      this.space();
      const c = this.s[this.i++];
      if (c === '}') return out;
      if (c !== ',') {
        this.i--;
        this.fail("expected ',' or '}'");
      }
    }
  }

  array(depth: number): JsonValue[] {
    const out: JsonValue[] = [];
    this.i++;
    this.space();
    if (this.s[this.i] === ']') {
      this.i++;
      return out;
    }
    for (;;) {
      this.space();
      out.push(this.value(depth + 1));
      this.space();
      const c = this.s[this.i++];
      if (c === ']') return out;
      if (c !== ',') {
        this.i--;
        this.fail("expected ',' or ']'");
      }
    }
  }

  string(): string {
    const start = this.i;
    this.i++;
    for (;;) {
      const c = this.s.charCodeAt(this.i);
      if (Number.isNaN(c)) this.fail('unterminated string');
      if (c === 0x22) break;
      if (c < 0x20) this.fail('control character in string');
      if (c === 0x5c) {
        const e = this.s[this.i + 1];
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(this.s.slice(this.i + 2, this.i + 6))) this.fail('invalid \\u escape');
          this.i += 6;
          continue;
        }
        if (e === undefined || !'"\\/bfnrt'.includes(e)) this.fail('invalid escape');
        this.i += 2;
        continue;
      }
      this.i++;
    }
    this.i++;
    return JSON.parse(this.s.slice(start, this.i)) as string;
  }
}

/** Serialises like JSON.stringify (no spaces), writing JsonNumber literals verbatim; undefined members are skipped. */
export function stringifyJson(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  // JSON.stringify writes the same text for plain objects, arrays and primitives (it differs on JsonNumber, toJSON,
  // functions and other classes, which take the walk below) and is several times faster.
  if (plain(value, 0)) return JSON.stringify(value);
  return stringifyWalk(value);
}

/** Whether JSON.stringify and stringifyWalk agree on value: plain objects and arrays of primitives, not too deep. */
function plain(v: unknown, depth: number): boolean {
  if (depth > MAX_DEPTH) return false;
  const t = typeof v;
  if (t === 'string' || t === 'number' || t === 'boolean' || v === null || v === undefined) return true;
  if (t !== 'object') return false;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) if (!(i in v) || !plain(v[i], depth + 1)) return false;
    return true;
  }
  const o = v as Record<string, unknown>;
  const proto = Object.getPrototypeOf(o) as unknown;
  if (proto !== Object.prototype && proto !== null) return false;
  if ('toJSON' in o) return false;
  for (const key in o) if (!plain(o[key], depth + 1)) return false;
  return true;
}

function stringifyWalk(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (value instanceof JsonNumber) return value.text;
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : 'null';
  if (typeof value === 'string' || typeof value === 'boolean') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map((v: unknown) => (v === undefined ? 'null' : stringifyWalk(v))).join(',')}]`;
  if (typeof value === 'object') {
    const parts: string[] = [];
    for (const [k, v] of Object.entries(value)) if (v !== undefined) parts.push(`${JSON.stringify(k)}:${stringifyWalk(v)}`);
    return `{${parts.join(',')}}`;
  }
  throw new TypeError(`cannot serialise a ${typeof value}`);
}

export function isJsonObject(v: unknown): v is { [key: string]: JsonValue } {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof JsonNumber);
}
