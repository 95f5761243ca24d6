// Field selectors (apimachinery pkg/fields/selector.go): comma-separated `field=value`, `field==value`,
// `field!=value` terms, ANDed; `\,` `\=` `\\` escape inside values. Which fields a resource supports is the strategy's
// business (its message is what kubectl prints for an unsupported one).
import { SelectorParseError } from './label-selector.js';

export interface FieldRequirement {
  field: string;
  value: string;
  negated: boolean;
}

export class FieldSelector {
  constructor(readonly requirements: readonly FieldRequirement[]) {}

  get empty(): boolean {
    return this.requirements.length === 0;
  }

  matches(fields: Readonly<Record<string, string>>): boolean {
    return this.requirements.every((r) => ((fields[r.field] ?? '') === r.value) !== r.negated);
  }

  /** The value the selector requires for a field (`metadata.name=x`), if any: lets a list skip other keys early. */
  exactValue(field: string): string | undefined {
    return this.requirements.find((r) => r.field === field && !r.negated)?.value;
  }

  /** This selector plus one more required equality (a watch on one named object). */
  and(field: string, value: string): FieldSelector {
    return new FieldSelector([...this.requirements, { field, value, negated: false }]);
  }
}

/** Splits on commas not escaped by a backslash. */
function splitTerms(text: string): string[] {
  const terms: string[] = [];
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === ',') {
      terms.push(text.slice(start, i));
      start = i + 1;
    }
  }
  terms.push(text.slice(start));
  return terms;
}

const OPERATORS = ['!=', '==', '='] as const;

function splitTerm(term: string): [string, (typeof OPERATORS)[number], string] | undefined {
  for (let i = 0; i < term.length; i++) {
    for (const op of OPERATORS) if (term.startsWith(op, i)) return [term.slice(0, i), op, term.slice(i + op.length)];
  }
  return undefined;
}

function unescapeValue(value: string): string {
  if (!/[\\,=]/.test(value)) return value;
  let out = '';
  let slash = false;
  for (const ch of value) {
    if (slash) {
      if (ch !== '\\' && ch !== ',' && ch !== '=') throw new SelectorParseError(`invalid field selector: invalid escape sequence: \\${ch}`);
      out += ch;
      slash = false;
    } else if (ch === '\\') slash = true;
    else if (ch === ',' || ch === '=') {
      // Go prints the rune with %v, i.e. as its number.
      throw new SelectorParseError(`invalid field selector: unescaped character in value: ${ch.codePointAt(0)}`);
    } else out += ch;
  }
  if (slash) throw new SelectorParseError('invalid field selector: invalid escape sequence: \\');
  return out;
}

/**
 * Parses `fieldSelector=`; `labelError` says whether a field can be selected on (undefined) or gives the message.
 * Throws SelectorParseError with kube's text.
 */
export function parseFieldSelector(text: string | undefined, labelError: (field: string) => string | undefined): FieldSelector {
  if (text === undefined || text === '') return new FieldSelector([]);
  const requirements: FieldRequirement[] = [];
  // Upstream sorts the terms before parsing them, so the first bad one in sorted order is reported.
  for (const term of splitTerms(text).sort()) {
    if (term === '') continue;
    const parts = splitTerm(term);
    if (!parts) throw new SelectorParseError(`invalid selector: '${text}'; can't understand '${term}'`);
    const [field, op, raw] = parts;
    requirements.push({ field, value: unescapeValue(raw), negated: op === '!=' });
  }
  for (const r of requirements) {
    const error = labelError(r.field);
    if (error !== undefined) throw new SelectorParseError(error);
  }
  return new FieldSelector(requirements);
}
