// The `sys/` mount: health and seal status (unauthenticated, raw bodies), ACL policies, the mount lookup the `vault kv`
// CLI does first, mounts, auth methods and capabilities-self (vault/logical_system.go).
import { decodeStrictBase64 } from '../encryption/strict-base64.js';
import type { Clock } from '../lib/clock.js';
import { PolicyStore } from './policy-store.js';
import { optInt, optString, optStringList, type RequestData } from './request-fields.js';
import { badRequest, VaultError } from './vault-error.js';
import type { Mount } from './vault-request.js';

/** Reported as Vault's version (clients compare it), with this server's name as semver build metadata. */
export const VAULT_VERSION = '1.17.0+coffer';

export interface MountInfo {
  path: string;
  type: string;
  options: Record<string, string> | null;
  accessor: string;
  uuid: string;
}

export function sysMount(o: { policies: PolicyStore; clock: Clock; mounts: () => MountInfo[]; clusterId: string }): Mount {
  const { policies } = o;
  const policyName = (p: readonly string[]) => PolicyStore.normalizeName(p[0]!);
  const describeMount = (m: MountInfo) => ({
    type: m.type,
    description: '',
    accessor: m.accessor,
    local: false,
    seal_wrap: false,
    external_entropy_access: false,
    options: m.options,
    config: { default_lease_ttl: 0, max_lease_ttl: 0, force_no_cache: false },
    plugin_version: '',
    running_plugin_version: '',
    uuid: m.uuid,
  });
  return {
    path: 'sys/',
    type: 'system',
    routes: [
      {
        pattern: /^health$/,
        unauthenticated: true,
        // Initialised, unsealed and active: the only state this server is in while it answers. The Go client sends
        // every *code parameter so it can read the body in any state, so they are honoured.
        handlers: { read: (req) => ({ raw: health(o.clock, o.clusterId), status: statusCode(req.data, 'activecode', 200) }) },
      },
      {
        pattern: /^seal-status$/,
        unauthenticated: true,
        handlers: {
          read: () => ({
            raw: {
              type: 'shamir', initialized: true, sealed: false, t: 1, n: 1, progress: 0, nonce: '', version: VAULT_VERSION,
              build_date: '2024-05-01T00:00:00Z', migration: false, cluster_name: 'coffer-keyserver', cluster_id: o.clusterId,
              recovery_seal: false, storage_type: 'sqlite',
            },
          }),
        },
      },
      // Unauthenticated, as in Vault: a client asks before it has a token whether there is anything to log in to.
      { pattern: /^init$/, unauthenticated: true, handlers: { read: () => ({ raw: { initialized: true } }) } },
      {
        pattern: /^auth$/,
        handlers: {
          read: () => ({
            data: Object.fromEntries(o.mounts().filter((m) => m.path.startsWith('auth/')).map((m) => [m.path.slice('auth/'.length), describeMount(m)])),
            topLevel: true,
          }),
        },
      },
      { pattern: /^policies\/acl\/$/, handlers: { list: () => ({ data: { keys: policies.list() } }) } },
      // The legacy policy API (vault/logical_system.go handlePoliciesList/Read/Set/Delete with the "policy" path):
      // `rules` instead of `policy`, and GET on the collection lists.
      {
        pattern: /^policy\/?$/,
        handlers: {
          read: () => ({ data: { policies: policies.list(), keys: policies.list() }, topLevel: true }),
          list: () => ({ data: { policies: policies.list(), keys: policies.list() }, topLevel: true }),
        },
      },
      {
        pattern: /^policy\/(.+)$/,
        handlers: {
          read: (_req, p) => {
            const stored = policies.read(policyName(p));
            return stored ? { data: { name: stored.name, rules: stored.policy }, topLevel: true } : undefined;
          },
          write: (req, p) => {
            policies.write(policyName(p), policyText(req.data));
            return undefined;
          },
          delete: (_req, p) => {
            policies.delete(policyName(p));
            return undefined;
          },
        },
      },
      {
        pattern: /^policies\/acl\/(.+)$/,
        handlers: {
          read: (_req, p) => {
            const stored = policies.read(policyName(p));
            return stored ? { data: { name: stored.name, policy: stored.policy } } : undefined;
          },
          write: (req, p) => {
            policies.write(policyName(p), policyText(req.data));
            return undefined;
          },
          delete: (_req, p) => {
            policies.delete(policyName(p));
            return undefined;
          },
        },
      },
      {
        pattern: /^internal\/ui\/mounts\/(.+)$/,
        aclExempt: true,
        handlers: {
          read: (req, p) => {
            const target = p[0]!.endsWith('/') ? p[0]! : `${p[0]!}/`;
            const mount = o.mounts().find((m) => target.startsWith(m.path));
            if (!mount) throw badRequest(`no mount found for path ${JSON.stringify(p[0])}`);
            if (!req.acl!.grantsAnyUnder(mount.path)) {
              throw new VaultError(403, [`preflight capability check returned 403, please ensure client's policies grant access to path "${mount.path}"`]);
            }
            return { data: { path: mount.path, ...describeMount(mount) } };
          },
        },
      },
      {
        pattern: /^mounts$/,
        handlers: { read: () => ({ data: Object.fromEntries(o.mounts().filter((m) => !m.path.startsWith('auth/')).map((m) => [m.path, describeMount(m)])), topLevel: true }) },
      },
      {
        pattern: /^capabilities-self$/,
        handlers: {
          write: (req) => {
            const paths = optStringList(req.data, 'paths') ?? (optString(req.data, 'path') ? [optString(req.data, 'path')!] : []);
            if (paths.length === 0) throw badRequest('"paths" must be provided');
            const out: Record<string, string[]> = {};
            for (const path of paths) {
              const caps = req.acl!.root ? ['root'] : [...req.acl!.capabilities(path.replace(/^\//, ''))].sort();
              out[path] = caps.length ? caps : ['deny'];
            }
            return { data: { ...out, ...(paths.length === 1 ? { capabilities: out[paths[0]!] } : {}) }, topLevel: true };
          },
        },
      },
    ],
  };
}

function health(clock: Clock, clusterId: string): Record<string, unknown> {
  return {
    initialized: true,
    sealed: false,
    standby: false,
    performance_standby: false,
    replication_performance_mode: 'disabled',
    replication_dr_mode: 'disabled',
    server_time_utc: Math.floor(clock.now() / 1000),
    version: VAULT_VERSION,
    cluster_name: 'coffer-keyserver',
    cluster_id: clusterId,
  };
}

function statusCode(data: RequestData, name: string, fallback: number): number {
  let code: number | undefined;
  try {
    code = optInt(data, name);
  } catch {
    throw new VaultError(400, []);
  }
  return code ?? fallback;
}

/** The `policy` field: HCL or JSON text, possibly base64-encoded (Vault tries a base64 decode first). */
function policyText(data: RequestData): string {
  const text = optString(data, 'policy') ?? optString(data, 'rules');
  if (text === undefined || text.trim() === '') throw badRequest("'policy' parameter not supplied or empty");
  const decoded = decodeStrictBase64(text);
  return decoded && decoded.length > 0 ? decoded.toString('utf8') : text;
}
