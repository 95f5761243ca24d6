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
    if (input.startsWith('/*', spaceEnd(input, pos))) {
      const end = input.indexOf('*/', pos);
      if (end < 0) fail('unclosed comment');
      const close = at(/[\t\n\r ]*(-?)\}\}/y, input, end + 2);
      if (!close) fail('comment ends before closing delimiter');
      countLines(input.slice(pos, end + 2 + close![0].length));
      pos = end + 2 + close![0].length;
      if (close![1]) pos = skipSpace(input, pos, (n) => (line += n));
      continue;
    }
    tokens.push({ kind: 'open', line });
    // Operands until the closing delimiter.
    for (;;) {
      const wsEnd = spaceEnd(input, pos);
      countLines(input.slice(pos, wsEnd));
      const hadSpace = wsEnd > pos;
      pos = wsEnd;
      if (pos >= input.length) fail('unclosed action');
      const startsWith = (s: string) => input.startsWith(s, pos);
      const match = (re: RegExp) => at(re, input, pos);
      if (startsWith('-}}') && hadSpace) {
        tokens.push({ kind: 'close', line });
        pos = skipSpace(input, pos + 3, (n) => (line += n));
        break;
      }
      if (startsWith(RIGHT)) {
        tokens.push({ kind: 'close', line });
        pos += 2;
        break;
      }
      const c = input[pos]!;
      let m: RegExpExecArray | null;
      if (c === '|') { tokens.push({ kind: 'pipe', line }); pos++; }
      else if (c === '(') { tokens.push({ kind: 'lparen', line }); pos++; }
      else if (c === ')') {
        tokens.push({ kind: 'rparen', line });
        pos++;
        // A field chain after a parenthesised pipeline, e.g. (fromJson .x).a
        const chain = match(/(\.[A-Za-z_][A-Za-z0-9_]*)+/y);
        if (chain) fail(`field access on a parenthesised pipeline is not supported: ${chain[0]}`);
      }
      else if (c === ',') { tokens.push({ kind: 'comma', line }); pos++; }
      else if (startsWith(':=')) { tokens.push({ kind: 'declare', line }); pos += 2; }
      else if (c === '=') { tokens.push({ kind: 'assign', line }); pos++; }
      else if (c === '"') {
        m = match(/"(?:[^"\\\n]|\\.)*"/y);
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
        m = match(/'(?:[^'\\]|\\.)+'/y);
        if (!m) fail('unterminated character constant');
        tokens.push({ kind: 'number', value: unquoteGo(`"${m![0].slice(1, -1)}"`, fail).codePointAt(0)!, line });
        pos += m![0].length;
      } else if ((m = match(/\$[A-Za-z0-9_]*((?:\.[A-Za-z_][A-Za-z0-9_]*)*)/y))) {
        const name = m[0].slice(0, m[0].length - m[1]!.length);
        tokens.push({ kind: 'variable', name, path: m[1] ? m[1].slice(1).split('.') : [], line });
        pos += m[0].length;
      } else if ((m = match(/(\.[A-Za-z_][A-Za-z0-9_]*)+/y))) {
        tokens.push({ kind: 'field', path: m[0].slice(1).split('.'), line });
        pos += m[0].length;
      } else if (c === '.' && !/\d/.test(input[pos + 1] ?? '')) {
        tokens.push({ kind: 'field', path: [], line });
        pos++;
      } else if ((m = match(/[+-]?(?:0[xX][0-9a-fA-F_]+|(?:\d[\d_]*)?\.?\d+(?:[eE][+-]?\d+)?)/y)) && m[0] !== '') {
        tokens.push({ kind: 'number', value: Number(m[0].replace(/_/g, '')), line });
        pos += m[0].length;
      } else if ((m = match(/[A-Za-z_][A-Za-z0-9_]*/y))) {
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

// Matching at a position with sticky regexps (never on input.slice(pos)) keeps lexing linear in the template's size.
function at(sticky: RegExp, input: string, pos: number): RegExpExecArray | null {
  sticky.lastIndex = pos;
  return sticky.exec(input);
}

function spaceEnd(input: string, pos: number): number {
  let i = pos;
  while (i < input.length && ' \t\r\n'.includes(input[i]!)) i++;
  return i;
}

function skipSpace(input: string, pos: number, onLines: (n: number) => void): number {
  const end = spaceEnd(input, pos);
  onLines(input.slice(pos, end).split('\n').length - 1);
  return end;
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
