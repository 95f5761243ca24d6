// Long: ESO's kubernetes provider whole: its four auth modes, reads, find and push share one client and its cache.
// ESO's `kubernetes` provider: Secrets of another namespace (remoteNamespace) of this or another cluster, reached
// with the credentials the store names (bearer token, client certificate, a kubeconfig in a Secret, or a
// ServiceAccount token from TokenRequest). It never falls back to the controller's own credentials: a namespace user
// must not be able to read other namespaces through the controller.
// As ESO builds a client per reconcile, credentials held in Secrets (and a CA in a ConfigMap) are read again when the
// last read is over a second old, so a rotated token takes effect at the next refresh; a ServiceAccount token is
// renewed when 80% of its lifetime has passed (as kubelet renews projected tokens), and a 401 from the remote cluster
// reconnects once with fresh credentials.
import { createHash } from 'node:crypto';
import { CoreV1Api, KubeConfig, type V1Secret } from '@kubernetes/client-node';
import { CofferError, InvalidError, NotFoundError } from '../../lib/errors.js';
import { GoRegexp } from '../../lib/go/regexp.js';
import { jsonValueToBytes, selectJsonPath } from '../external-secrets/gjson-path.js';
import type { FindRef, RemoteRef } from '../external-secrets/external-secret-types.js';
import { convertKeys } from '../external-secrets/key-conversion.js';
import type { KubeApi } from '../kube-api.js';
import { mergePushMetadata, parsePushMetadata } from './kubernetes-push-metadata.js';
import { isReferent, readSecretKey, selectorNamespace, storeCa, type CaProvider, type SecretKeySelector, type StoreScope } from './credential-secrets.js';
import { NoSecretError, recordedCall, type CallOptions, type ProviderCallRecorder, type PushRemoteRef, type PushSource, type SecretsProvider, type ValidationResult } from './secrets-provider.js';

export interface KubernetesProviderSpec {
  server?: { url?: string; caBundle?: string; caProvider?: CaProvider };
  auth?: {
    token?: { bearerToken?: SecretKeySelector };
    cert?: { clientCert?: SecretKeySelector; clientKey?: SecretKeySelector };
    serviceAccount?: { name: string; namespace?: string; audiences?: string[] };
  };
  authRef?: SecretKeySelector;
  remoteNamespace?: string;
}

/** Reads and writes Secrets of the remote cluster; the default is client-node over the connection the store describes. */
export interface SecretSource {
  get(namespace: string, name: string, opts: CallOptions): Promise<V1Secret | undefined>;
  list(namespace: string, opts: CallOptions & { labelSelector?: string }): Promise<V1Secret[]>;
  create(namespace: string, secret: V1Secret, opts: CallOptions): Promise<void>;
  replace(namespace: string, secret: V1Secret, opts: CallOptions): Promise<void>;
  /** A Secret already gone is not an error. */
  delete(namespace: string, name: string, opts: CallOptions): Promise<void>;
}

export interface KubernetesProviderDeps {
  kube: KubeApi;
  scope: StoreScope;
  record: ProviderCallRecorder;
  /** Turns a KubeConfig into a SecretSource (tests replace it). */
  connect?: (kc: KubeConfig) => SecretSource;
  /** Milliseconds clock for credential re-reads and token renewal (tests). */
  now?: () => number;
}

const METRIC = 'Kubernetes';
const CREDENTIAL_REREAD_MS = 1000;
const SERVICE_ACCOUNT_TOKEN_SECONDS = 3600;
/** A ServiceAccount token is replaced once this fraction of its lifetime has passed. */
const TOKEN_RENEW_FRACTION = 0.8;

/** An error answered by the remote cluster: the Status message, as client-go words it, and the HTTP code. */
export class RemoteKubeError extends CofferError {
  constructor(
    message: string,
    readonly code: number | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

function codeOf(e: unknown): number | undefined {
  const c = (e as { code?: unknown } | undefined)?.code;
  return typeof c === 'number' ? c : undefined;
}

/** client-node's ApiException (message with headers and the raw body) → the Status message kube clients show. */
function remoteError(e: unknown): Error {
  if (e instanceof RemoteKubeError) return e;
  const code = codeOf(e);
  if (code === undefined) return e instanceof Error ? e : new CofferError(String(e));
  let body = (e as { body?: unknown }).body;
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body) as unknown;
    } catch {
      // not a Status
    }
  }
  const message = (body as { message?: unknown } | undefined)?.message;
  const text = typeof message === 'string' && message !== '' ? message : code === 401 ? 'Unauthorized' : code === 403 ? 'Forbidden' : `the server answered HTTP ${code}`;
  return new RemoteKubeError(text, code, { cause: e });
}

