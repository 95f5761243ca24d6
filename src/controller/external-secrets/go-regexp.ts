// Go RE2 patterns (rewrite.regexp.source, find.name.regexp, ClusterSecretStore namespaceRegexes) translated to
// JavaScript RegExp. Users copy these from ESO docs, so the RE2 spellings must work: (?P<name>…), leading flag groups
// like (?i), \pL, [[:alpha:]], \A and \z. RE2 has no lookaround or backreferences; those are rejected rather than
// silently given JS meaning.
import { InvalidError } from '../../lib/errors.js';

const POSIX_CLASSES: Readonly<Record<string, string>> = {
  alnum: '0-9A-Za-z',
  alpha: 'A-Za-z',
  ascii: '\\x00-\\x7F',
  blank: '\\t ',
  cntrl: '\\x00-\\x1F\\x7F',
  digit: '0-9',
  graph: '!-~',
  lower: 'a-z',
  print: ' -~',
  punct: '!-\\/:-@\\[-`{-~',
  space: '\\t\\n\\v\\f\\r ',
  upper: 'A-Z',
  word: '0-9A-Za-z_',
  xdigit: '0-9A-Fa-f',
};

/** Compiles a Go regexp; `g` is added for replace-all use. Errors name the pattern. */
export function compileGoRegexp(pattern: string, opts: { global?: boolean } = {}): RegExp {
  let flags = 'u' + (opts.global ? 'g' : '');
  let src = pattern;
  // A leading (?flags) group applies to the whole pattern; JS has only whole-pattern flags.
  const lead = /^\(\?([imsU]+)\)/.exec(src);
  if (lead) {
    for (const f of lead[1]!) {
      if (f === 'U') throw new InvalidError(`regexp ${JSON.stringify(pattern)}: flag U (ungreedy) is not supported`);
      if (!flags.includes(f)) flags += f;
    }
    src = src.slice(lead[0].length);
  }
  let out = '';
  let inClass = false;
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    if (c === '\\') {
      const n = src[i + 1];
      if (n === undefined) throw new InvalidError(`regexp ${JSON.stringify(pattern)}: trailing backslash`);
      if (n === 'A' && !inClass) out += '^';
      else if (n === 'z' && !inClass) out += '$(?![\\s\\S])';
      else if ((n === 'p' || n === 'P') && src[i + 2] !== '{') {
        out += `\\${n}{${src[i + 2] ?? ''}}`;
        i++;
      } else if (/[1-9]/.test(n)) throw new InvalidError(`regexp ${JSON.stringify(pattern)}: backreferences are not supported by RE2`);
      else if (/[A-Za-z0-9]/.test(n) || n === '\\' || (n === '-' && inClass)) out += `\\${n}`;
      else out += /[\^$.*+?()[\]{}|/]/.test(n) ? `\\${n}` : n; // Go allows escaping any punctuation; JS's u flag does not
      i++;
      continue;
    }
    if (inClass) {
      if (c === '[' && src[i + 1] === ':') {
        const m = /^\[:(\^?)([a-z]+):\]/.exec(src.slice(i));
        const cls = m ? POSIX_CLASSES[m[2]!] : undefined;
        if (m && cls !== undefined) {
          if (m[1]) throw new InvalidError(`regexp ${JSON.stringify(pattern)}: negated POSIX classes are not supported`);
          out += cls;
          i += m[0].length - 1;
          continue;
        }
      }
      if (c === ']') inClass = false;
      out += c === '[' ? '\\[' : c;
      continue;
    }
    if (c === '[') {
      inClass = true;
      out += c;
      if (src[i + 1] === '^') {
        out += '^';
        i++;
      }
      if (src[i + 1] === ']') {
        out += '\\]';
        i++;
      }
      continue;
    }
    if (c === '(' && src[i + 1] === '?') {
      const rest = src.slice(i + 2);
      if (rest.startsWith('P<')) {
        out += '(?<';
        i += 3;
        continue;
      }
      if (rest.startsWith('=') || rest.startsWith('!') || rest.startsWith('<=') || rest.startsWith('<!')) {
        throw new InvalidError(`regexp ${JSON.stringify(pattern)}: lookaround is not supported by RE2`);
      }
      if (!rest.startsWith(':') && !rest.startsWith('<')) {
        throw new InvalidError(`regexp ${JSON.stringify(pattern)}: inline flag groups are only supported at the start`);
      }
    }
    out += c;
  }
  try {
    return new RegExp(out, flags);
  } catch (e) {
    throw new InvalidError(`regexp ${JSON.stringify(pattern)}: ${(e as Error).message}`, { cause: e });
  }
}

/** Go's Regexp.Expand template rules: $1, ${1}, $name, ${name}, $$; unknown groups expand to "". */
export function expandGoTemplate(template: string, match: RegExpExecArray): string {
  let out = '';
  for (let i = 0; i < template.length; i++) {
    const c = template[i]!;
    if (c !== '$') {
      out += c;
      continue;
    }
    const rest = template.slice(i + 1);
    if (rest.startsWith('$')) {
      out += '$';
      i++;
      continue;
    }
    let name: string | undefined;
    let len = 0;
    const braced = /^\{([A-Za-z0-9_]+)\}/.exec(rest);
    const bare = /^[A-Za-z0-9_]+/.exec(rest);
    if (braced) {
      name = braced[1];
      len = braced[0].length;
    } else if (bare) {
      name = bare[0];
      len = bare[0].length;
    }
    if (name === undefined) {
      out += '$'; // a lone $ is kept, as Go does for a malformed reference
      continue;
    }
    i += len;
    if (/^\d+$/.test(name)) out += match[Number(name)] ?? '';
    else out += match.groups?.[name] ?? '';
  }
  return out;
}

/** Go's ReplaceAllString: non-overlapping matches left to right; an empty match right after a match is skipped. */
export function replaceAllGo(re: RegExp, input: string, template: string): string {
  const g = re.global ? re : new RegExp(re.source, re.flags + 'g');
  g.lastIndex = 0;
  let out = '';
  let last = 0;
  let prevEnd = -1;
  for (;;) {
    const m = g.exec(input);
    if (!m) break;
    const start = m.index;
    const end = start + m[0].length;
    if (m[0].length === 0) {
      if (start === prevEnd) {
        // Step one code point so the loop advances (JS with the u flag would otherwise report the same place).
        g.lastIndex = start + (input.codePointAt(start)! > 0xffff ? 2 : 1);
        if (start >= input.length) break;
        continue;
      }
      g.lastIndex = start + (start < input.length && input.codePointAt(start)! > 0xffff ? 2 : 1);
    }
    out += input.slice(last, start) + expandGoTemplate(template, m);
    last = end;
    prevEnd = end;
    if (start >= input.length) break;
  }
  return out + input.slice(last);
}
