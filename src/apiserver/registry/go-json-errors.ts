// The error text of Go's json.Unmarshal(data, &map[string]interface{}{}), which kube-apiserver puts in the Invalid
// error of a malformed .dockercfg / .dockerconfigjson (k8s.io/kubernetes pkg/apis/core/validation ValidateSecret). A
// small scanner with encoding/json's messages: the syntax is checked over the whole input first (as Go's checkValid),
// then the top-level type.

import { DEPTH_ERROR, MAX_NESTING_DEPTH } from '../../objects/nesting-depth.js';

class GoJsonSyntaxError extends Error {}

const WS = new Set([0x20, 0x09, 0x0a, 0x0d]);

function quoteChar(c: number): string {
  if (c === 0x27) return "'\\''";
  if (c === 0x22) return '\'"\'';
  const ch = String.fromCharCode(c);
  if (c === 0x5c) return "'\\\\'";
  if (c === 0x0a) return "'\\n'";
  if (c === 0x0d) return "'\\r'";
  if (c === 0x09) return "'\\t'";
  if (c < 0x20 || c === 0x7f) return `'\\x${c.toString(16).padStart(2, '0')}'`;
  if (c >= 0x80 && c < 0xa0) return `'\\u${c.toString(16).padStart(4, '0')}'`;
  return `'${ch}'`;
}

class Scanner {
  pos = 0;
  private depth = 0;
  constructor(private readonly b: Uint8Array) {}

  private fail(context: string): never {
    if (this.pos >= this.b.length) throw new GoJsonSyntaxError('unexpected end of JSON input');
    throw new GoJsonSyntaxError(`invalid character ${quoteChar(this.b[this.pos]!)} ${context}`);
  }

  private skipWs(): void {
    while (this.pos < this.b.length && WS.has(this.b[this.pos]!)) this.pos++;
  }

  private peek(): number | undefined {
    return this.b[this.pos];
  }

  topLevel(): 'object' | 'array' | 'string' | 'number' | 'bool' | 'null' {
    this.skipWs();
    const kind = this.value();
    this.skipWs();
    if (this.pos < this.b.length) this.fail('after top-level value');
    return kind;
  }

  private value(): 'object' | 'array' | 'string' | 'number' | 'bool' | 'null' {
    const c = this.peek();
    if (c === 0x7b) return this.object();
    if (c === 0x5b) return this.array();
    if (c === 0x22) {
      this.string();
      return 'string';
    }
    if (c === 0x2d || (c !== undefined && c >= 0x30 && c <= 0x39)) {
      this.number();
      return 'number';
    }
    if (c === 0x74) return this.literal('true', 'bool');
    if (c === 0x66) return this.literal('false', 'bool');
    if (c === 0x6e) return this.literal('null', 'null');
    return this.fail('looking for beginning of value');
  }

  /** Go's scanner refuses nesting beyond its limit; Coffer's limit is lower (objects/nesting-depth.ts). */
  private enter(): void {
    if (++this.depth > MAX_NESTING_DEPTH) throw new GoJsonSyntaxError(DEPTH_ERROR);
  }

  private object(): 'object' {
    this.enter();
    this.pos++;
    this.skipWs();
    if (this.peek() === 0x7d) {
      this.pos++;
      this.depth--;
      return 'object';
    }
    for (;;) {
      if (this.peek() !== 0x22) this.fail('looking for beginning of object key string');
      this.string();
      this.skipWs();
      if (this.peek() !== 0x3a) this.fail('after object key');
      this.pos++;
      this.skipWs();
      this.value();
      this.skipWs();
      const c = this.peek();
      if (c === 0x2c) {
        this.pos++;
        this.skipWs();
        continue;
      }
      if (c === 0x7d) {
        this.pos++;
        this.depth--;
        return 'object';
      }
      this.fail('after object key:value pair');
    }
  }

  private array(): 'array' {
    this.enter();
    this.pos++;
    this.skipWs();
    if (this.peek() === 0x5d) {
      this.pos++;
      this.depth--;
      return 'array';
    }
    for (;;) {
      this.value();
      this.skipWs();
      const c = this.peek();
      if (c === 0x2c) {
        this.pos++;
        this.skipWs();
        continue;
      }
      if (c === 0x5d) {
        this.pos++;
        this.depth--;
        return 'array';
      }
      this.fail('after array element');
    }
  }

  private string(): void {
    this.pos++;
    for (;;) {
      const c = this.peek();
      if (c === undefined) this.fail('in string literal');
      if (c === 0x22) {
        this.pos++;
        return;
      }
      if (c < 0x20) this.fail('in string literal');
      this.pos++;
      if (c === 0x5c) {
        const e = this.peek();
        if (e === 0x75) {
          this.pos++;
          for (let i = 0; i < 4; i++) {
            const h = this.peek();
            const isHex = h !== undefined && ((h >= 0x30 && h <= 0x39) || (h >= 0x41 && h <= 0x46) || (h >= 0x61 && h <= 0x66));
            if (!isHex) this.fail('in \\u hexadecimal character escape');
            this.pos++;
          }
        } else if (e !== undefined && '"\\/bfnrt'.includes(String.fromCharCode(e))) this.pos++;
        else this.fail('in string escape code');
      }
    }
  }

  private digits(): number {
    const start = this.pos;
    while (this.pos < this.b.length && this.b[this.pos]! >= 0x30 && this.b[this.pos]! <= 0x39) this.pos++;
    return this.pos - start;
  }

  private number(): void {
    if (this.peek() === 0x2d) {
      this.pos++;
      const c = this.peek();
      if (c === undefined || c < 0x30 || c > 0x39) this.fail('in numeric literal');
    }
    if (this.peek() === 0x30) this.pos++;
    else this.digits();
    if (this.peek() === 0x2e) {
      this.pos++;
      if (this.digits() === 0) this.fail('after decimal point in numeric literal');
    }
    const e = this.peek();
    if (e === 0x65 || e === 0x45) {
      this.pos++;
      const s = this.peek();
      if (s === 0x2b || s === 0x2d) this.pos++;
      if (this.digits() === 0) this.fail('in exponent of numeric literal');
    }
  }

  private literal<K extends 'bool' | 'null'>(word: string, kind: K): K {
    for (let i = 0; i < word.length; i++) {
      if (this.peek() !== word.charCodeAt(i)) this.fail(`in literal ${word} (expecting '${word[i]}')`);
      this.pos++;
    }
    return kind;
  }
}

/** undefined when Go would unmarshal the bytes into a map[string]interface{}; otherwise Go's error text. */
export function goJsonObjectError(data: Uint8Array): string | undefined {
  let kind: ReturnType<Scanner['topLevel']>;
  try {
    kind = new Scanner(data).topLevel();
  } catch (err) {
    if (err instanceof GoJsonSyntaxError) return err.message;
    throw err;
  }
  if (kind === 'object' || kind === 'null') return undefined;
  return `json: cannot unmarshal ${kind} into Go value of type map[string]interface {}`;
}
