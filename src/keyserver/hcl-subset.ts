// The part of HCL that Vault policies use: `name "label" { ... }` blocks, `key = value` attributes, strings, numbers,
// booleans, lists and `{ k = v }` objects, and `#`, `//`, `/* */` comments. Errors name the line, so a user can find
// the mistake in a policy Vault would also reject.
import { InvalidError } from '../lib/errors.js';

export type HclValue = string | number | boolean | HclValue[] | { [key: string]: HclValue };
export interface HclBlock {
  type: string;
  labels: string[];
  body: HclBody;
  line: number;
}
export interface HclBody {
  attributes: { name: string; value: HclValue; line: number }[];
  blocks: HclBlock[];
}

interface Token {
  kind: 'ident' | 'string' | 'number' | 'punct' | 'newline' | 'eof';
  text: string;
  line: number;
}

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  let line = 1;
  while (i < src.length) {
    const c = src[i]!;
    if (c === '\n') {
      out.push({ kind: 'newline', text: '\n', line });
      line++;
      i++;
    } else if (c === ' ' || c === '\t' || c === '\r') i++;
    else if (c === '#' || (c === '/' && src[i + 1] === '/')) {
      while (i < src.length && src[i] !== '\n') i++;
    } else if (c === '/' && src[i + 1] === '*') {
      const end = src.indexOf('*/', i + 2);
      if (end < 0) throw new InvalidError(`line ${line}: unterminated comment`);
      line += (src.slice(i, end).match(/\n/g) ?? []).length;
      i = end + 2;
    } else if (c === '"') {
      let j = i + 1;
      while (j < src.length && src[j] !== '"') {
        if (src[j] === '\\') j++;
        if (src[j] === '\n') throw new InvalidError(`line ${line}: newline in string`);
        j++;
      }
      if (j >= src.length) throw new InvalidError(`line ${line}: unterminated string`);
      let text: string;
      try {
        text = JSON.parse(src.slice(i, j + 1)) as string;
      } catch {
        throw new InvalidError(`line ${line}: invalid escape in string`);
      }
      out.push({ kind: 'string', text, line });
      i = j + 1;
    } else if ('{}[]=,:'.includes(c)) {
      out.push({ kind: 'punct', text: c, line });
      i++;
    } else {
      const m = /^(?:-?\d+(?:\.\d+)?|[A-Za-z_][\w.-]*)/.exec(src.slice(i, i + 256));
      if (!m) throw new InvalidError(`line ${line}: unexpected character ${JSON.stringify(c)}`);
      out.push({ kind: /^-?\d/.test(m[0]) ? 'number' : 'ident', text: m[0], line });
      i += m[0].length;
    }
  }
  out.push({ kind: 'eof', text: '', line });
  return out;
}

export function parseHcl(src: string): HclBody {
  const tokens = tokenize(src);
  let pos = 0;
  const peek = () => tokens[pos]!;
  const next = () => tokens[pos++]!;
  const skipNewlines = () => {
    while (peek().kind === 'newline') pos++;
  };
  const expect = (text: string): Token => {
    const t = next();
    if (t.text !== text || t.kind === 'string') throw new InvalidError(`line ${t.line}: expected ${JSON.stringify(text)}, got ${describe(t)}`);
    return t;
  };

  function body(closing: string | undefined): HclBody {
    const out: HclBody = { attributes: [], blocks: [] };
    for (;;) {
      skipNewlines();
      const t = peek();
      if (closing === undefined ? t.kind === 'eof' : t.kind === 'punct' && t.text === closing) return out;
      if (t.kind !== 'ident' && t.kind !== 'string') throw new InvalidError(`line ${t.line}: expected a key, got ${describe(t)}`);
      next();
      const after = peek();
      if (after.kind === 'punct' && (after.text === '=' || after.text === ':')) {
        next();
        out.attributes.push({ name: t.text, value: value(), line: t.line });
        continue;
      }
      const labels: string[] = [];
      while (peek().kind === 'string' || peek().kind === 'ident') labels.push(next().text);
      expect('{');
      out.blocks.push({ type: t.text, labels, body: body('}'), line: t.line });
      expect('}');
    }
  }

  function value(): HclValue {
    skipNewlines();
    const t = next();
    if (t.kind === 'string') return t.text;
    if (t.kind === 'number') return Number(t.text);
    if (t.kind === 'ident' && (t.text === 'true' || t.text === 'false')) return t.text === 'true';
    if (t.kind === 'punct' && t.text === '[') {
      const items: HclValue[] = [];
      for (;;) {
        skipNewlines();
        if (peek().text === ']' && peek().kind === 'punct') break;
        items.push(value());
        skipNewlines();
        if (peek().text === ',' && peek().kind === 'punct') next();
        else break;
      }
      skipNewlines();
      expect(']');
      return items;
    }
    if (t.kind === 'punct' && t.text === '{') {
      const obj: { [key: string]: HclValue } = {};
      for (;;) {
        skipNewlines();
        const k = peek();
        if (k.kind === 'punct' && k.text === '}') break;
        if (k.kind !== 'ident' && k.kind !== 'string') throw new InvalidError(`line ${k.line}: expected a key, got ${describe(k)}`);
        next();
        const sep = peek();
        if (sep.kind === 'punct' && (sep.text === '=' || sep.text === ':')) {
          next();
          Object.defineProperty(obj, k.text, { value: value(), enumerable: true, writable: true, configurable: true });
        } else if (sep.kind === 'punct' && sep.text === '{') {
          Object.defineProperty(obj, k.text, { value: value(), enumerable: true, writable: true, configurable: true });
        } else throw new InvalidError(`line ${sep.line}: expected "=" after ${JSON.stringify(k.text)}`);
        if (peek().kind === 'punct' && peek().text === ',') next();
      }
      expect('}');
      return obj;
    }
    throw new InvalidError(`line ${t.line}: expected a value, got ${describe(t)}`);
  }

  return body(undefined);
}

function describe(t: Token): string {
  if (t.kind === 'eof') return 'end of input';
  if (t.kind === 'newline') return 'end of line';
  return t.kind === 'string' ? `string ${JSON.stringify(t.text)}` : JSON.stringify(t.text);
}
