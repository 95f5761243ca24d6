// The one way Coffer's Vault clients get and keep a Vault token: the KMS plugin's vault-transit backend (credentials in
// files) and the External Secrets vault provider (credentials in Kubernetes Secrets) both build one of these, with
// Vault's own semantics (vault api lifetime_watcher.go, vault-kubernetes-kms, external-secrets pkg/provider/vault):
// - static token: read from its source, used until `recheckMs` has passed (or at once after a 403), so whatever rotates
//   it (vault-agent, a mounted or referenced Secret) is followed; a renewable (e.g. periodic) token is looked up every
//   TOKEN_CHECK_INTERVAL_MS and renewed once less than half of its TTL is left; root tokens are left alone;
// - approle: log in with role_id and secret_id, renew the token with renew-self at two thirds of its lease, and log in
//   again when renewal is refused, the token is not renewable, or Vault rejects it;
// - wrapped-token: a single-use response-wrapping token arrives on stdin (from `coffer up`'s supervisor, minted at each
//   start); it is unwrapped once, and the token inside lives only in this process's memory, renewed like AppRole's.
//   Nothing reusable is ever on disk; when the token is lost the plugin cannot log in again, so it says so and exits
//   for its supervisor to start it with a fresh credential.
// Concurrent callers share one login (or one read of the source); tokens and credentials never reach a log or error.
// `coffer up`'s stack and the lab provision the key server once with its root token and need none of this.
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import { UnavailableError } from '../errors.js';
import { vaultError, type VaultHttpClient, type VaultRequest, type VaultResponse } from './vault-http-client.js';

export interface VaultAuth {
  /** The token to send; logs in (or reads the source) first when there is none. */
  token(signal: AbortSignal): Promise<Buffer>;
  /** Vault answered 403 to this token: forget it, so the next token() logs in again. */
  rejected(token: Uint8Array): void;
  close(): Promise<void>;
}

/**
 * Where a credential (a token, a role_id, a secret_id) comes from: a file (SecretFile), a key of a Kubernetes Secret.
 * The source owns the bytes it returns and wipes them on wipe() (or when it reads newer ones).
 */
export interface CredentialSource {
  read(signal: AbortSignal): Promise<Buffer>;
  wipe(): void;
}

/** A credential given inline (an AppRole roleId in a SecretStore's spec). */
export function literalCredential(value: string): CredentialSource {
  const bytes = Buffer.from(value, 'utf8');
  return { read: () => Promise.resolve(bytes), wipe: () => bytes.fill(0) };
}

/** How each call the auth makes is seen by its owner (the controller counts provider calls by name); the default runs it. */
export type AuthCallObserver = <T>(call: 'Login' | 'LookupSelf' | 'RenewSelf' | 'RevokeSelf', fn: () => Promise<T>) => Promise<T>;

export interface VaultAuthOptions {
  client: VaultHttpClient;
  clock: Clock;
  logger: Logger;
  /** The deadline of the auth's own background calls (renewal, lookup, revoke). */
  timeoutMs: number;
  /** X-Vault-Namespace of the login and the token's own calls, when it differs from the client's (ESO's auth.namespace). */
  namespace?: string | undefined;
  observe?: AuthCallObserver;
}

const run: AuthCallObserver = (_call, fn) => fn();

/**
 * One request with the auth's token; on 403 the token is dropped and the request sent once more with a fresh one (a
 * rotated token, a new login), as Vault's agent does. The second 403, or the same token again, is the answer.
 */
export async function requestWithAuth(client: VaultHttpClient, auth: VaultAuth, method: string, path: string, req: VaultRequest & { signal: AbortSignal }): Promise<VaultResponse> {
  const token = await auth.token(req.signal);
  const res = await client.request(method, path, { ...req, token });
  if (res.status !== 403) return res;
  auth.rejected(token);
  const again = await auth.token(req.signal);
  if (again.equals(token)) return res;
  return client.request(method, path, { ...req, token: again });
}

/** How often a static token is looked up (and renewed when less than half its TTL is left), as vault-kubernetes-kms does. */
export const TOKEN_CHECK_INTERVAL_MS = 60_000;

