// Vault's token store: service tokens with policies, TTL, use counts and a parent tree (revoking a token revokes its
// children). Only a SHA-256 hash of each token is stored; the token itself exists on the wire and in the caller's hands.
// Accessors name a token without being able to use it, so they can be logged and audited.
import { hash } from 'node:crypto';
import type { Clock } from '../lib/clock.js';
import { randomBase62 } from './random-id.js';
import type { SealedStorage } from './sealed-storage.js';
import type { AuthBlock } from './vault-request.js';
import { badRequest } from './vault-error.js';

/** Vault's and OpenBao's system default and maximum token TTL: 768h. */
export const SYSTEM_MAX_TTL_SECONDS = 768 * 3600;

export interface TokenEntry {
  hash: string;
  accessor: string;
  policies: string[];
  /** The parent's hash; '' for orphans. */
  parent: string;
  path: string;
  displayName: string;
  meta: Record<string, string> | null;
  creationTimeMs: number;
  creationTtl: number;
  explicitMaxTtl: number;
  /** A renewal cap that is not shown as explicit_max_ttl (AppRole's token_max_ttl); 0 = the system maximum. */
  maxTtl: number;
  period: number;
  /** Uses left; 0 = unlimited. */
  numUses: number;
  renewable: boolean;
  issueTimeMs: number;
  /** 0 = never expires (root tokens). */
  expireTimeMs: number;
  lastRenewalTimeMs?: number;
  /** Set when the last allowed use was taken: the token is revoked once that request ends. */
  exhausted?: boolean;
  /** Source addresses the token may be used from (Vault's bound_cidrs); absent = anywhere. */
  boundCidrs?: string[];
}

export interface CreateTokenOptions {
  policies: string[];
  parent?: TokenEntry;
  path: string;
  displayName: string;
  meta?: Record<string, string> | null;
  /** Seconds; 0 = never expires (only for root-policy tokens). */
  ttl: number;
  explicitMaxTtl?: number;
  maxTtl?: number;
  period?: number;
  numUses?: number;
  renewable?: boolean;
  boundCidrs?: string[];
}

const TOKEN_PREFIX = 'hvs.';

export function hashToken(token: string): string {
  // The one-shot form: a Hash object per request showed in a transit call's profile.
  return hash('sha256', token, 'hex');
}

export class TokenStore {
  constructor(
    private readonly storage: SealedStorage,
    private readonly clock: Clock,
  ) {}

  create(o: CreateTokenOptions): { token: string; entry: TokenEntry } {
    const token = TOKEN_PREFIX + randomBase62(32);
    const now = this.clock.now();
    const entry: TokenEntry = {
      hash: hashToken(token),
      accessor: randomBase62(24),
      policies: [...new Set(o.policies)].sort(),
      parent: o.parent?.hash ?? '',
      path: o.path,
      displayName: o.displayName,
      meta: o.meta ?? null,
      creationTimeMs: now,
      creationTtl: o.ttl,
      explicitMaxTtl: o.explicitMaxTtl ?? 0,
      maxTtl: o.maxTtl ?? 0,
      period: o.period ?? 0,
      numUses: o.numUses ?? 0,
      renewable: o.ttl > 0 && (o.renewable ?? true),
      issueTimeMs: now,
      expireTimeMs: o.ttl > 0 ? now + o.ttl * 1000 : 0,
      ...(o.boundCidrs?.length ? { boundCidrs: o.boundCidrs } : {}),
    };
    this.storage.transaction(() => {
      this.save(entry);
      this.storage.putJson(`token/accessor/${entry.accessor}`, { hash: entry.hash });
      if (entry.parent) this.storage.putJson(`token/parent/${entry.parent}/${entry.hash}`, {});
    });
    return { token, entry };
  }

  /** The live entry for a token, or undefined (unknown, revoked, expired: an expired token is revoked here). */
  lookup(token: string): TokenEntry | undefined {
    return this.lookupHash(hashToken(token));
  }

  /** Accessors of every token that is still alive (expired ones are revoked on the way). */
  accessors(): string[] {
    return this.storage
      .list('token/accessor/')
      .map((k) => k.slice('token/accessor/'.length))
      .filter((a) => this.lookupAccessor(a) !== undefined)
      .sort();
  }

  lookupAccessor(accessor: string): TokenEntry | undefined {
    if (!/^[A-Za-z0-9]+$/.test(accessor)) return undefined;
    const ref = this.storage.getJson<{ hash: string }>(`token/accessor/${accessor}`);
    return ref ? this.lookupHash(ref.hash) : undefined;
  }

  private lookupHash(hash: string): TokenEntry | undefined {
    const kept = this.storage.getMetadataJson<TokenEntry>(`token/id/${hash}`);
    if (!kept) return undefined;
    // The storage's copy is frozen and shared: the caller gets its own top level (consumeUse and renew change use
    // counts and expiry times on it, then save it), over the same frozen lists, which nobody changes.
    const entry = { ...kept } as TokenEntry;
    if (entry.expireTimeMs > 0 && entry.expireTimeMs <= this.clock.now()) {
      this.revoke(entry);
      return undefined;
    }
    if (entry.exhausted) return undefined;
    return entry;
  }

