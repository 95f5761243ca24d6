// Key conversion (conversionStrategy) and key validation, as ESO's esutils.ConvertKeys / ValidateKeys: Secret data
// keys may only hold letters, digits, '-', '.', '_', so remote names like "/path/key" must be converted or rewritten.
import { InvalidError } from '../../lib/errors.js';

const ALLOWED = /^[\p{L}\p{Nd}._-]$/u;

function convertKey(key: string, strategy: string | undefined): string {
  let out = '';
  for (const ch of key) {
    if (ALLOWED.test(ch)) out += ch;
    else if (strategy === 'Unicode') out += `_U${ch.codePointAt(0)!.toString(16).padStart(4, '0')}_`;
    else out += '_';
  }
  return out;
}

/** Applies conversionStrategy (Default or empty: `_`; Unicode: `_U<hex>_`) to every key; collisions are errors. */
export function convertKeys<V>(data: Record<string, V>, strategy: string | undefined): Record<string, V> {
  if (strategy && strategy !== 'Default' && strategy !== 'Unicode') {
    throw new InvalidError(`conversion strategy ${strategy} is not supported`);
  }
  const out: Record<string, V> = {};
  for (const [k, v] of Object.entries(data)) {
    const nk = convertKey(k, strategy);
    if (Object.hasOwn(out, nk)) throw new InvalidError(`secret name collision during conversion: ${nk}`);
    out[nk] = v;
  }
  return out;
}

/** Drops empty keys and rejects keys Kubernetes would refuse, with ESO's messages. */
export function validateKeys<V>(data: Record<string, V>): Record<string, V> {
  const out: Record<string, V> = {};
  const wrap = (m: string) => new InvalidError(`invalid secret keys (TIP: use rewrite or conversionStrategy to change keys): ${m}`);
  for (const [k, v] of Object.entries(data)) {
    if (k === '') continue;
    const bytes = Buffer.byteLength(k);
    if (bytes > 253) throw wrap(`key has length ${bytes} but max is 253: (following is truncated): ${Buffer.from(k).subarray(0, 253).toString()}`);
    for (const ch of k) {
      if (!ALLOWED.test(ch)) throw wrap(`key has invalid character ${ch}, only alphanumeric, '-', '.' and '_' are allowed: ${k}`);
    }
    out[k] = v;
  }
  return out;
}
