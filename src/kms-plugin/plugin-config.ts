// The configuration file of `coffer kms-plugin`: one YAML document, validated completely at start so that a mistake
// stops the plugin with a message naming the field and value, instead of surfacing as a failed Encrypt hours later.
// Secrets (Vault tokens, AppRole secret ids, KEKs) are never values here, only paths to files: a config file gets
// copied into tickets and manifests, and a flag shows up in `ps`.
import { readFile } from 'node:fs/promises';
import { isAbsolute, resolve, dirname } from 'node:path';
import { parseDocument } from 'yaml';
import { parseKmsEndpoint } from '../kms/unix-endpoint.js';
import { InvalidError } from '../lib/errors.js';
import { isDns1123Label } from '../lib/go/name-validation.js';
import { ConfigFields, describeValue } from './config-fields.js';
import { parseAwsKmsBackend, type AwsKmsBackendConfig } from './backends/aws-kms-config.js';

export interface LocalBackendConfig {
  type: 'local';
  /** KEK files, current first; the rest still decrypt what they wrapped. */
  keyFiles: string[];
}

export type VaultAuthConfig =
  | { type: 'token'; tokenFile: string }
  | { type: 'approle'; mount: string; roleIdFile: string; secretIdFile: string }
  /** A response-wrapping token on stdin, unwrapped once; the token lives in memory only (backends/vault-auth.ts). */
  | { type: 'wrapped-token' };

export interface VaultTransitBackendConfig {
  type: 'vault-transit';
  /** `https://vault.example:8200` (no `/v1`). */
  address: string;
  namespace?: string;
  transitMount: string;
  key: string;
  caFile?: string;
  auth: VaultAuthConfig;
}

export interface MultiMemberConfig {
  /** A DNS label: it becomes part of the annotation `<name>.multi.kms.coffer.dev`. */
  name: string;
  backend: BackendConfig;
}

export type DecryptOrder = 'priority' | 'round-robin' | 'fastest';

export interface MultiBackendConfig {
  type: 'multi';
  members: MultiMemberConfig[];
  decryptOrder: DecryptOrder;
  /** How many members must wrap a DEK for Encrypt to succeed (`all` = members.length). */
  writeQuorum: number;
  writePolicy: 'all' | 'quorum';
}

/**
 * A PKCS#11 backend. Its fields are validated by `backends/pkcs11/pkcs11-key-manager.ts` (`createPkcs11KeyManager`),
 * which owns that schema; `field` is where the mapping sits in the file, for its error messages.
 */
export interface Pkcs11BackendConfig {
  type: 'pkcs11';
  field: string;
  /** Every field of the backend mapping except `type`, as parsed from YAML. */
  settings: Readonly<Record<string, unknown>>;
  /** The config file's directory: relative paths in `settings` are relative to it. */
  baseDir: string;
}

export type BackendConfig = LocalBackendConfig | VaultTransitBackendConfig | MultiBackendConfig | Pkcs11BackendConfig | AwsKmsBackendConfig;

export interface KmsPluginConfig {
  /** `unix:///var/run/coffer/kms.sock`, as kube-apiserver's EncryptionConfiguration names it. */
  endpoint: string;
  /** `host:port` of the HTTP side port (/healthz, /livez, /metrics); port 0 picks a free one. */
  healthListen: string;
  /** How long a healthy backend probe answers Status and /healthz before the backend is asked again. */
  statusCacheTtlMs: number;
  /** The same for a failed probe: short, so recovery is noticed within kube-apiserver's 10 s retry. */
  statusErrorCacheTtlMs: number;
  /** Deadline of each backend call (kube-apiserver gives up on the plugin after its own kms timeout, 3 s by default). */
  timeoutMs: number;
  /**
   * `stdin`: Encrypt and Decrypt answer only callers that send the caller secret the plugin read from the first line
   * of its stdin at start (kms-plugin.ts). Off by default: kube-apiserver sends no such metadata.
   */
  callerSecret?: 'stdin';
  backend: BackendConfig;
}

