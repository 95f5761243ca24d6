// Query parameters of create/update/patch/delete/list as kube reads and checks them (k8s.io/apimachinery
// pkg/apis/meta/v1/validation, internalversion/validation). Invalid options are 422 Invalid Status objects on
// `<Kind>Options.meta.k8s.io ""`, as kube reports them.
import type { ApiStatusError, FieldError } from '../api-status.js';
import { badRequest, invalid } from '../api-status.js';
import { notSupported, forbiddenField, invalidValue } from '../registry/field-errors.js';
import { validateFieldManager } from '../registry/object-meta-validation.js';
import type { DeleteOptions, ListOptions } from '../resource-store.js';
import { defaultFieldManager } from '../patch/patch-options.js';

export type OptionsKind = 'CreateOptions' | 'UpdateOptions' | 'PatchOptions' | 'DeleteOptions' | 'ListOptions';

export function optionsInvalid(kind: OptionsKind, errors: FieldError[]): ApiStatusError {
  return invalid({ group: 'meta.k8s.io', kind }, '', errors);
}

/** kube's boolean query parameters: absent, `0` or `false` (any case) are false; anything else, even empty, true. */
export function boolParam(q: URLSearchParams, name: string): boolean | undefined {
  const v = q.get(name);
  if (v === null) return undefined;
  return !(v === '0' || v.toLowerCase() === 'false');
}

export type FieldValidation = 'Ignore' | 'Warn' | 'Strict';

export interface MutationOptions {
  dryRun: boolean;
  fieldManager: string;
  /** Warn when absent, as kube defaults it. */
  fieldValidation: FieldValidation;
  force: boolean;
}

/** dryRun, fieldManager, fieldValidation and force, checked as kube checks them for this kind of request. */
export function mutationOptions(
  q: URLSearchParams,
  kind: Exclude<OptionsKind, 'ListOptions'>,
  opts: { userAgent: string | undefined; applyPatch?: boolean },
): MutationOptions {
  // No query parameter (nearly every write): nothing to check, and the four lookups below would each scan the query.
  if (q.size === 0 && !opts.applyPatch) {
    return { dryRun: false, fieldManager: defaultFieldManager(undefined, opts.userAgent), fieldValidation: 'Warn', force: false };
  }
  const errors: FieldError[] = [];
  const dryRun = q.getAll('dryRun');
  if (dryRun.some((v) => v !== 'All')) errors.push(notSupported('dryRun', dryRun, ['All']));
  const validation = q.get('fieldValidation') ?? '';
  if (!['', 'Ignore', 'Warn', 'Strict'].includes(validation)) {
    errors.push(notSupported('fieldValidation', validation, ['', 'Ignore', 'Strict', 'Warn']));
  }
  const explicitManager = q.get('fieldManager');
  if (explicitManager !== null) errors.push(...validateFieldManager(explicitManager, 'fieldManager'));
  if (opts.applyPatch && !explicitManager) errors.push({ type: 'FieldValueRequired', field: 'fieldManager', message: 'Required value: is required for apply patch' });
  const force = boolParam(q, 'force');
  if (force !== undefined && kind === 'PatchOptions' && !opts.applyPatch) {
    errors.push(forbiddenField('force', 'may not be specified for non-apply patch'));
  }
  if (errors.length > 0) throw optionsInvalid(kind, errors);
  return {
    dryRun: dryRun.length > 0,
    fieldManager: defaultFieldManager(explicitManager ?? undefined, opts.userAgent),
    fieldValidation: (validation || 'Warn') as FieldValidation,
    force: force ?? false,
  };
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
/** Larger than any list or timeout can use; keeps a Go int64 that JavaScript cannot hold exactly out of the store. */
const LARGEST_USEFUL = 2 ** 31 - 1;

/** A Go int64 query parameter (strconv.ParseInt's errors); values beyond 2^31-1 mean "no bound" and are clamped. */
function integerParam(q: URLSearchParams, name: string): number | undefined {
  const v = q.get(name);
  if (v === null || v === '') return undefined;
  const fail = (why: string) => badRequest(`invalid value for ${name}: strconv.ParseInt: parsing ${JSON.stringify(v)}: ${why}`);
  if (!/^[+-]?\d+$/.test(v)) throw fail('invalid syntax');
  const n = BigInt(v);
  if (n < INT64_MIN || n > INT64_MAX) throw fail('value out of range');
  return Math.max(-LARGEST_USEFUL, Math.min(LARGEST_USEFUL, Number(n)));
}

/**
 * The ListOptions of a list, watch or deletecollection; the registry checks their combinations (ValidateListOptions,
 * k8s.io/apimachinery pkg/apis/meta/internalversion/validation).
 */
export function listOptions(q: URLSearchParams): ListOptions {
  const o: ListOptions = {};
  for (const k of ['labelSelector', 'fieldSelector', 'continue', 'resourceVersion'] as const) {
    const v = q.get(k);
    if (v !== null && v !== '') o[k] = v;
  }
  const limit = integerParam(q, 'limit');
  if (limit !== undefined && limit > 0) o.limit = limit;
  const match = q.get('resourceVersionMatch');
  if (match !== null && match !== '') {
    if (match !== 'NotOlderThan' && match !== 'Exact') {
      throw optionsInvalid('ListOptions', [notSupported('resourceVersionMatch', match, ['Exact', 'NotOlderThan', ''])]);
    }
    o.resourceVersionMatch = match;
  }
  return o;
}

export function watchRequested(q: URLSearchParams): boolean {
  return boolParam(q, 'watch') === true;
}

/**
 * timeoutSeconds of a watch; undefined = none asked (kube then picks 30-60 min: k8s.io/apiserver
 * pkg/endpoints/handlers/get.go).
 */
export function watchTimeoutSeconds(q: URLSearchParams): number | undefined {
  const t = integerParam(q, 'timeoutSeconds');
  return t !== undefined && t > 0 ? t : undefined;
}

/**
 * sendInitialEvents (WatchList, on by default in kube 1.32), checked as k8s.io/apimachinery
 * pkg/apis/meta/internalversion/validation ValidateListOptions checks it: only for a watch, and only with
 * resourceVersionMatch=NotOlderThan, which in turn a watch may send only with sendInitialEvents. Returns the
 * watch's sendInitialEvents (undefined when not asked).
 */
export function checkSendInitialEvents(q: URLSearchParams, watch: boolean): boolean | undefined {
  const send = boolParam(q, 'sendInitialEvents');
  if (!watch) {
    if (send !== undefined) throw optionsInvalid('ListOptions', [forbiddenField('sendInitialEvents', 'sendInitialEvents is forbidden for list')]);
    return undefined;
  }
  const match = q.get('resourceVersionMatch') ?? '';
  const errors: FieldError[] = [];
  if (send !== undefined && match !== 'NotOlderThan') {
    errors.push(forbiddenField('resourceVersionMatch', 'sendInitialEvents requires setting resourceVersionMatch to NotOlderThan'));
  }
  if (match !== '') {
    if (send === undefined) errors.push(forbiddenField('resourceVersionMatch', 'resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided'));
    if (match !== 'NotOlderThan') errors.push(notSupported('resourceVersionMatch', match, ['NotOlderThan']));
    if (q.get('continue')) errors.push(forbiddenField('resourceVersionMatch', 'resourceVersionMatch is forbidden when continue is provided'));
  }
  if (errors.length > 0) throw optionsInvalid('ListOptions', errors);
  return send;
}

const PROPAGATION = ['Foreground', 'Background', 'Orphan'] as const;

/** A JSON value as text for an error message (JSON.stringify for anything that is not a plain string). */
const text = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v));