function clientNodeSource(kc: KubeConfig): SecretSource {
  const api = kc.makeApiClient(CoreV1Api);
  return {
    async get(namespace, name) {
      try {
        return await api.readNamespacedSecret({ namespace, name });
      } catch (e) {
        if (codeOf(e) === 404) return undefined;
        throw remoteError(e);
      }
    },
    async list(namespace, opts) {
      try {
        return (await api.listNamespacedSecret({ namespace, ...(opts.labelSelector ? { labelSelector: opts.labelSelector } : {}) })).items;
      } catch (e) {
        throw remoteError(e);
      }
    },
    async create(namespace, body) {
      await api.createNamespacedSecret({ namespace, body }).catch((e: unknown) => Promise.reject(remoteError(e)));
    },
    async replace(namespace, body) {
      await api.replaceNamespacedSecret({ namespace, name: body.metadata!.name!, body }).catch((e: unknown) => Promise.reject(remoteError(e)));
    },
    async delete(namespace, name) {
      try {
        await api.deleteNamespacedSecret({ namespace, name });
      } catch (e) {
        if (codeOf(e) !== 404) throw remoteError(e);
      }
    },
  };
}

/** A connection to the remote cluster and what it was built from. */
interface Connection {
  source: SecretSource;
  /** Digest of the server, CA and credentials: an unchanged one keeps the connection. */
  fingerprint: string;
  checkedAt: number;
  serviceAccountToken?: MintedToken;
}

interface MintedToken {
  value: string;
  renewAt: number;
}

export class KubernetesProvider implements SecretsProvider {
  readonly metricName = METRIC;
  private connection: Connection | undefined;
  private connecting: Promise<SecretSource> | undefined;
  private readonly remoteNamespace: string;
  private readonly now: () => number;

  constructor(
    private readonly spec: KubernetesProviderSpec,
    private readonly deps: KubernetesProviderDeps,
  ) {
    this.remoteNamespace = spec.remoteNamespace ?? 'default';
    this.now = deps.now ?? Date.now;
    const a = spec.auth ?? {};
    const methods = (['token', 'cert', 'serviceAccount'] as const).filter((m) => a[m] !== undefined);
    if (spec.authRef && spec.auth) throw new InvalidError('authRef and inline auth cannot both be set');
    if (!spec.authRef && methods.length === 0) throw new InvalidError('no auth provider given');
    if (methods.length > 1) throw new InvalidError('multiple auth methods provided: set exactly one of Token, ServiceAccount, or Cert');
  }

  private referentWithoutNamespace(): boolean {
    const a = this.spec.auth;
    const sel = this.spec.authRef ?? a?.token?.bearerToken ?? a?.cert?.clientCert ?? (a?.serviceAccount ? { name: a.serviceAccount.name, ...(a.serviceAccount.namespace ? { namespace: a.serviceAccount.namespace } : {}) } : undefined);
    return isReferent(sel, this.deps.scope) && !this.deps.scope.referentNamespace;
  }

  /** The connection, rebuilt when its credentials changed or its ServiceAccount token is due for renewal. */
  private async connect(signal: AbortSignal): Promise<SecretSource> {
    const c = this.connection;
    const now = this.now();
    if (c && now - c.checkedAt <= CREDENTIAL_REREAD_MS && (!c.serviceAccountToken || now < c.serviceAccountToken.renewAt)) return c.source;
    this.connecting ??= this.reconnect(signal).finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async reconnect(signal: AbortSignal): Promise<SecretSource> {
    const previous = this.connection;
    const { kc, fingerprint, serviceAccountToken } = await this.loadKubeConfig(signal, previous?.serviceAccountToken);
    const checkedAt = this.now();
    if (previous && previous === this.connection && previous.fingerprint === fingerprint) {
      previous.checkedAt = checkedAt;
      return previous.source;
    }
    const source = (this.deps.connect ?? clientNodeSource)(kc);
    this.connection = { source, fingerprint, checkedAt, ...(serviceAccountToken ? { serviceAccountToken } : {}) };
    return source;
  }

  /** Runs `fn` on the connection; a 401 (expired or revoked credentials) reconnects with fresh ones once. */
  private async withSource<T>(signal: AbortSignal, fn: (src: SecretSource) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const src = await this.connect(signal);
      try {
        return await fn(src);
      } catch (e) {
        if (attempt > 0 || codeOf(e) !== 401) throw e;
        if (this.connection?.source === src) this.connection = undefined;
      }
    }
  }

