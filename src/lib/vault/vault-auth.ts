// How a long-running Vault client (the KMS plugin's vault-transit backend) gets and keeps a Vault token:
// - token: read from a file (looked at again each second, and at once after a 403), so whatever rotates the file
//   (vault-agent, a mounted Secret) is followed;
// - approle: log in with role_id and secret_id (both files), renew the token with renew-self before two thirds of
//   its lease are gone, and log in again when renewal fails or Vault rejects the token;
// - wrapped-token: a single-use response-wrapping token arrives on stdin (from `coffer up`'s supervisor, minted at each
//   start); it is unwrapped once, and the token inside lives only in this process's memory, renewed like AppRole's.
//   Nothing reusable is ever on disk; when the token is lost the plugin cannot log in again, so it says so and exits
//   for its supervisor to start it with a fresh credential.
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import { UnavailableError } from '../errors.js';
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
/** How long a token read from its file is used before the file is looked at again. */
const TOKEN_FILE_RECHECK_MS = 1000;

export class TokenFileAuth implements VaultAuth {
  private readonly file: SecretFile;
  private current: { at: number; token: Promise<Buffer> } | undefined;
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
    // A stat per call is a thread-pool round trip per DEK operation; looking again after a second (or at once after
    // a 403) follows a rotated file just as well.
    const now = Date.now();
    if (!this.current || now - this.current.at >= TOKEN_FILE_RECHECK_MS) {
      const read = { at: now, token: this.file.read() };
      read.token.catch(() => {
        if (this.current === read) this.current = undefined; // a failed read is not kept for a second
      });
      this.current = read;
    }
    return this.current.token;
  }

  rejected(): void {
    // Nothing to log in with: the file's owner rotates it, and the next read picks up a new one.
    this.current = undefined;
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
   * once less than half of its TTL is left (as vault-kubernetes-kms does); root and other non-expiring tokens are left alone.
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

interface LeasedAuthOptions {
  clock: Clock;
  logger: Logger;
  timeoutMs: number;
}

/** A token obtained by a login of some kind, renewed before its lease ends, obtained again when renewal fails. */
abstract class LeasedAuth implements VaultAuth {
  private lease: Lease | undefined;
  private loggingIn: Promise<Buffer> | undefined;
  private timer: { cancel(): void } | undefined;
  protected closed = false;

  constructor(
    protected readonly client: VaultHttpClient,
    protected readonly o: LeasedAuthOptions,
  ) {}

  /** The `auth` block of a successful login. */
  protected abstract obtain(signal: AbortSignal): Promise<Record<string, unknown>>;
  /** For logs: what kind of login this is. */
  protected abstract readonly describe: Record<string, string>;
  protected abstract wipe(): void;

  token(signal: AbortSignal): Promise<Buffer> {
    if (this.closed) return Promise.reject(new UnavailableError('vault auth is closed'));
    if (this.lease) return Promise.resolve(this.lease.token);
    this.loggingIn ??= this.login(signal).finally(() => (this.loggingIn = undefined));
    return this.loggingIn;
  }

  rejected(token: Uint8Array): void {
    if (this.lease && this.lease.token.equals(token)) {
      this.o.logger.warn(this.describe, 'Vault rejected the token; logging in again');
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
    const auth = await this.obtain(signal);
    const clientToken = auth.client_token;
    if (typeof clientToken !== 'string' || clientToken === '') throw new UnavailableError('Vault login response has no auth.client_token');
    if (this.closed) throw new UnavailableError('vault auth is closed');
    this.drop();
    const lease: Lease = {
      token: Buffer.from(clientToken, 'latin1'),
      renewable: auth.renewable === true,
      leaseSeconds: typeof auth.lease_duration === 'number' ? auth.lease_duration : 0,
    };
    this.lease = lease;
    this.o.logger.info({ ...this.describe, leaseSeconds: lease.leaseSeconds, renewable: lease.renewable }, 'logged in to Vault');
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
          this.o.logger.debug({ ...this.describe, leaseSeconds: seconds }, 'renewed the Vault token');
          this.schedule(lease);
          return;
        }
      } catch (e) {
        this.o.logger.warn({ ...this.describe, error: (e as Error).message }, 'Vault token renewal failed; logging in again');
      }
    }
    if (this.closed || this.lease !== lease) return;
    this.drop();
    try {
      await this.token(signal);
    } catch (e) {
      this.o.logger.error({ ...this.describe, error: (e as Error).message, retryMs: RETRY_LOGIN_MS }, 'Vault login failed');
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
    this.wipe();
  }
}

