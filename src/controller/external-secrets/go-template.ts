// Long: text/template's lexer, parser and evaluator are one grammar; split, each half would need the other's node types.
// A documented subset of Go's text/template, as ESO's template engine v2 uses it (with missingkey=error): text,
// `{{ pipeline }}` actions with fields, variables, literals, function calls and `|`, parentheses, `if`/`else if`/
// `else`, `range` (lists and maps, with `$k, $v :=`), `with`, variable declarations and comments.
// `define`, `template`, `block`, `break` and `continue` are refused with an error naming the construct, rather than
// rendering something different from ESO. Values are strings, Buffers (bytes that are not UTF-8), numbers, booleans,
// null, arrays and plain objects.
import { InvalidError } from '../../lib/errors.js';
import { lexTemplate, type Token } from './go-template-lexer.js';
import { FIXED_COST_FUNCTIONS, formatValue, isTruthy, MAX_BUILT_VALUE_BYTES, MAX_FIXED_COST_CALLS, TEMPLATE_FUNCTIONS, type TemplateFunction, type TemplateValue } from './template-functions.js';

type Operand =
  | { kind: 'field'; path: string[] }
  | { kind: 'variable'; name: string; path: string[] }
  | { kind: 'literal'; value: TemplateValue }
  | { kind: 'function'; name: string }
  | { kind: 'pipeline'; pipe: Pipeline };
interface Command { operands: Operand[] }
interface Pipeline { declare?: { names: string[]; assign: boolean }; commands: Command[]; line: number }
type Node =
  | { kind: 'text'; value: string }
  | { kind: 'action'; pipe: Pipeline }
  | { kind: 'if' | 'with'; pipe: Pipeline; body: Node[]; otherwise?: Node[] }
  | { kind: 'range'; pipe: Pipeline; body: Node[]; otherwise?: Node[] };

const UNSUPPORTED_KEYWORDS = new Set(['define', 'template', 'block', 'break', 'continue']);

/**
 * Bounds on one template run, so that one ExternalSecret cannot starve the process (ESO has none; Go's text/template
 * has only its nesting limit). The controller runs in the API server's process: time is checked between actions,
 * range iterations and function calls, and every function is linear in its input (regexps run on RE2).
 */
export interface TemplateLimits {
  /** Wall-clock budget of one execution. */
  readonly timeoutMs: number;
  /** Size of the rendered output and of any single value a function builds. */
  readonly maxOutputBytes: number;
}

// 500 ms: far above what a template takes, except bcrypt (sprig's bcrypt/htpasswd at Go's DefaultCost 10 costs
// about 100 ms of CPU in JavaScript), and half the liveness bound the API server keeps meanwhile.
export const DEFAULT_TEMPLATE_LIMITS: TemplateLimits = { timeoutMs: 500, maxOutputBytes: MAX_BUILT_VALUE_BYTES };

// Go's text/template/parse refuses deeper nesting with this text (maxStackDepth is 10000 there; 1000 here keeps the
// recursive parser and executor far from JavaScript's stack limit).
const MAX_NESTING_DEPTH = 1000;

class Parser {
  private i = 0;
  private depth = 0;
  constructor(private readonly name: string, private readonly tokens: Token[]) {}

  private peek(offset = 0): Token {
    return this.tokens[Math.min(this.i + offset, this.tokens.length - 1)]!;
  }
  private next(): Token {
    return this.tokens[this.i++]!;
  }
  fail(msg: string, line = this.peek().line): never {
    throw new InvalidError(`template: ${this.name}:${line}: ${msg}`);
  }

  /** Parses nodes until one of the given keywords appears as the first word of an action (returned, not consumed). */
  parseList(stop: string[]): { nodes: Node[]; stoppedAt?: string } {
    const nodes: Node[] = [];
    for (;;) {
      const t = this.peek();
      if (t.kind === 'eof') return { nodes };
      if (t.kind === 'text') {
        this.next();
        nodes.push({ kind: 'text', value: t.value });
        continue;
      }
      if (t.kind !== 'open') this.fail(`unexpected ${t.kind}`);
      const word = this.peek(1);
      const keyword = word.kind === 'identifier' ? word.value : undefined;
      if (keyword && stop.includes(keyword)) return { nodes, stoppedAt: keyword };
      this.next(); // open
      if (keyword && UNSUPPORTED_KEYWORDS.has(keyword)) {
        this.fail(`{{${keyword}}} is not supported by Coffer's template subset (see docs/external-secrets.md)`);
      }
      if (keyword === 'end' || keyword === 'else') this.fail(`unexpected {{${keyword}}}`);
      if (keyword === 'if' || keyword === 'with' || keyword === 'range') {
        this.next();
        nodes.push(this.parseControl(keyword));
        continue;
      }
      const pipe = this.parsePipeline(true);
      this.expect('close');
      nodes.push({ kind: 'action', pipe });
    }
  }

