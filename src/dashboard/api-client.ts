// How the dashboard reaches the API server: over HTTPS, as the signed-in user (their bearer token, or the kubeconfig's
// own credentials for the one-time sign-in link), so the API server's authentication and authorization decide what
// each page may show. Responses are bounded; nothing here logs a token or a body.
import { request } from 'node:https';

/** Where the API server is and how to trust it; `cert`/`key` only when the kubeconfig uses a client certificate. */
export interface ApiTarget {
  server: string;
  ca?: string | Buffer;
  cert?: string | Buffer;
  key?: string | Buffer;
}

/** Who a request runs as: a bearer token, or the target's client certificate when token is undefined. */
export interface ApiCredential {
  token?: string;
}

const MAX_BODY = 32 * 1024 * 1024;
const TIMEOUT_MS = 30_000;

export interface ApiResponse {
  status: number;
  body: unknown;
}

/** The cluster, CA and credentials of a kubeconfig's current context. */
export async function targetFromKubeconfig(file: string): Promise<{ target: ApiTarget; credential: ApiCredential }> {
  // Imported here, not at the top: the client takes seconds to load, and `coffer up`'s dashboard never needs it.
  const { KubeConfig } = await import('@kubernetes/client-node');
  const kc = new KubeConfig();
  kc.loadFromFile(file);
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error(`--kubeconfig ${JSON.stringify(file)}: the current context names no cluster`);
  const opts: { ca?: string | Buffer; cert?: string | Buffer; key?: string | Buffer; headers?: Record<string, string> } = {};
  await kc.applyToHTTPSOptions(opts);
  const auth = opts.headers?.Authorization ?? opts.headers?.authorization;
  return {
    target: { server: cluster.server.replace(/\/$/, ''), ...(opts.ca ? { ca: opts.ca } : {}), ...(opts.cert ? { cert: opts.cert } : {}), ...(opts.key ? { key: opts.key } : {}) },
    credential: auth?.startsWith('Bearer ') ? { token: auth.slice('Bearer '.length) } : {},
  };
}

function requestOptions(target: ApiTarget, cred: ApiCredential, path: string, accept: string, signal?: AbortSignal) {
  const url = new URL(path, target.server);
  return {
    url,
    options: {
      method: 'GET',
      headers: { Accept: accept, ...(cred.token !== undefined ? { Authorization: `Bearer ${cred.token}` } : {}) },
      ...(target.ca ? { ca: target.ca } : {}),
      // A token session must not also present the kubeconfig's certificate (it would be a second identity).
      ...(cred.token === undefined && target.cert ? { cert: target.cert, key: target.key } : {}),
      ...(signal ? { signal } : {}),
    },
  };
}

/** GET a JSON document; never throws for an HTTP status, only for transport failures. */
export function getJson(target: ApiTarget, cred: ApiCredential, path: string, opts: { accept?: string; signal?: AbortSignal } = {}): Promise<ApiResponse> {
  const { url, options } = requestOptions(target, cred, path, opts.accept ?? 'application/json', opts.signal);
  return new Promise((resolve, reject) => {
    const req = request(url, { ...options, timeout: TIMEOUT_MS }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_BODY) req.destroy(new Error(`response from ${url.pathname} larger than ${MAX_BODY} bytes`));
        else chunks.push(c);
      });
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown = text;
        if ((res.headers['content-type'] ?? '').includes('json')) {
          try {
            body = JSON.parse(text);
          } catch {
            body = undefined;
          }
        }
        resolve({ status: res.statusCode ?? 0, body });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url.pathname}: no answer in ${TIMEOUT_MS / 1000}s`)));
    req.on('error', reject);
    req.end();
  });
}

/**
 * Follows a Kubernetes watch (`?watch=1`): calls `onEvent` per event line until the signal aborts or the server ends
 * the stream; resolves with the HTTP status so the caller can tell 403 from a normal end.
 */
export function watchEvents(
  target: ApiTarget,
  cred: ApiCredential,
  path: string,
  onEvent: (e: { type: string; object: unknown }) => void,
  signal: AbortSignal,
): Promise<number> {
  const { url, options } = requestOptions(target, cred, path, 'application/json', signal);
  return new Promise((resolve) => {
    const req = request(url, options, (res) => {
      let buffered = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        buffered += c;
        if (buffered.length > MAX_BODY) return req.destroy();
        let nl: number;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
          if (!line.trim()) continue;
          try {
            onEvent(JSON.parse(line) as { type: string; object: unknown });
          } catch {
            // a line that is not JSON ends nothing; the next one may be fine
          }
        }
      });
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', () => resolve(res.statusCode ?? 0));
      res.on('close', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', () => resolve(0));
    req.end();
  });
}