/**
 * DeleteOptions come from a non-empty JSON body (then the query is ignored, as kube does) or else from the query
 * (client-node sends them there).
 */
export function deleteOptions(body: Record<string, unknown> | undefined, q: URLSearchParams): DeleteOptions {
  const errors: FieldError[] = [];
  const src = body ?? {
    ...(q.get('propagationPolicy') !== null ? { propagationPolicy: q.get('propagationPolicy') } : {}),
    ...(q.get('gracePeriodSeconds') !== null ? { gracePeriodSeconds: integerParam(q, 'gracePeriodSeconds') } : {}),
    ...(q.get('orphanDependents') !== null ? { orphanDependents: boolParam(q, 'orphanDependents') } : {}),
    ...(q.getAll('dryRun').length > 0 ? { dryRun: q.getAll('dryRun') } : {}),
  };
  const apiVersion = src.apiVersion;
  if (apiVersion !== undefined && apiVersion !== 'v1' && apiVersion !== 'meta.k8s.io/v1') {
    throw badRequest(`the API version in the data (${text(apiVersion)}) does not match the expected API version (meta.k8s.io/v1)`);
  }
  const out: DeleteOptions = {};
  const policy = src.propagationPolicy;
  if (policy !== undefined && policy !== null) {
    if (typeof policy !== 'string' || !(PROPAGATION as readonly string[]).includes(policy)) {
      errors.push(notSupported('propagationPolicy', text(policy), [...PROPAGATION, 'nil']));
    } else out.propagationPolicy = policy as DeleteOptions['propagationPolicy'];
  }
  if (src.orphanDependents !== undefined && src.orphanDependents !== null) {
    if (out.propagationPolicy !== undefined) {
      errors.push(invalidValue('propagationPolicy', out.propagationPolicy, 'orphanDependents and deletionPropagation cannot be both set'));
    } else out.propagationPolicy = src.orphanDependents === true ? 'Orphan' : 'Foreground';
  }
  if (typeof src.gracePeriodSeconds === 'number') out.gracePeriodSeconds = src.gracePeriodSeconds;
  const dryRun = src.dryRun;
  if (dryRun !== undefined && dryRun !== null) {
    const values = (Array.isArray(dryRun) ? dryRun : [dryRun]).map(text);
    if (values.some((v) => v !== 'All')) errors.push(notSupported('dryRun', values, ['All']));
    else if (values.length > 0) out.dryRun = true;
  }
  const pre = src.preconditions;
  if (pre && typeof pre === 'object') {
    const p = pre as { uid?: unknown; resourceVersion?: unknown };
    out.preconditions = {
      ...(typeof p.uid === 'string' ? { uid: p.uid } : {}),
      ...(typeof p.resourceVersion === 'string' ? { resourceVersion: p.resourceVersion } : {}),
    };
  }
  if (errors.length > 0) throw optionsInvalid('DeleteOptions', errors);
  return out;
}
