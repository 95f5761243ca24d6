// Long: ESO's vault provider whole: reads, find and push share its path rules (buildPath) and one authenticated request.
// ESO's `vault` provider over Vault's documented HTTP API (ESO providers/v1/vault, docs/external-secrets.md): KV v2 (and v1) reads,
// token auth from a Secret, AppRole login, X-Vault-Namespace (and auth.namespace for the login only), extra headers,
// caBundle. Works against `coffer keyserver`, HashiCorp Vault and OpenBao alike. The token comes from Coffer's one
// Vault auth (src/lib/vault/vault-auth.ts, shared with the KMS plugin): unlike ESO's default, a logged-in token is kept
// for the life of the provider (one login per store version, not one per reconcile), renewed before its lease ends and
// revoked on close, so the key server is not flooded with short-lived tokens; a token from a Secret is read again when
// Vault rejects it and at least every TOKEN_SECRET_RECHECK_MS, not on every reconcile.
import type { Logger } from 'pino';
import pino from 'pino';
import { SYSTEM_CLOCK, type Clock } from '../../lib/clock.js';
import { InvalidError, UnavailableError } from '../../lib/errors.js';
import { marshalJson } from '../../lib/go/json.js';
import { GoRegexp } from '../../lib/go/regexp.js';
import { AppRoleAuth, literalCredential, requestWithAuth, StaticTokenAuth, type CredentialSource, type VaultAuth } from '../../lib/vault/vault-auth.js';
import { VaultHttpClient, vaultErrorText, type VaultRequest, type VaultResponse } from '../../lib/vault/vault-http-client.js';
import { jsonValueToBytes, selectJsonPath } from '../external-secrets/gjson-path.js';
import type { FindRef, RemoteRef } from '../external-secrets/external-secret-types.js';
import { isReferent, readSecretKey, storeCa, type CaProvider, type SecretKeySelector, type StoreScope } from './credential-secrets.js';
import type { KubeApi } from '../kube-api.js';
import { jsonMemberToBytes, NoSecretError, recordedCall, type CallOptions, type ProviderCallRecorder, type PushRemoteRef, type SecretsProvider, type ValidationResult } from './secrets-provider.js';

export interface VaultProviderSpec {
  server: string;
  path?: string;
  version?: string;
  namespace?: string;
  caBundle?: string;
  caProvider?: CaProvider;
  headers?: Record<string, string>;
  auth?: {
    namespace?: string;
    tokenSecretRef?: SecretKeySelector;
    appRole?: { path?: string; roleId?: string; roleRef?: SecretKeySelector; secretRef?: SecretKeySelector };
    [other: string]: unknown;
  };
}

const METRIC = 'HashiCorp/Vault';
/**
 * How long a token read from its Secret is used before the Secret is read again. ESO reads it on every reconcile (from
 * its informer cache), so a user who puts another token in the Secret sees it used at the next sync, even while the old
 * one is still valid in Vault; reading it again at most once a second keeps that (test/e2e-external-secrets.test.ts,
 * "a bad token in the store Secret") at one Kubernetes GET per second per store, not one per reconcile. A token revoked
 * in Vault is replaced at once (the 403 makes the auth read the Secret again).
 */
export const TOKEN_SECRET_RECHECK_MS = 1000;
const SUPPORTED_AUTH = ['tokenSecretRef', 'appRole'];
// ESO's precedence when several methods are set.
const AUTH_ORDER = ['tokenSecretRef', 'appRole', 'kubernetes', 'ldap', 'userPass', 'jwt', 'cert', 'iam', 'gcp'];
/** The deadline of one Vault call (Vault's Go client's default). */
const REQUEST_TIMEOUT_MS = 30_000;

/** A non-2xx answer other than 404, with the text Vault's Go client (api/response.go) gives ESO. */
export class VaultHttpError extends UnavailableError {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** A non-2xx answer other than 404 as VaultHttpError; 404 is returned (absent). */
function checked(http: VaultHttpClient, method: string, path: string, res: VaultResponse): VaultResponse {
  if (res.status === 404 || (res.status >= 200 && res.status < 300)) return res;
  const detail = Array.isArray(res.body?.errors) && res.body.errors.length > 0 ? vaultErrorText(res.body) : `HTTP ${res.status}`;
  throw new VaultHttpError(res.status, `Error making API request. URL: ${method} ${new URL(http.address).origin}/v1/${path} Code: ${res.status}. Errors: ${detail}`);
}

/** One key of a Kubernetes Secret as a credential, read again on each read() (ESO reads it at each login). */
class SecretKeyCredential implements CredentialSource {
  private last: Buffer | undefined;