  private nest(): void {
    if (++this.depth > MAX_NESTING_DEPTH) this.fail('max expression depth exceeded');
  }

  private parseControl(kind: 'if' | 'with' | 'range'): Node {
    this.nest();
    try {
      return this.parseControlBody(kind);
    } finally {
      this.depth--;
    }
  }

  private parseControlBody(kind: 'if' | 'with' | 'range'): Node {
    const line = this.peek().line;
    const pipe = this.parsePipeline(true);
    this.expect('close');
    const body = this.parseList(['else', 'end']);
    if (!body.stoppedAt) this.fail(`unexpected EOF: {{${kind}}} without {{end}}`, line);
    this.next(); // open
    const word = this.next() as { value: string };
    let otherwise: Node[] | undefined;
    if (word.value === 'else') {
      const after = this.peek();
      if (after.kind === 'identifier' && (after.value === 'if' || after.value === 'with') && kind !== 'range') {
        // `{{else if x}}` is `{{else}}{{if x}}...{{end}}` sharing the outer {{end}}.
        this.next();
        otherwise = [this.parseControl(after.value)];
        return { kind, pipe, body: body.nodes, otherwise };
      }
      this.expect('close');
      const rest = this.parseList(['end']);
      if (!rest.stoppedAt) this.fail(`unexpected EOF: {{${kind}}} without {{end}}`, line);
      this.next();
      this.next();
      otherwise = rest.nodes;
    }
    this.expect('close');
    return { kind, pipe, body: body.nodes, ...(otherwise ? { otherwise } : {}) };
  }

  private expect(kind: Token['kind']): Token {
    const t = this.next();
    if (t.kind !== kind) this.fail(`expected ${kind === 'close' ? '}}' : kind}, found ${describe(t)}`, t.line);
    return t;
  }

  private parsePipeline(allowDeclare: boolean): Pipeline {
    const line = this.peek().line;
    let declare: Pipeline['declare'];
    if (allowDeclare && this.peek().kind === 'variable') {
      // `$x :=`, `$x =`, `$k, $v :=`
      const names: string[] = [];
      let j = 0;
      for (;;) {
        const t = this.peek(j);
        if (t.kind !== 'variable' || t.path.length > 0) break;
        names.push(t.name);
        const sep = this.peek(j + 1);
        if (sep.kind === 'comma') j += 2;
        else {
          if (sep.kind === 'declare' || sep.kind === 'assign') {
            declare = { names, assign: sep.kind === 'assign' };
            this.i += j + 2;
          }
          break;
        }
      }
    }
    const commands: Command[] = [];
    for (;;) {
      const operands: Operand[] = [];
      for (;;) {
        const t = this.peek();
        if (t.kind === 'close' || t.kind === 'pipe' || t.kind === 'rparen' || t.kind === 'eof') break;
        operands.push(this.parseOperand());
      }
      if (operands.length === 0) this.fail('missing value for command');
      commands.push({ operands });
      if (this.peek().kind !== 'pipe') break;
      this.next();
    }
    return { ...(declare ? { declare } : {}), commands, line };
  }

  private parseOperand(): Operand {
    const t = this.next();
    switch (t.kind) {
      case 'field':
        return { kind: 'field', path: t.path };
      case 'variable':
        return { kind: 'variable', name: t.name, path: t.path };
      case 'string':
      case 'number':
      case 'bool':
        return { kind: 'literal', value: t.value };
      case 'nil':
        return { kind: 'literal', value: null };
      case 'identifier':
        if (UNSUPPORTED_KEYWORDS.has(t.value) || ['if', 'else', 'end', 'range', 'with'].includes(t.value)) {
          this.fail(`unexpected keyword ${t.value} in command`, t.line);
        }
        if (!Object.hasOwn(TEMPLATE_FUNCTIONS, t.value)) {
          this.fail(`function "${t.value}" not defined (Coffer supports: see docs/external-secrets.md)`, t.line);
        }
        return { kind: 'function', name: t.value };
      case 'lparen': {
        this.nest();
        const pipe = this.parsePipeline(false);
        this.expect('rparen');
        this.depth--;
        return { kind: 'pipeline', pipe };
      }
      default:
        return this.fail(`unexpected ${describe(t)} in operand`, t.line);
    }
  }
}

