// The rules kube-apiserver applies to a decoded EncryptionConfiguration
// (apiserver:pkg/apis/apiserver/validation/validation_encryption.go), every problem collected with its field path.
// Messages may name non-secret values (resource names, KMS names, endpoints) but never a key's secret.
import { InvalidError } from '../lib/errors.js';
import type { RawEncryptionConfiguration, RawKey, RawKmsConfiguration } from './encryption-config-decode.js';
import { parseGroupResource, type GroupResource } from './group-resource.js';
import { decodeStrictBase64 } from './strict-base64.js';

export interface ValidationResult {
  errors: InvalidError[];
  warnings: string[];
}

const PROVIDER_TYPES = ['kms', 'aesgcm', 'aescbc', 'secretbox', 'identity'] as const;

// crypto/aes accepts these; upstream uses the same list for aescbc although its docs say 32 bytes.
const AES_KEY_SIZES = [16, 24, 32];
const SECRETBOX_KEY_SIZES = [32];

// Resources that exist only inside kube-apiserver, with no REST API to read them back for re-encryption.
const NON_REST_RESOURCES = new Set(['apiserveripinfo', 'serviceipallocations', 'servicenodeportallocations']);

/** `reload` is kube-apiserver's automatic reload mode, where KMS v1 names must be unique too. */
export function validateEncryptionConfiguration(
  config: RawEncryptionConfiguration,
  opts?: { reload?: boolean },
): ValidationResult {
  const errors: InvalidError[] = [];
  const warnings: string[] = [];
  const err = (field: string, message: string) => errors.push(new InvalidError(message, { field }));
  if (config.resources.length === 0) err('resources', 'must have at least one entry');
  const kmsNames = new Set<string>();

  config.resources.forEach((entry, i) => {
    const path = `resources[${i}]`;
    if (entry.resources.length === 0) err(`${path}.resources`, 'must have at least one entry');
    if (entry.providers.length === 0) err(`${path}.providers`, 'must have at least one entry');
    const validNames = entry.resources.filter((name, j) => {
      const problem = resourceNameProblem(name);
      if (problem) err(`${path}.resources[${j}]`, problem);
      return !problem;
    });
    const overlap = resourceListProblem(validNames);
    if (overlap) err(`${path}.resources`, overlap);

    entry.providers.forEach((provider, j) => {
      const providerPath = `${path}.providers[${j}]`;
      const set = PROVIDER_TYPES.filter((t) => provider[t] !== undefined);
      if (set.length === 0) {
        err(providerPath, `provider does not contain any of the expected providers: ${PROVIDER_TYPES.join(', ')}`);
      } else if (set.length > 1) {
        err(
          providerPath,
          `more than one provider specified in a single element (${set.join(', ')}), ` +
            'should split into different list elements',
        );
      }
      // Like upstream, only the first provider set in an element is checked further.
      if (provider.kms) {
        validateKms(provider.kms, `${providerPath}.kms`, kmsNames, opts?.reload ?? false, err);
        kmsNames.add(provider.kms.name);
        if (provider.kms.apiVersion === 'v1') {
          warnings.push(
            `${providerPath}.kms: KMS v1 is deprecated and disabled by default since Kubernetes 1.29 ` +
              '(kube-apiserver needs --feature-gates=KMSv1=true); use apiVersion: v2',
          );
        }
      } else if (provider.aesgcm) {
        validateKeys(provider.aesgcm.keys, `${providerPath}.aesgcm.keys`, AES_KEY_SIZES, err);
      } else if (provider.aescbc) {
        validateKeys(provider.aescbc.keys, `${providerPath}.aescbc.keys`, AES_KEY_SIZES, err);
        warnings.push(
          `${providerPath}.aescbc: aescbc is not recommended: it is vulnerable to padding-oracle attacks; ` +
            'prefer kms v2, or aesgcm/secretbox with frequent key rotation',
        );
      } else if (provider.secretbox) {
        validateKeys(provider.secretbox.keys, `${providerPath}.secretbox.keys`, SECRETBOX_KEY_SIZES, err);
      }
    });
  });
  return { errors, warnings };
}

type Report = (field: string, message: string) => void;

function validateKeys(keys: readonly RawKey[], path: string, sizes: readonly number[], err: Report): void {
  if (keys.length === 0) err(path, 'must have at least one key');
  keys.forEach((key, i) => {
    if (key.name === '') err(`${path}[${i}].name`, 'name is a mandatory field for a key');
    const secretPath = `${path}[${i}].secret`;
    if (key.secret === '') {
      err(secretPath, 'secret is a mandatory field for a key');
      return;
    }
    const decoded = decodeStrictBase64(key.secret);
    if (!decoded) {
      err(secretPath, 'is not valid base64 (standard alphabet with padding); value not shown');
      return;
    }
    const length = decoded.length;
    decoded.fill(0);
    if (!sizes.includes(length)) {
      err(secretPath, `must be ${describeSizes(sizes)} bytes after base64 decoding, got ${length}`);
    }
  });
}

function describeSizes(sizes: readonly number[]): string {
  if (sizes.length === 1) return String(sizes[0]);
  return `${sizes.slice(0, -1).join(', ')} or ${sizes[sizes.length - 1]}`;
}

