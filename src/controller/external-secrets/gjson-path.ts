// remoteRef.property for the fake, kubernetes and vault providers: ESO evaluates it as a gjson path. Coffer supports
// the part of gjson that property paths use in practice: dot-separated keys, `\` escapes (`tls\.crt`), array indexes
// (`list.1`), `#` (length) and `list.#.field`. Queries (`#(...)`), wildcards, modifiers (`@...`) and multipaths are
// refused with an error naming them, so a path never silently selects something else.
import { InvalidError } from '../../lib/errors.js';

function splitPath(path: string): string[] {
  const parts: string[] = [];
  let cur = '';
  for (let i = 0; i < path.length; i++) {
    const c = path[i]!;
    if (c === '\\' && i + 1 < path.length) {
      cur += path[++i];
      continue;
    }
    if (c === '.') {
      parts.push(cur);
      cur = '';
      continue;
    }
    if (c === '*' || c === '?' || c === '|' || (c === '@' && cur === '') || ((c === '[' || c === '{') && cur === '' && parts.length === 0) || (c === '(' && cur === '#')) {
      throw new InvalidError(`property ${JSON.stringify(path)}: gjson ${c === '(' ? 'queries' : c === '@' ? 'modifiers' : c === '*' || c === '?' ? 'wildcards' : 'pipes and multipaths'} are not supported by Coffer`);
    }
    cur += c;
  }
  parts.push(cur);
  return parts;
}

/** Selects a value by a gjson-style path; undefined when it does not exist. */
export function selectJsonPath(root: unknown, path: string): unknown {
  const parts = splitPath(path);
  const walk = (value: unknown, i: number): unknown => {
    if (i === parts.length) return value;
    const key = parts[i]!;
    if (Array.isArray(value)) {
      if (key === '#') {
        if (i === parts.length - 1) return value.length;
        const mapped = value.map((e) => walk(e, i + 1)).filter((e) => e !== undefined);
        return mapped;
      }
      if (!/^\d+$/.test(key)) return undefined;
      return walk(value[Number(key)], i + 1);
    }
    if (value !== null && typeof value === 'object') {
      if (!Object.hasOwn(value, key)) return undefined;
      return walk((value as Record<string, unknown>)[key], i + 1);
    }
    return undefined;
  };
  return walk(root, 0);
}

/** gjson's String(): strings unquoted, null as "", everything else as compact JSON text. */
export function jsonValueToBytes(value: unknown): Buffer {
  if (typeof value === 'string') return Buffer.from(value);
  if (value === null || value === undefined) return Buffer.alloc(0);
  return Buffer.from(JSON.stringify(value));
}
