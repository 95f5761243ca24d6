// Transit's HMAC, export and signing endpoints (builtin/logical/transit path_hmac.go, path_export.go,
// path_sign_verify.go). The key types served here are symmetric, so sign/verify-signature and signing-key export
// answer with Vault's 400 texts for a key that cannot, never a 404 that would read as "no such endpoint".
import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import { decodeStrictBase64 } from '../encryption/strict-base64.js';
import { isJsonObject } from './lossless-json.js';
import { has, optInt, optString, type RequestData } from './request-fields.js';
import { batch } from './transit-batch.js';
import { KEY_NAME, type TransitKey, type TransitKeyring } from './transit-keyring.js';
import { badRequest } from './vault-error.js';
import type { Route, VaultResponse } from './vault-request.js';

/** Vault's names (keysutil.HashTypeMap) and Node's digests for them. */
const HASHES: Record<string, string> = {
  'sha2-224': 'sha224',
  'sha2-256': 'sha256',
  'sha2-384': 'sha384',
  'sha2-512': 'sha512',
  'sha3-224': 'sha3-224',
  'sha3-256': 'sha3-256',
  'sha3-384': 'sha3-384',
  'sha3-512': 'sha3-512',
};
const EXPORT_TYPES = ['encryption-key', 'signing-key', 'hmac-key', 'public-key', 'certificate-chain', 'cmac-key'];
const OPT_ALGORITHM = '(?:/([^/]+))?';

/**
 * Vault keeps a separate random HMAC key per version; here it is derived from the version's key (HKDF-SHA256 with a
 * label of its own), so it is stored nowhere else and rotates with the key. HMACs verify on this server, not on Vault.
 */
function hmacKey(keyring: TransitKeyring, key: TransitKey, version: number): Buffer {
  if (version < key.minDecryptionVersion) throw badRequest(`key version disallowed by policy (minimum is ${key.minDecryptionVersion})`);
  if (version > key.latestVersion || version <= 0) throw badRequest('invalid version');
  return deriveHmacKey(keyring, key, version);
}

function deriveHmacKey(keyring: TransitKeyring, key: TransitKey, version: number): Buffer {
  const material = keyring.material(key, version);
  try {
    return Buffer.from(hkdfSync('sha256', material, Buffer.alloc(0), 'coffer transit hmac key', 32));
  } finally {
    material.fill(0);
  }
}

function hashOf(algorithm: string): string {
  const hash = HASHES[algorithm];
  if (!hash) throw badRequest(`unsupported algorithm ${JSON.stringify(algorithm)}`);
  return hash;
}

/** Go's base64.StdEncoding error text: it names an offset, never the value. */
function base64Field(text: string, what: string): Buffer {
  const bytes = decodeStrictBase64(text);
  if (bytes) return bytes;
  const bad = /[^A-Za-z0-9+/=]/.exec(text);
  throw badRequest(`unable to decode ${what} as base64: illegal base64 data at input byte ${bad ? bad.index : Math.max(0, text.length - (text.length % 4 || 4))}`);
}

/** hmac and verify report a failed item with 400, whatever partial_failure_response_code says. */
const NO_PARTIAL_CODE = { partialFailureCode: false };

