// PatchOptions as kube validates them before touching the object (ValidatePatchOptions, apimachinery
// pkg/apis/meta/v1/validation), and kube's default field manager name taken from the User-Agent (managerOrUserAgent,
// apiserver pkg/endpoints/handlers/create.go).
import { invalid, type FieldError } from '../api-status.js';
import { forbiddenField, invalidValue, notSupported, required, tooLong } from '../registry/field-errors.js';

export const FIELD_MANAGER_MAX_LENGTH = 128;

/** Go's unicode.IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII space. */
const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u;

export interface PatchOptionValues {
  /** The `fieldManager` query parameter as sent (undefined when absent). */
  fieldManager?: string;
  /** The `force` query parameter, undefined when absent (even `force=false` is refused on non-apply patches). */
  force?: boolean;
  /** The `dryRun` query parameter values. */
  dryRun?: string[];
  /** The `fieldValidation` query parameter. */
  fieldValidation?: string;
}

function utf8Length(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

/** Throws kube's 422 `PatchOptions.meta.k8s.io "" is invalid: ...` when the options do not fit the patch type. */
export function validatePatchOptions(isApply: boolean, o: PatchOptionValues): void {
  const errors: FieldError[] = [];
  const manager = o.fieldManager ?? '';
  if (!isApply) {
    if (o.force !== undefined) errors.push(forbiddenField('force', 'may not be specified for non-apply patch'));
  } else if (manager === '') {
    errors.push(required('fieldManager', 'is required for apply patch'));
  }
  if (utf8Length(manager) > FIELD_MANAGER_MAX_LENGTH) errors.push(tooLong('fieldManager', FIELD_MANAGER_MAX_LENGTH));
  let position = 0;
  for (const ch of manager) {
    if (!PRINTABLE.test(ch)) {
      const cp = ch.codePointAt(0)!;
      const u = `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
      errors.push(invalidValue('fieldManager', manager, `invalid character ${u} (at position ${position})`));
    }
    position += utf8Length(ch); // Go ranges over a string by byte offset
  }
  const dryRun = o.dryRun ?? [];
  if (dryRun.some((d) => d !== 'All')) errors.push(notSupported('dryRun', dryRun, ['All']));
  if (o.fieldValidation !== undefined && !['', 'Ignore', 'Strict', 'Warn'].includes(o.fieldValidation)) {
    errors.push(notSupported('fieldValidation', o.fieldValidation, ['', 'Ignore', 'Strict', 'Warn']));
  }
  if (errors.length > 0) throw invalid({ group: 'meta.k8s.io', kind: 'PatchOptions' }, '', errors);
}

/**
 * The manager recorded when a write names none: the User-Agent up to its first `/`, unprintable characters dropped,
 * cut at 128 bytes (`kubectl/v1.32.4 (linux/amd64) kubernetes/abc` -> `kubectl`). An empty result stays empty, as in kube.
 */
export function defaultFieldManager(fieldManager: string | undefined, userAgent: string | undefined): string {
  if (fieldManager) return fieldManager;
  // A client sends the same User-Agent on every request: the last one's manager is remembered (strings are immutable).
  if (userAgent === lastUserAgent) return lastManager;
  const manager = managerOfUserAgent(userAgent);
  lastUserAgent = userAgent;
  lastManager = manager;
  return manager;
}

let lastUserAgent: string | undefined;
let lastManager = '';

function managerOfUserAgent(userAgent: string | undefined): string {
  let out = '';
  for (const ch of (userAgent ?? '').split('/')[0]!) {
    if (!PRINTABLE.test(ch)) continue;
    if (utf8Length(out) + utf8Length(ch) > FIELD_MANAGER_MAX_LENGTH) break;
    out += ch;
  }
  return out;
}
