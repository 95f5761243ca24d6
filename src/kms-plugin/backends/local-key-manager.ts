// The `local` backend: the KEK is a 32-byte file on the plugin's own disk. Development and demos only - whoever copies
// that disk together with etcd has everything, which is the very attack a KMS exists to stop. It says so loudly at start.
//
// Several key files (current first) make rotation visible: new DEKs are wrapped by the first, and a DEK wrapped by an
// older key still unwraps as long as its file stays listed. Each key's id is a hash of the key, so a different key can
// never reuse an id and kube-apiserver notices a rotation through Status.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { DecryptError, InvalidError, NotFoundError } from '../../lib/errors.js';
import { keyIdHash } from '../../kms/kms-v2-encrypted-object.js';
import type { KeyManager, KeyManagerEncryptResult, KeyManagerStatus } from '../key-manager.js';
import type { KeyManagerDeps } from '../key-manager-factory.js';
import type { LocalBackendConfig } from '../plugin-config.js';

const KEY_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
// Domain separation: the id is public (stored next to every Secret); a bare sha256(key) would be a reusable hash of
// secret material.
const KEY_ID_DOMAIN = 'coffer local KEK id\0';

/** `local:sha256:<16 hex>` of the key, domain-separated. 64 bits tell keys apart; they are not a security boundary. */
export function localKeyId(key: Uint8Array): string {
  return `local:sha256:${createHash('sha256').update(KEY_ID_DOMAIN).update(key).digest('hex').slice(0, 16)}`;
}

/** A KEK file holds 32 raw bytes or their base64 (whitespace around it ignored). */
export async function readLocalKeyFile(path: string, field: string): Promise<Buffer> {
  let raw: Buffer;
  try {
    raw = await readFile(path);
  } catch (e) {
    throw new InvalidError(`cannot read key file ${path}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`, { field, cause: e });
  }
  try {
    if (raw.length === KEY_BYTES) return raw;
    const text = raw.toString('latin1').trim();
    if (/^[A-Za-z0-9+/]{43}=$/.test(text)) return Buffer.from(text, 'base64');
    throw new InvalidError(
      `key file ${path} must hold 32 bytes, raw or base64 (e.g. \`head -c 32 /dev/urandom | base64\`); it holds ${raw.length} bytes that are neither`,
      { field },
    );
  } finally {
    if (raw.length !== KEY_BYTES) raw.fill(0);
  }
}

export class LocalKeyManager implements KeyManager {
  readonly name = 'local';
  private readonly keys: Map<string, Buffer>;
  private readonly currentKeyId: string;

  /** keys: current first. */
  constructor(keys: Buffer[]) {
    if (keys.length === 0) throw new InvalidError('local backend needs at least one key');
    this.keys = new Map();
    for (const k of keys) {
      if (k.length !== KEY_BYTES) throw new InvalidError(`a local KEK must be ${KEY_BYTES} bytes, got ${k.length}`);
      const id = localKeyId(k);
      if (this.keys.has(id)) throw new InvalidError(`the same key is listed twice (key id ${id})`);
      this.keys.set(id, Buffer.from(k));
    }
    this.currentKeyId = localKeyId(keys[0]!);
  }

  get keyIds(): string[] {
    return [...this.keys.keys()];
  }

  // The work is local and quick, but a caller that already gave up (the adapter's deadline) gets no answer, as from
  // every other backend.
  async status(opts?: { signal: AbortSignal }): Promise<KeyManagerStatus> {
    opts?.signal.throwIfAborted();
    if (!this.keys.has(this.currentKeyId)) return { healthy: false, keyId: this.currentKeyId, reason: 'local backend is closed' };
    return { healthy: true, keyId: this.currentKeyId };
  }

  async encrypt(plaintext: Uint8Array, opts?: { signal: AbortSignal }): Promise<KeyManagerEncryptResult> {
    opts?.signal.throwIfAborted();
    const key = this.keys.get(this.currentKeyId);
    if (!key) throw new InvalidError('local backend is closed');
    const nonce = randomBytes(NONCE_BYTES);
    // The key id is authenticated data: a ciphertext presented with another key's id fails instead of being tried.
    const cipher = createCipheriv('aes-256-gcm', key, nonce).setAAD(Buffer.from(this.currentKeyId));
    const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return { ciphertext: Buffer.concat([nonce, body, cipher.getAuthTag()]), keyId: this.currentKeyId };
  }

  async decrypt(ciphertext: Uint8Array, opts: { keyId: string; annotations: Record<string, Uint8Array>; signal?: AbortSignal }): Promise<Uint8Array> {
    opts.signal?.throwIfAborted();
    const extra = Object.keys(opts.annotations);
    if (extra.length > 0) {
      throw new InvalidError(`the local backend writes no annotations, got ${extra.length} (${extra.map((k) => JSON.stringify(k)).join(', ')})`);
    }
    const key = this.keys.get(opts.keyId);
    if (!key) {
      throw new NotFoundError(
        `no local key file holds key id ${JSON.stringify(opts.keyId)} (loaded: ${this.keyIds.join(', ')}); was an old key file removed from keyFiles?`,
      );
    }
    if (ciphertext.length < NONCE_BYTES + TAG_BYTES) {
      throw new DecryptError(`ciphertext is ${ciphertext.length} bytes, shorter than nonce and tag (${NONCE_BYTES + TAG_BYTES})`);
    }
    const ct = Buffer.from(ciphertext);
    const decipher = createDecipheriv('aes-256-gcm', key, ct.subarray(0, NONCE_BYTES)).setAAD(Buffer.from(opts.keyId));
    decipher.setAuthTag(ct.subarray(ct.length - TAG_BYTES));
    try {
      return Buffer.concat([decipher.update(ct.subarray(NONCE_BYTES, ct.length - TAG_BYTES)), decipher.final()]);
    } catch (e) {
      throw new DecryptError(`ciphertext does not authenticate under key ${opts.keyId} (corrupted or not wrapped by it)`, { cause: e });
    }
  }

  async close(): Promise<void> {
    for (const k of this.keys.values()) k.fill(0);
    this.keys.clear();
  }
}

export async function createLocalKeyManager(config: LocalBackendConfig, deps: KeyManagerDeps): Promise<LocalKeyManager> {
  const keys: Buffer[] = [];
  try {
    for (const [i, file] of config.keyFiles.entries()) keys.push(await readLocalKeyFile(file, `keyFiles[${i}]`));
    const km = new LocalKeyManager(keys);
    deps.logger.warn(
      { backend: 'local', keyFiles: config.keyFiles, keyIds: km.keyIds.map(keyIdHash) },
      'DEVELOPMENT ONLY: the local backend keeps the KEK in a file on this machine; anyone who copies this disk and the datastore can decrypt every Secret. Use vault-transit, pkcs11 or multi in production.',
    );
    return km;
  } finally {
    for (const k of keys) k.fill(0);
  }
}
