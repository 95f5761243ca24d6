// The `vault-transit` backend: the KEK is a Transit key in Vault, OpenBao or `coffer keyserver`; DEKs are wrapped with
// transit/encrypt and unwrapped with transit/decrypt (Vault's builtin/logical/transit). The KEK never leaves Vault.
//
// key_id = `vault-transit:<namespace/><mount>/<key>:v<latest version>:<creation time of that version>`. It changes
// on `rotate` (new version) and, thanks to the creation time, also when a key is deleted and re-created under the same
// name - so an id is never reused for a different key. Old versions keep decrypting because every Vault ciphertext
// names its version (`vault:vN:`), until an operator raises min_decryption_version.
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { DecryptError, InvalidError, NotFoundError, UnavailableError } from '../../lib/errors.js';
import type { KeyManager, KeyManagerEncryptResult, KeyManagerStatus } from '../key-manager.js';
import type { KeyManagerDeps } from '../key-manager-factory.js';
import type { VaultTransitBackendConfig } from '../plugin-config.js';
import { SecretFile } from '../../lib/secret-file.js';
import { AppRoleAuth, requestWithAuth, StaticTokenAuth, WrappedTokenAuth, type VaultAuth } from '../../lib/vault/vault-auth.js';
import { envelopeData, vaultError, vaultErrorText, VaultHttpClient, type VaultResponse } from '../../lib/vault/vault-http-client.js';

const KEY_ID_PREFIX = 'vault-transit:';
const CIPHERTEXT = /^vault:v(\d+):[A-Za-z0-9+/]+={0,2}$/;

export function vaultTransitKeyId(keyPath: string, version: number, created: number | undefined): string {
  return `${KEY_ID_PREFIX}${keyPath}:v${version}${created === undefined ? '' : `:${created}`}`;
}

export function parseVaultTransitKeyId(keyId: string): { keyPath: string; version: number; created?: number } | undefined {
  const m = /^vault-transit:(.+):v(\d{1,15})(?::(\d{1,15}))?$/.exec(keyId);
  if (!m) return undefined;
  return { keyPath: m[1]!, version: Number(m[2]), ...(m[3] ? { created: Number(m[3]) } : {}) };
}

export class VaultTransitKeyManager implements KeyManager {
  readonly name = 'vault-transit';
  /** `<namespace/>mount/key`: what the key id names. */
  readonly keyPath: string;
  /** Version → creation time (unix seconds) from the last key read; ids are built from it. */
  private readonly created = new Map<number, number | undefined>();
  /** The last key id given to decrypt and its parse (a pure function of the text). */
  private lastKeyId: { text: string; id: ReturnType<typeof parseVaultTransitKeyId> } | undefined;

  constructor(
    private readonly client: VaultHttpClient,
    private readonly auth: VaultAuth,
    private readonly cfg: Pick<VaultTransitBackendConfig, 'namespace' | 'transitMount' | 'key'>,
    private readonly logger: Logger,
  ) {
    this.keyPath = `${cfg.namespace ? `${cfg.namespace}/` : ''}${cfg.transitMount}/${cfg.key}`;
  }

  private get where(): string {
    return `transit key ${this.cfg.transitMount}/${this.cfg.key} at ${this.client.address}`;
  }

  private call(method: 'GET' | 'PUT', path: string, body: unknown, signal: AbortSignal): Promise<VaultResponse> {
    return requestWithAuth(this.client, this.auth, method, path, { body, signal });
  }

  /** Reads the key's versions; returns the latest. */
  private async readKey(signal: AbortSignal): Promise<number> {
    const what = `reading ${this.where}`;
    const res = await this.call('GET', `${this.cfg.transitMount}/keys/${this.cfg.key}`, undefined, signal);
    if (res.status === 404) throw new UnavailableError(`${what}: the key does not exist (create it: vault write -f ${this.cfg.transitMount}/keys/${this.cfg.key})`);
    if (res.status !== 200) throw vaultError(what, res);
    const data = envelopeData(what, res);
    const latest = data.latest_version;
    if (typeof latest !== 'number' || !Number.isInteger(latest) || latest < 1) {
      throw new UnavailableError(`${what}: latest_version is not a positive integer`);
    }
    if (data.supports_encryption === false) throw new UnavailableError(`${what}: key type ${String(data.type)} cannot encrypt`);
    const keys = data.keys && typeof data.keys === 'object' ? (data.keys as Record<string, unknown>) : {};
    for (const [v, t] of Object.entries(keys)) {
      if (/^\d+$/.test(v)) this.created.set(Number(v), typeof t === 'number' ? t : undefined);
    }
    if (!this.created.has(latest)) this.created.set(latest, undefined);
    return latest;
  }

