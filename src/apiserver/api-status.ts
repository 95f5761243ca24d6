// Kubernetes `Status` errors (apimachinery api/errors): what every handler throws and what the HTTP edge writes.
// Reasons, codes and message formats follow k8s.io/apimachinery pkg/api/errors/errors.go exactly, because kubectl and
// client-node parse them (`Error from server (NotFound): secrets "x" not found`).
import { CofferError } from '../lib/errors.js';

export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

export interface Status {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: { continue?: string; resourceVersion?: string };
  status: 'Success' | 'Failure';
  message?: string;
  reason?: string;
  details?: StatusDetails;
  code: number;
}

/** An error that is already a Kubernetes Status; the HTTP edge writes it as is with its code. */
export class ApiStatusError extends CofferError {
  readonly status: Status;
  /** `cause` is for the server log only (a driver's or library's text); it is never written to the client. */
  constructor(code: number, reason: string, message: string, details?: StatusDetails, options?: { cause?: unknown }) {
    super(message, options);
    this.status = {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message,
      reason,
      ...(details ? { details } : {}),
      code,
    };
  }
}

/** A group/resource as messages print it: `secrets`, `externalsecrets.external-secrets.io`. */
export interface GroupResourceName {
  group: string;
  resource: string;
}

function gr(r: GroupResourceName): string {
  return r.group ? `${r.resource}.${r.group}` : r.resource;
}

function details(r: GroupResourceName, name?: string, extra?: Partial<StatusDetails>): StatusDetails {
  return { ...(name !== undefined ? { name } : {}), ...(r.group ? { group: r.group } : {}), kind: r.resource, ...extra };
}

export function notFound(r: GroupResourceName, name: string): ApiStatusError {
  return new ApiStatusError(404, 'NotFound', `${gr(r)} "${name}" not found`, details(r, name));
}

export function alreadyExists(r: GroupResourceName, name: string): ApiStatusError {
  return new ApiStatusError(409, 'AlreadyExists', `${gr(r)} "${name}" already exists`, details(r, name));
}

export const OPTIMISTIC_LOCK_MESSAGE =
  'the object has been modified; please apply your changes to the latest version and try again';

export function conflict(r: GroupResourceName, name: string, cause: string = OPTIMISTIC_LOCK_MESSAGE): ApiStatusError {
  return new ApiStatusError(409, 'Conflict', `Operation cannot be fulfilled on ${gr(r)} "${name}": ${cause}`, details(r, name));
}

/** One field error (apimachinery field.Error); `message` is the body without the path, e.g. `Required value`. */
export interface FieldError {
  type: string; // FieldValueRequired, FieldValueInvalid, ...
  field: string; // metadata.name, data[tls.key], ...
  message: string;
}

/** 422 Invalid: `<Kind> "<name>" is invalid: <path>: <body>` or `[...]` for several (duplicates removed). */
export function invalid(kind: { group: string; kind: string }, name: string, errors: FieldError[]): ApiStatusError {
  const texts = [...new Set(errors.map((e) => (e.field ? `${e.field}: ${e.message}` : e.message)))];
  const gk = kind.group ? `${kind.kind}.${kind.group}` : kind.kind;
  const message = `${gk} "${name}" is invalid: ${texts.length === 1 ? texts[0] : `[${texts.join(', ')}]`}`;
  return new ApiStatusError(422, 'Invalid', message, {
    name,
    ...(kind.group ? { group: kind.group } : {}),
    kind: kind.kind,
    causes: errors.map((e) => ({ reason: e.type, message: e.message, field: e.field })),
  });
}

export function badRequest(message: string): ApiStatusError {
  return new ApiStatusError(400, 'BadRequest', message);
}

export function unauthorized(): ApiStatusError {
  return new ApiStatusError(401, 'Unauthorized', 'Unauthorized');
}

export function forbidden(r: GroupResourceName, name: string | undefined, reason: string): ApiStatusError {
  const what = name ? `${gr(r)} "${name}"` : gr(r);
  return new ApiStatusError(403, 'Forbidden', `${what} is forbidden: ${reason}`, details(r, name));
}

/** kube's Forbidden for a non-resource URL (k8s.io/apiserver pkg/endpoints/handlers/responsewriters/errors.go). */
export function nonResourceForbidden(user: string, verb: string, path: string): ApiStatusError {
  return new ApiStatusError(403, 'Forbidden', `forbidden: User ${JSON.stringify(user)} cannot ${verb} path ${JSON.stringify(path)}`, {});
}

export function methodNotAllowed(action: string, r: GroupResourceName): ApiStatusError {
  return new ApiStatusError(405, 'MethodNotAllowed', `${action} is not supported on resources of kind "${gr(r)}"`, {
    ...(r.group ? { group: r.group } : {}),
    kind: r.resource,
  });
}

export function expired(message: string): ApiStatusError {
  return new ApiStatusError(410, 'Expired', message);
}

export function requestEntityTooLarge(limit: number): ApiStatusError {
  return new ApiStatusError(413, 'RequestEntityTooLarge', `Request entity too large: limit is ${limit}`);
}

export function internalError(message: string): ApiStatusError {
  return new ApiStatusError(500, 'InternalError', `Internal error occurred: ${message}`, { causes: [{ message }] });
}

export const UNEXPECTED_ERROR = 'an unexpected error occurred, see the server log';

/** A 500 for a failure whose text is not Coffer's own (a storage driver, a library): the client sees no internals. */
export function opaqueInternalError(cause: unknown): ApiStatusError {
  return new ApiStatusError(500, 'InternalError', `Internal error occurred: ${UNEXPECTED_ERROR}`, { causes: [{ message: UNEXPECTED_ERROR }] }, { cause });
}

/** 503: a dependency the request needs (a KMS plugin) is unhealthy; retrying later can succeed. */
export function serviceUnavailable(message: string): ApiStatusError {
  return new ApiStatusError(503, 'ServiceUnavailable', message);
}
