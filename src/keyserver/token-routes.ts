// The built-in token auth mount `auth/token/` (vault/token_store.go): create, lookup, renew and revoke, for the
// caller's own token, another token or an accessor. Options that only root or sudo may use are checked here, with
// Vault's exact messages.
import { parseCidr } from './cidr.js';
import type { PolicyStore } from './policy-store.js';
import { optBool, optDurationSeconds, optInt, optString, optStringList, optStringMap, rejectUnsupported } from './request-fields.js';
import { SYSTEM_MAX_TTL_SECONDS, type TokenEntry, type TokenStore } from './token-store.js';
import { badRequest, permissionDenied, VaultError } from './vault-error.js';
import type { Mount, VaultRequest, VaultResponse } from './vault-request.js';
import type { Clock } from '../lib/clock.js';

export function tokenMount(tokens: TokenStore, policies: PolicyStore, clock: Clock): Mount {
  const describe = (entry: TokenEntry, id: string) => describeToken(entry, id, clock.now());
  const byToken = (req: VaultRequest): TokenEntry => {
    const t = optString(req.data, 'token') ?? '';
    const entry = t ? tokens.lookup(t) : undefined;
    if (!entry) throw new VaultError(403, ['bad token']);
    return entry;
  };
  const byAccessor = (req: VaultRequest): TokenEntry => {
    const a = optString(req.data, 'accessor') ?? '';
    if (!a) throw badRequest('missing accessor');
    const entry = tokens.lookupAccessor(a);
    if (!entry) throw badRequest('invalid accessor');
    return entry;
  };
  const renew = (entry: TokenEntry, token: string, req: VaultRequest): VaultResponse => {
    const { ttl, warnings } = tokens.renew(entry, optDurationSeconds(req.data, 'increment') ?? 0);
    return { auth: tokens.authBlock(token, entry, ttl), warnings };
  };
  const lookupSelf = (req: VaultRequest) => ({ data: describe(req.token!, req.clientToken!) });
  return {
    path: 'auth/token/',
    type: 'token',
    routes: [
      { pattern: /^create$/, handlers: { write: (req) => createToken(tokens, policies, req, { orphanPath: false }) } },
      { pattern: /^create-orphan$/, handlers: { write: (req) => createToken(tokens, policies, req, { orphanPath: true }) } },
      { pattern: /^lookup-self$/, handlers: { read: lookupSelf, write: lookupSelf } },
      {
        pattern: /^lookup$/,
        handlers: {
          write: (req) => {
            const entry = byToken(req);
            return { data: describe(entry, optString(req.data, 'token')!) };
          },
        },
      },
      {
        // Every live token's accessor, for operators (sudo in Vault's default setup: the ACL decides here).
        pattern: /^accessors\/$/,
        handlers: {
          list: (req) => {
            if (!req.acl!.root && !req.acl!.allows(req.path, 'sudo')) throw permissionDenied();
            return { data: { keys: tokens.accessors() } };
          },
        },
      },
      { pattern: /^lookup-accessor$/, handlers: { write: (req) => ({ data: describe(byAccessor(req), '') }) } },
      { pattern: /^renew-self$/, handlers: { write: (req) => renew(req.token!, req.clientToken!, req) } },
      {
        pattern: /^renew$/,
        handlers: {
          write: (req) => {
            const t = optString(req.data, 'token') ?? '';
            const entry = t ? tokens.lookup(t) : undefined;
            if (!entry) throw badRequest('token not found');
            return renew(entry, t, req);
          },
        },
      },
      {
        pattern: /^revoke-self$/,
        handlers: {
          write: (req) => {
            tokens.revoke(req.token!);
            return undefined;
          },
        },
      },
      {
        pattern: /^revoke$/,
        handlers: {
          write: (req) => {
            const t = optString(req.data, 'token') ?? '';
            if (!t) throw badRequest('missing token');
            const entry = tokens.lookup(t);
            if (entry) tokens.revoke(entry);
            return undefined;
          },
        },
      },
      {
        pattern: /^revoke-accessor$/,
        handlers: {
          write: (req) => {
            tokens.revoke(byAccessor(req));
            return undefined;
          },
        },
      },
    ],
  };
}