function describe(t: Token): string {
  switch (t.kind) {
    case 'close': return '"}}"';
    case 'identifier': return `<${t.value}>`;
    case 'eof': return 'EOF';
    default: return t.kind;
  }
}

/** A parsed template; execute() renders it against a data map (the provider data: key → value). */
export class GoTemplate {
  private constructor(readonly name: string, private readonly nodes: Node[]) {}

  static parse(name: string, text: string): GoTemplate {
    const parser = new Parser(name, lexTemplate(name, text));
    const { nodes, stoppedAt } = parser.parseList([]);
    if (stoppedAt) parser.fail(`unexpected {{${stoppedAt}}}`);
    return new GoTemplate(name, nodes);
  }

  execute(data: TemplateValue, limits: TemplateLimits = DEFAULT_TEMPLATE_LIMITS): Buffer {
    const scope = new Scope(undefined);
    scope.declare('$', data);
    const executor = new Executor(this.name, limits);
    executor.run(this.nodes, data, scope);
    return Buffer.concat(executor.out);
  }
}

class Scope {
  private readonly vars = new Map<string, TemplateValue>();
  constructor(private readonly parent: Scope | undefined) {}
  declare(name: string, value: TemplateValue): void {
    this.vars.set(name, value);
  }
  assign(name: string, value: TemplateValue): boolean {
    if (this.vars.has(name)) {
      this.vars.set(name, value);
      return true;
    }
    return this.parent?.assign(name, value) ?? false;
  }
  lookup(name: string): TemplateValue | undefined {
    return this.vars.has(name) ? this.vars.get(name) : this.parent?.lookup(name);
  }
  child(): Scope {
    return new Scope(this);
  }
}

class Executor {
  readonly out: Buffer[] = [];
  private outBytes = 0;
  private line = 0;
  private deadline: number;
  private fixedCostCalls = 0;
  constructor(private readonly name: string, private readonly limits: TemplateLimits) {
    this.deadline = performance.now() + limits.timeoutMs;
  }

  private fail(msg: string): never {
    throw new InvalidError(`template: ${this.name}:${this.line}: ${msg}`);
  }

  private checkTime(): void {
    if (performance.now() > this.deadline) this.fail(`execution exceeded the time limit of ${this.limits.timeoutMs}ms`);
  }

  private checkSize(bytes: number, what: string): void {
    if (bytes > this.limits.maxOutputBytes) this.fail(`${what} exceeds the size limit of ${this.limits.maxOutputBytes} bytes`);
  }

  private emit(b: Buffer): void {
    this.outBytes += b.length;
    this.checkSize(this.outBytes, 'output');
    this.out.push(b);
  }

  run(nodes: Node[], dot: TemplateValue, scope: Scope): void {
    for (const n of nodes) {
      this.checkTime();
      switch (n.kind) {
        case 'text':
          this.emit(Buffer.from(n.value));
          break;
        case 'action': {
          const v = this.pipeline(n.pipe, dot, scope);
          if (!n.pipe.declare) this.emit(formatValue(v));
          break;
        }
        case 'if':
        case 'with': {
          const inner = scope.child();
          const v = this.pipeline(n.pipe, dot, inner);
          if (isTruthy(v)) this.run(n.body, n.kind === 'with' ? v : dot, inner);
          else if (n.otherwise) this.run(n.otherwise, dot, inner);
          break;
        }
        case 'range':
          this.range(n, dot, scope);
          break;
      }
    }
  }

  private range(n: Extract<Node, { kind: 'range' }>, dot: TemplateValue, scope: Scope): void {
    const pipe = { ...n.pipe };
    delete pipe.declare;
    const v = this.pipeline(pipe, dot, scope);
    const names = n.pipe.declare?.names ?? [];
    let entries: Iterable<[TemplateValue, TemplateValue]>;
    let count: number;
    if (Array.isArray(v)) [entries, count] = [v.map((e, i): [number, TemplateValue] => [i, e]), v.length];
    else if (v && typeof v === 'object' && !Buffer.isBuffer(v) && !(v instanceof Date)) {
      const keys = Object.keys(v).sort();
      [entries, count] = [keys.map((k): [string, TemplateValue] => [k, v[k]!]), keys.length];
    } else if (typeof v === 'number' && Number.isInteger(v)) [entries, count] = [upTo(v), Math.max(0, v)]; // lazily: `range 1e15` is bounded by time
    else if (v === null) [entries, count] = [[], 0];
    else return this.fail(`range can't iterate over ${String(formatValue(v))}`);
    if (count === 0) {
      if (n.otherwise) this.run(n.otherwise, dot, scope);
      return;
    }
    for (const [k, e] of entries) {
      this.checkTime();
      const inner = scope.child();
      if (names.length === 1) inner.declare(names[0]!, e);
      else if (names.length === 2) {
        inner.declare(names[0]!, k);
        inner.declare(names[1]!, e);
      }
      this.run(n.body, e, inner);
    }
  }

