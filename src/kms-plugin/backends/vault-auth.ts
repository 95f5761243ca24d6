// How the vault-transit backend gets a Vault token (vault-api-subset §3, §8.2):
// - token: read from a file on each use, so whatever rotates the file (vault-agent, a mounted Secret) is followed;
// - approle: log in with role_id and secret_id (both files), renew the token with renew-self before two thirds of
//   its lease are gone, and log in again when renewal fails or Vault rejects the token.
import type { Logger } from 'pino';
import type { Clock } from '../../lib/clock.js';
import { UnavailableError } from '../../lib/errors.js';
import { SecretFile } from '../secret-file.js';
import { vaultError, type VaultHttpClient } from './vault-http-client.js';

export interface VaultAuth {
  /** The token to send; logs in first when there is none. */
  token(signal: AbortSignal): Promise<Buffer>;
  /** Vault answered 403 to this token: forget it, so the next token() logs in again. */
  rejected(token: Uint8Array): void;
  close(): Promise<void>;
}

/** How often a token from a file is looked up (and renewed when half its TTL is gone), as vault-kubernetes-kms does. */
export const TOKEN_CHECK_INTERVAL_MS = 60_000;

export class TokenFileAuth implements VaultAuth {
  private readonly file: SecretFile;
  private timer: { cancel(): void } | undefined;
  private closed = false;

  constructor(
    path: string,
    private readonly o?: { client: VaultHttpClient; clock: Clock; logger: Logger; timeoutMs: number },
  ) {
    this.file = new SecretFile(path, 'auth.tokenFile');
    this.scheduleCheck();
  }

  token(): Promise<Buffer> {
    return this.file.read();
  }

  rejected(): void {
    // Nothing to log in with: the file's owner rotates it, and the next read picks up a new one.
  }

  private scheduleCheck(): void {
    if (!this.o || this.closed) return;
    this.timer = this.o.clock.setTimeout(() => {
      this.scheduleCheck(); // fixed rate: the next check is due whatever this one's fate
      void this.check();
    }, TOKEN_CHECK_INTERVAL_MS);
  }

  /**
   * A renewable token (e.g. a periodic one) dies when nobody renews it, even though the file still holds it. Renew
   * once less than half of its TTL is left (vault-api-subset §8.2); root and other non-expiring tokens are left alone.
   */
  private async check(): Promise<void> {
    const o = this.o!;
    try {
      const token = await this.file.read();
      const signal = AbortSignal.timeout(o.timeoutMs);
      const res = await o.client.request('GET', 'auth/token/lookup-self', { token, signal });
      if (res.status !== 200) throw vaultError('token lookup-self', res);
      const data = (res.body?.data ?? {}) as Record<string, unknown>;
      const ttl = typeof data.ttl === 'number' ? data.ttl : 0;
      const creationTtl = typeof data.creation_ttl === 'number' ? data.creation_ttl : 0;
      if (data.renewable !== true || ttl <= 0 || creationTtl <= 0 || ttl >= creationTtl / 2) return;
      const renewed = await o.client.request('PUT', 'auth/token/renew-self', { token, body: { increment: creationTtl }, signal });
      if (renewed.status !== 200) throw vaultError('token renew-self', renewed);
      o.logger.info({ ttlSeconds: ttl, incrementSeconds: creationTtl }, 'renewed the Vault token from auth.tokenFile');
    } catch (e) {
      o.logger.warn({ error: (e as Error).message }, 'checking the Vault token from auth.tokenFile failed');
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.timer?.cancel();
    this.file.wipe();
  }
}

interface Lease {
  token: Buffer;
  renewable: boolean;
  leaseSeconds: number;
}

const RETRY_LOGIN_MS = 10_000;

export class AppRoleAuth implements VaultAuth {
  private lease: Lease | undefined;
  private loggingIn: Promise<Buffer> | undefined;
  private timer: { cancel(): void } | undefined;
  private closed = false;
  private readonly roleId: SecretFile;
  private readonly secretId: SecretFile;

  constructor(
    private readonly client: VaultHttpClient,
    private readonly o: { mount: string; roleIdFile: string; secretIdFile: string; clock: Clock; logger: Logger; timeoutMs: number },
  ) {
    this.roleId = new SecretFile(o.roleIdFile, 'auth.roleIdFile');
    this.secretId = new SecretFile(o.secretIdFile, 'auth.secretIdFile');
  }

  token(signal: AbortSignal): Promise<Buffer> {
    if (this.closed) return Promise.reject(new UnavailableError('vault auth is closed'));
    if (this.lease) return Promise.resolve(this.lease.token);
    this.loggingIn ??= this.login(signal).finally(() => (this.loggingIn = undefined));
    return this.loggingIn;
  }