export class StaticTokenAuth implements VaultAuth {
  private current: { at: number; token: Promise<Buffer> } | undefined;
  private timer: { cancel(): void } | undefined;
  private closed = false;
  private readonly observe: AuthCallObserver;

  constructor(
    private readonly source: CredentialSource,
    private readonly o: VaultAuthOptions & {
      /** For logs: where the token comes from (`auth.tokenFile`, `auth.tokenSecretRef`). */
      what: string;
      /** How long a token read from the source is used before the source is read again. */
      recheckMs: number;
    },
  ) {
    this.observe = o.observe ?? run;
    this.scheduleCheck();
  }

  token(signal: AbortSignal): Promise<Buffer> {
    if (this.closed) return Promise.reject(new UnavailableError('vault auth is closed'));
    const now = this.o.clock.now();
    if (!this.current || now - this.current.at >= this.o.recheckMs) {
      const read = { at: now, token: this.source.read(signal) };
      read.token.catch(() => {
        if (this.current === read) this.current = undefined; // a failed read is not kept
      });
      this.current = read;
    }
    return this.current.token;
  }

  rejected(): void {
    // Nothing to log in with: whoever owns the source rotates it, and the next read picks up a new one.
    this.current = undefined;
  }

  private scheduleCheck(): void {
    if (this.closed) return;
    this.timer = this.o.clock.setTimeout(() => {
      this.scheduleCheck(); // fixed rate: the next check is due whatever this one's fate
      void this.check();
    }, TOKEN_CHECK_INTERVAL_MS);
  }

  /**
   * A renewable token (e.g. a periodic one) dies when nobody renews it, even though its source still holds it. Renew
   * once less than half of its TTL is left (as vault-kubernetes-kms does); root and other non-expiring tokens are left alone.
   */
  private async check(): Promise<void> {
    const o = this.o;
    try {
      const signal = AbortSignal.timeout(o.timeoutMs);
      const token = await this.token(signal);
      const ns = o.namespace ? { namespace: o.namespace } : {};
      const res = await this.observe('LookupSelf', () => o.client.request('GET', 'auth/token/lookup-self', { token, signal, ...ns }));
      if (res.status !== 200) throw vaultError('token lookup-self', res);
      const data = (res.body?.data ?? {}) as Record<string, unknown>;
      const ttl = typeof data.ttl === 'number' ? data.ttl : 0;
      const creationTtl = typeof data.creation_ttl === 'number' ? data.creation_ttl : 0;
      if (data.renewable !== true || ttl <= 0 || creationTtl <= 0 || ttl >= creationTtl / 2) return;
      const renewed = await this.observe('RenewSelf', () => o.client.request('PUT', 'auth/token/renew-self', { token, body: { increment: creationTtl }, signal, ...ns }));
      if (renewed.status !== 200) throw vaultError('token renew-self', renewed);
      o.logger.info({ ttlSeconds: ttl, incrementSeconds: creationTtl }, `renewed the Vault token from ${o.what}`);
    } catch (e) {
      o.logger.warn({ error: (e as Error).message }, `checking the Vault token from ${o.what} failed`);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.timer?.cancel();
    this.current = undefined;
    this.source.wipe();
  }
}

interface Lease {
  token: Buffer;
  renewable: boolean;
  leaseSeconds: number;
  /** The lease the login gave; renewals are measured against it. */
  firstSeconds: number;
}

const RETRY_LOGIN_MS = 10_000;
/** The longest close() waits to revoke a token. */
const REVOKE_TIMEOUT_MS = 2000;

/** A token obtained by a login of some kind, renewed before its lease ends, obtained again when renewal fails. */
abstract class LeasedAuth implements VaultAuth {
  private lease: Lease | undefined;
  private loggingIn: Promise<Buffer> | undefined;
  private timer: { cancel(): void } | undefined;
  protected closed = false;
  protected readonly client: VaultHttpClient;
  protected readonly observe: AuthCallObserver;
  protected readonly ns: { namespace?: string };