  constructor(
    private readonly kube: KubeApi,
    private readonly sel: SecretKeySelector,
    private readonly scope: StoreScope,
  ) {}

  async read(signal: AbortSignal): Promise<Buffer> {
    const raw = await readSecretKey(this.kube, this.sel, this.scope, { signal });
    const value = Buffer.from(raw.toString('utf8').trim(), 'utf8');
    raw.fill(0);
    this.last?.fill(0);
    this.last = value;
    return value;
  }

  wipe(): void {
    this.last?.fill(0);
    this.last = undefined;
  }
}

export interface VaultProviderDeps {
  kube: KubeApi;
  scope: StoreScope;
  record: ProviderCallRecorder;
  /** Drives the token's re-read, renewal and lookup timers (tests pass a FakeClock). */
  clock?: Clock;
  logger?: Logger;
}

const SILENT = pino({ level: 'silent' });

export class VaultProvider implements SecretsProvider {
  readonly metricName = METRIC;
  private http: VaultHttpClient | undefined;
  /** Built at the first call (it needs the client, whose CA may live in a Secret); undefined for a store without auth. */
  private auth: Promise<VaultAuth> | undefined;
  private readonly mount: string | undefined;
  private readonly kv: 'v1' | 'v2';

  constructor(
    private readonly spec: VaultProviderSpec,
    private readonly deps: VaultProviderDeps,
  ) {
    if (!spec.server) throw new InvalidError('vault.server is required');
    if (spec.version && spec.version !== 'v1' && spec.version !== 'v2') throw new InvalidError(`vault.version must be v1 or v2, got ${JSON.stringify(spec.version)}`);
    this.kv = spec.version === 'v1' ? 'v1' : 'v2';
    this.mount = spec.path ? spec.path.replace(/^\/+|\/+$/g, '') : undefined;
  }

  private authMethod(): string | undefined {
    const auth = this.spec.auth ?? {};
    return AUTH_ORDER.find((m) => auth[m] !== undefined && auth[m] !== null);
  }

  /** Referent ClusterSecretStore: credentials live in each ExternalSecret's namespace, so validation cannot tell. */
  private referentWithoutNamespace(): boolean {
    const a = this.spec.auth;
    const sel = a?.tokenSecretRef ?? a?.appRole?.secretRef;
    return isReferent(sel, this.deps.scope) && !this.deps.scope.referentNamespace;
  }

  private async client(signal: AbortSignal): Promise<VaultHttpClient> {
    if (this.http) return this.http;
    const ca = await storeCa(this.deps.kube, this.spec, this.deps.scope, signal);
    this.http ??= new VaultHttpClient({
      address: this.spec.server,
      timeoutMs: REQUEST_TIMEOUT_MS,
      ...(this.spec.namespace ? { namespace: this.spec.namespace } : {}),
      ...(ca ? { ca } : {}),
      ...(this.spec.headers ? { headers: this.spec.headers } : {}),
    });
    return this.http;
  }

  private async call(name: string, fn: () => Promise<unknown>): Promise<unknown> {
    return recordedCall(this.deps.record, METRIC, name, fn);
  }

  /** The store's auth, checked (ESO's messages) and built once; concurrent first calls share it. */
  private authFor(signal: AbortSignal): Promise<VaultAuth> {
    this.auth ??= this.createAuth(signal);
    this.auth.catch(() => (this.auth = undefined)); // a store whose CA Secret appears later is tried again
    return this.auth;
  }

