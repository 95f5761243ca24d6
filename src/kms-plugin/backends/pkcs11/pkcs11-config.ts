// The `pkcs11` backend's own settings, validated field by field like the rest of the plugin's config (plugin-config.ts
// hands this mapping over untouched). The user PIN is never a value here, only a file: a config file gets pasted into
// tickets and a flag shows up in `ps`.
import { isAbsolute, resolve } from 'node:path';
import { InvalidError } from '../../../lib/errors.js';
import { ConfigFields, describeValue } from '../../config-fields.js';

export const PKCS11_MECHANISMS = ['aes-gcm', 'aes-kwp'] as const;
export type Pkcs11Mechanism = (typeof PKCS11_MECHANISMS)[number];

/** Where the token is: by label (survives re-plugging and slot renumbering) or by slot id. */
export type TokenSelector = { tokenLabel: string } | { slot: number };

export interface Pkcs11Config {
  /** Absolute path of the PKCS#11 library, e.g. /usr/lib/softhsm/libsofthsm2.so. */
  module: string;
  token: TokenSelector;
  /** File holding the user PIN (one trailing newline ignored); read at every login, never logged. */
  pinFile: string;
  /** The KEK family's label; version N lives in the object labelled `<keyLabel>:v<N>` (see key-versions.ts). */
  keyLabel: string;
  mechanism: Pkcs11Mechanism;
  /** Create `<keyLabel>:v1` in the token at start when no version exists. */
  generateKey: boolean;
}

// `:` separates the parts of a key_id and of versioned labels, so it cannot appear in the family label; the length
// keeps key_ids far below KMS v2's 1 KiB limit.
const KEY_LABEL = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export interface ParsePkcs11ConfigOptions {
  /** Path of this mapping in the config file (e.g. `backend`), prefixed to every error's field. */
  field?: string;
  /** Directory that relative paths are resolved against (the config file's); without it paths must be absolute. */
  baseDir?: string;
}

export function parsePkcs11Config(value: unknown, opts: ParsePkcs11ConfigOptions = {}): Pkcs11Config {
  const f = ConfigFields.of(value, opts.field ?? '');
  // plugin-config.ts strips `type`; accept it anyway so the mapping can also be passed whole.
  f.oneOf('type', ['pkcs11'], 'pkcs11');

  const path = (name: string): string => {
    const p = f.string(name);
    if (isAbsolute(p)) return p;
    if (opts.baseDir === undefined) {
      throw new InvalidError(`must be an absolute path, got ${describeValue(p)}`, { field: f.field(name) });
    }
    return resolve(opts.baseDir, p);
  };
  const module = path('module');

  let token: TokenSelector;
  if (f.has('tokenLabel') && f.has('slot')) {
    throw new InvalidError('set either tokenLabel or slot, not both', { field: f.field('slot') });
  } else if (f.has('slot')) {
    token = { slot: f.optionalInteger('slot', { min: 0, max: 2 ** 32 - 1 })! };
  } else {
    const label = f.optionalString('tokenLabel');
    if (label === undefined) {
      throw new InvalidError('required field is missing (or set slot)', { field: f.field('tokenLabel') });
    }
    // PKCS#11 token labels are 32 bytes, blank-padded: a longer one can never match.
    if (Buffer.byteLength(label) > 32 || label !== label.trimEnd()) {
      throw new InvalidError(`must be at most 32 bytes without trailing blanks, got ${describeValue(label)}`, {
        field: f.field('tokenLabel'),
      });
    }
    token = { tokenLabel: label };
  }

  const pinFile = path('pinFile');
  const keyLabel = f.string('keyLabel');
  if (!KEY_LABEL.test(keyLabel)) {
    throw new InvalidError(
      `must be 1-64 characters of letters, digits, ".", "_" or "-" (no ":"), got ${describeValue(keyLabel)}`,
      { field: f.field('keyLabel') },
    );
  }
  const mechanism = f.oneOf('mechanism', PKCS11_MECHANISMS, 'aes-gcm');
  const generateKey = f.raw('generateKey') ?? false;
  if (typeof generateKey !== 'boolean') {
    throw new InvalidError(`must be true or false, got ${describeValue(generateKey)}`, { field: f.field('generateKey') });
  }
  f.rejectUnknown();
  return { module, token, pinFile, keyLabel, mechanism, generateKey };
}

export function describeToken(token: TokenSelector): string {
  return 'tokenLabel' in token ? `token ${JSON.stringify(token.tokenLabel)}` : `slot ${token.slot}`;
}
