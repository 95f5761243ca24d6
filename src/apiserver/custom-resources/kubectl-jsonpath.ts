// The subset of kubectl/client-go JSONPath that CRD printer columns and selectable fields use: `.a.b`, `['a.b']`,
// `[0]`, `[*]` and filters `[?(@.type=="Ready")]` (==, != on strings, numbers, booleans). Missing keys yield no
// result rather than an error, as kube's table convertor sets AllowMissingKeys.

type Json = unknown;
type Step =
  | { kind: 'field'; name: string }
  | { kind: 'index'; index: number }
  | { kind: 'all' }
  | { kind: 'filter'; path: Step[]; op: '==' | '!=' | 'exists'; value?: Json };

export class JsonPathError extends Error {}

function parseLiteral(text: string): Json {
  const t = text.trim();
  if (t.startsWith('"') || t.startsWith("'")) return t.slice(1, -1);
  if (t === 'true' || t === 'false') return t === 'true';
  const n = Number(t);
  if (t !== '' && !Number.isNaN(n)) return n;
  throw new JsonPathError(`unsupported filter value ${t}`);
}

/** Parses `.status.conditions[?(@.type=="Ready")].reason` (a leading `{...}` wrapper is accepted too). */
export function parseJsonPath(expression: string): Step[] {
  let s = expression.trim();
  if (s.startsWith('{') && s.endsWith('}')) s = s.slice(1, -1);
  if (s.startsWith('$')) s = s.slice(1);
  const steps: Step[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (c === '.') {
      let j = i + 1;
      while (j < s.length && s[j] !== '.' && s[j] !== '[') j++;
      const name = s.slice(i + 1, j);
      if (name === '*') steps.push({ kind: 'all' });
      else if (name) steps.push({ kind: 'field', name });
      i = j;
    } else if (c === '[') {
      const close = findClose(s, i);
      const inner = s.slice(i + 1, close).trim();
      i = close + 1;
      if (inner === '*') steps.push({ kind: 'all' });
      else if (/^-?\d+$/.test(inner)) steps.push({ kind: 'index', index: Number(inner) });
      else if (/^'.*'$|^".*"$/.test(inner)) steps.push({ kind: 'field', name: inner.slice(1, -1) });
      else if (inner.startsWith('?(') && inner.endsWith(')')) steps.push(parseFilter(inner.slice(2, -1)));
      else throw new JsonPathError(`unsupported JSONPath segment [${inner}]`);
    } else throw new JsonPathError(`unexpected ${JSON.stringify(c)} in JSONPath ${expression}`);
  }
  return steps;
}

function findClose(s: string, open: number): number {
  let depth = 0;
  let quote: string | undefined;
  for (let i = open; i < s.length; i++) {
    const c = s[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '[') depth++;
    else if (c === ']' && --depth === 0) return i;
  }
  throw new JsonPathError(`unclosed [ in JSONPath ${s}`);
}

function parseFilter(text: string): Step {
  const m = /^@((?:\.[^=!<>\s]+)+)\s*(==|!=)\s*(.+)$/.exec(text.trim());
  if (m) return { kind: 'filter', path: parseJsonPath(m[1]!), op: m[2] as '==' | '!=', value: parseLiteral(m[3]!) };
  const exists = /^@((?:\.[^=!<>\s]+)+)$/.exec(text.trim());
  if (exists) return { kind: 'filter', path: parseJsonPath(exists[1]!), op: 'exists' };
  throw new JsonPathError(`unsupported JSONPath filter ${text}`);
}

/** Every value the path reaches, in document order. */
export function evaluateJsonPath(steps: readonly Step[], root: Json): Json[] {
  let current: Json[] = [root];
  for (const step of steps) {
    const next: Json[] = [];
    for (const v of current) {
      if (step.kind === 'field') {
        if (v !== null && typeof v === 'object' && !Array.isArray(v) && Object.hasOwn(v, step.name)) next.push((v as Record<string, Json>)[step.name]);
      } else if (step.kind === 'index') {
        if (Array.isArray(v)) {
          const at = step.index < 0 ? v.length + step.index : step.index;
          if (at >= 0 && at < v.length) next.push(v[at]);
        }
      } else if (step.kind === 'all') {
        if (Array.isArray(v)) next.push(...(v as Json[]));
        else if (v !== null && typeof v === 'object') next.push(...Object.values(v as Record<string, Json>));
      } else {
        const items: Json[] = Array.isArray(v) ? (v as Json[]) : [];
        for (const item of items) {
          const found = evaluateJsonPath(step.path, item);
          if (step.op === 'exists' ? found.length > 0 : found.some((f) => f === step.value) === (step.op === '==')) next.push(item);
        }
      }
    }
    current = next;
  }
  return current;
}

/** How kube's JSONPath printer writes a value as text (Go fmt.Fprint of the decoded JSON value). */
export function jsonPathText(v: Json): string {
  if (typeof v === 'string') return v;
  if (v === null || v === undefined) return '<nil>';
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `[${v.map(jsonPathText).join(' ')}]`;
  const entries = Object.keys(v as Record<string, Json>)
    .sort()
    .map((k) => `${k}:${jsonPathText((v as Record<string, Json>)[k])}`);
  return `map[${entries.join(' ')}]`;
}
