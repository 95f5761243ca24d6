// The Transit secrets engine's HTTP endpoints (builtin/logical/transit in Vault): keys, config, rotate, encrypt,
// decrypt, rewrap, datakey; hmac, sign/verify and export are in transit-hmac-export-routes.ts. Single requests and
// batch_input share one code path, as in Vault; plaintext is handled as Buffers and zero-filled once encoded.
import { randomBytes } from 'node:crypto';
import { decodeStrictBase64 } from '../encryption/strict-base64.js';
import { has, optBool, optDurationSeconds, optInt, optString, type RequestData } from './request-fields.js';
import { batch, batchItems } from './transit-batch.js';
import { transitHmacExportRoutes } from './transit-hmac-export-routes.js';
import { ciphertextVersion, effectiveKey, openTransit, sealTransit } from './transit-cipher.js';
import { describeKey, KEY_NAME, type TransitKey, type TransitKeyring } from './transit-keyring.js';
import { badRequest } from './vault-error.js';
import type { Mount, VaultRequest, VaultResponse } from './vault-request.js';

const DERIVED_WITHOUT_CONTEXT =
  "missing 'context' for key derivation; the key was created using a derived key, which means additional, per-request information must be included in order to perform operations with the key";

export function transitMount(keyring: TransitKeyring, path = 'transit/'): Mount {
  const name = (p: readonly string[], i = 0) => p[i]!;
  const mustGet = (keyName: string): TransitKey => {
    const key = keyring.get(keyName);
    if (!key) throw badRequest('encryption key not found');
    return key;
  };
  return {
    path,
    type: 'transit',
    routes: [
      { pattern: /^keys\/$/, handlers: { list: () => ({ data: { keys: keyring.list() } }) } },
      {
        pattern: new RegExp(`^keys/${KEY_NAME}$`),
        handlers: {
          read: (_req, p) => {
            const key = keyring.get(name(p));
            return key ? { data: describeKey(key) } : undefined;
          },
          write: (req, p) => createKey(keyring, name(p), req.data),
          delete: (_req, p) => {
            keyring.delete(name(p));
            return undefined;
          },
        },
      },
      {
        pattern: new RegExp(`^keys/${KEY_NAME}/config$`),
        handlers: {
          write: (req, p) => {
            const { key, warnings } = keyring.configure(name(p), {
              minDecryptionVersion: optInt(req.data, 'min_decryption_version'),
              minEncryptionVersion: optInt(req.data, 'min_encryption_version'),
              deletionAllowed: optBool(req.data, 'deletion_allowed'),
              exportable: optBool(req.data, 'exportable'),
              allowPlaintextBackup: optBool(req.data, 'allow_plaintext_backup'),
              autoRotatePeriod: optDurationSeconds(req.data, 'auto_rotate_period'),
            });
            return { data: describeKey(key), warnings };
          },
        },
      },
      {
        pattern: new RegExp(`^keys/${KEY_NAME}/rotate$`),
        handlers: { write: (_req, p) => ({ data: describeKey(keyring.rotate(name(p))) }) },
      },
      {
        pattern: new RegExp(`^encrypt/${KEY_NAME}$`),
        exists: (p) => keyring.get(name(p)) !== undefined,
        handlers: { write: (req, p) => encrypt(keyring, name(p), req) },
      },
      {
        pattern: new RegExp(`^decrypt/${KEY_NAME}$`),
        handlers: {
          write: (req, p) => {
            const key = mustGet(name(p));
            return batch(req.data, (item) => withPlaintext(keyring, key, item, (plaintext) => ({ plaintext: plaintext.toString('base64') })), { plaintext: '' });
          },
        },
      },
      {
        pattern: new RegExp(`^rewrap/${KEY_NAME}$`),
        handlers: {
          write: (req, p) => {
            const key = mustGet(name(p));
            const version = (item: RequestData) => optInt(item, 'key_version') ?? optInt(req.data, 'key_version') ?? 0;
            return batch(req.data, (item) => withPlaintext(keyring, key, item, (plaintext) => encryptBytes(keyring, key, plaintext, item, version(item))));
          },
        },
      },
      {
        pattern: new RegExp(`^datakey/([^/]+)/${KEY_NAME}$`),
        handlers: {
          write: (req, p) => {
            const kind = p[0];
            if (kind !== 'plaintext' && kind !== 'wrapped') throw badRequest("Invalid path, must be 'plaintext' or 'wrapped'");
            const key = mustGet(name(p, 1));
            const bits = optInt(req.data, 'bits') ?? 256;
            if (bits !== 128 && bits !== 256 && bits !== 512) throw badRequest('invalid bit length');
            const dataKey = randomBytes(bits / 8);
            try {
              const sealed = encryptBytes(keyring, key, dataKey, req.data, optInt(req.data, 'key_version') ?? 0);
              return { data: { ...sealed, ...(kind === 'plaintext' ? { plaintext: dataKey.toString('base64') } : {}) } };
            } finally {
              dataKey.fill(0);
            }
          },
        },
      },
      ...transitHmacExportRoutes(keyring),
    ],
  };
}

