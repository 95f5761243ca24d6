// The key server's root key: 32 bytes that seal its storage's keyring. It comes from a key file or from a passphrase
// (scrypt), and either must live outside the data directory - whoever copies the data directory (a backup, a disk
// image, a stolen volume) must get ciphertext only. The scrypt salt and parameters are not secret and stay with the
// data, so the same passphrase always opens the same directory.
import { randomBytes, scrypt as scryptCallback, type ScryptOptions } from 'node:crypto';
import { constants } from 'node:fs';
import { chmod, mkdir, open, readFile, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { CofferError, InvalidError } from '../lib/errors.js';
import { refuseKeyFileInDataDir } from '../lib/key-file-location.js';

export const ROOT_KEY_BYTES = 32;
/** Holds the scrypt salt and parameters when the root key comes from a passphrase. */
export const KDF_FILE_NAME = 'root-key-kdf.json';

export interface RootKeySource {
  /** 32 raw bytes, or 64 hex digits (a trailing newline is fine), e.g. `head -c 32 /dev/urandom > root.key`. */
  keyFile?: string;
  /** A file whose content (one trailing newline removed) is the passphrase. */
  passphraseFile?: string;
  /** Create what is missing: the key file (32 random bytes, mode 0600) or the scrypt salt. */
  init?: boolean;
}

// scrypt at N=2^17, r=8 (128 MiB, ~0.3 s): the cost OWASP recommends for interactive logins; a thief of the data dir
// must pay it per guess.
const SCRYPT_DEFAULTS = { N: 2 ** 17, r: 8, p: 1 } as const;
const MIN_PASSPHRASE_BYTES = 8;

interface KdfParams {
  kdf: 'scrypt';
  salt: string; // base64, 32 bytes
  N: number;
  r: number;
  p: number;
}

/** Loads (or, with init, creates) the root key for dataDir. The caller zero-fills it when done. */
export async function loadRootKey(dataDir: string, source: RootKeySource): Promise<Buffer> {
  const dir = resolve(dataDir);
  if (Boolean(source.keyFile) === Boolean(source.passphraseFile)) {
    throw new InvalidError('give exactly one of a root key file or a passphrase file');
  }
  if (source.keyFile) {
    const file = resolve(source.keyFile);
    await refuseKeyFileInDataDir('--root-key-file', file, dir);
    return readOrCreateKeyFile(file, Boolean(source.init));
  }
  const file = resolve(source.passphraseFile!);
  await refuseKeyFileInDataDir('--passphrase-file', file, dir);
  const passphrase = await readSecretFile(file, 'passphrase file');
  try {
    let end = passphrase.length;
    if (passphrase[end - 1] === 0x0a) end--;
    if (passphrase[end - 1] === 0x0d) end--;
    const phrase = passphrase.subarray(0, end);
    if (phrase.length < MIN_PASSPHRASE_BYTES) {
      throw new InvalidError(`passphrase file ${file}: the passphrase is shorter than ${MIN_PASSPHRASE_BYTES} bytes`);
    }
    const params = await readOrCreateKdfParams(dir, Boolean(source.init));
    return await scrypt(phrase, Buffer.from(params.salt, 'base64'), ROOT_KEY_BYTES, {
      N: params.N,
      r: params.r,
      p: params.p,
      maxmem: 256 * params.N * params.r + 1024 * 1024,
    });
  } finally {
    passphrase.fill(0);
  }
}

function scrypt(password: Buffer, salt: Buffer, length: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((res, rej) => scryptCallback(password, salt, length, options, (err, key) => (err ? rej(err) : res(key))));
}

async function readSecretFile(file: string, what: string): Promise<Buffer> {
  let info;
  try {
    info = await stat(file);
  } catch (e) {
    throw new CofferError(`${what} ${file}: ${(e as NodeJS.ErrnoException).code ?? 'cannot stat'}`, { cause: e });
  }
  if (!info.isFile()) throw new InvalidError(`${what} ${file} is not a regular file`);
  if ((info.mode & 0o077) !== 0) {
    throw new InvalidError(`${what} ${file} has mode ${(info.mode & 0o777).toString(8)}; others may read it - chmod 600 it`);
  }
  return readFile(file);
}

async function readOrCreateKeyFile(file: string, init: boolean): Promise<Buffer> {
  let exists = true;
  try {
    await stat(file);
  } catch {
    exists = false;
  }
  if (!exists) {
    if (!init) throw new CofferError(`root key file ${file} does not exist; pass the init flag (--init) to create one`);
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    const key = randomBytes(ROOT_KEY_BYTES);
    // O_EXCL: two starting processes must not each write a different key and both believe theirs is in the file.
    const handle = await open(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
    try {
      await handle.writeFile(key);
      await handle.sync();
    } finally {
      await handle.close();
    }
    return key;
  }
  const raw = await readSecretFile(file, 'root key file');
  if (raw.length === ROOT_KEY_BYTES) return raw;
  try {
    const text = raw.toString('latin1').replace(/\r?\n$/, '');
    if (/^[0-9a-fA-F]{64}$/.test(text)) return Buffer.from(text, 'hex');
  } finally {
    raw.fill(0);
  }
  throw new InvalidError(`root key file ${file} holds ${raw.length} bytes; want 32 raw bytes or 64 hex digits`);
}

async function readOrCreateKdfParams(dataDir: string, init: boolean): Promise<KdfParams> {
  const file = join(dataDir, KDF_FILE_NAME);
  let text: string | undefined;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  if (text === undefined) {
    if (!init) throw new CofferError(`${file} does not exist: this data directory was not initialised with a passphrase; pass --init to do so`);
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    await chmod(dataDir, 0o700);
    const params: KdfParams = { kdf: 'scrypt', salt: randomBytes(32).toString('base64'), ...SCRYPT_DEFAULTS };
    const handle = await open(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
    try {
      await handle.writeFile(`${JSON.stringify(params)}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    return params;
  }
  const p = JSON.parse(text) as Partial<KdfParams>;
  if (p.kdf !== 'scrypt' || typeof p.salt !== 'string' || ![p.N, p.r, p.p].every((n) => Number.isSafeInteger(n) && (n as number) > 0)) {
    throw new InvalidError(`${file}: not a scrypt parameter file (kdf ${JSON.stringify(p.kdf)})`);
  }
  return p as KdfParams;
}
