// Transit's named keys ("policies" in Vault's code): versions, minimum decryption/encryption versions, rotation.
// Each version's key material is its own sealed storage entry, opened once and then kept in memory by the storage (as
// Vault's transit keeps its keys in its policy cache); each operation works on a copy that it zero-fills.
import { randomBytes } from 'node:crypto';
import type { Clock } from '../lib/clock.js';
import { isKeyType, keyBytes, KEY_TYPES, type KeyType } from './transit-cipher.js';
import type { SealedStorage } from './sealed-storage.js';
import { badRequest } from './vault-error.js';

export interface TransitKey {
  name: string;
  type: KeyType;
  derived: boolean;
  exportable: boolean;
  allowPlaintextBackup: boolean;
  deletionAllowed: boolean;
  latestVersion: number;
  minDecryptionVersion: number;
  minEncryptionVersion: number;
  minAvailableVersion: number;
  autoRotatePeriod: number;
  /** version → creation time, unix seconds */
  versions: Record<string, number>;
}

/** Vault's key name rule `\w(([\w-.]+)?\w)?`; other names are not routed (404 unsupported path). */
export const KEY_NAME = '(\\w(?:[\\w.-]*\\w)?)';

export interface KeyConfigChange {
  minDecryptionVersion?: number;
  minEncryptionVersion?: number;
  deletionAllowed?: boolean;
  exportable?: boolean;
  allowPlaintextBackup?: boolean;
  autoRotatePeriod?: number;
}

export class TransitKeyring {
  constructor(
    private readonly storage: SealedStorage,
    private readonly clock: Clock,
  ) {}

  /** The key's metadata as stored: frozen and shared by every caller, so read it only (see `copy`). */
  get(name: string): Readonly<TransitKey> | undefined {
    return this.storage.getMetadataJson<TransitKey>(policyPath(name));
  }

  /** A copy of the key's metadata that the caller may change (and then store). */
  private copy(name: string): TransitKey | undefined {
    const key = this.get(name);
    return key && { ...key, versions: { ...key.versions } };
  }

  list(): string[] {
    return this.storage.list('transit/policy/').map((p) => p.slice('transit/policy/'.length));
  }

  create(name: string, o: { type?: string; derived?: boolean; exportable?: boolean; allowPlaintextBackup?: boolean; autoRotatePeriod?: number }): TransitKey {
    const type = o.type ?? 'aes256-gcm96';
    if (!isKeyType(type)) {
      throw badRequest(`unknown key type ${type}; this key server supports ${KEY_TYPES.join(', ')}`);
    }
    checkAutoRotate(o.autoRotatePeriod);
    const key: TransitKey = {
      name,
      type,
      derived: Boolean(o.derived),
      exportable: Boolean(o.exportable),
      allowPlaintextBackup: Boolean(o.allowPlaintextBackup),
      deletionAllowed: false,
      latestVersion: 0,
      minDecryptionVersion: 1,
      minEncryptionVersion: 0,
      minAvailableVersion: 0,
      autoRotatePeriod: o.autoRotatePeriod ?? 0,
      versions: {},
    };
    this.storage.transaction(() => this.addVersion(key));
    return key;
  }

  rotate(name: string): TransitKey {
    const key = this.copy(name);
    if (!key) throw badRequest('key not found');
    this.storage.transaction(() => this.addVersion(key));
    return key;
  }

  /** Applies a config change with Vault's checks and exact messages; returns the key and warnings. */
  configure(name: string, c: KeyConfigChange): { key: TransitKey; warnings: string[] } {
    const key = this.copy(name);
    if (!key) throw badRequest(`no existing key named ${name} could be found`);
    const warnings: string[] = [];
    let minDec = key.minDecryptionVersion;
    let minEnc = key.minEncryptionVersion;
    if (c.minDecryptionVersion !== undefined) {
      if (c.minDecryptionVersion < 0) throw badRequest('min decryption version cannot be negative');
      minDec = c.minDecryptionVersion;
      if (minDec === 0) {
        minDec = 1;
        warnings.push('since Vault 0.3, transit key numbering starts at 1; forcing minimum to 1');
      }
      if (minDec < key.minAvailableVersion) throw badRequest('min decryption version should not be less then min available version');
    }
    if (c.minEncryptionVersion !== undefined) {
      if (c.minEncryptionVersion < 0) throw badRequest('min encryption version cannot be negative');
      minEnc = c.minEncryptionVersion;
      if (minEnc > 0 && minEnc < key.minAvailableVersion) throw badRequest('min encryption version should not be less than min available version');
    }
    if (minDec > key.latestVersion) throw badRequest(`cannot set min decryption version of ${minDec}, latest key version is ${key.latestVersion}`);
    if (minEnc > key.latestVersion) throw badRequest(`cannot set min encryption version of ${minEnc}, latest key version is ${key.latestVersion}`);
    if (minEnc > 0 && minEnc < minDec) {
      throw badRequest(`cannot set min encryption/decryption values; min encryption version of ${minEnc} must be greater than or equal to min decryption version of ${minDec}`);
    }
    checkAutoRotate(c.autoRotatePeriod);
    key.minDecryptionVersion = minDec;
    key.minEncryptionVersion = minEnc;
    if (c.deletionAllowed !== undefined) key.deletionAllowed = c.deletionAllowed;
    // exportable and allow_plaintext_backup are one-way switches in Vault.
    if (c.exportable !== undefined) {
      if (!c.exportable && key.exportable) throw badRequest('export key cannot be disabled once enabled');
      key.exportable = c.exportable;
    }
    if (c.allowPlaintextBackup !== undefined) {
      if (!c.allowPlaintextBackup && key.allowPlaintextBackup) throw badRequest('allow_plaintext_backup cannot be disabled once enabled');
      key.allowPlaintextBackup = c.allowPlaintextBackup;
    }
    if (c.autoRotatePeriod !== undefined) key.autoRotatePeriod = c.autoRotatePeriod;
    this.storage.putJson(policyPath(name), key);
    return { key, warnings };
  }

