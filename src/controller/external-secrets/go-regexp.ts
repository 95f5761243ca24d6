// Kept so code written against the earlier module keeps compiling: every user pattern now goes through Go's regexp
// on RE2 in src/lib/go/regexp.ts.
import { GoRegexp } from '../../lib/go/regexp.js';

export function compileGoRegexp(pattern: string): GoRegexp {
  return GoRegexp.compile(pattern);
}
