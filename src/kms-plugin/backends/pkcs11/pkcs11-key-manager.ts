// The `pkcs11` key manager: the KEK is an AES-256 key inside a PKCS#11 token (an HSM; SoftHSM in tests) and never
// leaves it; Encrypt and Decrypt are token operations. The current key version is re-read on every status() (the
// API server polls Status about once a minute), so a rotation made by `rotatePkcs11Key` in another process shows up
// as a new key_id at the next poll, and Encrypt keeps returning the key_id that Status last reported, as KMS v2
// expects. Logs carry key ids as `sha256:<hex>`, like kube-apiserver's.
import { stat } from 'node:fs/promises';
import type { Logger } from 'pino';
import { keyIdHash } from '../../../kms/kms-v2-encrypted-object.js';
import { DecryptError, EncryptError, InvalidError, NotFoundError, UnavailableError } from '../../../lib/errors.js';
import type {
  KeyManager,
  KeyManagerCallOptions,
  KeyManagerEncryptResult,
  KeyManagerStatus,
} from '../../key-manager.js';
import { chooseAlgorithm, decryptWithKey, encryptWithKey } from './aes-mechanisms.js';
import {
  formatKeyId,
  generateKeyVersion,
  listKeyVersions,
  parseKeyId,
  type KeyAlgorithm,
  type KeyVersion,
} from './key-versions.js';
import { parsePkcs11Config, type ParsePkcs11ConfigOptions, type Pkcs11Config } from './pkcs11-config.js';
import { describePkcs11Error, Pkcs11Module } from './pkcs11-module.js';
import { TokenSession, type OpenSession } from './token-session.js';

export interface Pkcs11Deps extends ParsePkcs11ConfigOptions {
  logger?: Logger;
}

// status() wraps and unwraps this with the current key: a real use of the key, not just a look at the session.
const PROBE = Buffer.alloc(32, 0x5a);

interface CurrentKey {
  key: KeyVersion;
  keyId: string;
}

class Pkcs11KeyManager implements KeyManager {
  readonly name = 'pkcs11';
  private current: CurrentKey;
  /** The family's versions as last listed, valid only for the session epoch they were listed in. */
  private versions: { epoch: number; list: KeyVersion[] };
  private closed = false;

  constructor(
    private readonly config: Pkcs11Config,
    private readonly module: Pkcs11Module,
    private readonly session: TokenSession,
    private readonly algorithm: KeyAlgorithm,
    first: { epoch: number; list: KeyVersion[] },
    private readonly logger?: Logger,
  ) {
    this.versions = first;
    this.current = this.currentOf(first.list);
  }

  async status({ signal }: { signal: AbortSignal }): Promise<KeyManagerStatus> {
    try {
      signal.throwIfAborted();
      this.assertOpen();
      await this.session.use((s) => {
        const list = this.refresh(s);
        const next = this.currentOf(list);
        if (next.keyId !== this.current.keyId) {
          this.logger?.info({ keyLabel: next.key.label, keyId: keyIdHash(next.keyId) }, 'pkcs11 current KEK version changed');
          this.current = next;
        }
        const sealed = encryptWithKey(s, next.key.handle, this.algorithm, PROBE, Buffer.from(next.keyId));
        const opened = decryptWithKey(s, next.key.handle, this.algorithm, sealed, Buffer.from(next.keyId));
        if (!opened.equals(PROBE)) throw new UnavailableError('the probe value did not survive encrypt and decrypt');
      });
      return { healthy: true, keyId: this.current.keyId };
    } catch (e) {
      const reason = e instanceof Error ? e.message : String(e);
      return { healthy: false, keyId: this.current.keyId, reason: `${this.session.where}: ${reason}` };
    }
  }