  private pipeline(p: Pipeline, dot: TemplateValue, scope: Scope): TemplateValue {
    this.line = p.line;
    let value: TemplateValue | undefined;
    for (const cmd of p.commands) value = this.command(cmd, dot, scope, value);
    const result = value ?? null;
    if (p.declare) {
      for (const name of p.declare.names) {
        if (p.declare.assign) {
          if (!scope.assign(name, result)) this.fail(`undefined variable: ${name}`);
        } else scope.declare(name, result);
      }
    }
    return result;
  }

  private command(cmd: Command, dot: TemplateValue, scope: Scope, piped: TemplateValue | undefined): TemplateValue {
    const [first, ...rest] = cmd.operands;
    if (first!.kind === 'function') {
      const fn: TemplateFunction = TEMPLATE_FUNCTIONS[first!.name]!;
      const args = rest.map((o) => this.operand(o, dot, scope));
      if (piped !== undefined) args.push(piped);
      // Key generation, bcrypt and scrypt take a fixed while that can pass the time limit on a busy machine: their
      // time is not counted, their number is bounded instead.
      const fixedCost = FIXED_COST_FUNCTIONS.has(first!.name);
      if (fixedCost && ++this.fixedCostCalls > MAX_FIXED_COST_CALLS) this.fail(`more than ${MAX_FIXED_COST_CALLS} calls of key-generating or password-hashing functions (${first!.name})`);
      const started = performance.now();
      let result: TemplateValue;
      try {
        result = fn(...args);
      } catch (e) {
        return this.fail(`error calling ${first!.name}: ${(e as Error).message}`);
      } finally {
        if (fixedCost) this.deadline += performance.now() - started;
      }
      this.checkTime();
      if (typeof result === 'string' || Buffer.isBuffer(result)) this.checkSize(result.length, `result of ${first!.name}`);
      return result;
    }
    if (rest.length > 0 || piped !== undefined) this.fail(`can't give argument to non-function ${describeOperand(first!)}`);
    return this.operand(first!, dot, scope);
  }

  private operand(o: Operand, dot: TemplateValue, scope: Scope): TemplateValue {
    switch (o.kind) {
      case 'literal':
        return o.value;
      case 'field':
        return this.walk(dot, o.path);
      case 'variable': {
        const v = scope.lookup(o.name);
        if (v === undefined) this.fail(`undefined variable: ${o.name}`);
        return this.walk(v, o.path);
      }
      case 'pipeline':
        return this.pipeline(o.pipe, dot, scope);
      case 'function':
        return TEMPLATE_FUNCTIONS[o.name]!();
    }
  }

  private walk(value: TemplateValue, path: string[]): TemplateValue {
    let v = value;
    for (const key of path) {
      if (v === null || typeof v !== 'object' || Buffer.isBuffer(v) || Array.isArray(v) || v instanceof Date) {
        this.fail(`can't evaluate field ${key} in type ${typeName(v)}`);
      }
      // missingkey=error, as ESO configures text/template.
      if (!Object.hasOwn(v, key)) this.fail(`map has no entry for key "${key}"`);
      v = v[key]!;
    }
    return v;
  }
}

function* upTo(n: number): Generator<[number, number]> {
  for (let i = 0; i < n; i++) yield [i, i];
}

function describeOperand(o: Operand): string {
  return o.kind === 'field' ? `.${o.path.join('.')}` : o.kind === 'variable' ? o.name : o.kind;
}

function typeName(v: TemplateValue): string {
  if (v === null) return 'nil';
  if (Buffer.isBuffer(v)) return '[]uint8';
  if (v instanceof Date) return 'time.Time';
  if (Array.isArray(v)) return '[]interface {}';
  return typeof v;
}
