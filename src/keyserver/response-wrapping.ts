// Vault's response wrapping (vault/wrapping.go, vault/logical_system.go handleWrapping*): a response asked for with
// `X-Vault-Wrap-TTL` is not returned; it is stored in the cubbyhole of a new single-use token whose only policy is
// `response-wrapping`, and that token (wrap_info) is returned instead. Whoever unwraps first gets the response and
// burns the token, so a credential can cross an intermediary (a log, a pipe, a supervisor) that never sees it, and an
// interception shows up as the rightful consumer's failed unwrap. The cubbyhole dies with its token (token-store.ts).
import type { Clock } from '../lib/clock.js';
import { formatRfc3339Nano } from './kv-v2-store.js';
import { parseJson, stringifyJson } from './lossless-json.js';
import { optString } from './request-fields.js';
import type { SealedStorage } from './sealed-storage.js';
import { hashToken, SYSTEM_MAX_TTL_SECONDS, type TokenEntry, type TokenStore } from './token-store.js';
import { badRequest, VaultError } from './vault-error.js';
import type { Mount, VaultRequest, VaultResponse } from './vault-request.js';

export const RESPONSE_WRAPPING_POLICY = 'response-wrapping';
/** Vault's built-in policy of wrapping tokens (vault/policy_store.go responseWrappingPolicy). */
export const RESPONSE_WRAPPING_POLICY_TEXT = `path "cubbyhole/response" {
  capabilities = ["create", "read"]
}
path "sys/wrapping/unwrap" {
  capabilities = ["update"]
}
`;

const INVALID = 'wrapping token is not valid or does not exist';

export interface WrapInfo {
  token: string;
  accessor: string;
  ttl: number;
  creation_time: string;
  creation_path: string;
  wrapped_accessor: string;
}

interface StoredResponse {
  /** The response body as the client would have received it, JSON text. */
  response: string;
  creationTtl: number;
}

export class ResponseWrapper {
  constructor(
    private readonly tokens: TokenStore,
    private readonly storage: SealedStorage,
    private readonly clock: Clock,
  ) {}

  wrap(body: unknown, o: { ttlSeconds: number; creationPath: string; wrappedAccessor?: string }): WrapInfo {
    const ttl = Math.min(o.ttlSeconds, SYSTEM_MAX_TTL_SECONDS);
    const { token, entry } = this.tokens.create({
      policies: [RESPONSE_WRAPPING_POLICY],
      path: o.creationPath,
      displayName: RESPONSE_WRAPPING_POLICY,
      ttl,
      numUses: 1,
      renewable: false,
    });
    this.storage.putJson(responseKey(entry.hash), { response: stringifyJson(body), creationTtl: ttl } satisfies StoredResponse);
    return {
      token,
      accessor: entry.accessor,
      ttl,
      creation_time: formatRfc3339Nano(entry.creationTimeMs),
      creation_path: o.creationPath,
      wrapped_accessor: o.wrappedAccessor ?? '',
    };
  }

  /** The live wrapping token and what it holds, or Vault's 400 (unknown, used, expired, or not a wrapping token). */
  private find(token: string): { entry: TokenEntry; stored: StoredResponse } {
    const entry = token ? this.tokens.lookup(token) : undefined;
    const stored = entry ? this.storage.getJson<StoredResponse>(responseKey(entry.hash)) : undefined;
    if (!entry || !stored || !entry.policies.includes(RESPONSE_WRAPPING_POLICY)) throw badRequest(INVALID);
    return { entry, stored };
  }

  unwrap(token: string): unknown {
    const { entry, stored } = this.find(token);
    this.tokens.revoke(entry);
    return parseJson(stored.response);
  }

  lookup(token: string): Record<string, unknown> {
    const { entry, stored } = this.find(token);
    return { creation_path: entry.path, creation_time: formatRfc3339Nano(entry.creationTimeMs), creation_ttl: stored.creationTtl };
  }

  rewrap(token: string): WrapInfo {
    const { entry, stored } = this.find(token);
    this.tokens.revoke(entry);
    return this.wrap(parseJson(stored.response), { ttlSeconds: stored.creationTtl, creationPath: entry.path });
  }
}

function responseKey(hash: string): string {
  return `cubbyhole/${hash}/response`;
}

/** The token to act on: `token` in the body, else the one presented in X-Vault-Token (how the Go client unwraps). */
function targetToken(req: VaultRequest): string {
  return optString(req.data, 'token') || req.clientToken || '';
}

/**
 * `sys/wrapping/`: unwrap, lookup and rewrap need no other token than the wrapping token itself (Vault lists them as
 * unauthenticated; the wrapping token is the credential). `wrap` is an ordinary authenticated write.
 */
export function wrappingMount(wrapper: ResponseWrapper): Mount {
  return {
    path: 'sys/wrapping/',
    type: 'system',
    routes: [
      { pattern: /^unwrap$/, unauthenticated: true, handlers: { write: (req) => ({ raw: wrapper.unwrap(targetToken(req)) }) } },
      { pattern: /^lookup$/, unauthenticated: true, handlers: { write: (req) => ({ data: wrapper.lookup(targetToken(req)) }) } },
      { pattern: /^rewrap$/, unauthenticated: true, handlers: { write: (req) => ({ wrapInfo: wrapper.rewrap(targetToken(req)) }) } },
      {
        pattern: /^wrap$/,
        handlers: {
          write: (req): VaultResponse => {
            if (!req.wrapTtlSeconds) throw badRequest('endpoint requires response wrapping to be used');
            return { data: req.data };
          },
        },
      },
    ],
  };
}

/**
 * `cubbyhole/`: a key-value space private to each token (keyed by the token's hash, so no policy can reach another
 * token's), destroyed when the token is revoked or expires.
 */
export function cubbyholeMount(storage: SealedStorage): Mount {
  const key = (req: VaultRequest, p: readonly string[]) => `cubbyhole/${hashToken(req.clientToken!)}/${p[0]!}`;
  return {
    path: 'cubbyhole/',
    type: 'cubbyhole',
    routes: [
      {
        pattern: /^(.*)$/,
        handlers: {
          read: (req, p) => {
            const stored = storage.getJson<Record<string, unknown>>(key(req, p));
            if (!stored) return undefined;
            // A wrapped response reads as `response` (its JSON text), as Vault's cubbyhole/response does.
            return { data: 'response' in stored && typeof stored.response === 'string' ? { response: stored.response } : stored };
          },
          list: (req, p) => {
            const prefix = `${key(req, p)}`;
            const names = storage.list(prefix).map((k) => k.slice(prefix.length));
            return { data: { keys: [...new Set(names.map((n) => (n.includes('/') ? n.slice(0, n.indexOf('/') + 1) : n)))].sort() } };
          },
          write: (req, p) => {
            if (p[0] === '' || p[0]!.endsWith('/')) throw badRequest('missing path');
            if (Object.keys(req.data).length === 0) throw badRequest('missing data fields');
            storage.putJson(key(req, p), req.data);
            return undefined;
          },
          delete: (req, p) => {
            storage.delete(key(req, p));
            return undefined;
          },
        },
      },
    ],
  };
}

export function parseWrapTtlHeader(value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  const t = value.trim();
  const m = /^(\d{1,10})(s|m|h)?$/.exec(t);
  if (!m) throw new VaultError(400, [`error parsing X-Vault-Wrap-TTL header: invalid duration ${JSON.stringify(value)}`]);
  const seconds = Number(m[1]) * (m[2] === 'h' ? 3600 : m[2] === 'm' ? 60 : 1);
  return seconds > 0 ? seconds : undefined;
}