function validateKms(kms: RawKmsConfiguration, path: string, earlierNames: Set<string>, reload: boolean, err: Report) {
  const name = JSON.stringify(kms.name);
  if (kms.name === '') err(`${path}.name`, 'name is a mandatory field for a kms provider');
  // The v2 name is embedded in the stored prefix `k8s:enc:kms:v2:<name>:`; upstream still allows ':' in v1 names.
  if (kms.apiVersion !== 'v1' && kms.name.includes(':')) {
    err(`${path}.name`, `invalid KMS provider name ${name}, must not contain ':'`);
  }
  // Two v2 providers of the same name would share a prefix and so read each other's data; v1 names are checked only
  // on automatic reload, as upstream, so configs that older clusters accepted still load.
  if ((reload || kms.apiVersion !== 'v1') && kms.name !== '' && earlierNames.has(kms.name)) {
    err(`${path}.name`, `duplicate KMS provider name ${name}, names must be unique`);
  }
  if (kms.timeoutNs <= 0) {
    err(`${path}.timeout`, `timeout should be a positive value, got ${JSON.stringify(kms.timeout)}`);
  }
  const endpointProblem = kmsEndpointProblem(kms.endpoint);
  if (endpointProblem) err(`${path}.endpoint`, endpointProblem);
  if (kms.apiVersion === 'v2' && kms.cachesize !== undefined) {
    err(`${path}.cachesize`, `cachesize is not supported in v2, got ${kms.cachesize}`);
  } else if (kms.cachesize === 0) {
    err(`${path}.cachesize`, 'cachesize should be a positive value, or negative to disable, got 0');
  }
  if (kms.apiVersion !== 'v1' && kms.apiVersion !== 'v2') {
    err(
      `${path}.apiVersion`,
      `unsupported apiVersion ${JSON.stringify(kms.apiVersion)} for KMS provider, only v1 and v2 are supported`,
    );
  }
}

/** Go's url.Parse as far as it matters here: control characters, the scheme, and %-escapes. */
function kmsEndpointProblem(endpoint: string): string | undefined {
  if (endpoint === '') return 'endpoint is a mandatory field for a kms provider';
  const quoted = JSON.stringify(endpoint);
  const parseError = goUrlParseError(endpoint);
  if (parseError) return `invalid endpoint for kms provider ${quoted}: ${parseError}`;
  const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:/.exec(endpoint)?.[0].slice(0, -1).toLowerCase() ?? '';
  if (scheme !== 'unix') {
    return `unsupported scheme ${JSON.stringify(scheme)} for KMS provider, only unix is supported, got ${quoted}`;
  }
  return undefined;
}

function goUrlParseError(url: string): string | undefined {
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(url)) return 'net/url: invalid control character in URL';
  if (url.startsWith(':')) return 'missing protocol scheme';
  const badEscape = /%(?![0-9A-Fa-f]{2})(.{0,2})/s.exec(url);
  if (badEscape) return `invalid URL escape ${JSON.stringify(badEscape[0])}`;
  return undefined;
}

/** Why a single resource string cannot be used, or undefined. */
export function resourceNameProblem(name: string): string | undefined {
  const quoted = JSON.stringify(name);
  if (name === '') return 'resource name must not be empty';
  if (name.toLowerCase() !== name) return `resource name ${quoted} must be lowercase`;
  if (name === '*') {
    return `resource ${quoted} is not allowed: use "*." for all core resources or "*.*" for all resources`;
  }
  const gr = parseGroupResource(name);
  if (gr.group === '' && NON_REST_RESOURCES.has(gr.resource)) {
    return `resource ${quoted} has no REST API and cannot be encrypted`;
  }
  if (gr.group === 'events.k8s.io') {
    return `resource ${quoted}: group "events.k8s.io" is not allowed, events are stored as core "events"`;
  }
  if (gr.group === 'extensions') {
    return `resource ${quoted}: group "extensions" is not allowed, its resources are stored under their current groups`;
  }
  if (gr.group === '*' && gr.resource !== '*') {
    return (
      `resource ${quoted} is not allowed: a resource cannot be selected across all groups, ` +
      'use "*.*" or name the group'
    );
  }
  return undefined;
}

/** Duplicates and overlaps within one `resources` list, as one message for the list (upstream reports it once). */
function resourceListProblem(names: readonly string[]): string | undefined {
  if (names.length < 2) return undefined;
  const parsed = names.map((name) => ({ name, gr: parseGroupResource(name) }));
  const same = (a: GroupResource, b: GroupResource) => a.group === b.group && a.resource === b.resource;
  for (let j = 1; j < parsed.length; j++) {
    const earlier = parsed.slice(0, j).find((p) => same(p.gr, parsed[j]!.gr));
    if (earlier) {
      return `duplicate resources: ${JSON.stringify(parsed[j]!.name)} repeats ${JSON.stringify(earlier.name)}`;
    }
  }
  const any = (gr: GroupResource) => gr.group === '*' && gr.resource === '*';
  for (let j = 0; j < parsed.length; j++) {
    for (let k = j + 1; k < parsed.length; k++) {
      const a = parsed[j]!;
      const b = parsed[k]!;
      if (any(a.gr) || any(b.gr) || (a.gr.group === b.gr.group && (a.gr.resource === '*' || b.gr.resource === '*'))) {
        const pair = `${JSON.stringify(a.name)} and ${JSON.stringify(b.name)}`;
        return `overlapping resources: ${pair} select the same resources`;
      }
    }
  }
  return undefined;
}
