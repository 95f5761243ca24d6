// A tiny stand-in for Vault's HTTP API in unit tests: transit keys (read, rotate, encrypt, decrypt with real
// AES-256-GCM and `vault:vN:` ciphertexts), token checks, AppRole login, renew-self and revoke-self, with the JSON
// shapes of Vault's HTTP API (docs/keyserver.md). Knobs let tests take it down, expire tokens and count calls.
import { createCipheriv, createDecipheriv, randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

interface TransitKey {
  versions: Map<number, { key: Buffer; created: number }>;
  latest: number;
  minDecryptionVersion: number;
}

interface TokenInfo {
  leaseSeconds: number;
  renewable: boolean;
  /** What lookup-self reports as the remaining TTL (default: the whole lease). */
  ttlLeft?: number;
}

export interface FakeVault {
  address: string;
  /** Every request as `METHOD path`, e.g. `PUT transit/encrypt/kms`. */
  calls: string[];
  /** Headers of the last request (lower-case names). */
  lastHeaders: Record<string, string | string[] | undefined>;
  /** When set, every request is answered with this HTTP status and an error. */
  failWith: number | undefined;
  tokens: Map<string, TokenInfo>;
  approle: { roleId: string; secretId: string; leaseSeconds: number; renewable: boolean };
  createKey(name: string): void;
  rotate(name: string): void;
  deleteKey(name: string): void;
  setMinDecryptionVersion(name: string, v: number): void;
  close(): Promise<void>;
}

export async function startFakeVault(opts: { rootToken?: string; keys?: string[]; now?: () => number } = {}): Promise<FakeVault> {
  const now = opts.now ?? (() => Math.floor(Date.now() / 1000));
  const keys = new Map<string, TransitKey>();
  const tokens = new Map<string, TokenInfo>();
  if (opts.rootToken) tokens.set(opts.rootToken, { leaseSeconds: 0, renewable: false });
  let createdCounter = 0;
  const fake: FakeVault = {
    address: '',
    calls: [],
    lastHeaders: {},
    failWith: undefined,
    tokens,
    approle: { roleId: 'role-1', secretId: 'secret-1', leaseSeconds: 60, renewable: true },
    createKey(name) {
      // Distinct creation times even within one second, so a re-created key gets a new id.
      keys.set(name, { versions: new Map([[1, { key: randomBytes(32), created: now() + createdCounter++ }]]), latest: 1, minDecryptionVersion: 1 });
    },
    rotate(name) {
      const k = keys.get(name)!;
      k.latest++;
      k.versions.set(k.latest, { key: randomBytes(32), created: now() + createdCounter++ });
    },
    deleteKey(name) {
      keys.delete(name);
    },
    setMinDecryptionVersion(name, v) {
      keys.get(name)!.minDecryptionVersion = v;
    },
    close: async () => {},
  };
  for (const k of opts.keys ?? []) fake.createKey(k);

  const describe = (name: string, k: TransitKey) => ({
    name,
    type: 'aes256-gcm96',
    keys: Object.fromEntries([...k.versions].map(([v, x]) => [String(v), x.created])),
    latest_version: k.latest,
    min_decryption_version: k.minDecryptionVersion,
    min_encryption_version: 0,
    supports_encryption: true,
    supports_decryption: true,
  });

  const handle = (method: string, path: string, token: string | undefined, body: Record<string, unknown>): [number, unknown] => {
    const ok = (data: unknown, auth: unknown = null): [number, unknown] => [200, { request_id: randomUUID(), lease_id: '', renewable: false, lease_duration: 0, data, wrap_info: null, warnings: null, auth }];
    const err = (status: number, ...errors: string[]): [number, unknown] => [status, { errors }];
    if (path === 'auth/approle/login') {
      if (body.role_id !== fake.approle.roleId || body.secret_id !== fake.approle.secretId) return err(400, 'invalid role or secret ID');
      const t = `hvs.${randomBytes(12).toString('hex')}`;
      tokens.set(t, { leaseSeconds: fake.approle.leaseSeconds, renewable: fake.approle.renewable });
      return ok(null, { client_token: t, accessor: randomUUID(), policies: ['default', 'kms'], lease_duration: fake.approle.leaseSeconds, renewable: fake.approle.renewable, token_type: 'service', orphan: true });
    }
    const info = token ? tokens.get(token) : undefined;
    if (!info) return err(403, '1 error occurred:\n\t* permission denied\n\n');
    if (path === 'auth/token/lookup-self') {
      return ok({ creation_ttl: info.leaseSeconds, ttl: info.ttlLeft ?? info.leaseSeconds, renewable: info.renewable, type: 'service' });
    }
    if (path === 'auth/token/renew-self') {
      if (!info.renewable) return err(400, 'lease is not renewable');
      info.ttlLeft = info.leaseSeconds;
      return ok(null, { client_token: token, lease_duration: info.leaseSeconds, renewable: true });
    }
    if (path === 'auth/token/revoke-self') {
      tokens.delete(token!);
      return [204, undefined];
    }
    const m = /^transit\/(keys|encrypt|decrypt)\/([^/]+)$/.exec(path);
    if (!m) return err(404, 'unsupported path');
    const [, op, name] = m;
    const k = keys.get(name!);
    if (op === 'keys') return k ? ok(describe(name!, k)) : [404, { errors: [] }];
    if (!k) return err(400, 'encryption key not found');
    if (op === 'encrypt') {
      if (typeof body.plaintext !== 'string') return err(400, 'missing plaintext to encrypt');
      const nonce = randomBytes(12);
      const c = createCipheriv('aes-256-gcm', k.versions.get(k.latest)!.key, nonce);
      const ct = Buffer.concat([nonce, c.update(Buffer.from(body.plaintext, 'base64')), c.final(), c.getAuthTag()]);
      return ok({ ciphertext: `vault:v${k.latest}:${ct.toString('base64')}`, key_version: k.latest });
    }
    const text = body.ciphertext;
    if (typeof text !== 'string' || text === '') return err(400, 'missing ciphertext to decrypt');
    const cm = /^vault:v(\d+):(.*)$/.exec(text);
    if (!cm) return err(400, 'invalid ciphertext: no prefix');
    const v = Number(cm[1]);
    if (v > k.latest) return err(400, 'invalid ciphertext: version is too new');
    if (v < k.minDecryptionVersion) return err(400, 'ciphertext or signature version is disallowed by policy (too old)');
    const raw = Buffer.from(cm[2]!, 'base64');
    if (raw.length < 28) return err(400, 'invalid ciphertext length');
    try {
      const d = createDecipheriv('aes-256-gcm', k.versions.get(v)!.key, raw.subarray(0, 12));
      d.setAuthTag(raw.subarray(raw.length - 16));
      const pt = Buffer.concat([d.update(raw.subarray(12, raw.length - 16)), d.final()]);
      return ok({ plaintext: pt.toString('base64') });
    } catch {
      return err(400, 'cipher: message authentication failed');
    }
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = (req.url ?? '').replace(/^\/v1\//, '').split('?')[0]!;
      fake.calls.push(`${req.method} ${path}`);
      fake.lastHeaders = { ...req.headers };
      let status: number;
      let payload: unknown;
      if (fake.failWith !== undefined) [status, payload] = [fake.failWith, { errors: ['Vault is sealed'] }];
      else {
        const text = Buffer.concat(chunks).toString();
        const body = (text ? JSON.parse(text) : {}) as Record<string, unknown>;
        const token = req.headers['x-vault-token'];
        [status, payload] = handle(req.method ?? 'GET', path, typeof token === 'string' ? token : undefined, body);
      }
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(payload === undefined ? undefined : JSON.stringify(payload));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  fake.address = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  fake.close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return fake;
}