function createKey(keyring: TransitKeyring, keyName: string, data: RequestData): VaultResponse {
  const existing = keyring.get(keyName);
  if (existing) return { data: describeKey(existing), warnings: [`key ${keyName} already existed`] };
  const derived = optBool(data, 'derived') ?? false;
  if (optBool(data, 'convergent_encryption')) {
    if (!derived) throw badRequest('convergent encryption requires derivation to be enabled');
    throw badRequest('field "convergent_encryption" is not supported by this key server');
  }
  const key = keyring.create(keyName, {
    ...(has(data, 'type') ? { type: optString(data, 'type')! } : {}),
    derived,
    exportable: optBool(data, 'exportable') ?? false,
    allowPlaintextBackup: optBool(data, 'allow_plaintext_backup') ?? false,
    autoRotatePeriod: optDurationSeconds(data, 'auto_rotate_period') ?? 0,
  });
  return { data: describeKey(key) };
}

function encrypt(keyring: TransitKeyring, keyName: string, req: VaultRequest): VaultResponse {
  const items = batchItems(req.data);
  if (items) {
    const withContext = items.filter((i) => has(i, 'context')).length;
    if (withContext !== 0 && withContext !== items.length) throw badRequest('context should be set either in all the request blocks or in none');
  }
  let key = keyring.get(keyName);
  if (!key) {
    // Reached only with the `create` capability (the router's existence check): Vault upserts the key.
    const derived = items ? items.some((i) => has(i, 'context')) : has(req.data, 'context');
    key = keyring.create(keyName, { ...(has(req.data, 'type') ? { type: optString(req.data, 'type')! } : {}), derived });
  }
  const k = key;
  return batch(req.data, (item) => {
    if (!has(item, 'plaintext')) throw badRequest('missing plaintext to encrypt');
    const plaintext = decodeBase64Field(item, 'plaintext');
    try {
      return encryptBytes(keyring, k, plaintext, item, optInt(item, 'key_version') ?? (items ? 0 : optInt(req.data, 'key_version') ?? 0));
    } finally {
      plaintext.fill(0);
    }
  });
}

function encryptBytes(keyring: TransitKeyring, key: TransitKey, plaintext: Uint8Array, item: RequestData, requested: number): { ciphertext: string; key_version: number } {
  if (requested < 0) throw badRequest('requested version for encryption is negative');
  if (requested > key.latestVersion) throw badRequest('requested version for encryption is higher than the latest key version');
  if (requested > 0 && requested < key.minEncryptionVersion) throw badRequest('requested version for encryption is less than the minimum encryption key version');
  const version = requested || key.latestVersion;
  const context = contextOf(key, item);
  const aad = has(item, 'associated_data') ? decodeBase64Field(item, 'associated_data') : undefined;
  const material = keyring.material(key, version);
  const k = effectiveKey(key.type, material, context);
  try {
    return { ciphertext: sealTransit(key.type, k, version, plaintext, aad), key_version: version };
  } finally {
    material.fill(0);
    k.fill(0);
  }
}

/** Decrypts one item's ciphertext, hands the plaintext to `use`, and wipes it whatever `use` does. */
function withPlaintext<T>(keyring: TransitKeyring, key: TransitKey, item: RequestData, use: (plaintext: Buffer) => T): T {
  const plaintext = decryptItem(keyring, key, item);
  try {
    return use(plaintext);
  } finally {
    plaintext.fill(0);
  }
}

function decryptItem(keyring: TransitKeyring, key: TransitKey, item: RequestData): Buffer {
  const ciphertext = optString(item, 'ciphertext') ?? '';
  if (ciphertext === '') throw badRequest('missing ciphertext to decrypt');
  const context = contextOf(key, item);
  const { version, payload } = ciphertextVersion(ciphertext);
  if (version > key.latestVersion) throw badRequest('invalid ciphertext: version is too new');
  if (version < key.minDecryptionVersion) throw badRequest('ciphertext or signature version is disallowed by policy (too old)');
  const aad = has(item, 'associated_data') ? decodeBase64Field(item, 'associated_data') : undefined;
  const material = keyring.material(key, version);
  const k = effectiveKey(key.type, material, context);
  try {
    return openTransit(key.type, k, payload, aad);
  } finally {
    material.fill(0);
    k.fill(0);
  }
}

function contextOf(key: TransitKey, item: RequestData): Buffer | undefined {
  if (!key.derived) return undefined;
  const context = has(item, 'context') ? decodeBase64Field(item, 'context') : undefined;
  if (!context || context.length === 0) throw badRequest(DERIVED_WITHOUT_CONTEXT);
  return context;
}

/** Standard padded base64, failing with Go's error text, which names an offset and never the value. */
function decodeBase64Field(item: RequestData, field: string): Buffer {
  const text = optString(item, field) ?? '';
  const bytes = decodeStrictBase64(text);
  if (bytes) return bytes;
  const bad = /[^A-Za-z0-9+/=\r\n]/.exec(text);
  throw badRequest(`illegal base64 data at input byte ${bad ? bad.index : Math.max(0, text.length - (text.length % 4 || 4))}`);
}