  private async createAuth(signal: AbortSignal): Promise<VaultAuth> {
    const method = this.authMethod();
    const auth = this.spec.auth ?? {};
    if (!method) throw new InvalidError('cannot initialize Vault client: no valid auth method specified');
    if (!SUPPORTED_AUTH.includes(method)) throw new InvalidError(`vault auth method ${method} is not supported by Coffer (supported: tokenSecretRef, appRole)`);
    const common = {
      client: await this.client(signal),
      clock: this.deps.clock ?? SYSTEM_CLOCK,
      logger: (this.deps.logger ?? SILENT).child({ provider: 'vault', server: this.spec.server }),
      timeoutMs: REQUEST_TIMEOUT_MS,
      observe: <T>(call: string, fn: () => Promise<T>) => recordedCall(this.deps.record, METRIC, call, fn),
    };
    const { kube, scope } = this.deps;
    if (method === 'tokenSecretRef') {
      return new StaticTokenAuth(new SecretKeyCredential(kube, auth.tokenSecretRef!, scope), { ...common, what: 'auth.tokenSecretRef', recheckMs: TOKEN_SECRET_RECHECK_MS });
    }
    const role = auth.appRole!;
    if (!role.roleId && !role.roleRef) throw new InvalidError('invalid Auth.AppRole: neither `roleId` nor `roleRef` was supplied');
    if (!role.secretRef) throw new InvalidError('invalid Auth.AppRole: secretRef is required');
    const namespace = auth.namespace ?? this.spec.namespace;
    return new AppRoleAuth({
      ...common,
      ...(namespace ? { namespace } : {}),
      mount: (role.path ?? 'approle').replace(/^\/+|\/+$/g, ''),
      roleId: role.roleId ? literalCredential(role.roleId) : new SecretKeyCredential(kube, role.roleRef!, scope),
      secretId: new SecretKeyCredential(kube, role.secretRef, scope),
    });
  }

  /** One authenticated request; a rejected token is replaced once (a fresh login, the Secret read again). */
  private async request(callName: string, method: string, path: string, opts: CallOptions & { query?: Record<string, string>; body?: unknown }) {
    const http = await this.client(opts.signal);
    const auth = this.spec.auth === undefined ? undefined : await this.authFor(opts.signal);
    const req: VaultRequest & { signal: AbortSignal } = { signal: opts.signal, ...(opts.query ? { query: opts.query } : {}), ...(opts.body !== undefined ? { body: opts.body } : {}) };
    return (await this.call(callName, async () =>
      checked(http, method, path, auth ? await requestWithAuth(http, auth, method, path, req) : await http.request(method, path, req)),
    )) as { status: number; body?: Record<string, unknown> };
  }

  /** ESO's buildPath (external-secrets providers/v1/vault/client_get.go): where a remoteRef.key is read from. */
  buildDataPath(key: string): string {
    const P = this.mount;
    if (this.kv === 'v1') return P ? `${P}/${key.startsWith(`${P}/`) ? key.slice(P.length + 1) : key}` : key;
    if (!P) {
      if (key.includes('/data/')) return key;
      const [first, ...rest] = key.split('/');
      return [first, 'data', ...rest].join('/');
    }
    let rel = key.startsWith(`${P}/`) ? key.slice(P.length + 1) : key;
    if (rel.startsWith('data/') && key.startsWith(`${P}/`)) rel = rel.slice(5);
    return `${P}/data/${rel}`;
  }

  private buildMetadataPath(key: string): string {
    if (this.mount) return `${this.mount}/metadata/${key}`;
    if (!key.includes('/data/')) throw new InvalidError(`provided Path isn't a valid kv v2 path`);
    return key.replace('/data/', '/metadata/');
  }

  /** The secret's data map, or NoSecretError. */
  private async readData(ref: RemoteRef, opts: CallOptions): Promise<Record<string, unknown>> {
    if (ref.metadataPolicy === 'Fetch') return this.readMetadata(ref.key, opts);
    const query = ref.version && this.kv === 'v2' ? { version: ref.version } : undefined;
    let res;
    try {
      res = await this.request('ReadSecretData', 'GET', this.buildDataPath(ref.key), { ...opts, ...(query ? { query } : {}) });
    } catch (e) {
      throw new InvalidError(`cannot read secret data from Vault: ${(e as Error).message}`, { cause: e });
    }
    const outer = res.body?.data as Record<string, unknown> | null | undefined;
    if (res.status === 404 && (outer === undefined || outer === null)) throw new NoSecretError();
    if (this.kv === 'v1') {
      if (!outer || typeof outer !== 'object') throw new NoSecretError();
      return outer;
    }
    if (!outer || !Object.hasOwn(outer, 'data')) throw new InvalidError('failed to find data field');
    const inner = outer.data;
    if (inner === null) throw new NoSecretError(); // deleted or destroyed version
    if (typeof inner !== 'object' || Array.isArray(inner)) throw new InvalidError('failed to unmarshall JSON');
    return inner as Record<string, unknown>;
  }

