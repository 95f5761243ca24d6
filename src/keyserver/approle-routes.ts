// AppRole auth at `auth/approle/` (Vault's builtin/credential/approle): roles, role IDs, secret IDs and login. Role IDs and
// secret IDs are credentials, so they are indexed by SHA-256 hash; the role entry (sealed) keeps the role ID because
// `GET role/:name/role-id` must return it, while a secret ID is shown once, when generated, and never again.
import { createHash } from 'node:crypto';
import type { Clock } from '../lib/clock.js';
import { inCidrs, parseCidr } from './cidr.js';
import { KEY_NAME } from './transit-keyring.js';
import { randomId } from './random-id.js';
import { optBool, optDurationSeconds, optInt, optString, optStringList, rejectUnsupported, type RequestData } from './request-fields.js';
import type { SealedStorage } from './sealed-storage.js';
import { SYSTEM_MAX_TTL_SECONDS, type TokenStore } from './token-store.js';
import { badRequest } from './vault-error.js';
import type { Mount, VaultRequest, VaultResponse } from './vault-request.js';

interface Role {
  name: string;
  roleId: string;
  bindSecretId: boolean;
  secretIdTtl: number;
  secretIdNumUses: number;
  secretIdBoundCidrs: string[];
  tokenPolicies: string[];
  tokenTtl: number;
  tokenMaxTtl: number;
  tokenPeriod: number;
  tokenNumUses: number;
  tokenNoDefaultPolicy: boolean;
  tokenExplicitMaxTtl: number;
  /** Source addresses the issued tokens may be used from (absent in roles stored before it was supported). */
  tokenBoundCidrs?: string[];
}

interface SecretId {
  accessor: string;
  numUses: number;
  ttl: number;
  creationTimeMs: number;
  /** 0 = never */
  expirationTimeMs: number;
  metadata: Record<string, string>;
  cidrList: string[];
}

const INVALID = 'invalid role or secret ID';

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');

export function approleMount(storage: SealedStorage, tokens: TokenStore, clock: Clock, path = 'auth/approle/'): Mount {
  const roles = new AppRoles(storage, clock);
  const roleName = (p: readonly string[]) => p[0]!.toLowerCase(); // role names are case-insensitive in Vault
  const mustRole = (p: readonly string[]) => {
    const role = roles.get(roleName(p));
    if (!role) throw badRequest(`role "${roleName(p)}" does not exist`);
    return role;
  };
  const role = `role/${KEY_NAME}`;
  return {
    path,
    type: 'approle',
    routes: [
      { pattern: /^login$/, unauthenticated: true, handlers: { write: (req) => login(roles, tokens, req) } },
      { pattern: /^role\/$/, handlers: { list: () => ({ data: { keys: roles.list() } }) } },
      {
        pattern: new RegExp(`^${role}$`),
        exists: (p) => roles.get(roleName(p)) !== undefined,
        handlers: {
          read: (_req, p) => {
            const r = roles.get(roleName(p));
            return r ? { data: describeRole(r) } : undefined;
          },
          write: (req, p) => {
            roles.save(updateRole(roles.get(roleName(p)) ?? newRole(roleName(p)), req.data));
            return undefined;
          },
          delete: (_req, p) => {
            roles.delete(roleName(p));
            return undefined;
          },
        },
      },
      {
        pattern: new RegExp(`^${role}/role-id$`),
        handlers: {
          read: (_req, p) => ({ data: { role_id: mustRole(p).roleId } }),
          write: (req, p) => {
            const r = mustRole(p);
            const id = optString(req.data, 'role_id') ?? '';
            if (!id) throw badRequest('missing role_id');
            roles.setRoleId(r, id);
            return undefined;
          },
        },
      },
      {
        pattern: new RegExp(`^${role}/secret-id/?$`),
        handlers: {
          list: (_req, p) => ({ data: { keys: roles.secretAccessors(mustRole(p).name) } }),
          write: (req, p) => generateSecretId(roles, mustRole(p), req.data),
        },
      },
      {
        pattern: new RegExp(`^${role}/secret-id/(lookup|destroy)$`),
        handlers: {
          write: (req, p) => {
            const r = mustRole(p);
            const secret = optString(req.data, 'secret_id') ?? '';
            if (!secret) throw badRequest('missing secret_id');
            return secretAction(roles, r, sha256(secret), p[1] as 'lookup' | 'destroy');
          },
        },
      },
      {
        pattern: new RegExp(`^${role}/secret-id-accessor/(lookup|destroy)$`),
        handlers: {
          write: (req, p) => {
            const r = mustRole(p);
            const accessor = optString(req.data, 'secret_id_accessor') ?? '';
            if (!accessor) throw badRequest('missing secret_id_accessor');
            const hash = roles.hashOfAccessor(r.name, accessor);
            if (!hash) throw badRequest(`failed to find accessor entry for secret_id_accessor: ${JSON.stringify(accessor)}`);
            return secretAction(roles, r, hash, p[1] as 'lookup' | 'destroy');
          },
        },
      },
    ],
  };
}

