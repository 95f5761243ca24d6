// Resolves a SecretKeySelector (credential reference) the way ESO's resolvers do: a SecretStore reads from its own
// namespace (a `namespace` naming another one is refused, so a namespace user cannot borrow another namespace's
// credentials); a ClusterSecretStore honours `namespace`, or, without one, reads from the ExternalSecret's namespace
// ("referent" authentication).
import { InvalidError } from '../../lib/errors.js';
import type { KubeApi } from '../kube-api.js';

export interface SecretKeySelector {
  name?: string;
  namespace?: string;
  key?: string;
}

export interface StoreScope {
  kind: 'SecretStore' | 'ClusterSecretStore';
  /** The SecretStore's namespace; undefined for a ClusterSecretStore. */
  storeNamespace?: string;
  /** The namespace of the ExternalSecret being reconciled, when there is one (referent auth). */
  referentNamespace?: string;
}

/** Which namespace a selector resolves in, or undefined when it cannot be known yet (referent, no ES). */
export function selectorNamespace(sel: SecretKeySelector, scope: StoreScope): string | undefined {
  if (scope.kind === 'SecretStore') {
    if (sel.namespace && sel.namespace !== scope.storeNamespace) {
      throw new InvalidError(`namespace should either be empty or match the namespace of the SecretStore for a namespaced SecretStore`);
    }
    return scope.storeNamespace;
  }
  return sel.namespace ?? scope.referentNamespace;
}

export function isReferent(sel: SecretKeySelector | undefined, scope: StoreScope): boolean {
  return scope.kind === 'ClusterSecretStore' && sel !== undefined && !sel.namespace;
}

/** Reads the selected key's bytes; errors name the Secret and key, never the value. */
export async function readSecretKey(
  kube: KubeApi,
  sel: SecretKeySelector,
  scope: StoreScope,
  opts: { signal: AbortSignal; defaultKey?: string },
): Promise<Buffer> {
  const key = sel.key ?? opts.defaultKey;
  if (!sel.name) throw new InvalidError('secret reference has no name');
  if (!key) throw new InvalidError(`secret reference ${sel.name} has no key`);
  const ns = selectorNamespace(sel, scope);
  if (!ns) throw new InvalidError(`secret reference ${sel.name} has no namespace (referent authentication needs an ExternalSecret)`);
  const secret = await kube.getSecret(ns, sel.name, { signal: opts.signal });
  if (!secret) throw new InvalidError(`cannot get Kubernetes secret "${sel.name}" in namespace "${ns}": not found`);
  const value = secret.data?.[key];
  if (value === undefined) throw new InvalidError(`cannot find secret data for key: "${key}"`);
  return Buffer.from(value, 'base64');
}

/** A store's `caProvider` (external-secrets apis/externalsecrets/v1 CAProvider). */
export interface CaProvider {
  type: string;
  name: string;
  key?: string;
  namespace?: string;
}

/**
 * The CA a provider's connection trusts, as ESO's esutils.FetchCACertFromSource finds it: `caBundle` (base64 PEM) when
 * given, else the key of the Secret or ConfigMap `caProvider` names (in the SecretStore's own namespace, or the one a
 * ClusterSecretStore names); undefined when the store names neither (the system's CAs).
 */
export async function storeCa(
  kube: KubeApi,
  source: { caBundle?: string | undefined; caProvider?: CaProvider | undefined },
  scope: StoreScope,
  signal: AbortSignal,
): Promise<Buffer | undefined> {
  if (source.caBundle) return Buffer.from(source.caBundle, 'base64');
  const p = source.caProvider;
  if (!p) return undefined;
  const ns = scope.kind === 'SecretStore' ? scope.storeNamespace : p.namespace;
  if (!ns) throw new InvalidError('CAProvider.namespace must not be empty with ClusterSecretStore');
  if (p.type === 'Secret') return readSecretKey(kube, { name: p.name, namespace: ns, ...(p.key ? { key: p.key } : {}) }, { kind: 'ClusterSecretStore' }, { signal });
  const cm = await kube.getConfigMap(ns, p.name, { signal });
  const value = p.key ? cm?.data?.[p.key] : undefined;
  if (value === undefined) throw new InvalidError(`cannot find CA in ConfigMap ${ns}/${p.name} key ${String(p.key)}`);
  return Buffer.from(value);
}
