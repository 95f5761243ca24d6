// dataFrom[].rewrite: regexp (Go ReplaceAllString with Go's $-expansion) and transform (a template run per key with
// {value: key}), applied first to last, each feeding the next, as ESO's esutils.RewriteMap. `merge` is refused with
// a clear error rather than approximated.
import { InvalidError } from '../../lib/errors.js';
import { GoRegexp } from '../../lib/go/regexp.js';
import { GoTemplate } from './go-template.js';
import type { Rewrite } from './external-secret-types.js';

export function rewriteKeys<V>(data: Record<string, V>, rewrites: readonly Rewrite[]): Record<string, V> {
  let current = data;
  rewrites.forEach((op, n) => {
    const next: Record<string, V> = {};
    if (op.regexp) {
      let re: GoRegexp;
      try {
        re = GoRegexp.compile(op.regexp.source);
      } catch (e) {
        throw new InvalidError(`failed rewrite operation[${n}]: regexp failed with failed to compile: ${(e as Error).message}`);
      }
      for (const [k, v] of Object.entries(current)) next[re.replaceAllString(k, op.regexp.target)] = v;
    } else if (op.transform) {
      let tpl: GoTemplate;
      try {
        tpl = GoTemplate.parse('transform', op.transform.template);
      } catch (e) {
        throw new InvalidError(`failed rewrite operation[${n}]: ${(e as Error).message}`);
      }
      for (const [k, v] of Object.entries(current)) {
        try {
          next[tpl.execute({ value: k }).toString()] = v;
        } catch (e) {
          throw new InvalidError(`failed rewrite operation[${n}]: ${(e as Error).message}`);
        }
      }
    } else if (op.merge) {
      throw new InvalidError(`failed rewrite operation[${n}]: rewrite.merge is not supported by Coffer`);
    } else {
      throw new InvalidError(`failed rewrite operation[${n}]: exactly one of regexp, transform or merge must be set`);
    }
    current = next;
  });
  return current;
}