  constructor(protected readonly o: VaultAuthOptions) {
    this.client = o.client;
    this.observe = o.observe ?? run;
    this.ns = o.namespace ? { namespace: o.namespace } : {};
  }

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
    if (this.closed) {
      // Closed while the login was under way: the token it brought back belongs to nobody now.
      const token = Buffer.from(clientToken, 'latin1');
      await this.revoke(token);
      token.fill(0);
      throw new UnavailableError('vault auth is closed');
    }
    this.drop();
    const seconds = typeof auth.lease_duration === 'number' ? auth.lease_duration : 0;
    const lease: Lease = { token: Buffer.from(clientToken, 'latin1'), renewable: auth.renewable === true, leaseSeconds: seconds, firstSeconds: seconds };
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
        const res = await this.observe('RenewSelf', () =>
          this.client.request('PUT', 'auth/token/renew-self', { token: lease.token, body: { increment: lease.leaseSeconds }, signal, ...this.ns }),
        );
        if (res.status !== 200) throw vaultError('token renew-self', res);
        const auth = res.body?.auth as Record<string, unknown> | undefined;
        const seconds = typeof auth?.lease_duration === 'number' ? auth.lease_duration : 0;
        if (this.closed || this.lease !== lease) return;
        // A renewal capped by the token's max TTL comes back shorter; once less than a fifth of the first lease is left
        // (the upper end of the vault api LifetimeWatcher's 10-20 % grace), log in afresh instead.
        if (seconds > lease.firstSeconds / 5) {
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
      // Calls log in on demand anyway; this timer only keeps a token ready for the next call.
      this.timer = this.o.clock.setTimeout(() => {
        if (!this.lease && !this.closed) this.token(AbortSignal.timeout(this.o.timeoutMs)).catch(() => undefined);
      }, RETRY_LOGIN_MS);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const lease = this.lease;
    const loggingIn = this.loggingIn;
    this.timer?.cancel();
    if (lease) await this.revoke(lease.token);
    // A login under way revokes what it brings back (login() sees `closed`); wait for it, as long as a revoke may take.
    if (loggingIn) await Promise.race([loggingIn.catch(() => undefined), new Promise((resolve) => setTimeout(resolve, REVOKE_TIMEOUT_MS).unref())]);
    this.drop();
    this.wipe();
  }

  /** Best effort: a token that outlives its owner is one more thing to steal. */
  private async revoke(token: Buffer): Promise<void> {
    const signal = AbortSignal.timeout(Math.min(this.o.timeoutMs, REVOKE_TIMEOUT_MS));
    await this.observe('RevokeSelf', () => this.client.request('PUT', 'auth/token/revoke-self', { token, signal, ...this.ns })).catch(() => undefined);
  }
}

export class AppRoleAuth extends LeasedAuth {
  protected readonly describe: Record<string, string>;

  constructor(private readonly ao: VaultAuthOptions & { mount: string; roleId: CredentialSource; secretId: CredentialSource }) {
    super(ao);
    this.describe = { auth: 'approle', authMount: ao.mount };
  }

  protected async obtain(signal: AbortSignal): Promise<Record<string, unknown>> {
    const [roleId, secretId] = await Promise.all([this.ao.roleId.read(signal), this.ao.secretId.read(signal)]);
    const path = `auth/${this.ao.mount}/login`;
    const res = await this.observe('Login', () =>
      this.client.request('PUT', path, { body: { role_id: roleId.toString('utf8'), secret_id: secretId.toString('utf8') }, signal, ...this.ns }),
    );
    if (res.status !== 200) throw vaultError(`AppRole login at ${path}`, res);
    return (res.body?.auth as Record<string, unknown> | undefined) ?? {};
  }

  protected wipe(): void {
    this.ao.roleId.wipe();
    this.ao.secretId.wipe();
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

  constructor(private readonly wo: VaultAuthOptions & { input: Readable; onLost: () => void }) {
    super(wo);
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
      const res = await this.observe('Login', () => this.client.request('PUT', 'sys/wrapping/unwrap', { token: wrapping, signal }));
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