class AppRoles {
  constructor(
    private readonly storage: SealedStorage,
    readonly clock: Clock,
  ) {}

  get(name: string): Role | undefined {
    return this.storage.getJson<Role>(`approle/role/${name}`);
  }

  list(): string[] {
    return this.storage.list('approle/role/').map((p) => p.slice('approle/role/'.length));
  }

  save(role: Role): void {
    this.storage.transaction(() => {
      this.storage.putJson(`approle/role/${role.name}`, role);
      this.storage.putJson(`approle/role-id/${sha256(role.roleId)}`, { name: role.name });
    });
  }

  setRoleId(role: Role, id: string): void {
    const taken = this.byRoleId(id);
    if (taken && taken.name !== role.name) throw badRequest('role_id already in use');
    this.storage.transaction(() => {
      this.storage.delete(`approle/role-id/${sha256(role.roleId)}`);
      role.roleId = id;
      this.save(role);
    });
  }

  byRoleId(id: string): Role | undefined {
    const ref = this.storage.getJson<{ name: string }>(`approle/role-id/${sha256(id)}`);
    return ref ? this.get(ref.name) : undefined;
  }

  delete(name: string): void {
    const role = this.get(name);
    if (!role) return;
    this.storage.transaction(() => {
      for (const p of this.storage.list(`approle/secret-id/${name}/`)) this.storage.delete(p);
      for (const p of this.storage.list(`approle/secret-accessor/${name}/`)) this.storage.delete(p);
      this.storage.delete(`approle/role-id/${sha256(role.roleId)}`);
      this.storage.delete(`approle/role/${name}`);
    });
  }

  putSecret(role: string, hash: string, s: SecretId): void {
    this.storage.transaction(() => {
      this.storage.putJson(`approle/secret-id/${role}/${hash}`, s);
      this.storage.putJson(`approle/secret-accessor/${role}/${s.accessor}`, { hash });
    });
  }

  /** A live secret ID (an expired one is deleted on sight). */
  getSecret(role: string, hash: string): SecretId | undefined {
    const s = this.storage.getJson<SecretId>(`approle/secret-id/${role}/${hash}`);
    if (s && s.expirationTimeMs > 0 && s.expirationTimeMs <= this.clock.now()) {
      this.deleteSecret(role, hash, s);
      return undefined;
    }
    return s;
  }

  deleteSecret(role: string, hash: string, s: SecretId): void {
    this.storage.transaction(() => {
      this.storage.delete(`approle/secret-id/${role}/${hash}`);
      this.storage.delete(`approle/secret-accessor/${role}/${s.accessor}`);
    });
  }

  hashOfAccessor(role: string, accessor: string): string | undefined {
    if (!/^[\w-]+$/.test(accessor)) return undefined;
    return this.storage.getJson<{ hash: string }>(`approle/secret-accessor/${role}/${accessor}`)?.hash;
  }

  secretAccessors(role: string): string[] {
    return this.storage.list(`approle/secret-accessor/${role}/`).map((p) => p.slice(p.lastIndexOf('/') + 1));
  }
}

function newRole(name: string): Role {
  return {
    name, roleId: randomId(), bindSecretId: true, secretIdTtl: 0, secretIdNumUses: 0, secretIdBoundCidrs: [], tokenPolicies: [],
    tokenTtl: 0, tokenMaxTtl: 0, tokenPeriod: 0, tokenNumUses: 0, tokenNoDefaultPolicy: false, tokenExplicitMaxTtl: 0,
  };
}