export class AppRoleAuth extends LeasedAuth {
  private readonly roleId: SecretFile;
  private readonly secretId: SecretFile;
  protected readonly describe: Record<string, string>;

  constructor(client: VaultHttpClient, private readonly ao: LeasedAuthOptions & { mount: string; roleIdFile: string; secretIdFile: string }) {
    super(client, ao);
    this.roleId = new SecretFile(ao.roleIdFile, 'auth.roleIdFile');
    this.secretId = new SecretFile(ao.secretIdFile, 'auth.secretIdFile');
    this.describe = { auth: 'approle', authMount: ao.mount };
  }

  protected async obtain(signal: AbortSignal): Promise<Record<string, unknown>> {
    const [roleId, secretId] = await Promise.all([this.roleId.read(), this.secretId.read()]);
    // A stale token header on a login path is ignored by Vault; none is sent here anyway.
    const res = await this.client.request('PUT', `auth/${this.ao.mount}/login`, {
      body: { role_id: roleId.toString('utf8'), secret_id: secretId.toString('utf8') },
      signal,
    });
    if (res.status !== 200) throw vaultError(`AppRole login at auth/${this.ao.mount}/login`, res);
    return (res.body?.auth as Record<string, unknown> | undefined) ?? {};
  }

  protected wipe(): void {
    this.roleId.wipe();
    this.secretId.wipe();
  }
}

/** The most a wrapping token line may be, and how long the plugin waits for it on stdin. */
const WRAPPING_TOKEN_MAX = 4096;
export const WRAPPING_TOKEN_WAIT_MS = 30_000;

/**
 * The first line of a stream (a pipe from the supervisor), bounded in size and time; the stream stays open, and what
 * followed the line in the same read is put back for the next reader (the supervisor may send several lines at once).
 */
export async function readFirstLine(input: Readable, o: { maxBytes: number; timeoutMs: number; what?: string }): Promise<Buffer> {
  const what = o.what ?? 'wrapping token';
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const done = (e: Error | undefined, line?: Buffer, rest?: Buffer) => {
      clearTimeout(timer);
      input.off('data', onData);
      input.off('end', onEnd);
      input.pause();
      if (rest?.length) input.unshift(rest);
      buf.fill(0);
      if (e) reject(e);
      else resolve(line!);
    };
    const onData = (c: Buffer) => {
      const next = Buffer.concat([buf, c]);
      buf.fill(0);
      c.fill(0);
      buf = next;
      const nl = buf.indexOf(0x0a);
      if (nl >= 0) return done(undefined, Buffer.from(buf.subarray(0, buf[nl - 1] === 0x0d ? nl - 1 : nl)), Buffer.from(buf.subarray(nl + 1)));
      if (buf.length > o.maxBytes) done(new UnavailableError(`stdin: no line within ${o.maxBytes} bytes`));
    };
    const onEnd = () => done(new UnavailableError(`stdin closed before a ${what} arrived`));
    const timer = setTimeout(() => done(new UnavailableError(`stdin: no ${what} within ${o.timeoutMs} ms`)), o.timeoutMs);
    input.on('data', onData);
    input.on('end', onEnd);
    input.resume();
  });
}

export class WrappedTokenAuth extends LeasedAuth {
  private used = false;
  protected readonly describe = { auth: 'wrapped-token' };

  constructor(client: VaultHttpClient, private readonly wo: LeasedAuthOptions & { input: Readable; onLost: () => void }) {
    super(client, wo);
  }

  protected async obtain(signal: AbortSignal): Promise<Record<string, unknown>> {
    if (this.used) {
      // The one credential was spent: only a fresh wrapping token (a restart by the supervisor) can help.
      this.wo.onLost();
      throw new UnavailableError('the Vault token from the wrapping token on stdin is gone (expired or revoked); a restart brings a fresh one');
    }
    this.used = true;
    const wrapping = await readFirstLine(this.wo.input, { maxBytes: WRAPPING_TOKEN_MAX, timeoutMs: WRAPPING_TOKEN_WAIT_MS });
    try {
      const res = await this.client.request('PUT', 'sys/wrapping/unwrap', { token: wrapping, signal });
      if (res.status !== 200) {
        this.wo.onLost();
        throw vaultError('unwrapping the wrapping token from stdin', res);
      }
      return (res.body?.auth as Record<string, unknown> | undefined) ?? {};
    } finally {
      wrapping.fill(0);
    }
  }

  protected wipe(): void {}
}