  /** Takes one use of a limited-use token; true when it was the last (revoke the token after the request). */
  consumeUse(entry: TokenEntry): boolean {
    if (entry.numUses <= 0) return false;
    entry.numUses -= 1;
    if (entry.numUses === 0) entry.exhausted = true;
    this.save(entry);
    return entry.numUses === 0;
  }

  /** Renews a token's lease (OB CalculateTTL); returns the new TTL in seconds and any warnings. */
  renew(entry: TokenEntry, increment: number): { ttl: number; warnings: string[] } {
    if (entry.expireTimeMs === 0) throw badRequest('invalid lease ID');
    if (!entry.renewable) throw badRequest('lease is not renewable');
    const now = this.clock.now();
    const warnings: string[] = [];
    let ttl = entry.period > 0 ? entry.period : increment > 0 ? increment : entry.creationTtl > 0 ? entry.creationTtl : SYSTEM_MAX_TTL_SECONDS;
    if (entry.period === 0) {
      const maxTtl = entry.explicitMaxTtl || entry.maxTtl || SYSTEM_MAX_TTL_SECONDS;
      const left = Math.floor((entry.issueTimeMs + maxTtl * 1000 - now) / 1000);
      if (ttl > left) {
        ttl = Math.max(0, left);
        warnings.push(`TTL of "${formatSeconds(increment || entry.creationTtl)}" exceeded the effective max_ttl of "${formatSeconds(ttl)}"; TTL value is capped accordingly`);
      }
    }
    if (ttl <= 0) throw badRequest('lease expired');
    this.storage.transaction(() => {
      if (entry.expireTimeMs > 0) this.storage.delete(expiryPath(entry));
      entry.expireTimeMs = now + ttl * 1000;
      entry.lastRenewalTimeMs = now;
      this.save(entry);
    });
    return { ttl, warnings };
  }

  /** Revokes a token and, recursively, every child token it created. */
  revoke(entry: TokenEntry): void {
    this.storage.transaction(() => {
      const stack = [entry.hash];
      while (stack.length > 0) {
        const hash = stack.pop()!;
        for (const child of this.storage.list(`token/parent/${hash}/`)) {
          stack.push(child.slice(child.lastIndexOf('/') + 1));
          this.storage.delete(child);
        }
        const e = hash === entry.hash ? entry : this.storage.getJson<TokenEntry>(`token/id/${hash}`);
        if (!e) continue;
        this.storage.delete(`token/id/${hash}`);
        // The token's cubbyhole (and a wrapped response in it) dies with the token, as in Vault.
        for (const k of this.storage.list(`cubbyhole/${hash}/`)) this.storage.delete(k);
        this.storage.delete(`token/accessor/${e.accessor}`);
        if (e.expireTimeMs > 0) this.storage.delete(expiryPath(e));
        if (e.parent) this.storage.delete(`token/parent/${e.parent}/${hash}`);
      }
    });
  }

  /** Revokes every expired token (their entries would otherwise pile up: ESO logs in and out once per reconcile). */
  tidy(): number {
    const now = this.clock.now();
    let revoked = 0;
    for (const marker of this.storage.list('token/expiry/')) {
      const [, , at, hash] = marker.split('/');
      if (Number(at) > now) break; // markers sort by time
      const entry = this.storage.getJson<TokenEntry>(`token/id/${hash}`);
      if (entry) this.revoke(entry);
      else this.storage.delete(marker);
      revoked++;
    }
    return revoked;
  }

  /** The `auth` block Vault returns on login, token create and renew. */
  authBlock(token: string, entry: TokenEntry, leaseSeconds?: number): AuthBlock {
    return {
      client_token: token,
      accessor: entry.accessor,
      policies: entry.policies,
      token_policies: entry.policies,
      metadata: entry.meta,
      lease_duration: leaseSeconds ?? (entry.expireTimeMs > 0 ? Math.max(0, Math.round((entry.expireTimeMs - this.clock.now()) / 1000)) : 0),
      renewable: entry.renewable,
      entity_id: '',
      token_type: 'service',
      orphan: entry.parent === '',
      mfa_requirement: null,
      num_uses: entry.numUses,
    };
  }

  private save(entry: TokenEntry): void {
    this.storage.putJson(`token/id/${entry.hash}`, entry);
    if (entry.expireTimeMs > 0) this.storage.putJson(expiryPath(entry), {});
  }
}

function expiryPath(e: TokenEntry): string {
  return `token/expiry/${String(e.expireTimeMs).padStart(15, '0')}/${e.hash}`;
}

function formatSeconds(s: number): string {
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  return h > 0 ? `${h}h${m}m${sec}s` : m > 0 ? `${m}m${sec}s` : `${sec}s`;
}