export const BACKEND_TYPES = ['vault-transit', 'local', 'multi', 'pkcs11', 'aws-kms'] as const;
const VAULT_KEY_NAME = /^\w(?:[\w.-]*\w)?$/;

/** Relative paths in the file are relative to the file, so a config and its key files can move together. */
type PathResolver = ((p: string) => string) & { baseDir: string };

function parseAuth(f: ConfigFields, path: PathResolver): VaultAuthConfig {
  const type = f.oneOf('type', ['token', 'approle', 'wrapped-token'] as const);
  let auth: VaultAuthConfig;
  if (type === 'token') auth = { type, tokenFile: path(f.string('tokenFile')) };
  else if (type === 'wrapped-token') auth = { type };
  else {
    auth = {
      type,
      mount: trimSlashes(f.string('mount', 'approle'), f.field('mount')),
      roleIdFile: path(f.string('roleIdFile')),
      secretIdFile: path(f.string('secretIdFile')),
    };
  }
  f.rejectUnknown();
  return auth;
}

function trimSlashes(value: string, field: string): string {
  const trimmed = value.replace(/^\/+|\/+$/g, '');
  if (trimmed === '' || trimmed.split('/').some((s) => s === '' || s === '.' || s === '..')) {
    throw new InvalidError(`must be a Vault mount path such as "transit", got ${describeValue(value)}`, { field });
  }
  return trimmed;
}

function parseVaultTransit(f: ConfigFields, path: PathResolver): VaultTransitBackendConfig {
  const address = f.string('address');
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    throw new InvalidError(`must be an http(s) URL such as "https://vault:8200", got ${describeValue(address)}`, { field: f.field('address') });
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new InvalidError(`must be an http(s) URL, got ${describeValue(address)}`, { field: f.field('address') });
  }
  if (url.username || url.password) {
    throw new InvalidError('must not carry credentials; use auth.tokenFile or auth.type approle', { field: f.field('address') });
  }
  const key = f.string('key', 'kms');
  if (!VAULT_KEY_NAME.test(key)) {
    throw new InvalidError(`must be a transit key name (letters, digits, _ - .), got ${describeValue(key)}`, { field: f.field('key') });
  }
  const namespace = f.optionalString('namespace');
  const caFile = f.optionalString('caFile');
  const config: VaultTransitBackendConfig = {
    type: 'vault-transit',
    address: address.replace(/\/+$/, ''),
    ...(namespace ? { namespace: trimSlashes(namespace, f.field('namespace')) } : {}),
    transitMount: trimSlashes(f.string('transitMount', 'transit'), f.field('transitMount')),
    key,
    ...(caFile ? { caFile: path(caFile) } : {}),
    auth: parseAuth(f.mapping('auth'), path),
  };
  if (caFile && url.protocol !== 'https:') {
    throw new InvalidError(`is set but address ${describeValue(address)} is not https`, { field: f.field('caFile') });
  }
  return config;
}

function parseMulti(f: ConfigFields, path: PathResolver): MultiBackendConfig {
  const items = f.list('members', { minItems: 1 });
  const names = new Set<string>();
  const members = items.map((item, i): MultiMemberConfig => {
    const m = ConfigFields.of(item, `${f.field('members')}[${i}]`);
    // A name keeps the mapping from annotation to member stable when members are reordered; the index is a fallback.
    const name = m.string('name', String(i));
    if (isDns1123Label(name).length > 0) {
      throw new InvalidError(`must be a lowercase DNS label (a-z, 0-9, -), got ${describeValue(name)}`, { field: m.field('name') });
    }
    if (names.has(name)) throw new InvalidError(`duplicate member name ${describeValue(name)}`, { field: m.field('name') });
    names.add(name);
    const backend = parseBackend(m.mapping('backend'), path);
    m.rejectUnknown();
    return { name, backend };
  });
  const writePolicy = f.oneOf('writePolicy', ['all', 'quorum'] as const, 'all');
  let writeQuorum = members.length;
  if (writePolicy === 'quorum') {
    const q = f.optionalInteger('quorum', { min: 1, max: members.length });
    if (q === undefined) throw new InvalidError('required when writePolicy is quorum', { field: f.field('quorum') });
    writeQuorum = q;
  } else if (f.has('quorum')) {
    throw new InvalidError(`only applies to writePolicy quorum, got writePolicy ${writePolicy}`, { field: f.field('quorum') });
  }
  return {
    type: 'multi',
    members,
    decryptOrder: f.oneOf('decryptOrder', ['priority', 'round-robin', 'fastest'] as const, 'priority'),
    writePolicy,
    writeQuorum,
  };
}