function updateRole(r: Role, d: RequestData): Role {
  rejectUnsupported(d, ['bound_cidr_list']);
  const type = optString(d, 'token_type');
  if (type !== undefined && !['', 'default', 'service', 'default-service'].includes(type)) {
    throw badRequest(`invalid value ${JSON.stringify(type)} for field "token_type": this key server issues service tokens only`);
  }
  const seconds = (name: string, alias?: string) => optDurationSeconds(d, name) ?? (alias ? optDurationSeconds(d, alias) : undefined);
  const next: Role = {
    ...r,
    bindSecretId: optBool(d, 'bind_secret_id') ?? r.bindSecretId,
    secretIdTtl: seconds('secret_id_ttl') ?? r.secretIdTtl,
    secretIdNumUses: optInt(d, 'secret_id_num_uses') ?? r.secretIdNumUses,
    secretIdBoundCidrs: optStringList(d, 'secret_id_bound_cidrs') ?? r.secretIdBoundCidrs,
    tokenPolicies: (optStringList(d, 'token_policies') ?? optStringList(d, 'policies'))?.map((p) => p.trim().toLowerCase()) ?? r.tokenPolicies,
    tokenTtl: seconds('token_ttl') ?? r.tokenTtl,
    tokenMaxTtl: seconds('token_max_ttl') ?? r.tokenMaxTtl,
    tokenPeriod: seconds('token_period', 'period') ?? r.tokenPeriod,
    tokenNumUses: optInt(d, 'token_num_uses') ?? r.tokenNumUses,
    tokenNoDefaultPolicy: optBool(d, 'token_no_default_policy') ?? r.tokenNoDefaultPolicy,
    tokenExplicitMaxTtl: seconds('token_explicit_max_ttl') ?? r.tokenExplicitMaxTtl,
    tokenBoundCidrs: optStringList(d, 'token_bound_cidrs') ?? r.tokenBoundCidrs ?? [],
  };
  for (const [field, n] of [['secret_id_num_uses', next.secretIdNumUses], ['token_num_uses', next.tokenNumUses], ['secret_id_ttl', next.secretIdTtl], ['token_ttl', next.tokenTtl], ['token_max_ttl', next.tokenMaxTtl]] as const) {
    if (n < 0) throw badRequest(`invalid value ${n} for field "${field}": must not be negative`);
  }
  if (next.tokenMaxTtl > 0 && next.tokenTtl > next.tokenMaxTtl) throw badRequest('token_ttl should not be greater than token_max_ttl');
  if (!next.bindSecretId && next.secretIdBoundCidrs.length === 0) {
    throw badRequest('at least one constraint should be enabled on the role');
  }
  for (const c of next.secretIdBoundCidrs) parseCidr(c, 'secret_id_bound_cidrs');
  for (const c of next.tokenBoundCidrs ?? []) parseCidr(c, 'token_bound_cidrs');
  return next;
}

function describeRole(r: Role): Record<string, unknown> {
  return {
    bind_secret_id: r.bindSecretId,
    local_secret_ids: false,
    secret_id_bound_cidrs: r.secretIdBoundCidrs,
    secret_id_num_uses: r.secretIdNumUses,
    secret_id_ttl: r.secretIdTtl,
    token_bound_cidrs: r.tokenBoundCidrs ?? [],
    token_explicit_max_ttl: r.tokenExplicitMaxTtl,
    token_max_ttl: r.tokenMaxTtl,
    token_no_default_policy: r.tokenNoDefaultPolicy,
    token_num_uses: r.tokenNumUses,
    token_period: r.tokenPeriod,
    token_policies: r.tokenPolicies,
    token_ttl: r.tokenTtl,
    token_type: 'default',
    policies: r.tokenPolicies,
    period: r.tokenPeriod,
  };
}

