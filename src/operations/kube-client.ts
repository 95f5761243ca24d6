// The little of the Kubernetes REST API the operations commands need (list, get, replace, create, delete, /readyz,
// /metrics), over HTTPS with a kubeconfig's credentials: any kube-apiserver, or `coffer up`.
import { request, Agent, type RequestOptions } from 'node:https';
import { request as httpRequest, Agent as HttpAgent } from 'node:http';
import { KubeConfig } from '@kubernetes/client-node';
import { CofferError, ConflictError, InvalidError, NotFoundError } from '../lib/errors.js';

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; resourceVersion?: string; [k: string]: unknown };
  [k: string]: unknown;
}

export interface KubeResponse {
  status: number;
  body: Buffer;
}

/** A resource's REST path: secrets → /api/v1, deployments.apps → /apis/apps/<preferred version> (from discovery). */
export interface ResourcePath {
  resource: string;
  base: string;
  namespaced: boolean;
}

const MAX_BODY_BYTES = 64 * 1024 * 1024;

export class KubeClient {
  readonly server: string;
  private constructor(
    private readonly kc: KubeConfig,
    private readonly agent: Agent | HttpAgent,
    private readonly timeoutMs: number,
  ) {
    this.server = kc.getCurrentCluster()!.server.replace(/\/+$/, '');
  }

  static async fromFile(file: string, opts: { maxSockets?: number; timeoutMs?: number } = {}): Promise<KubeClient> {
    const kc = new KubeConfig();
    try {
      kc.loadFromFile(file);
    } catch (e) {
      throw new InvalidError(`cannot load kubeconfig ${JSON.stringify(file)}: ${(e as Error).message}`, { field: '--kubeconfig', cause: e });
    }
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new InvalidError(`kubeconfig ${JSON.stringify(file)} has no current cluster`, { field: '--kubeconfig' });
    const maxSockets = opts.maxSockets ?? 8;
    const agent = cluster.server.startsWith('http://') ? new HttpAgent({ keepAlive: true, maxSockets }) : new Agent({ keepAlive: true, maxSockets });
    return new KubeClient(kc, agent, opts.timeoutMs ?? 60_000);
  }

  async request(method: string, path: string, body?: unknown): Promise<KubeResponse> {
    const url = new URL(this.server + path);
    const options: RequestOptions = { method, headers: { Accept: 'application/json' } };
    await this.kc.applyToHTTPSOptions(options);
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    if (payload) Object.assign(options.headers!, { 'Content-Type': 'application/json', 'Content-Length': payload.length });
    const send = url.protocol === 'http:' ? httpRequest : request;
    return new Promise((resolve, reject) => {
      const req = send(url, { ...options, agent: this.agent, timeout: this.timeoutMs }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_BODY_BYTES) req.destroy(new CofferError(`${method} ${path}: response larger than ${MAX_BODY_BYTES} bytes`));
          else chunks.push(c);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new CofferError(`${method} ${this.server}${path}: no answer within ${this.timeoutMs} ms`)));
      req.on('error', reject);
      req.end(payload);
    });
  }

  async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.request(method, path, body);
    if (res.status >= 200 && res.status < 300) return JSON.parse(res.body.toString('utf8')) as T;
    throw statusError(method, path, res);
  }

  async resourcePath(resource: string): Promise<ResourcePath> {
    const dot = resource.indexOf('.');
    const name = dot < 0 ? resource : resource.slice(0, dot);
    const group = dot < 0 ? '' : resource.slice(dot + 1);
    let base = '/api/v1';
    if (group !== '') {
      const g = await this.json<{ preferredVersion?: { groupVersion: string } }>('GET', `/apis/${group}`);
      if (!g.preferredVersion) throw new InvalidError(`the API server serves no version of group ${JSON.stringify(group)}`, { field: '--resources' });
      base = `/apis/${g.preferredVersion.groupVersion}`;
    }
    const list = await this.json<{ resources: { name: string; namespaced: boolean }[] }>('GET', base);
    const found = list.resources.find((r) => r.name === name);
    if (!found) throw new InvalidError(`the API server has no resource ${JSON.stringify(resource)}`, { field: '--resources' });
    return { resource: name, base, namespaced: found.namespaced };
  }

  close(): void {
    this.agent.destroy();
  }
}

export function objectPath(rp: ResourcePath, namespace: string | undefined, name: string): string {
  const ns = rp.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  return `${rp.base}${ns}/${rp.resource}/${encodeURIComponent(name)}`;
}

/** A Status answer as an error of the matching class, with the server's message (which never holds object data). */
export function statusError(method: string, path: string, res: KubeResponse): Error {
  let message = res.body.toString('utf8').slice(0, 500);
  try {
    message = (JSON.parse(message) as { message?: string }).message ?? message;
  } catch {
    // not a Status
  }
  const text = `${method} ${path}: HTTP ${res.status}: ${message}`;
  if (res.status === 404) return new NotFoundError(text);
  if (res.status === 409) return new ConflictError(text);
  return new CofferError(text);
}