  async encrypt(plaintext: Uint8Array, opts: KeyManagerCallOptions): Promise<KeyManagerEncryptResult> {
    opts.signal.throwIfAborted();
    this.assertOpen();
    const { keyId, key } = this.current;
    try {
      const ciphertext = await this.session.use((s) => {
        const handle = this.handleOf(s, key.version, key.fingerprint);
        if (!handle) throw new EncryptError(`key ${JSON.stringify(key.label)} is no longer on ${this.session.where}`);
        return encryptWithKey(s, handle, this.algorithm, plaintext, Buffer.from(keyId));
      });
      return { ciphertext, keyId };
    } catch (e) {
      if (e instanceof EncryptError || e instanceof UnavailableError) throw e;
      throw new EncryptError(`cannot encrypt with ${keyId} on ${this.session.where}: ${describePkcs11Error(e)}`, { cause: e });
    }
  }

  async decrypt(
    ciphertext: Uint8Array,
    opts: KeyManagerCallOptions & { keyId: string; annotations: Record<string, Uint8Array> },
  ): Promise<Uint8Array> {
    opts.signal.throwIfAborted();
    this.assertOpen();
    const { keyId } = opts;
    const parsed = parseKeyId(keyId);
    if (!parsed) {
      throw new DecryptError(
        `key_id ${JSON.stringify(keyId)} is not a pkcs11 key id (pkcs11:<keyLabel>:v<N>:<algorithm>:<fingerprint>)`,
      );
    }
    // Only this family's keys: a key_id comes from the datastore, and must not turn other keys on a shared token
    // into a decryption service.
    if (parsed.family !== this.config.keyLabel) {
      throw new DecryptError(
        `key_id ${JSON.stringify(keyId)} names key family ${JSON.stringify(parsed.family)}, but this plugin uses ` +
          `keyLabel ${JSON.stringify(this.config.keyLabel)}`,
      );
    }
    try {
      return await this.session.use((s) => {
        const handle = this.handleOf(s, parsed.version, parsed.fingerprint);
        if (!handle) {
          throw new DecryptError(
            `key_id ${JSON.stringify(keyId)}: no key version ${parsed.version} with that fingerprint on ` +
              `${this.session.where} (deleted, or replaced by another key with the same label)`,
          );
        }
        return decryptWithKey(s, handle, parsed.algorithm, ciphertext, Buffer.from(keyId));
      });
    } catch (e) {
      if (e instanceof DecryptError || e instanceof UnavailableError) throw e;
      throw new DecryptError(`cannot decrypt with ${keyId} on ${this.session.where}: ${describePkcs11Error(e)}`, {
        cause: e,
      });
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.session.drop();
    this.module.release();
  }

  private assertOpen(): void {
    if (this.closed) throw new UnavailableError('the pkcs11 key manager is closed');
  }

  private refresh(s: OpenSession): KeyVersion[] {
    this.versions = { epoch: s.epoch, list: listKeyVersions(s, this.config.keyLabel) };
    return this.versions.list;
  }

  /** The object handle of a version, listing the family again when the cache is stale or lacks it (a rotation
   * by another process). */
  private handleOf(s: OpenSession, version: number, fingerprint: string): Buffer | undefined {
    const find = (list: KeyVersion[]) => list.find((k) => k.version === version && k.fingerprint === fingerprint);
    const cached = this.versions.epoch === s.epoch ? find(this.versions.list) : undefined;
    return (cached ?? find(this.refresh(s)))?.handle;
  }

  private currentOf(list: KeyVersion[]): CurrentKey {
    const key = list.at(-1);
    if (!key) {
      throw new NotFoundError(`no key labelled ${JSON.stringify(this.config.keyLabel)} or "${this.config.keyLabel}:v<N>"`);
    }
    return { key, keyId: formatKeyId(key, this.algorithm) };
  }
}

async function warnIfPinFileIsOpen(pinFile: string, logger?: Logger): Promise<void> {
  try {
    const st = await stat(pinFile);
    if ((st.mode & 0o077) !== 0) {
      logger?.warn({ pinFile, mode: (st.mode & 0o777).toString(8) }, 'pkcs11 pinFile is readable by group or others');
    }
  } catch {
    // A missing file is reported by the login, with the path.
  }
}

interface Opened {
  config: Pkcs11Config;
  module: Pkcs11Module;
  session: TokenSession;
  algorithm: KeyAlgorithm;
}

async function openToken(config: unknown, deps: Pkcs11Deps): Promise<Opened> {
  const parsed = parsePkcs11Config(config, deps);
  await warnIfPinFileIsOpen(parsed.pinFile, deps.logger);
  const module = Pkcs11Module.acquire(parsed.module);
  const session = new TokenSession(module, parsed.token, parsed.pinFile, deps.logger);
  try {
    const choice = await session.use((s) => chooseAlgorithm(parsed.mechanism, s));
    if ('unavailable' in choice) {
      const field = deps.field ? `${deps.field}.mechanism` : 'mechanism';
      throw new InvalidError(`${parsed.mechanism} is not available on ${session.where}: ${choice.unavailable}`, { field });
    }
    return { config: parsed, module, session, algorithm: choice.algorithm };
  } catch (e) {
    session.drop();
    module.release();
    throw e;
  }
}

/**
 * Validates `config` (the backend's mapping; see pkcs11-config.ts), logs in to the token and finds the current KEK
 * version, creating version 1 when none exists and `generateKey` is true.
 */
export async function createPkcs11KeyManager(config: unknown, deps: Pkcs11Deps = {}): Promise<KeyManager> {
  const logger = deps.logger?.child({ backend: 'pkcs11' });
  const { config: parsed, module, session, algorithm } = await openToken(config, { ...deps, logger });
  try {
    const first = await session.use((s) => {
      let list = listKeyVersions(s, parsed.keyLabel);
      if (list.length === 0 && parsed.generateKey) {
        const key = generateKeyVersion(s, parsed.keyLabel, 1);
        logger?.info({ keyLabel: key.label, keyId: keyIdHash(formatKeyId(key, algorithm)) }, 'pkcs11 KEK generated in the token');
        list = [key];
      }
      if (list.length === 0) {
        throw new NotFoundError(
          `${session.where}: no AES key labelled ${JSON.stringify(parsed.keyLabel)} or "${parsed.keyLabel}:v<N>"; ` +
            'create one or set generateKey: true',
        );
      }
      return { epoch: s.epoch, list };
    });
    const manager = new Pkcs11KeyManager(parsed, module, session, algorithm, first, logger);
    // A key that exists but cannot be used (e.g. made without CKA_ENCRYPT) fails here, at start, not at first use.
    const { healthy, keyId, reason } = await manager.status({ signal: AbortSignal.timeout(30_000) });
    if (!healthy) throw new UnavailableError(reason ?? 'the first status probe failed');
    logger?.info({ keyId: keyIdHash(keyId), token: session.where }, 'pkcs11 key manager ready');
    return manager;
  } catch (e) {
    session.drop();
    module.release();
    throw e;
  }
}

/**
 * Creates the next version of the KEK family in the token and returns its key_id. Running plugins switch to it at
 * their next status(); older versions stay on the token and keep decrypting. Delete an old version only after
 * every object was re-encrypted (storage migration), or what it protects is lost.
 */
export async function rotatePkcs11Key(config: unknown, deps: Pkcs11Deps = {}): Promise<{ keyId: string; label: string }> {
  const { config: parsed, module, session, algorithm } = await openToken(config, deps);
  try {
    return await session.use((s) => {
      const list = listKeyVersions(s, parsed.keyLabel);
      const next = (list.at(-1)?.version ?? 0) + 1;
      const key = generateKeyVersion(s, parsed.keyLabel, next);
      const keyId = formatKeyId(key, algorithm);
      deps.logger?.info({ keyLabel: key.label, keyId: keyIdHash(keyId) }, 'pkcs11 KEK rotated');
      return { keyId, label: key.label };
    });
  } finally {
    session.drop();
    module.release();
  }
}