function createToken(tokens: TokenStore, policies: PolicyStore, req: VaultRequest, o: { orphanPath: boolean }): VaultResponse {
  const caller = req.token!;
  const data = req.data;
  rejectUnsupported(data, ['id', 'role_name', 'entity_alias']);
  const boundCidrs = optStringList(data, 'bound_cidrs') ?? [];
  for (const c of boundCidrs) parseCidr(c, 'bound_cidrs');
  const callerIsRoot = caller.policies.includes('root');
  const privileged = callerIsRoot || req.acl!.allows(req.path, 'sudo');
  const type = optString(data, 'type') ?? 'service';
  if (type !== 'service') throw badRequest(`invalid value ${JSON.stringify(type)} for field "type": this key server issues service tokens only`);

  const noDefault = optBool(data, 'no_default_policy') ?? false;
  const requested = optStringList(data, 'policies')?.map(normalizePolicy);
  let chosen = requested ?? caller.policies.filter((p) => !(noDefault && p === 'default'));
  if (requested && !privileged) {
    const parent = new Set(caller.policies);
    if (!requested.every((p) => parent.has(p) || (p === 'default' && !noDefault))) throw badRequest('child policies must be subset of parent');
  }
  if (chosen.includes('root') && !callerIsRoot) throw badRequest('root tokens may not be created without parent token being root');
  if (!noDefault && !chosen.includes('root')) chosen = [...chosen, 'default'];
  chosen = [...new Set(chosen)].sort();

  const noParent = optBool(data, 'no_parent') ?? false;
  if (noParent && !o.orphanPath && !privileged) throw badRequest('root or sudo privileges required to create orphan token');
  const period = optDurationSeconds(data, 'period') ?? 0;
  if (period > 0 && !privileged) throw badRequest('root or sudo privileges required to create periodic token');
  const numUses = optInt(data, 'num_uses') ?? 0;
  if (numUses < 0) throw badRequest('number of uses cannot be negative');
  const explicitMaxTtl = optDurationSeconds(data, 'explicit_max_ttl') ?? 0;
  if (explicitMaxTtl < 0) throw badRequest('explicit_max_ttl must be positive');
  let ttl = optDurationSeconds(data, 'ttl') ?? 0;
  if (ttl < 0) throw badRequest('ttl must be positive');
  if (period > 0) ttl = period;
  // A root-policy child of a root token with no TTL never expires, as in Vault; every other token gets the default.
  if (ttl === 0 && !(chosen.includes('root') && explicitMaxTtl === 0)) ttl = SYSTEM_MAX_TTL_SECONDS;
  if (explicitMaxTtl > 0 && (ttl === 0 || ttl > explicitMaxTtl)) ttl = explicitMaxTtl;

  const displayName = optString(data, 'display_name');
  const { token, entry } = tokens.create({
    policies: chosen,
    ...(noParent || o.orphanPath ? {} : { parent: caller }),
    path: o.orphanPath ? 'auth/token/create-orphan' : 'auth/token/create',
    displayName: displayName ? `token-${displayName.replace(/[^\w-]/g, '-')}` : 'token',
    meta: optStringMap(data, 'meta') ?? null,
    ttl,
    explicitMaxTtl,
    period,
    numUses,
    renewable: optBool(data, 'renewable') ?? true,
    boundCidrs,
  });
  const warnings = chosen.filter((p) => p !== 'root' && !policies.exists(p)).map((p) => `Policy "${p}" does not exist`);
  return { auth: tokens.authBlock(token, entry), warnings };
}

function normalizePolicy(name: string): string {
  return name.trim().toLowerCase();
}

/** lookup-self's data (OB token_store.go handleLookup): lease fields only for tokens that expire. */
export function describeToken(e: TokenEntry, id: string, nowMs: number): Record<string, unknown> {
  const expires = e.expireTimeMs > 0;
  return {
    accessor: e.accessor,
    creation_time: Math.floor(e.creationTimeMs / 1000),
    creation_ttl: e.creationTtl,
    display_name: e.displayName,
    entity_id: '',
    expire_time: expires ? new Date(e.expireTimeMs).toISOString() : null,
    explicit_max_ttl: e.explicitMaxTtl,
    id,
    meta: e.meta,
    num_uses: e.numUses,
    orphan: e.parent === '',
    path: e.path,
    policies: e.policies,
    ttl: expires ? Math.max(0, Math.floor((e.expireTimeMs - nowMs) / 1000)) : 0,
    type: 'service',
    ...(e.period > 0 ? { period: e.period } : {}),
    ...(e.boundCidrs ? { bound_cidrs: e.boundCidrs } : {}),
    ...(expires
      ? {
          renewable: e.renewable,
          issue_time: new Date(e.issueTimeMs).toISOString(),
          ...(e.lastRenewalTimeMs ? { last_renewal_time: Math.floor(e.lastRenewalTimeMs / 1000), last_renewal: new Date(e.lastRenewalTimeMs).toISOString() } : {}),
        }
      : {}),
  };
}
