// The label selector grammar of apimachinery pkg/labels/selector.go, with its error texts, because kubectl prints them:
//   selector    ::= requirement ("," requirement)*
//   requirement ::= ["!"] KEY [ ("in" | "notin") "(" values ")" | ("=" | "==" | "!=" | ">" | "<") VALUE ]
// Whitespace separates tokens; "in"/"notin" are keywords only where an operator is expected.
import type { FieldError } from '../api-status.js';
import { fieldErrorText, invalidValue } from './field-errors.js';
import { isQualifiedName, isValidLabelValue } from '../../lib/go/name-validation.js';

export type LabelOperator = 'in' | 'notin' | '=' | '==' | '!=' | 'gt' | 'lt' | 'exists' | '!';

export interface LabelRequirement {
  key: string;
  operator: LabelOperator;
  values: string[];
}

export class LabelSelector {
  constructor(readonly requirements: readonly LabelRequirement[]) {}

  get empty(): boolean {
    return this.requirements.length === 0;
  }

  matches(labels: Readonly<Record<string, string>> | undefined): boolean {
    return this.requirements.every((r) => requirementMatches(r, labels ?? {}));
  }
}

export const EVERYTHING = new LabelSelector([]);

/** Thrown with the parser's text; the API layer turns it into 400 BadRequest. */
export class SelectorParseError extends Error {}

const INTEGER = /^[+-]?\d+$/;

function requirementMatches(r: LabelRequirement, labels: Readonly<Record<string, string>>): boolean {
  const present = Object.hasOwn(labels, r.key);
  const value = present ? labels[r.key]! : '';
  switch (r.operator) {
    case 'in':
    case '=':
    case '==':
      return present && r.values.includes(value);
    case 'notin':
    case '!=':
      return !present || !r.values.includes(value);
    case 'exists':
      return present;
    case '!':
      return !present;
    case 'gt':
    case 'lt': {
      if (!present || !INTEGER.test(value) || r.values.length !== 1) return false;
      const have = BigInt(value);
      const want = BigInt(r.values[0]!);
      return r.operator === 'gt' ? have > want : have < want;
    }
  }
}

type TokenType = 'end' | 'id' | ',' | '!' | '=' | '==' | '!=' | '(' | ')' | '>' | '<' | 'in' | 'notin';
interface Token {
  type: TokenType;
  literal: string;
}

const SYMBOLS = new Set(['=', '!', '(', ')', ',', '>', '<']);
const SYMBOL_TOKENS = new Set(['!', '=', '==', '!=', '(', ')', ',', '>', '<']);
const isSpace = (c: string) => c === ' ' || c === '\t' || c === '\r' || c === '\n';

function lex(input: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  for (;;) {
    while (i < input.length && isSpace(input[i]!)) i++;
    if (i >= input.length) {
      tokens.push({ type: 'end', literal: '' });
      return tokens;
    }
    if (SYMBOLS.has(input[i]!)) {
      // Longest run of symbols that still forms a token ("!=" and "==" rather than "!" and "="); every single
      // symbol is a token, so the run stops at the first character that would not extend one.
      let last = '';
      while (i < input.length && SYMBOLS.has(input[i]!) && SYMBOL_TOKENS.has(last + input[i]!)) last += input[i++];
      tokens.push({ type: last as TokenType, literal: last });
      continue;
    }
    let word = '';
    while (i < input.length && !SYMBOLS.has(input[i]!) && !isSpace(input[i]!)) word += input[i++];
    tokens.push({ type: word === 'in' || word === 'notin' ? word : 'id', literal: word });
  }
}

const BINARY_OPERATORS = 'in, notin, =, ==, !=, gt, lt';

class Parser {
  private pos = 0;
  constructor(private readonly tokens: Token[]) {}

  /** In value position "in" and "notin" are plain identifiers. */
  private lookahead(values: boolean): Token {
    const t = this.tokens[this.pos]!;
    return values && (t.type === 'in' || t.type === 'notin') ? { type: 'id', literal: t.literal } : t;
  }

  private consume(values: boolean): Token {
    const t = this.lookahead(values);
    this.pos++;
    return t;
  }

  parse(): LabelRequirement[] {
    const out: LabelRequirement[] = [];
    for (;;) {
      const t = this.lookahead(true);
      if (t.type === 'end') return out;
      if (t.type !== 'id' && t.type !== '!') throw new SelectorParseError(`found '${t.literal}', expected: !, identifier, or 'end of string'`);
      out.push(this.requirement());
      const next = this.consume(true);
      if (next.type === 'end') return out;
      if (next.type !== ',') throw new SelectorParseError(`found '${next.literal}', expected: ',' or 'end of string'`);
      const after = this.lookahead(true);
      if (after.type !== 'id' && after.type !== '!') throw new SelectorParseError(`found '${after.literal}', expected: identifier after ','`);
    }
  }