  private keyIdOf(version: number): string {
    return vaultTransitKeyId(this.keyPath, version, this.created.get(version));
  }

  private async encryptRaw(plaintext: Uint8Array, signal: AbortSignal): Promise<{ ciphertext: string; version: number }> {
    const what = `encrypting with ${this.where}`;
    const res = await this.call('PUT', `${this.cfg.transitMount}/encrypt/${this.cfg.key}`, { plaintext: Buffer.from(plaintext).toString('base64') }, signal);
    if (res.status !== 200) throw vaultError(what, res);
    const data = envelopeData(what, res);
    const ciphertext = data.ciphertext;
    const m = typeof ciphertext === 'string' ? CIPHERTEXT.exec(ciphertext) : null;
    if (!m) throw new UnavailableError(`${what}: response has no vault:vN: ciphertext`);
    const version = typeof data.key_version === 'number' ? data.key_version : Number(m[1]);
    return { ciphertext: ciphertext as string, version };
  }

  private async decryptRaw(ciphertext: string, signal: AbortSignal): Promise<Buffer> {
    const what = `decrypting with ${this.where}`;
    const res = await this.call('PUT', `${this.cfg.transitMount}/decrypt/${this.cfg.key}`, { ciphertext }, signal);
    // 400 is Vault's verdict on the ciphertext itself: tampered, too old for min_decryption_version, unparsable.
    if (res.status === 400) throw new DecryptError(`${what}: Vault refused the ciphertext: ${vaultErrorText(res.body)}`);
    if (res.status !== 200) throw vaultError(what, res);
    const plaintext = envelopeData(what, res).plaintext;
    if (typeof plaintext !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(plaintext)) {
      throw new UnavailableError(`${what}: response has no base64 plaintext`);
    }
    return Buffer.from(plaintext, 'base64');
  }

  async status(opts: { signal: AbortSignal }): Promise<KeyManagerStatus> {
    const latest = await this.readKey(opts.signal);
    const keyId = this.keyIdOf(latest);
    // Reading the key proves little (a token may read but not encrypt); a real round trip proves the DEK path works.
    const probe = randomBytes(32);
    try {
      const wrapped = await this.encryptRaw(probe, opts.signal);
      const back = await this.decryptRaw(wrapped.ciphertext, opts.signal);
      if (!back.equals(probe)) return { healthy: false, keyId, reason: `${this.where}: encrypt/decrypt round trip returned other bytes` };
      return { healthy: true, keyId };
    } catch (e) {
      return { healthy: false, keyId, reason: `${(e as Error).message}` };
    } finally {
      probe.fill(0);
    }
  }

  async encrypt(plaintext: Uint8Array, opts: { signal: AbortSignal }): Promise<KeyManagerEncryptResult> {
    const { ciphertext, version } = await this.encryptRaw(plaintext, opts.signal);
    if (!this.created.has(version)) await this.readKey(opts.signal); // a rotation since the last read: learn its time
    return { ciphertext: Buffer.from(ciphertext, 'latin1'), keyId: this.keyIdOf(version) };
  }

