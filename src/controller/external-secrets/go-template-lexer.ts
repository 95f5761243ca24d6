// Tokens of Go's text/template, the syntax of ESO's template engine v2: text between actions, `{{`/`}}` with the
// `{{-`/`-}}` whitespace trimming, and the operands inside actions (fields, variables, literals, pipes).
import { InvalidError } from '../../lib/errors.js';

export type Token =
  | { kind: 'text'; value: string; line: number }
  | { kind: 'open' | 'close' | 'pipe' | 'lparen' | 'rparen' | 'comma' | 'declare' | 'assign'; line: number }
  | { kind: 'field'; path: string[]; line: number } // `.a.b`; `.` alone is an empty path
  | { kind: 'variable'; name: string; path: string[]; line: number } // `$x.a`
  | { kind: 'identifier'; value: string; line: number }
  | { kind: 'string'; value: string; line: number }
  | { kind: 'number'; value: number; line: number }
  | { kind: 'bool'; value: boolean; line: number }
  | { kind: 'nil'; line: number }
  | { kind: 'eof'; line: number };

const LEFT = '{{';
const RIGHT = '}}';

export function lexTemplate(name: string, input: string): Token[] {
  const tokens: Token[] = [];
  let pos = 0;
  let line = 1;
  const fail = (msg: string): never => {
    throw new InvalidError(`template: ${name}:${line}: ${msg}`);
  };
  const countLines = (s: string) => {
    for (const ch of s) if (ch === '\n') line++;
  };
  while (pos < input.length) {
    const open = input.indexOf(LEFT, pos);
    let text = open < 0 ? input.slice(pos) : input.slice(pos, open);
    const trimLeft = open >= 0 && /^\{\{-[\t\n\r ]/.test(input.slice(open, open + 4));
    if (trimLeft) text = text.replace(/[\t\n\r ]+$/, '');
    if (text) tokens.push({ kind: 'text', value: text, line });
    countLines(open < 0 ? input.slice(pos) : input.slice(pos, open));
    if (open < 0) break;
    pos = open + LEFT.length + (trimLeft ? 1 : 0);
    // Comments: {{/* ... */}} produce nothing.
    const afterSpace = input.slice(pos).replace(/^[\t\n\r ]*/, '');
    if (afterSpace.startsWith('/*')) {
      const end = input.indexOf('*/', pos);
      if (end < 0) fail('unclosed comment');
      const close = /^[\t\n\r ]*(-?)\}\}/.exec(input.slice(end + 2));
      if (!close) fail('comment ends before closing delimiter');
      countLines(input.slice(pos, end + 2 + close![0].length));
      pos = end + 2 + close![0].length;
      if (close![1]) pos = skipSpace(input, pos, (n) => (line += n));
      continue;
    }
    tokens.push({ kind: 'open', line });
    // Operands until the closing delimiter.
    for (;;) {
      const ws = /^[\t\n\r ]*/.exec(input.slice(pos))![0];
      countLines(ws);
      pos += ws.length;
      if (pos >= input.length) fail('unclosed action');
      const rest = input.slice(pos);
      if (rest.startsWith('-}}') && ws.length > 0) {
        tokens.push({ kind: 'close', line });
        pos = skipSpace(input, pos + 3, (n) => (line += n));
        break;
      }
      if (rest.startsWith(RIGHT)) {
        tokens.push({ kind: 'close', line });
        pos += 2;
        break;
      }
      const c = rest[0]!;
      let m: RegExpExecArray | null;
      if (c === '|') { tokens.push({ kind: 'pipe', line }); pos++; }
      else if (c === '(') { tokens.push({ kind: 'lparen', line }); pos++; }
      else if (c === ')') {
        tokens.push({ kind: 'rparen', line });
        pos++;
        // A field chain after a parenthesised pipeline, e.g. (fromJson .x).a
        const chain = /^(\.[A-Za-z_][A-Za-z0-9_]*)+/.exec(input.slice(pos));
        if (chain) fail(`field access on a parenthesised pipeline is not supported: ${chain[0]}`);
      }
      else if (c === ',') { tokens.push({ kind: 'comma', line }); pos++; }
      else if (rest.startsWith(':=')) { tokens.push({ kind: 'declare', line }); pos += 2; }
      else if (c === '=') { tokens.push({ kind: 'assign', line }); pos++; }
      else if (c === '"') {
        m = /^"(?:[^"\\\n]|\\.)*"/.exec(rest);
        if (!m) fail('unterminated quoted string');
        tokens.push({ kind: 'string', value: unquoteGo(m![0], fail), line });
        pos += m![0].length;
      } else if (c === '`') {
        const end = input.indexOf('`', pos + 1);
        if (end < 0) fail('unterminated raw quoted string');
        const raw = input.slice(pos + 1, end);
        tokens.push({ kind: 'string', value: raw, line });
        countLines(raw);
        pos = end + 1;
      } else if (c === "'") {
        m = /^'(?:[^'\\]|\\.)+'/.exec(rest);
        if (!m) fail('unterminated character constant');
        tokens.push({ kind: 'number', value: unquoteGo(`"${m![0].slice(1, -1)}"`, fail).codePointAt(0)!, line });
        pos += m![0].length;
      } else if ((m = /^\$[A-Za-z0-9_]*((?:\.[A-Za-z_][A-Za-z0-9_]*)*)/.exec(rest))) {
        const name = m[0].slice(0, m[0].length - m[1]!.length);
        tokens.push({ kind: 'variable', name, path: m[1] ? m[1].slice(1).split('.') : [], line });
        pos += m[0].length;
      } else if ((m = /^(\.[A-Za-z_][A-Za-z0-9_]*)+/.exec(rest))) {
        tokens.push({ kind: 'field', path: m[0].slice(1).split('.'), line });
        pos += m[0].length;
      } else if (c === '.' && !/^\.\d/.test(rest)) {
        tokens.push({ kind: 'field', path: [], line });
        pos++;
      } else if ((m = /^[+-]?(?:0[xX][0-9a-fA-F_]+|(?:\d[\d_]*)?\.?\d+(?:[eE][+-]?\d+)?)/.exec(rest)) && m[0] !== '') {
        tokens.push({ kind: 'number', value: Number(m[0].replace(/_/g, '')), line });
        pos += m[0].length;
      } else if ((m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(rest))) {
        const w = m[0];
        if (w === 'true' || w === 'false') tokens.push({ kind: 'bool', value: w === 'true', line });
        else if (w === 'nil') tokens.push({ kind: 'nil', line });
        else tokens.push({ kind: 'identifier', value: w, line });
        pos += w.length;
      } else {
        fail(`unexpected ${JSON.stringify(c)} in command`);
      }
    }
  }
  tokens.push({ kind: 'eof', line });
  return tokens;
}

function skipSpace(input: string, pos: number, onLines: (n: number) => void): number {
  const ws = /^[\t\n\r ]*/.exec(input.slice(pos))![0];
  onLines(ws.split('\n').length - 1);
  return pos + ws.length;
}

function unquoteGo(quoted: string, fail: (m: string) => never): string {
  try {
    // Go's escapes are a superset of JSON's apart from \a \v \x \' and octal; translate the common extras.
    const body = quoted
      .slice(1, -1)
      .replace(/\\a/g, '\\u0007')
      .replace(/\\v/g, '\\u000b')
      .replace(/\\'/g, "'")
      .replace(/\\x([0-9a-fA-F]{2})/g, '\\u00$1')
      .replace(/\\U([0-9a-fA-F]{8})/g, (_, h: string) => String.fromCodePoint(parseInt(h, 16)));
    return JSON.parse(`"${body}"`) as string;
  } catch {
    return fail(`invalid syntax in string ${quoted}`);
  }
}
