// Errors as Vault's HTTP layer renders them: a status code and `{"errors":[...]}`. Handlers throw these; only the
// HTTP edge turns them into responses. Messages are Vault's exact strings where clients may match on them
// (Vault's sdk/logical/response_util.go), and never carry a plaintext, a key, a ciphertext payload or a token.
import { CofferError } from '../lib/errors.js';

export class VaultError extends CofferError {
  readonly status: number;
  readonly errors: readonly string[];
  /** A success-style envelope sent with a non-2xx status and no `errors` key (KV v2 deleted reads, batch failures). */
  readonly body: Record<string, unknown> | undefined;
  constructor(status: number, errors: readonly string[], options?: { cause?: unknown; body?: Record<string, unknown> }) {
    super(errors.join('; ') || `HTTP ${status}`, options);
    this.status = status;
    this.errors = errors;
    this.body = options?.body;
  }
}

/** What the ACL/routing core says, rendered like Go's multierror (Vault ≥1.x; clients substring-match). */
export function coreMessage(...messages: string[]): string {
  const head = messages.length === 1 ? '1 error occurred:' : `${messages.length} errors occurred:`;
  return `${head}\n${messages.map((m) => `\t* ${m}`).join('\n')}\n\n`;
}

/** An endpoint's validation failure (logical.ErrorResponse + ErrInvalidRequest). */
export function badRequest(message: string): VaultError {
  return new VaultError(400, [message]);
}

export function permissionDenied(opts?: { invalidToken?: boolean }): VaultError {
  return new VaultError(403, [
    opts?.invalidToken ? coreMessage('permission denied', 'invalid token') : coreMessage('permission denied'),
  ]);
}

/** A read of something absent, an empty list, a path outside /v1/: Vault answers 404 with no message at all. */
export function notFound(): VaultError {
  return new VaultError(404, []);
}

export function unsupportedPath(): VaultError {
  return new VaultError(404, [coreMessage('unsupported path')]);
}

export function unsupportedOperation(): VaultError {
  return new VaultError(405, [coreMessage('unsupported operation')]);
}