  async decrypt(
    ciphertext: Uint8Array,
    opts: { keyId: string; annotations: Record<string, Uint8Array>; signal: AbortSignal },
  ): Promise<Uint8Array> {
    if (Object.keys(opts.annotations).length > 0) {
      throw new InvalidError(`the vault-transit backend writes no annotations, got ${Object.keys(opts.annotations).map((k) => JSON.stringify(k)).join(', ')}`);
    }
    // Every DEK of one seed carries the same key id: its parse (a backtracking regex) is kept for the last one seen.
    if (opts.keyId !== this.lastKeyId?.text) this.lastKeyId = { text: opts.keyId, id: parseVaultTransitKeyId(opts.keyId) };
    const id = this.lastKeyId.id;
    if (!id) throw new NotFoundError(`key id ${JSON.stringify(opts.keyId)} is not a vault-transit key id`);
    if (id.keyPath !== this.keyPath) {
      throw new NotFoundError(`key id names transit key ${JSON.stringify(id.keyPath)}, but this plugin uses ${JSON.stringify(this.keyPath)}`);
    }
    const text = Buffer.from(ciphertext).toString('latin1');
    const m = CIPHERTEXT.exec(text);
    // Strict base64 (padded to a multiple of 4), as Vault decodes it: lenient decoders silently drop a damaged tail.
    // Canonical too: Vault only writes canonical base64, and its decoder (like Node's) ignores the unused low bits of
    // the last character, so a ciphertext with those bits changed would otherwise still decrypt.
    const b64 = m ? text.slice(text.indexOf(':', 7) + 1) : '';
    if (!m || b64.length % 4 !== 0 || Buffer.from(b64, 'base64').toString('base64') !== b64) throw new DecryptError(`ciphertext (${ciphertext.length} bytes) is not a Vault transit ciphertext (vault:vN:<base64>)`);
    const version = Number(m[1]);
    if (version !== id.version) {
      throw new InvalidError(`ciphertext was made by key version ${version} but key id says version ${id.version}`);
    }
    if (id.created !== undefined) {
      if (!this.created.has(version)) await this.readKey(opts.signal);
      const created = this.created.get(version);
      if (created !== undefined && created !== id.created) {
        throw new NotFoundError(
          `version ${version} of ${this.keyPath} was created at ${created}, but key id says ${id.created}: the key was deleted and re-created, the old key is gone`,
        );
      }
    }
    return this.decryptRaw(text, opts.signal);
  }

  async close(): Promise<void> {
    await this.auth.close();
    this.client.close();
    this.logger.debug({ backend: this.name }, 'vault-transit backend closed');
  }
}

export async function createVaultTransitKeyManager(config: VaultTransitBackendConfig, deps: KeyManagerDeps): Promise<VaultTransitKeyManager> {
  let ca: Buffer | undefined;
  if (config.caFile) {
    try {
      ca = await readFile(config.caFile);
    } catch (e) {
      throw new InvalidError(`cannot read CA file ${config.caFile}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`, { field: 'caFile', cause: e });
    }
  }
  const timeoutMs = deps.timeoutMs ?? 10_000;
  const client = new VaultHttpClient({ address: config.address, ...(config.namespace ? { namespace: config.namespace } : {}), ...(ca ? { ca } : {}), timeoutMs });
  const logger = deps.logger.child({ backend: 'vault-transit' });
  const common = { client, clock: deps.clock, logger, timeoutMs };
  const onLost =
    deps.onCredentialLost ??
    (() => {
      logger.fatal('the Vault token handed over on stdin is gone and cannot be renewed or replaced; exiting for a restart with a fresh one');
      process.exit(75); // EX_TEMPFAIL: not a clean exit, so `coffer up`'s supervisor restarts the plugin
    });
  const auth: VaultAuth =
    config.auth.type === 'token'
      ? // The file is looked at again each second (and at once after a 403): a stat per DEK operation would be a
        // thread-pool round trip, and a second follows a rotated file just as well.
        new StaticTokenAuth(new SecretFile(config.auth.tokenFile, 'auth.tokenFile'), { ...common, what: 'auth.tokenFile', recheckMs: 1000 })
      : config.auth.type === 'approle'
        ? new AppRoleAuth({
            ...common,
            mount: config.auth.mount,
            roleId: new SecretFile(config.auth.roleIdFile, 'auth.roleIdFile'),
            secretId: new SecretFile(config.auth.secretIdFile, 'auth.secretIdFile'),
          })
        : new WrappedTokenAuth({ ...common, input: deps.stdin ?? process.stdin, onLost });
  logger.info(
    { address: config.address, namespace: config.namespace, transitMount: config.transitMount, key: config.key, auth: config.auth.type },
    'vault-transit backend configured',
  );
  return new VaultTransitKeyManager(client, auth, config, logger);
}
