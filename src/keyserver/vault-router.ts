// The core between the HTTP edge and the endpoints, in Vault's order: find the endpoint, authenticate the token, decide
// create vs update (existence check), check the ACL, then run the handler. The ACL is checked before "not found" is
// decided, so a token without access learns nothing about which paths exist.
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { inCidrs } from './cidr.js';
import type { PolicyStore } from './policy-store.js';
import type { ResponseWrapper } from './response-wrapping.js';
import type { RequestData } from './request-fields.js';
import type { TokenEntry, TokenStore } from './token-store.js';
import { coreMessage, notFound, permissionDenied, unsupportedOperation, unsupportedPath, VaultError } from './vault-error.js';
import type { Mount, Operation, Route, VaultRequest, VaultResponse } from './vault-request.js';

export interface RouterInput {
  /** 'write' for POST/PUT: create or update, decided by the endpoint's existence check. */
  operation: Operation | 'write';
  path: string;
  data: RequestData;
  clientToken: string | undefined;
  remoteAddress: string;
  /** X-Vault-Wrap-TTL in seconds: answer with a wrapping token instead of the response. */
  wrapTtlSeconds?: number;
}

export interface RouterResult {
  status: number;
  /** undefined: no body (204). */
  body: unknown;
  /** For the audit log: the request id (also in the envelope), the caller's token accessor, the operation checked. */
  requestId: string;
  accessor: string | undefined;
  operation: Operation | 'write';
  error: string | undefined;
}

export class VaultRouter {
  private readonly mounts: Mount[];

  constructor(
    mounts: Mount[],
    private readonly tokens: TokenStore,
    private readonly policies: PolicyStore,
    private readonly log: Logger,
    private readonly wrapper: ResponseWrapper,
  ) {
    this.mounts = [...mounts].sort((a, b) => b.path.length - a.path.length); // longest prefix first
  }

  async handle(input: RouterInput): Promise<RouterResult> {
    const requestId = randomUUID();
    let token: TokenEntry | undefined;
    let operation: Operation | 'write' = input.operation;
    let revokeAfter = false;
    try {
      const mount = this.mounts.find((m) => input.path.startsWith(m.path));
      const relative = mount ? input.path.slice(mount.path.length) : '';
      let route: Route | undefined;
      let params: string[] = [];
      for (const r of mount?.routes ?? []) {
        const m = r.pattern.exec(relative);
        if (m) {
          route = r;
          params = m.slice(1).map((p) => p ?? '');
          break;
        }
      }
      if (!route?.unauthenticated) {
        // Logins ignore a presented token entirely: clients re-login while still sending their stale one (Vault's request_handling.go).
        if (!input.clientToken) throw permissionDenied();
        token = this.tokens.lookup(input.clientToken);
        if (!token) throw permissionDenied({ invalidToken: true });
        // A bound token used from elsewhere is refused like a wrong one, and stays valid where it belongs (Vault CheckToken).
        if (token.boundCidrs && !inCidrs(input.remoteAddress, token.boundCidrs)) {
          token = undefined;
          throw permissionDenied();
        }
      }
      const op: Operation = operation === 'write' ? (route?.exists ? (route.exists(params) ? 'update' : 'create') : 'update') : operation;
      operation = op;
      const acl = token ? this.policies.aclFor(token.policies) : undefined;
      if (acl && !route?.aclExempt && !acl.allows(input.path, op, { list: op === 'list' })) throw permissionDenied();
      const req: VaultRequest = {
        operation: op,
        path: input.path,
        data: input.data,
        remoteAddress: input.remoteAddress,
        ...(input.clientToken ? { clientToken: input.clientToken } : {}),
        ...(input.wrapTtlSeconds ? { wrapTtlSeconds: input.wrapTtlSeconds } : {}),
        ...(token ? { token, acl: acl! } : {}),
      };
      if (!mount) throw new VaultError(404, [`no handler for route ${JSON.stringify(input.path)}. route entry not found.`]);
      if (!route) {
        if (mount.noRoute) return this.render(requestId, mount, op, mount.noRoute(req), token?.accessor);
        throw unsupportedPath();
      }
      const handler = route.handlers[op] ?? (op === 'create' || op === 'update' ? route.handlers.write : undefined);
      if (!handler) throw unsupportedOperation();
      if (token) revokeAfter = this.tokens.consumeUse(token);
      const res = await handler(req, params);
      const result = this.render(requestId, mount, op, res, token?.accessor);
      return input.wrapTtlSeconds && result.status === 200 && res?.raw === undefined && !res?.wrapInfo ? this.wrapResult(result, input, res) : result;
    } catch (e) {
      const err = e instanceof VaultError ? e : this.internal(e);
      return {
        requestId,
        status: err.status,
        body: err.body ?? { errors: err.errors },
        accessor: token?.accessor,
        operation,
        error: err.errors.join('; ') || undefined,
      };
    } finally {
      if (revokeAfter && token) this.tokens.revoke(token);
    }
  }

  private render(requestId: string, mount: Mount, op: Operation, res: VaultResponse | undefined, accessor: string | undefined): RouterResult {
    const base = { requestId, accessor, operation: op, error: undefined };
    if (res?.raw !== undefined) return { ...base, status: res.status ?? 200, body: res.raw };
    const keys = (res?.data as { keys?: unknown } | null | undefined)?.keys;
    if (!res || (op === 'list' && (!Array.isArray(keys) || keys.length === 0))) {
      if (op === 'read' || op === 'list') throw notFound();
      if (!res) return { ...base, status: 204, body: undefined };
    }
    if (!res.data && !res.auth && !res.wrapInfo && !res.warnings?.length && !res.status) return { ...base, status: 204, body: undefined };
    return {
      ...base,
      status: res.status ?? 200,
      body: {
        ...(res.topLevel && res.data ? res.data : {}),
        request_id: requestId,
        lease_id: '',
        renewable: false,
        lease_duration: 0,
        data: res.data ?? null,
        wrap_info: res.wrapInfo ?? null,
        warnings: res.warnings?.length ? res.warnings : null,
        auth: res.auth ?? null,
        mount_type: mount.type,
      },
    };
  }

  /** The response goes into a new wrapping token's cubbyhole; the caller gets only wrap_info (vault/wrapping.go). */
  private wrapResult(result: RouterResult, input: RouterInput, res: VaultResponse | undefined): RouterResult {
    const info = this.wrapper.wrap(result.body, { ttlSeconds: input.wrapTtlSeconds!, creationPath: input.path, wrappedAccessor: res?.auth?.accessor ?? '' });
    const body = result.body as Record<string, unknown>;
    return {
      ...result,
      body: { request_id: body.request_id, lease_id: '', renewable: false, lease_duration: 0, data: null, wrap_info: info, warnings: null, auth: null, mount_type: body.mount_type },
    };
  }

  private internal(e: unknown): VaultError {
    // Messages of unexpected errors are logged (they name paths, never values) but not returned: Vault says little.
    this.log.error({ error: e instanceof Error ? e.message : String(e) }, 'key server request failed');
    return new VaultError(500, [coreMessage('internal error')], { cause: e });
  }
}