  private requirement(): LabelRequirement {
    try {
      let t = this.consume(true);
      let operator: LabelOperator | undefined;
      if (t.type === '!') {
        operator = '!';
        t = this.consume(true);
      }
      if (t.type !== 'id') throw new SelectorParseError(`found '${t.literal}', expected: identifier`);
      const key = t.literal;
      const keyErrs = isQualifiedName(key);
      // Upstream validates the key here with a nil field path, which Go prints as "<nil>".
      if (keyErrs.length > 0) throw new SelectorParseError(fieldErrorText(invalidValue('<nil>', key, keyErrs.join('; '))));
      // "!key" never takes an operator: whatever follows is left for the caller to reject.
      if (operator === '!') return newRequirement(key, '!', []);
      const next = this.lookahead(true).type;
      if (next === 'end' || next === ',') return newRequirement(key, 'exists', []);
      const op = this.operator();
      const values = op === 'in' || op === 'notin' ? this.setValues() : this.exactValue();
      return newRequirement(key, op, values);
    } catch (err) {
      if (err instanceof SelectorParseError) throw new SelectorParseError(`unable to parse requirement: ${err.message}`);
      throw err;
    }
  }

  private operator(): LabelOperator {
    const t = this.consume(false);
    switch (t.type) {
      case 'in': return 'in';
      case 'notin': return 'notin';
      case '=': return '=';
      case '==': return '==';
      case '!=': return '!=';
      case '>': return 'gt';
      case '<': return 'lt';
      default: throw new SelectorParseError(`found '${t.literal}', expected: ${BINARY_OPERATORS}`);
    }
  }

  private setValues(): string[] {
    const open = this.consume(true);
    if (open.type !== '(') throw new SelectorParseError(`found '${open.literal}' expected: '('`);
    const t = this.lookahead(true);
    if (t.type === ')') {
      this.consume(true);
      return [''];
    }
    if (t.type !== 'id' && t.type !== ',') throw new SelectorParseError(`found '${t.literal}', expected: ',', ')' or identifier`);
    const values = this.identifiers();
    if (this.consume(true).type !== ')') throw new SelectorParseError(`found '${t.literal}', expected: ')'`);
    return values;
  }

  /** A comma-separated list in which empty entries are the empty value; returned sorted and de-duplicated. */
  private identifiers(): string[] {
    const set = new Set<string>();
    for (;;) {
      const t = this.consume(true);
      if (t.type === 'id') {
        set.add(t.literal);
        const next = this.lookahead(true);
        if (next.type === ',') continue;
        if (next.type === ')') return sortedValues(set);
        throw new SelectorParseError(`found '${next.literal}', expected: ',' or ')'`);
      }
      if (t.type === ',') {
        if (set.size === 0) set.add('');
        const next = this.lookahead(true);
        if (next.type === ')') {
          set.add('');
          return sortedValues(set);
        }
        if (next.type === ',') {
          this.consume(true);
          set.add('');
        }
        continue;
      }
      throw new SelectorParseError(`found '${t.literal}', expected: ',', or identifier`);
    }
  }

  private exactValue(): string[] {
    const t = this.lookahead(true);
    if (t.type === 'end' || t.type === ',') return [''];
    const v = this.consume(true);
    if (v.type === 'id') return [v.literal];
    throw new SelectorParseError(`found '${v.literal}', expected: identifier`);
  }
}

function sortedValues(set: Set<string>): string[] {
  return [...set].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** NewRequirement's checks; several errors are joined like Go's aggregate: `[e1, e2]`. */
function newRequirement(key: string, operator: LabelOperator, values: string[]): LabelRequirement {
  const errs: FieldError[] = [];
  const keyErrs = isQualifiedName(key);
  if (keyErrs.length > 0) errs.push(invalidValue('key', key, keyErrs.join('; ')));
  switch (operator) {
    case 'in':
    case 'notin':
      if (values.length === 0) errs.push(invalidValue('values', values, "for 'in', 'notin' operators, values set can't be empty"));
      break;
    case '=':
    case '==':
    case '!=':
      if (values.length !== 1) errs.push(invalidValue('values', values, 'exact-match compatibility requires one single value'));
      break;
    case 'exists':
    case '!':
      if (values.length !== 0) errs.push(invalidValue('values', values, 'values set must be empty for exists and does not exist'));
      break;
    case 'gt':
    case 'lt':
      if (values.length !== 1) errs.push(invalidValue('values', values, "for 'Gt', 'Lt' operators, exactly one value is required"));
      values.forEach((v, i) => {
        if (!INTEGER.test(v) || !fitsInt64(v)) errs.push(invalidValue(`values[${i}]`, v, "for 'Gt', 'Lt' operators, the value must be an integer"));
      });
      break;
  }
  values.forEach((v, i) => {
    const valueErrs = isValidLabelValue(v);
    if (valueErrs.length > 0) errs.push(invalidValue(`values[${i}][${key}]`, v, valueErrs.join('; ')));
  });
  if (errs.length === 1) throw new SelectorParseError(fieldErrorText(errs[0]!));
  if (errs.length > 1) throw new SelectorParseError(`[${[...new Set(errs.map(fieldErrorText))].join(', ')}]`);
  return { key, operator, values };
}

function fitsInt64(v: string): boolean {
  const n = BigInt(v);
  return n >= -(2n ** 63n) && n < 2n ** 63n;
}

/** Parses `labelSelector=`; an empty or absent selector matches everything. Throws SelectorParseError. */
export function parseLabelSelector(text: string | undefined): LabelSelector {
  if (text === undefined || text.trim() === '') return EVERYTHING;
  const requirements = new Parser(lex(text)).parse();
  // Upstream sorts requirements by key (only the printed form depends on it).
  requirements.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return new LabelSelector(requirements);
}