export function parseBackend(f: ConfigFields, path: PathResolver): BackendConfig {
  const type = f.oneOf('type', BACKEND_TYPES);
  let backend: BackendConfig;
  switch (type) {
    case 'local': {
      const files = f.list('keyFiles', { minItems: 1 }).map((v, i) => {
        if (typeof v !== 'string' || v === '') {
          throw new InvalidError(`must be a file path, got ${describeValue(v)}`, { field: `${f.field('keyFiles')}[${i}]` });
        }
        return path(v);
      });
      const dup = files.find((p, i) => files.indexOf(p) !== i);
      if (dup) throw new InvalidError(`lists ${describeValue(dup)} twice`, { field: f.field('keyFiles') });
      backend = { type, keyFiles: files };
      break;
    }
    case 'vault-transit':
      backend = parseVaultTransit(f, path);
      break;
    case 'multi':
      backend = parseMulti(f, path);
      break;
    case 'aws-kms':
      backend = parseAwsKmsBackend(f, path);
      break;
    case 'pkcs11': {
      const { type: _type, ...settings } = f.rest();
      return { type, field: f.path, settings, baseDir: path.baseDir };
    }
  }
  f.rejectUnknown();
  return backend;
}

/** Parses and validates the config text; `file` anchors relative paths and prefixes error messages. */
export function parseKmsPluginConfig(text: string, opts: { file?: string } = {}): KmsPluginConfig {
  const where = opts.file ?? '(config)';
  const base = opts.file ? dirname(resolve(opts.file)) : process.cwd();
  const path: PathResolver = Object.assign((p: string) => (isAbsolute(p) ? p : resolve(base, p)), { baseDir: base });
  try {
    const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: false });
    if (doc.errors.length > 0) throw new InvalidError(`not valid YAML: ${doc.errors[0]!.message}`);
    const f = ConfigFields.of(doc.toJS() as unknown, '');
    const endpoint = f.string('endpoint');
    try {
      parseKmsEndpoint(endpoint);
    } catch (e) {
      throw new InvalidError((e as Error).message, { field: 'endpoint', cause: e });
    }
    const healthListen = f.string('healthListen', '127.0.0.1:8787');
    parseListenAddress(healthListen, 'healthListen');
    const config: KmsPluginConfig = {
      endpoint,
      healthListen,
      statusCacheTtlMs: f.durationMs('statusCacheTtl', '20s', { minMs: 0 }),
      statusErrorCacheTtlMs: f.durationMs('statusErrorCacheTtl', '3s', { minMs: 0 }),
      timeoutMs: f.durationMs('timeout', '3s', { minMs: 1 }),
      backend: parseBackend(f.mapping('backend'), path),
    };
    const callerSecret = f.optionalString('callerSecret');
    if (callerSecret !== undefined) config.callerSecret = f.oneOf('callerSecret', ['stdin'] as const);
    f.rejectUnknown();
    return config;
  } catch (e) {
    if (e instanceof InvalidError) throw new InvalidError(`${where}: ${e.message}`, { cause: e });
    throw e;
  }
}

export async function loadKmsPluginConfig(file: string): Promise<KmsPluginConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new InvalidError(`cannot read config file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
  }
  return parseKmsPluginConfig(text, { file });
}

/** `host:port` or `[v6]:port`; port 0 means "any free port". */
export function parseListenAddress(listen: string, field: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(listen);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) {
    throw new InvalidError(`must be host:port such as "127.0.0.1:8787" (port 0 = any free port), got ${describeValue(listen)}`, { field });
  }
  return { host: m[1] ?? m[2]!, port };
}