  private async loadKubeConfig(signal: AbortSignal, previousToken: MintedToken | undefined): Promise<{ kc: KubeConfig; fingerprint: string; serviceAccountToken?: MintedToken }> {
    const kube = this.deps.kube;
    const scope = this.deps.scope;
    const kc = new KubeConfig();
    const digest = createHash('sha256');
    if (this.spec.authRef) {
      const text = await readSecretKey(kube, this.spec.authRef, scope, { signal });
      digest.update(text);
      kc.loadFromString(text.toString('utf8'));
      text.fill(0);
      return { kc, fingerprint: digest.digest('hex') };
    }
    const url = this.spec.server?.url;
    if (!url) throw new InvalidError('no server URL provided');
    const caData = (await storeCa(kube, this.spec.server ?? {}, scope, signal))?.toString('base64');
    const user: { name: string; token?: string; certData?: string; keyData?: string } = { name: 'store' };
    let serviceAccountToken: MintedToken | undefined;
    const a = this.spec.auth!;
    if (a.token) {
      if (!a.token.bearerToken) throw new InvalidError('auth.token.bearerToken is required');
      user.token = (await readSecretKey(kube, a.token.bearerToken, scope, { signal, defaultKey: 'token' })).toString('utf8').trim();
    } else if (a.cert) {
      if (!a.cert.clientCert || !a.cert.clientKey) throw new InvalidError('auth.cert needs clientCert and clientKey');
      user.certData = (await readSecretKey(kube, a.cert.clientCert, scope, { signal })).toString('base64');
      user.keyData = (await readSecretKey(kube, a.cert.clientKey, scope, { signal })).toString('base64');
    } else if (a.serviceAccount) {
      serviceAccountToken = previousToken && this.now() < previousToken.renewAt ? previousToken : await this.mintServiceAccountToken(a.serviceAccount, signal);
      user.token = serviceAccountToken.value;
    }
    for (const part of [url, caData, user.token, user.certData, user.keyData]) digest.update(`${part ?? ''}\0`);
    kc.loadFromOptions({
      clusters: [{ name: 'remote', server: url, ...(caData ? { caData } : {}), skipTLSVerify: false }],
      users: [user],
      contexts: [{ name: 'remote', cluster: 'remote', user: 'store' }],
      currentContext: 'remote',
    });
    return { kc, fingerprint: digest.digest('hex'), ...(serviceAccountToken ? { serviceAccountToken } : {}) };
  }

  /** TokenRequest on the controller's cluster (ESO asks for 3600 s); renewed at 80% of the lifetime granted. */
  private async mintServiceAccountToken(sa: { name: string; namespace?: string; audiences?: string[] }, signal: AbortSignal): Promise<MintedToken> {
    const kube = this.deps.kube;
    const ns = selectorNamespace({ name: sa.name, ...(sa.namespace ? { namespace: sa.namespace } : {}) }, this.deps.scope);
    if (!ns) throw new InvalidError(`serviceAccount ${sa.name} has no namespace`);
    const mintedAt = this.now();
    const t = await kube.createServiceAccountToken(ns, sa.name, { signal, expirationSeconds: SERVICE_ACCOUNT_TOKEN_SECONDS, ...(sa.audiences ? { audiences: sa.audiences } : {}) });
    const expiresAt = t.expiresAt?.getTime();
    const lifetime = expiresAt !== undefined && Number.isFinite(expiresAt) && expiresAt > mintedAt ? expiresAt - mintedAt : SERVICE_ACCOUNT_TOKEN_SECONDS * 1000;
    return { value: t.token, renewAt: mintedAt + lifetime * TOKEN_RENEW_FRACTION };
  }

  private async call<T>(name: string, fn: () => Promise<T>): Promise<T> {
    return recordedCall(this.deps.record, METRIC, name, fn);
  }

  private async read(key: string, opts: CallOptions): Promise<V1Secret | undefined> {
    return this.withSource(opts.signal, (src) => this.call('GetSecret', () => src.get(this.remoteNamespace, key, opts)));
  }

  private static dataOf(s: V1Secret): Record<string, string> {
    const out: Record<string, string> = {};
    for (const k of Object.keys(s.data ?? {}).sort()) out[k] = Buffer.from(s.data![k]!, 'base64').toString('utf8');
    return out;
  }

