// The logical request and response every endpoint handles, after Vault's logical.Request/Response: the HTTP edge
// builds one from the wire and renders the other back (Vault's sdk/logical/request.go, response.go).
import type { Acl } from './acl-policy.js';
import type { RequestData } from './request-fields.js';
import type { WrapInfo } from './response-wrapping.js';
import type { TokenEntry } from './token-store.js';

/** What a request does; the capability an ACL must grant is named after it (create/update decided per endpoint). */
export type Operation = 'read' | 'list' | 'create' | 'update' | 'delete' | 'patch';

export interface VaultRequest {
  operation: Operation;
  /** The logical path without `/v1/` (LIST paths end in `/`). */
  path: string;
  data: RequestData;
  /** The caller's token, when the path needs one and it is valid. */
  token?: TokenEntry;
  /** The token the caller presented (validated only on authenticated paths), for lookup-self's `id`. Never logged. */
  clientToken?: string;
  /** Seconds from X-Vault-Wrap-TTL: the response is to be wrapped (response-wrapping.ts). */
  wrapTtlSeconds?: number;
  acl?: Acl;
  remoteAddress: string;
}

/** The `auth` block of login, token create and renew responses (OB/HV HTTPAuth field set). */
export interface AuthBlock {
  client_token: string;
  accessor: string;
  policies: string[];
  token_policies: string[];
  metadata: Record<string, string> | null;
  lease_duration: number;
  renewable: boolean;
  entity_id: string;
  token_type: 'service';
  orphan: boolean;
  mfa_requirement: null;
  num_uses: number;
}

export interface VaultResponse {
  data?: Record<string, unknown> | null;
  auth?: AuthBlock;
  warnings?: string[];
  /** A status other than 200 with a success envelope (KV v2 deleted reads, transit batch item failures). */
  status?: number;
  /** Also copy every data key to the top level of the body (Vault does so for a few sys routes). */
  topLevel?: boolean;
  /** A body sent as is, without the envelope (sys/health, sys/seal-status). */
  raw?: unknown;
  /** A response that is itself a wrapping token (sys/wrapping/rewrap). */
  wrapInfo?: WrapInfo;
}

export type Handler = (req: VaultRequest, params: readonly string[]) => Promise<VaultResponse | undefined> | VaultResponse | undefined;

export interface Route {
  /** Matched against the path relative to the mount; capture groups become params. */
  pattern: RegExp;
  handlers: Partial<Record<Operation | 'write', Handler>>;
  /** Vault's existence check: a POST/PUT to a target that does not exist needs `create`, otherwise `update`. */
  exists?: (params: readonly string[]) => boolean;
  /** Paths that need no token (login, health). */
  unauthenticated?: boolean;
  /** Paths that need a valid token but whose handler checks access itself (sys/internal/ui/mounts). */
  aclExempt?: boolean;
}

export interface Mount {
  /** Ends with `/`, e.g. `secret/`. */
  path: string;
  type: string;
  routes: Route[];
  /** What a path on this mount that no route matches returns (default: 404 unsupported path). */
  noRoute?: (req: VaultRequest) => VaultResponse;
}