  private async readMetadata(key: string, opts: CallOptions): Promise<Record<string, unknown>> {
    if (this.kv === 'v1') throw new InvalidError('cannot perform metadata fetch operations with kv version v1');
    const res = await this.request('ReadSecretData', 'GET', this.buildMetadataPath(key), opts);
    const d = res.body?.data as Record<string, unknown> | undefined;
    if (res.status === 404 || !d) throw new NoSecretError('secret not found');
    const text = (v: unknown) => (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? String(v) : '');
    const out: Record<string, unknown> = {
      created_time: text(d.created_time),
      current_version: text(d.current_version),
      delete_version_after: text(d.delete_version_after),
    };
    for (const [k, v] of Object.entries((d.custom_metadata as Record<string, unknown> | null) ?? {})) out[k] = String(v);
    return out;
  }

  private selectProperty(data: Record<string, unknown>, property: string | undefined): unknown {
    if (!property) return data;
    if (Object.hasOwn(data, property)) return data[property];
    const v = selectJsonPath(data, property);
    if (v === undefined) throw new InvalidError(`cannot find secret data for key: "${property}"`);
    return v;
  }

  async getSecret(ref: RemoteRef, opts: CallOptions): Promise<Buffer> {
    const data = await this.readData(ref, opts);
    const v = this.selectProperty(data, ref.property);
    if (!ref.property) return Buffer.from(marshalJson(v));
    return jsonValueToBytes(v);
  }

  async getSecretMap(ref: RemoteRef, opts: CallOptions): Promise<Record<string, Buffer>> {
    const data = await this.readData(ref, opts);
    const v = this.selectProperty(data, ref.property);
    let obj = v;
    if (typeof v === 'string') {
      try {
        obj = JSON.parse(v);
      } catch {
        obj = undefined;
      }
    }
    if (!obj || typeof obj !== 'object' || Array.isArray(obj)) throw new InvalidError('failed to unmarshal secret: not a JSON object');
    const out: Record<string, Buffer> = {};
    for (const [k, m] of Object.entries(obj)) out[k] = jsonMemberToBytes(m);
    return out;
  }

  private async listRecursive(prefix: string, opts: CallOptions): Promise<string[]> {
    const base = this.kv === 'v2' ? `${this.mount}/metadata/${prefix}` : `${this.mount}/${prefix}`;
    const res = await this.request('ListSecrets', 'GET', base, { ...opts, query: { list: 'true' } });
    const keys = (res.body?.data as { keys?: string[] } | undefined)?.keys;
    if (res.status === 404 || !keys) throw new NoSecretError(`nothing listed under ${prefix || '/'}`);
    const out: string[] = [];
    for (const k of keys) {
      if (k.endsWith('/')) out.push(...(await this.listRecursive(`${prefix}${k}`, opts)));
      else out.push(`${prefix}${k}`);
    }
    return out;
  }

  async getAllSecrets(find: FindRef, opts: CallOptions): Promise<Record<string, Buffer>> {
    if (!this.mount) throw new InvalidError(`provided Path isn't a valid kv v2 path`);
    if (find.tags && !find.name && this.kv === 'v1') throw new InvalidError('cannot perform find by tag operations with kv version v1');
    const root = find.path ? `${find.path.replace(/^\/+|\/+$/g, '')}/` : '';
    const candidates = await this.listRecursive(root, opts);
    let matches: string[];
    if (find.name?.regexp !== undefined) {
      const re = GoRegexp.compile(find.name.regexp);
      matches = candidates.filter((c) => re.test(c));
    } else if (find.tags) {
      matches = [];
      for (const c of candidates) {
        const meta = await this.readMetadata(c, opts).catch((e: unknown) => {
          if (e instanceof NoSecretError) return undefined;
          throw e;
        });
        if (meta && Object.entries(find.tags).every(([k, v]) => meta[k] === v)) matches.push(c);
      }
    } else throw new InvalidError('find needs name.regexp or tags');
    const out: Record<string, Buffer> = {};
    for (const m of matches) {
      try {
        out[m] = Buffer.from(marshalJson(await this.readData({ key: m }, opts)));
      } catch (e) {
        if (!(e instanceof NoSecretError)) throw e; // deleted between list and read: skipped, as ESO does
      }
    }
    return out;
  }