export function transitHmacExportRoutes(keyring: TransitKeyring): Route[] {
  const mustGet = (name: string, missing = 'encryption key not found'): TransitKey => {
    const key = keyring.get(name);
    if (!key) throw badRequest(missing);
    return key;
  };
  const algorithmOf = (data: RequestData, fromUrl: string | undefined, field = 'algorithm') => fromUrl || optString(data, field) || 'sha2-256';

  const hmac = (data: RequestData, p: readonly string[]): VaultResponse => {
    const key = mustGet(p[0]!);
    let version = optInt(data, 'key_version') ?? 0;
    if (version === 0) version = key.latestVersion;
    else if (version !== key.latestVersion && key.minEncryptionVersion > 0 && version < key.minEncryptionVersion) {
      throw badRequest('cannot generate HMAC: version is too old (disallowed by policy)');
    }
    const k = hmacKey(keyring, key, version);
    const hash = hashOf(algorithmOf(data, p[1]));
    try {
      if (!has(data, 'batch_input') && !has(data, 'input')) throw badRequest('missing input for HMAC');
      return batch(data, (item) => {
        if (!has(item, 'input')) throw badRequest('missing input for HMAC');
        const input = base64Field(optString(item, 'input') ?? '', 'input');
        return { hmac: `vault:v${version}:${createHmac(hash, k).update(input).digest('base64')}` };
      }, {}, NO_PARTIAL_CODE);
    } finally {
      k.fill(0);
    }
  };

  const verifyHmac = (data: RequestData, p: readonly string[]): VaultResponse => {
    const key = mustGet(p[0]!);
    const hash = hashOf(p[1] || optString(data, 'hash_algorithm') || optString(data, 'algorithm') || 'sha2-256');
    return batch(data, (item) => {
      const input = base64Field(optString(item, 'input') ?? '', 'input');
      if (!has(item, 'hmac')) throw badRequest('missing hmac');
      const mac = optString(item, 'hmac') ?? '';
      if (!mac.startsWith('vault:v')) throw badRequest('invalid HMAC to verify: no prefix');
      const rest = mac.slice('vault:v'.length);
      const colon = rest.indexOf(':');
      if (colon < 0) throw badRequest('invalid HMAC: wrong number of fields');
      const versionText = rest.slice(0, colon);
      if (!/^[+-]?\d{1,9}$/.test(versionText)) throw badRequest('invalid HMAC: version number could not be decoded');
      const version = Number(versionText);
      const expected = base64Field(rest.slice(colon + 1), 'verification HMAC');
      if (version > key.latestVersion) throw badRequest('invalid HMAC: version is too new');
      if (key.minDecryptionVersion > 0 && version < key.minDecryptionVersion) throw badRequest('cannot verify HMAC: version is too old (disallowed by policy)');
      const k = hmacKey(keyring, key, version);
      try {
        const actual = createHmac(hash, k).update(input).digest();
        return { valid: actual.length === expected.length && timingSafeEqual(actual, expected) };
      } finally {
        k.fill(0);
      }
    }, { valid: false }, NO_PARTIAL_CODE);
  };

  return [
    { pattern: new RegExp(`^hmac/${KEY_NAME}${OPT_ALGORITHM}$`), handlers: { write: (req, p) => hmac(req.data, p) } },
    {
      pattern: new RegExp(`^sign/${KEY_NAME}${OPT_ALGORITHM}$`),
      handlers: {
        write: (_req, p) => {
          const key = mustGet(p[0]!, 'signing key not found');
          throw badRequest(`key type ${key.type} does not support signing`);
        },
      },
    },
    {
      pattern: new RegExp(`^verify/${KEY_NAME}${OPT_ALGORITHM}$`),
      handlers: {
        write: (req, p) => {
          if (has(req.data, 'hmac') || (Array.isArray(req.data.batch_input) && req.data.batch_input.some((i) => isJsonObject(i) && has(i, 'hmac')))) {
            return verifyHmac(req.data, p);
          }
          const key = mustGet(p[0]!, 'signature verification key not found');
          throw badRequest(`key type ${key.type} does not support verification`);
        },
      },
    },
    {
      pattern: new RegExp(`^export/([^/]+)/${KEY_NAME}(?:/([^/]+))?$`),
      handlers: {
        read: (_req, p) => {
          const [type = '', name = '', version] = p;
          if (!EXPORT_TYPES.includes(type)) throw badRequest(`invalid export type: ${type}`);
          if (type === 'cmac-key') throw badRequest('CMAC operations are only available in enterprise versions of Vault');
          const key = keyring.get(name);
          if (!key) return undefined;
          if (!key.exportable && type !== 'public-key' && type !== 'certificate-chain') throw badRequest('private key material is not exportable');
          if (type === 'signing-key') throw badRequest('signing not supported for the key');
          if (type === 'certificate-chain') throw badRequest('certificate chain not supported for keys that do not support signing');
          if (type === 'public-key') throw badRequest(`unknown key type ${key.type} for export type public-key`);
          let versions: number[];
          if (!version) versions = Object.keys(key.versions).map(Number).filter((v) => v >= key.minAvailableVersion);
          else {
            const v = version === 'latest' ? key.latestVersion : /^v?\d{1,9}$/.test(version) ? Number(version.replace(/^v/, '')) : NaN;
            if (Number.isNaN(v)) throw badRequest('invalid key version');
            if (v < key.minDecryptionVersion) throw badRequest('version for export is below minimum decryption version');
            if (!(String(v) in key.versions)) throw badRequest('version does not exist or cannot be found');
            versions = [v];
          }
          const keys: Record<string, string> = {};
          for (const v of versions) {
            const bytes = type === 'hmac-key' ? deriveHmacKey(keyring, key, v) : keyring.material(key, v);
            keys[String(v)] = bytes.toString('base64');
            bytes.fill(0);
          }
          return { data: { name: key.name, type: key.type, keys } };
        },
      },
    },
  ];
}