  async getSecret(ref: RemoteRef, opts: CallOptions): Promise<Buffer> {
    const s = await this.read(ref.key, opts);
    // ESO returns the API's NotFound as is here (not NoSecretError), so deletionPolicy does not apply to data[].
    if (!s) throw new NotFoundError(`secrets "${ref.key}" not found`);
    if (ref.metadataPolicy === 'Fetch') {
      const meta = { annotations: s.metadata?.annotations ?? {}, labels: s.metadata?.labels ?? {} };
      if (!ref.property) return Buffer.from(JSON.stringify(meta));
      const v = selectJsonPath(meta, ref.property);
      if (v === undefined) throw new InvalidError(`property ${ref.property} does not exist in metadata of secret "${ref.key}"`);
      return jsonValueToBytes(v);
    }
    const data = KubernetesProvider.dataOf(s);
    if (!ref.property) return Buffer.from(JSON.stringify(data));
    if (s.data && Object.hasOwn(s.data, ref.property)) return Buffer.from(s.data[ref.property]!, 'base64');
    const dot = ref.property.indexOf('.');
    if (dot > 0) {
      const head = ref.property.slice(0, dot);
      if (Object.hasOwn(data, head)) {
        try {
          const v = selectJsonPath(JSON.parse(data[head]!), ref.property.slice(dot + 1));
          if (v !== undefined) return jsonValueToBytes(v);
        } catch {
          // not JSON: falls through to "does not exist"
        }
      }
    }
    throw new InvalidError(`property ${ref.property} does not exist in data of secret "${ref.key}"`);
  }

  async getSecretMap(ref: RemoteRef, opts: CallOptions): Promise<Record<string, Buffer>> {
    const s = await this.read(ref.key, opts);
    if (!s) throw new NoSecretError();
    if (ref.metadataPolicy === 'Fetch') {
      return { labels: Buffer.from(JSON.stringify(s.metadata?.labels ?? {})), annotations: Buffer.from(JSON.stringify(s.metadata?.annotations ?? {})) };
    }
    const raw: Record<string, Buffer> = {};
    for (const [k, v] of Object.entries(s.data ?? {})) raw[k] = Buffer.from(v, 'base64');
    if (!ref.property) return raw;
    let obj: unknown;
    try {
      obj = Object.hasOwn(raw, ref.property) ? JSON.parse(raw[ref.property]!.toString('utf8')) : undefined;
      if (obj === undefined) {
        const dot = ref.property.indexOf('.');
        const head = dot > 0 ? ref.property.slice(0, dot) : ref.property;
        if (Object.hasOwn(raw, head)) obj = selectJsonPath(JSON.parse(raw[head]!.toString('utf8')), ref.property.slice(dot + 1));
      }
    } catch {
      throw new InvalidError('failed to unmarshal secret: invalid JSON format');
    }
    if (!obj || typeof obj !== 'object' || Array.isArray(obj)) throw new InvalidError('failed to unmarshal secret: invalid JSON format');
    // ESO re-serialises each member as JSON, so string members keep their quotes (external-secrets
    // providers/v1/kubernetes/client.go).
    const out: Record<string, Buffer> = {};
    for (const [k, v] of Object.entries(obj)) out[k] = Buffer.from(JSON.stringify(v));
    return out;
  }

  async getAllSecrets(find: FindRef, opts: CallOptions): Promise<Record<string, Buffer>> {
    const list = (labelSelector?: string) =>
      this.withSource(opts.signal, (src) => this.call('ListSecrets', () => src.list(this.remoteNamespace, { ...opts, ...(labelSelector ? { labelSelector } : {}) })));
    let secrets: V1Secret[];
    if (find.tags && Object.keys(find.tags).length > 0) {
      secrets = await list(Object.entries(find.tags).map(([k, v]) => `${k}=${v}`).join(','));
    } else if (find.name?.regexp !== undefined) {
      const re = GoRegexp.compile(find.name.regexp);
      secrets = (await list()).filter((s) => re.test(s.metadata?.name ?? ''));
    } else throw new InvalidError('find needs name.regexp or tags');
    const out: Record<string, Buffer> = {};
    for (const s of secrets) out[s.metadata!.name!] = Buffer.from(JSON.stringify(KubernetesProvider.dataOf(s)));
    return convertKeys(out, find.conversionStrategy);
  }

