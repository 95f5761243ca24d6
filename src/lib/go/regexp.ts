// Go's regexp package, as far as users reach it through External Secrets (rewrite.regexp, find.name.regexp,
// namespaceRegexes, sprig's regex* template functions). Every pattern that comes from a user goes through here and runs
// on re2js, a port of Go's RE2 engine: matching is linear in the input, so no pattern can stall the process the way a
// backtracking engine does on `^(a+)+$`, and the syntax and error texts are Go's (`error parsing regexp: ...`).
// Indexes are UTF-16 offsets of the JavaScript string; for valid text that gives the same substrings as Go's bytes.
import { RE2JS } from 're2js';
import { InvalidError } from '../errors.js';
import { LruCache } from '../lru-cache.js';

/** A pattern Go's regexp.Compile refuses; the message is Go's error text. */
export class GoRegexpError extends InvalidError {}

// Go's regexp has no length limit of its own, but the compiled program is bounded (repeat counts <= 1000, nesting);
// a cap on the source keeps compilation itself cheap for anything a user sends.
const MAX_PATTERN_LENGTH = 64 * 1024;

// The same patterns are compiled again on every reconcile and template run; compiled programs are immutable.
const cache = new LruCache<string, GoRegexp>(512);

interface RE2Engine {
  match(s: string): boolean;
  findSubmatchIndex(s: string): number[] | null;
  findAllSubmatchIndex(s: string, n: number): number[][] | null;
  numSubexp: number;
  namedGroups: Record<string, number>;
}

export class GoRegexp {
  private readonly re2: RE2Engine;

  private constructor(readonly source: string) {
    if (source.length > MAX_PATTERN_LENGTH) {
      throw new GoRegexpError(`error parsing regexp: expression too large: pattern is ${source.length} characters, the limit is ${MAX_PATTERN_LENGTH}`);
    }
    try {
      this.re2 = RE2JS.compile(source).re2();
    } catch (e) {
      const message = (e as Error).message;
      throw new GoRegexpError(message.startsWith('error parsing regexp') ? message : `error parsing regexp: ${message}`, { cause: e });
    }
  }

  /** regexp.Compile; throws GoRegexpError with Go's text. */
  static compile(pattern: string): GoRegexp {
    let re = cache.get(pattern);
    if (!re) {
      re = new GoRegexp(pattern);
      cache.set(pattern, re);
    }
    return re;
  }

  /** MatchString. */
  test(s: string): boolean {
    return this.re2.match(s);
  }

  /** FindString: the leftmost match, or "" when there is none. */
  findString(s: string): string {
    const m = this.re2.findSubmatchIndex(s);
    return m ? s.slice(m[0], m[1]) : '';
  }

  /** FindStringSubmatch: the match and its groups ("" for a group that did not take part), or null. */
  findStringSubmatch(s: string): string[] | null {
    const m = this.re2.findSubmatchIndex(s);
    return m ? groups(s, m) : null;
  }

  /** FindAllString with n < 0 meaning all. */
  findAllString(s: string, n: number): string[] {
    return this.allIndexes(s, n).map((m) => s.slice(m[0], m[1]));
  }

  /** ReplaceAllString: $1, ${1}, $name, ${name} and $$ in the template are expanded as Regexp.Expand does. */
  replaceAllString(src: string, template: string): string {
    return this.replace(src, (m) => this.expand(template, src, m));
  }

  /** ReplaceAllLiteralString: the replacement is used as is. */
  replaceAllLiteralString(src: string, replacement: string): string {
    return this.replace(src, () => replacement);
  }

  /** Split as Go's Regexp.Split: n > 0 gives at most n pieces, n == 0 none, n < 0 all. */
  split(s: string, n: number): string[] {
    if (n === 0) return [];
    if (this.source.length > 0 && s.length === 0) return [''];
    const out: string[] = [];
    let beg = 0;
    let end = 0;
    for (const m of this.allIndexes(s, n)) {
      if (n > 0 && out.length === n - 1) break;
      end = m[0]!;
      if (m[1] !== 0) out.push(s.slice(beg, end));
      beg = m[1]!;
    }
    if (end !== s.length) out.push(s.slice(beg));
    return out;
  }

  /** SubexpNames: index 0 and unnamed groups are "". */
  subexpNames(): string[] {
    const names = Array<string>(this.re2.numSubexp + 1).fill('');
    for (const [name, i] of Object.entries(this.re2.namedGroups)) names[i] = name;
    return names;
  }

  private allIndexes(s: string, n: number): number[][] {
    return this.re2.findAllSubmatchIndex(s, n < 0 ? s.length + 1 : n) ?? [];
  }

  // Go's replaceAll skips an empty match right after the previous match; findAllSubmatchIndex applies the same rule.
  private replace(src: string, replacement: (m: number[]) => string): string {
    let out = '';
    let last = 0;
    for (const m of this.allIndexes(src, -1)) {
      out += src.slice(last, m[0]) + replacement(m);
      last = m[1]!;
    }
    return out + src.slice(last);
  }

  /** Regexp.ExpandString: the longest name after $ (letters, digits, _), {name} for a delimited one; unknown → "". */
  private expand(template: string, src: string, m: number[]): string {
    const values = groups(src, m);
    const names = this.subexpNames();
    let out = '';
    let i = 0;
    while (i < template.length) {
      const dollar = template.indexOf('$', i);
      if (dollar < 0) break;
      out += template.slice(i, dollar);
      const rest = template.slice(dollar + 1);
      if (rest.startsWith('$')) {
        out += '$';
        i = dollar + 2;
        continue;
      }
      const ref = /^\{([A-Za-z0-9_]+)\}/.exec(rest) ?? /^([A-Za-z0-9_]+)/.exec(rest);
      if (!ref) {
        out += '$'; // malformed reference: Go copies the $ and goes on
        i = dollar + 1;
        continue;
      }
      i = dollar + 1 + ref[0].length;
      const name = ref[1]!;
      if (/^\d+$/.test(name)) {
        const k = Number(name);
        if (k < values.length) out += values[k];
      } else {
        const k = names.indexOf(name);
        if (k > 0) out += values[k];
      }
    }
    return out + template.slice(i);
  }
}

function groups(s: string, m: number[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < m.length; i += 2) out.push(m[i]! < 0 ? '' : s.slice(m[i], m[i + 1]));
  return out;
}

/** regexp.QuoteMeta: escapes every character that is special in a pattern. */
export function quoteMeta(s: string): string {
  return s.replace(/[\\.+*?()|[\]{}^$]/g, '\\$&');
}