  rejected(token: Uint8Array): void {
    if (this.lease && this.lease.token.equals(token)) {
      this.o.logger.warn({ authMount: this.o.mount }, 'Vault rejected the AppRole token; logging in again');
      this.drop();
    }
  }

  private drop(): void {
    this.timer?.cancel();
    this.timer = undefined;
    this.lease?.token.fill(0);
    this.lease = undefined;
  }

  private async login(signal: AbortSignal): Promise<Buffer> {
    const [roleId, secretId] = await Promise.all([this.roleId.read(), this.secretId.read()]);
    // A stale token header on a login path is ignored by Vault (§1.2); none is sent here anyway.
    const res = await this.client.request('PUT', `auth/${this.o.mount}/login`, {
      body: { role_id: roleId.toString('utf8'), secret_id: secretId.toString('utf8') },
      signal,
    });
    if (res.status !== 200) throw vaultError(`AppRole login at auth/${this.o.mount}/login`, res);
    const auth = res.body?.auth as Record<string, unknown> | undefined;
    const clientToken = auth?.client_token;
    if (typeof clientToken !== 'string' || clientToken === '') {
      throw new UnavailableError(`AppRole login at auth/${this.o.mount}/login: response has no auth.client_token`);
    }
    if (this.closed) throw new UnavailableError('vault auth is closed');
    this.drop();
    const lease: Lease = {
      token: Buffer.from(clientToken, 'latin1'),
      renewable: auth?.renewable === true,
      leaseSeconds: typeof auth?.lease_duration === 'number' ? auth.lease_duration : 0,
    };
    this.lease = lease;
    this.o.logger.info({ authMount: this.o.mount, leaseSeconds: lease.leaseSeconds, renewable: lease.renewable }, 'logged in to Vault with AppRole');
    this.schedule(lease);
    return lease.token;
  }

  /** Renews at two thirds of the lease (Vault's own agent renews early for the same reason: clock skew, slow calls). */
  private schedule(lease: Lease): void {
    if (lease.leaseSeconds <= 0) return; // a non-expiring token needs no care
    const inMs = Math.max(1000, Math.floor((lease.leaseSeconds * 1000 * 2) / 3));
    this.timer = this.o.clock.setTimeout(() => void this.refresh(lease), inMs);
  }

  private async refresh(lease: Lease): Promise<void> {
    if (this.closed || this.lease !== lease) return;
    const signal = AbortSignal.timeout(this.o.timeoutMs);
    if (lease.renewable) {
      try {
        const res = await this.client.request('PUT', 'auth/token/renew-self', { token: lease.token, body: { increment: lease.leaseSeconds }, signal });
        if (res.status !== 200) throw vaultError('token renew-self', res);
        const auth = res.body?.auth as Record<string, unknown> | undefined;
        const seconds = typeof auth?.lease_duration === 'number' ? auth.lease_duration : 0;
        if (this.closed || this.lease !== lease) return;
        // A renewal capped by the token's max TTL comes back shorter; once it is nearly gone, log in afresh instead.
        if (seconds > Math.min(10, lease.leaseSeconds / 10)) {
          lease.leaseSeconds = seconds;
          this.o.logger.debug({ authMount: this.o.mount, leaseSeconds: seconds }, 'renewed the Vault token');
          this.schedule(lease);
          return;
        }
      } catch (e) {
        this.o.logger.warn({ authMount: this.o.mount, error: (e as Error).message }, 'Vault token renewal failed; logging in again');
      }
    }
    if (this.closed || this.lease !== lease) return;
    this.drop();
    try {
      await this.token(signal);
    } catch (e) {
      this.o.logger.error({ authMount: this.o.mount, error: (e as Error).message, retryMs: RETRY_LOGIN_MS }, 'AppRole login failed');
      // Calls log in on demand anyway; this timer only keeps a token ready for the next Status.
      this.timer = this.o.clock.setTimeout(() => {
        if (!this.lease && !this.closed) this.token(AbortSignal.timeout(this.o.timeoutMs)).catch(() => undefined);
      }, RETRY_LOGIN_MS);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const lease = this.lease;
    this.timer?.cancel();
    if (lease) {
      // Best effort: a token that outlives its plugin is one more thing to steal.
      await this.client
        .request('PUT', 'auth/token/revoke-self', { token: lease.token, signal: AbortSignal.timeout(Math.min(this.o.timeoutMs, 2000)) })
        .catch(() => undefined);
    }
    this.drop();
    this.roleId.wipe();
    this.secretId.wipe();
  }
}