  /**
   * ESO's kubernetes PushSecret: without a property the remote Secret's data becomes the source's; with one, that
   * key holds the value (or, without a secretKey, the whole source as a JSON object). The remote Secret gets the
   * source's type, and labels and annotations merged as the entry's PushSecretMetadata says
   * (kubernetes-push-metadata.ts); it is written only when it changes.
   */
  async pushSecret(value: Buffer, ref: PushRemoteRef, opts: CallOptions, source?: PushSource): Promise<void> {
    if (!ref.property && source?.secretKey) throw new InvalidError('requires property in RemoteRef to push secret value if secret key is defined');
    const meta = parsePushMetadata(source?.metadata);
    let ns = this.remoteNamespace;
    if (meta?.remoteNamespace) {
      if (this.deps.scope.kind !== 'ClusterSecretStore') throw new InvalidError('remoteNamespace override is only supported with ClusterSecretStore');
      ns = meta.remoteNamespace;
    }
    await this.withSource(opts.signal, async (src) => {
      const existing = await this.call('GetSecret', () => src.get(ns, ref.remoteKey, opts));
      const target: V1Secret = existing ? structuredClone(existing) : { apiVersion: 'v1', kind: 'Secret', metadata: { name: ref.remoteKey, namespace: ns } };
      target.type = source?.type || 'Opaque';
      const { labels, annotations } = mergePushMetadata(meta, source ?? {}, target.metadata ?? {});
      target.metadata = { ...target.metadata, labels, annotations };
      const b64 = (b: Buffer) => b.toString('base64');
      if (!ref.property) target.data = Object.fromEntries(Object.entries(source?.data ?? {}).map(([k, v]) => [k, b64(v)]));
      else {
        const whole = source && !source.secretKey ? Buffer.from(marshalNoEscape(source.data)) : value;
        target.data = { ...(target.data ?? {}), [ref.property]: b64(whole) };
      }
      if (!existing) await this.call('CreateSecret', () => src.create(ns, target, opts));
      else if (!sameContent(existing, target)) await this.call('UpdateSecret', () => src.replace(ns, target, opts));
    });
  }

  /** ESO's DeleteSecret: a property goes on its own while others remain; otherwise the whole remote Secret. */
  async deleteSecret(ref: PushRemoteRef, opts: CallOptions): Promise<void> {
    const ns = this.remoteNamespace;
    await this.withSource(opts.signal, async (src) => {
      const existing = await this.call('GetSecret', () => src.get(ns, ref.remoteKey, opts));
      if (!existing) return;
      if (ref.property) {
        const data = { ...(existing.data ?? {}) };
        if (!Object.hasOwn(data, ref.property)) return;
        if (Object.keys(data).length > 1) {
          delete data[ref.property];
          await this.call('UpdateSecret', () => src.replace(ns, { ...existing, data }, opts));
          return;
        }
      }
      await this.call('DeleteSecret', () => src.delete(ns, ref.remoteKey, opts));
    });
  }

  async secretExists(ref: PushRemoteRef, opts: CallOptions): Promise<boolean> {
    const s = await this.read(ref.remoteKey, opts);
    if (!s) return false;
    return ref.property ? Object.hasOwn(s.data ?? {}, ref.property) : true;
  }

  async validate(opts: CallOptions): Promise<ValidationResult> {
    if (this.referentWithoutNamespace()) return 'Unknown';
    // Coffer checks access with a list in remoteNamespace instead of SelfSubjectRulesReview: same answer, and it
    // works against API servers that do not serve the authorization API.
    try {
      await this.withSource(opts.signal, (src) => this.call('ListSecrets', () => src.list(this.remoteNamespace, opts)));
    } catch (e) {
      const code = codeOf(e);
      if (code === 401 || code === 403) throw new InvalidError('client is not allowed to get secrets', { cause: e });
      throw e;
    }
    return 'Ready';
  }
}

/** Semantic equality of what a push writes: an empty map is the same as none (the API server drops both). */
function sameContent(a: V1Secret, b: V1Secret): boolean {
  const norm = (s: V1Secret) => JSON.stringify([s.type, s.data ?? {}, sorted(s.metadata?.labels), sorted(s.metadata?.annotations)]);
  return norm(a) === norm(b);
}
const sorted = (m: Record<string, string> | undefined) => Object.fromEntries(Object.entries(m ?? {}).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)));

/** esutils.JSONMarshal of the values as strings: keys sorted (Go maps), no HTML escaping. */
function marshalNoEscape(data: Record<string, Buffer>): string {
  return JSON.stringify(Object.fromEntries(Object.keys(data).sort().map((k) => [k, data[k]!.toString('utf8')])));
}