function generateSecretId(roles: AppRoles, role: Role, d: RequestData): VaultResponse {
  const ttl = optDurationSeconds(d, 'ttl') ?? role.secretIdTtl;
  const numUses = optInt(d, 'num_uses') ?? role.secretIdNumUses;
  if (numUses < 0) throw badRequest('num_uses cannot be negative');
  if (role.secretIdNumUses > 0 && (numUses === 0 || numUses > role.secretIdNumUses)) throw badRequest("num_uses cannot be higher than the role's secret_id_num_uses");
  if (role.secretIdTtl > 0 && (ttl === 0 || ttl > role.secretIdTtl)) throw badRequest("ttl cannot be longer than the role's secret_id_ttl");
  let metadata: Record<string, string> = {};
  const metaText = optString(d, 'metadata');
  if (metaText) {
    try {
      const parsed = JSON.parse(metaText) as unknown;
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed) || !Object.values(parsed).every((v) => typeof v === 'string')) throw new Error();
      metadata = parsed as Record<string, string>;
    } catch {
      throw badRequest('failed to parse metadata: want a JSON object of strings, given as a string');
    }
  }
  const cidrList = optStringList(d, 'cidr_list') ?? [];
  for (const c of cidrList) parseCidr(c, 'cidr_list');
  const secretId = randomId();
  const now = roles.clock.now();
  const entry: SecretId = { accessor: randomId(), numUses, ttl, creationTimeMs: now, expirationTimeMs: ttl > 0 ? now + ttl * 1000 : 0, metadata, cidrList };
  roles.putSecret(role.name, sha256(secretId), entry);
  return { data: { secret_id: secretId, secret_id_accessor: entry.accessor, secret_id_ttl: ttl, secret_id_num_uses: numUses } };
}

function secretAction(roles: AppRoles, role: Role, hash: string, action: 'lookup' | 'destroy'): VaultResponse | undefined {
  const s = roles.getSecret(role.name, hash);
  if (!s) return undefined;
  if (action === 'destroy') {
    roles.deleteSecret(role.name, hash, s);
    return undefined;
  }
  return {
    data: {
      cidr_list: s.cidrList,
      creation_time: new Date(s.creationTimeMs).toISOString(),
      expiration_time: s.expirationTimeMs > 0 ? new Date(s.expirationTimeMs).toISOString() : '0001-01-01T00:00:00Z',
      last_updated_time: new Date(s.creationTimeMs).toISOString(),
      metadata: s.metadata,
      secret_id_accessor: s.accessor,
      secret_id_num_uses: s.numUses,
      secret_id_ttl: s.ttl,
      token_bound_cidrs: [],
    },
  };
}

function login(roles: AppRoles, tokens: TokenStore, req: VaultRequest): VaultResponse {
  const roleId = optString(req.data, 'role_id') ?? '';
  if (!roleId) throw badRequest('missing role_id');
  const role = roles.byRoleId(roleId);
  if (!role) throw badRequest(INVALID);
  if (role.secretIdBoundCidrs.length > 0 && !inCidrs(req.remoteAddress, role.secretIdBoundCidrs)) {
    throw badRequest(`source address ${JSON.stringify(req.remoteAddress)} unauthorized through CIDR restrictions on the role`);
  }
  if (role.bindSecretId) {
    const secret = optString(req.data, 'secret_id') ?? '';
    if (!secret) throw badRequest('missing secret_id');
    const hash = sha256(secret);
    const s = roles.getSecret(role.name, hash);
    if (!s) throw badRequest(INVALID);
    if (s.cidrList.length > 0 && !inCidrs(req.remoteAddress, s.cidrList)) {
      throw badRequest(`source address ${JSON.stringify(req.remoteAddress)} unauthorized through CIDR restrictions on the secret ID`);
    }
    if (s.numUses > 0) {
      if (s.numUses === 1) roles.deleteSecret(role.name, hash, s);
      else roles.putSecret(role.name, hash, { ...s, numUses: s.numUses - 1 });
    }
  }
  const policies = role.tokenNoDefaultPolicy ? role.tokenPolicies : [...role.tokenPolicies, 'default'];
  const max = role.tokenExplicitMaxTtl || role.tokenMaxTtl || SYSTEM_MAX_TTL_SECONDS;
  const ttl = role.tokenPeriod > 0 ? role.tokenPeriod : Math.min(role.tokenTtl || SYSTEM_MAX_TTL_SECONDS, max);
  const { token, entry } = tokens.create({
    policies: policies.filter((p) => p !== 'root'),
    path: 'auth/approle/login',
    displayName: 'approle',
    meta: { role_name: role.name },
    ttl,
    explicitMaxTtl: role.tokenExplicitMaxTtl,
    maxTtl: role.tokenMaxTtl,
    period: role.tokenPeriod,
    numUses: role.tokenNumUses,
    boundCidrs: role.tokenBoundCidrs ?? [],
  });
  return { auth: tokens.authBlock(token, entry) };
}