  async validate(opts: CallOptions): Promise<ValidationResult> {
    if (this.referentWithoutNamespace()) return 'Unknown';
    if (!this.spec.auth) return 'Ready';
    const res = await this.request('LookupSelf', 'GET', 'auth/token/lookup-self', opts);
    if (res.status === 404) throw new InvalidError('token lookup-self returned 404');
    return 'Ready';
  }

  // ---- PushSecret (external-secrets pkg/provider/vault/client_push.go) ----

  /** The secret's current data, or undefined when there is none. */
  private async currentData(key: string, opts: CallOptions): Promise<Record<string, unknown> | undefined> {
    try {
      return await this.readData({ key }, opts);
    } catch (e) {
      if (e instanceof NoSecretError) return undefined;
      throw e;
    }
  }

  /** ESO writes only secrets it created, which it marks with custom metadata managed-by=external-secrets. */
  private async managedByEso(key: string, opts: CallOptions): Promise<boolean> {
    if (this.kv === 'v1') return true; // kv v1 has no metadata: ESO's check reads it from the data, which pushes never add
    const meta = await this.readMetadata(key, opts).catch((e: unknown) => {
      if (e instanceof NoSecretError) return undefined;
      throw e;
    });
    return meta?.['managed-by'] === 'external-secrets';
  }

  async secretExists(ref: PushRemoteRef, opts: CallOptions): Promise<boolean> {
    const data = await this.currentData(ref.remoteKey, opts);
    return data !== undefined && (!ref.property || Object.hasOwn(data, ref.property));
  }

  /** Writes `value` at remoteKey: as one property of the secret, or (no property) as the whole secret's JSON object. */
  async pushSecret(value: Buffer, ref: PushRemoteRef, opts: CallOptions): Promise<void> {
    const current = await this.currentData(ref.remoteKey, opts);
    if (current !== undefined && !(await this.managedByEso(ref.remoteKey, opts))) throw new InvalidError('secret not managed by external-secrets');
    let next: Record<string, unknown>;
    if (ref.property) next = { ...(current ?? {}), [ref.property]: value.toString('utf8') };
    else {
      try {
        next = JSON.parse(value.toString('utf8')) as Record<string, unknown>;
      } catch (e) {
        throw new InvalidError(`error unmarshalling vault secret: ${(e as Error).message}`);
      }
      if (!next || typeof next !== 'object' || Array.isArray(next)) throw new InvalidError('error unmarshalling vault secret: not a JSON object');
    }
    if (current !== undefined && marshalJson(current) === marshalJson(next)) return; // nothing to change
    if (this.kv === 'v2') {
      await this.request('WriteSecretData', 'POST', this.buildMetadataPath(ref.remoteKey), { ...opts, body: { custom_metadata: { 'managed-by': 'external-secrets' } } });
    }
    await this.request('WriteSecretData', 'POST', this.buildDataPath(ref.remoteKey), { ...opts, body: this.kv === 'v2' ? { data: next } : next });
  }

  /** Removes what a push wrote: the property, or the whole secret with all its versions; others' secrets are left alone. */
  async deleteSecret(ref: PushRemoteRef, opts: CallOptions): Promise<void> {
    const current = await this.currentData(ref.remoteKey, opts);
    if (current === undefined || !(await this.managedByEso(ref.remoteKey, opts))) return;
    if (ref.property) {
      const { [ref.property]: _gone, ...rest } = current;
      if (Object.keys(rest).length > 0) {
        await this.request('WriteSecretData', 'POST', this.buildDataPath(ref.remoteKey), { ...opts, body: this.kv === 'v2' ? { data: rest } : rest });
        return;
      }
    }
    const path = this.kv === 'v2' ? this.buildMetadataPath(ref.remoteKey) : this.buildDataPath(ref.remoteKey);
    await this.request('DeleteSecret', 'DELETE', path, opts);
  }

  /** Revokes a token this provider logged in for (never a static token from a Secret) and stops its timers. */
  async close(_opts?: CallOptions): Promise<void> {
    const auth = this.auth;
    this.auth = undefined;
    await auth?.then((a) => a.close()).catch(() => undefined);
  }
}
