// An AWS API error as the services return it: a code (the SDK's exception name), a message, and an HTTP status.
// JSON 1.1 services send {"__type": code, "message": ...}; the Query protocol (STS) sends an <ErrorResponse> document.

export class AwsApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

/** A JSON 1.1 request body that breaks the service model (moto: ValidationException with this wording). */
export function validation(message: string): AwsApiError {
  return new AwsApiError('ValidationException', message);
}

export function requireString(input: Record<string, unknown>, field: string): string {
  const v = input[field];
  if (typeof v !== 'string' || v === '') throw validation(`1 validation error detected: Value null at '${field.charAt(0).toLowerCase()}${field.slice(1)}' failed to satisfy constraint: Member must not be null`);
  return v;
}

export function optionalString(input: Record<string, unknown>, field: string): string | undefined {
  const v = input[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw validation(`Value at '${field}' must be a string`);
  return v;
}

/** Pagination tokens are opaque to clients: the offset, base64url-encoded. */
export function page<T>(items: T[], input: Record<string, unknown>, max: { default: number; limit: number }): { items: T[]; nextToken?: string } {
  const size = input.MaxResults === undefined ? max.default : Number(input.MaxResults);
  if (!Number.isInteger(size) || size < 1 || size > max.limit) {
    throw validation(`1 validation error detected: Value '${String(input.MaxResults)}' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to ${max.limit}`);
  }
  let start = 0;
  if (typeof input.NextToken === 'string') {
    start = Number(Buffer.from(input.NextToken, 'base64url').toString());
    if (!Number.isInteger(start) || start < 0 || start > items.length) throw new AwsApiError('InvalidNextTokenException', 'The nextToken is not valid.');
  }
  const end = start + size;
  return { items: items.slice(start, end), ...(end < items.length ? { nextToken: Buffer.from(String(end)).toString('base64url') } : {}) };
}