  delete(name: string): void {
    const key = this.get(name);
    if (!key) throw badRequest(`error deleting policy ${name}: could not delete key; not found`);
    if (!key.deletionAllowed) throw badRequest(`error deleting policy ${name}: deletion is not allowed for this key`);
    this.storage.transaction(() => {
      for (const p of this.storage.list(`transit/material/${name}/`)) this.storage.delete(p);
      this.storage.delete(policyPath(name));
    });
  }

  /** A copy of the raw key of one version; the caller zero-fills it after use. */
  material(key: TransitKey, version: number): Buffer {
    const bytes = this.storage.getKey(materialPath(key.name, version));
    if (!bytes) throw badRequest(`key ${key.name} has no version ${version}`);
    return bytes;
  }

  /** Rotates every key whose auto_rotate_period has passed since its latest version; returns their names. */
  rotateDue(): string[] {
    const nowSeconds = Math.floor(this.clock.now() / 1000);
    const rotated: string[] = [];
    for (const name of this.list()) {
      const key = this.copy(name);
      if (!key || key.autoRotatePeriod <= 0) continue;
      if (nowSeconds - (key.versions[String(key.latestVersion)] ?? 0) >= key.autoRotatePeriod) {
        this.storage.transaction(() => this.addVersion(key));
        rotated.push(name);
      }
    }
    return rotated;
  }

  private addVersion(key: TransitKey): void {
    const version = key.latestVersion + 1;
    const material = randomBytes(keyBytes(key.type));
    try {
      this.storage.put(materialPath(key.name, version), material);
    } finally {
      material.fill(0);
    }
    key.latestVersion = version;
    key.versions[String(version)] = Math.floor(this.clock.now() / 1000);
    this.storage.putJson(policyPath(key.name), key);
  }
}

/**
 * The object Vault returns for a key (path_keys.go formatKeyPolicy): never key material, only version creation times,
 * and only for versions that can still decrypt (below min_decryption_version they are hidden, as Vault does).
 */
export function describeKey(key: TransitKey): Record<string, unknown> {
  const keys: Record<string, number> = {};
  const lowest = Math.max(key.minAvailableVersion, key.minDecryptionVersion);
  for (const [v, t] of Object.entries(key.versions)) if (Number(v) >= lowest) keys[v] = t;
  return {
    name: key.name,
    type: key.type,
    keys,
    latest_version: key.latestVersion,
    min_available_version: key.minAvailableVersion,
    min_decryption_version: key.minDecryptionVersion,
    min_encryption_version: key.minEncryptionVersion,
    deletion_allowed: key.deletionAllowed,
    derived: key.derived,
    ...(key.derived ? { kdf: 'hkdf_sha256', convergent_encryption: false } : {}),
    exportable: key.exportable,
    allow_plaintext_backup: key.allowPlaintextBackup,
    supports_encryption: true,
    supports_decryption: true,
    supports_derivation: true,
    supports_signing: false,
    auto_rotate_period: key.autoRotatePeriod,
    imported_key: false,
  };
}

function checkAutoRotate(seconds: number | undefined): void {
  if (seconds !== undefined && seconds !== 0 && (seconds < 3600 || seconds < 0)) {
    throw badRequest('auto rotate period must be 0 to disable or at least an hour');
  }
}

function policyPath(name: string): string {
  return `transit/policy/${name}`;
}

function materialPath(name: string, version: number): string {
  return `transit/material/${name}/${version}`;
}
