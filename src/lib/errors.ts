// The few error classes Coffer uses. They become Kubernetes Status objects only at the API server's edge and gRPC
// codes only in the plugin's adapter. Messages say what failed, where, and the current value, never secret material.

export class CofferError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Input that breaks a rule: a config field, a request body, a stored value. `field` is the path of the culprit. */
export class InvalidError extends CofferError {
  readonly field: string | undefined;
  constructor(message: string, options?: { cause?: unknown; field?: string }) {
    super(options?.field ? `${options.field}: ${message}` : message, options);
    this.field = options?.field;
  }
}

/** A stored value could not be turned back into plaintext (wrong key, tampering, malformed bytes, KMS refusal). */
export class DecryptError extends CofferError {}

/** Plaintext could not be encrypted for storage (e.g. the KMS v2 state expired or the plugin is unreachable). */
export class EncryptError extends CofferError {}

/**
 * Several errors from alternatives that were all tried, worded as upstream's utilerrors.NewAggregate: nested
 * aggregates flattened, repeated messages once, and a lone message without brackets.
 */
export class AggregateDecryptError extends DecryptError {
  readonly errors: readonly Error[];
  constructor(errors: readonly Error[]) {
    const flat = errors.flatMap((e) => (e instanceof AggregateDecryptError ? e.errors : [e]));
    const messages = [...new Set(flat.map((e) => e.message))];
    super(messages.length === 1 ? messages[0]! : `[${messages.join(', ')}]`);
    this.errors = flat;
  }
}

export class NotFoundError extends CofferError {}
export class AlreadyExistsError extends CofferError {}
export class ConflictError extends CofferError {}

/** A remote dependency (KMS plugin, key server, store) did not answer or answered with an error. */
export class UnavailableError extends CofferError {}
