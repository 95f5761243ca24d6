// RFC 7386 JSON Merge Patch. Coffer also applies kubectl's strategic merge patches with it: for Secrets, ConfigMaps
// and Namespaces they touch maps (data, labels, annotations), where both merge the same way; list directives
// ($patch, $setElementOrder, ...) are not supported yet and are refused rather than stored.
import { badRequest } from '../api-status.js';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function isObject(v: unknown): v is Record<string, Json> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function mergePatch(target: unknown, patch: unknown, opts: { strategic?: boolean } = {}): unknown {
  if (!isObject(patch)) return patch;
  const out: Record<string, unknown> = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (opts.strategic && key.startsWith('$')) {
      throw badRequest(`strategic merge patch directive ${JSON.stringify(key)} is not supported by this server yet`);
    }
    if (value === null) delete out[key];
    else out[key] = mergePatch(out[key], value, opts);
  }
  return out;
}
