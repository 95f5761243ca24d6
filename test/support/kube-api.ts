// Reads for the end-to-end tests' polling loops, straight from the API server with the kubeconfig's admin
// credentials: what `kubectl get <kind> <name> --ignore-not-found -o json` prints, without a kubectl process per
// poll. Each kubectl call costs about 0.2 s of CPU and 0.5-1.5 s of wall clock on this 2-core machine under load
// (docs/performance.md, "`npm test` time"), and a wait polls dozens of times; the object read is the same JSON.
// Writes, tables and `describe` stay with kubectl, which is what those tests are about.
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { parse as parseYaml } from 'yaml';

/** The kinds the tests read, by the names kubectl takes for them (kind, plural, short name). */
const RESOURCES: Record<string, { group: string; plural: string; namespaced: boolean }> = {};
for (const [names, group, plural, namespaced] of [
  [['secret', 'secrets'], 'v1', 'secrets', true],
  [['event', 'events'], 'v1', 'events', true],
  [['namespace', 'namespaces', 'ns'], 'v1', 'namespaces', false],
  [['externalsecret', 'externalsecrets', 'es'], 'external-secrets.io/v1', 'externalsecrets', true],
  [['secretstore', 'secretstores', 'ss'], 'external-secrets.io/v1', 'secretstores', true],
  [['clustersecretstore', 'clustersecretstores', 'css'], 'external-secrets.io/v1', 'clustersecretstores', false],
  [['clusterexternalsecret', 'clusterexternalsecrets', 'ces'], 'external-secrets.io/v1', 'clusterexternalsecrets', false],
  [['pushsecret', 'pushsecrets'], 'external-secrets.io/v1alpha1', 'pushsecrets', true],
] as const) {
  for (const n of names) RESOURCES[n] = { group, plural, namespaced };
}

/** The API path of `kind` (a name kubectl takes) in `ns`, of one object when `name` is given, else the list. */
export function resourcePath(kind: string, ns: string | undefined, name?: string): string {
  const r = RESOURCES[kind];
  if (!r) throw new Error(`kube-api: unknown kind ${kind}`);
  const prefix = r.group === 'v1' ? '/api/v1' : `/apis/${r.group}`;
  // Like kubectl, a namespace given for a cluster-scoped kind is ignored; a namespaced kind without one is `default`.
  const scope = r.namespaced ? `/namespaces/${encodeURIComponent(ns ?? 'default')}` : '';
  return `${prefix}${scope}/${r.plural}${name === undefined ? '' : `/${encodeURIComponent(name)}`}`;
}

export interface KubeReader {
  /** The object as JSON, or undefined when it does not exist (kubectl's --ignore-not-found). */
  get<T>(kind: string, ns: string | undefined, name: string): Promise<T | undefined>;
  /** The list's items. */
  list<T>(kind: string, ns: string | undefined): Promise<T[]>;
  close(): void;
}

/** A reader with the server, CA and token of a kubeconfig `coffer up` wrote (read at each call: a restart rewrites it). */
export function kubeReader(kubeconfigFile: string): KubeReader {
  const agent = new Agent({ keepAlive: true, maxSockets: 4 });
  const call = (path: string): Promise<{ status: number; body: string }> => {
    const kc = parseYaml(readFileSync(kubeconfigFile, 'utf8')) as {
      clusters: { cluster: { server: string; 'certificate-authority-data': string } }[];
      users: { user: { token: string } }[];
    };
    const { server, 'certificate-authority-data': caData } = kc.clusters[0]!.cluster;
    const url = new URL(path, server);
    return new Promise((resolve, reject) => {
      const req = request(url, { agent, ca: Buffer.from(caData, 'base64'), headers: { Authorization: `Bearer ${kc.users[0]!.user.token}`, Accept: 'application/json' } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
  };
  const read = async (path: string, notFoundOk: boolean): Promise<string | undefined> => {
    const { status, body } = await call(path);
    if (status === 200) return body;
    if (status === 404 && notFoundOk) return undefined;
    let message = body.slice(0, 300);
    try {
      message = (JSON.parse(body) as { message?: string }).message ?? message;
    } catch {
      // not a Status: the start of the body
    }
    throw new Error(`GET ${path}: HTTP ${status}: ${message}`);
  };
  return {
    async get<T>(kind: string, ns: string | undefined, name: string) {
      const body = await read(resourcePath(kind, ns, name), true);
      return body === undefined ? undefined : (JSON.parse(body) as T);
    },
    async list<T>(kind: string, ns: string | undefined) {
      return (JSON.parse((await read(resourcePath(kind, ns), false))!) as { items: T[] }).items;
    },
    close: () => agent.destroy(),
  };
}
