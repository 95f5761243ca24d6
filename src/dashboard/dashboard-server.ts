// The dashboard's HTTP side, mounted under /dashboard on the API server's HTTPS listener (`coffer up`) or served alone
// (`coffer dashboard`). Every path but the sign-in endpoints answers 401 without a session; every data call goes to the
// API server as the signed-in user; requests that change something are CSRF-checked; pages get a strict
// Content-Security-Policy (own scripts and styles only, no inline code, no framing) and load nothing from elsewhere.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { getJson, type ApiCredential, type ApiTarget } from './api-client.js';
import { encryptionView, externalSecretsView, storageKeysView } from './dashboard-data.js';
import type { EncryptionScanProvider, KeyFilter } from './encryption-scan.js';
import { LabRuns } from './lab-runs.js';
import { LiveStreams } from './live-stream.js';
import { CLEARED_SESSION_COOKIE, csrfMatches, sameOrigin, sessionCookie, Sessions, type Session } from './sessions.js';
import { DASHBOARD_PREFIX } from './dashboard-path.js';

export interface DashboardOptions {
  api: ApiTarget;
  /** What sessions opened by the one-time link act as (the kubeconfig's or `coffer up`'s admin credentials). */
  ownCredential: ApiCredential;
  scan?: EncryptionScanProvider;
  /** `http://127.0.0.1:port` of the KMS plugin's side port (/healthz, /metrics), when known. */
  kmsPluginUrl?: string;
  logger: Logger;
  /** How often /metrics is sampled for the charts while a page is open (default 5 s). */
  sampleIntervalMs?: number;
}

export interface Dashboard {
  handle(req: IncomingMessage, res: ServerResponse): void;
  /** The one-time sign-in link for a server reached at `baseUrl` (https://host:port). */
  oneTimeLoginUrl(baseUrl: string): string;
  close(): void;
}

const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const SIGN_IN_STYLE =
  'body{font:16px system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem;color:#111}' +
  'input,button{font:inherit;padding:.5rem;width:100%;box-sizing:border-box;margin:.4rem 0}p.err{border:2px solid #900;padding:.5rem}';
const SIGN_IN_CSP = CSP.replace("style-src 'self'", `style-src 'sha256-${createHash('sha256').update(SIGN_IN_STYLE).digest('base64')}'`);

const SECURITY_HEADERS = {
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function signInPage(error?: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Coffer dashboard: sign in</title><style>${SIGN_IN_STYLE}</style></head><body><main>
<h1>Coffer dashboard</h1>
<p>Open the one-time sign-in link that <code>coffer up</code> or <code>coffer dashboard</code> printed when it started, or sign in with a bearer token of the API server.</p>
${error ? `<p class="err" role="alert">${escapeHtml(error)}</p>` : ''}
<form method="post" action="${DASHBOARD_PREFIX}/login"><label>Bearer token <input type="password" name="token" autocomplete="off" required></label>
<button type="submit">Sign in</button></form></main></body></html>`;
}

const ASSETS: Record<string, string> = {
  'app.js': 'text/javascript; charset=utf-8',
  'app.css': 'text/css; charset=utf-8',
};
const WEB_DIST = new URL('./web/dist/', import.meta.url);

async function readBody(req: IncomingMessage, max: number): Promise<string> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > max) throw new Error('request body too large');
    chunks.push(c);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function keyFilter(q: URLSearchParams): KeyFilter | undefined {
  const f = q.get('filter') ?? '';
  if (f === 'stale' || f === 'plaintext' || f === 'unknown') return { kind: f };
  if (f.startsWith('writer:') && f.length < 600) return { kind: 'writer', writer: f.slice('writer:'.length) };
  return undefined;
}

export function createDashboard(opts: DashboardOptions): Dashboard {
  const sessions = new Sessions();
  const live = new LiveStreams({ ...opts, sampleIntervalMs: opts.sampleIntervalMs ?? 5000 });
  const assetCache = new Map<string, Buffer>();
  let labTimer: NodeJS.Timeout | undefined;
  const lab = new LabRuns(() => {
    // Progress comes line by line; pages hear about it at most a few times a second.
    labTimer ??= setTimeout(() => {
      labTimer = undefined;
      live.broadcast('lab');
    }, 300);
  });

  function send(res: ServerResponse, status: number, body: string | Buffer, type: string, extra: Record<string, string> = {}): void {
    res.writeHead(status, { ...SECURITY_HEADERS, 'Content-Security-Policy': CSP, 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), ...extra });
    res.end(body);
  }
  const json = (res: ServerResponse, status: number, doc: unknown) => send(res, status, JSON.stringify(doc), 'application/json; charset=utf-8');
  function unauthorized(req: IncomingMessage, res: ServerResponse, error?: string): void {
    if ((req.headers.accept ?? '').includes('text/html')) {
      send(res, 401, signInPage(error), 'text/html; charset=utf-8', { 'Content-Security-Policy': SIGN_IN_CSP });
    } else json(res, 401, { error: error ?? 'not signed in: open the one-time sign-in link or sign in with a token' });
  }
  function signedIn(res: ServerResponse, s: Session): void {
    res.writeHead(303, { ...SECURITY_HEADERS, Location: `${DASHBOARD_PREFIX}/`, 'Set-Cookie': sessionCookie(s) }).end();
  }

  async function asset(name: string): Promise<Buffer> {
    let b = assetCache.get(name);
    if (!b) assetCache.set(name, (b = await readFile(new URL(name, WEB_DIST))));
    return b;
  }

  async function login(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    if (req.method === 'GET') {
      const once = url.searchParams.get('once');
      if (once && sessions.consumeOneTimeToken(once)) {
        opts.logger.info('dashboard: signed in with the one-time link (now used up; sign in again with a bearer token)');
        return signedIn(res, sessions.create(opts.ownCredential, 'the server’s own credentials', true));
      }
      return unauthorized(req, res, once ? 'This sign-in link was already used or is wrong.' : undefined);
    }
    if (req.method !== 'POST') return json(res, 405, { error: 'method not allowed' });
    // A login form posted from another site would sign the victim in as the attacker (login CSRF).
    if (!sameOrigin(req.headers, req.headers.host)) return json(res, 403, { error: 'cross-site request refused' });
    const token = new URLSearchParams(await readBody(req, 16 * 1024)).get('token')?.trim() ?? '';
    if (!token) return unauthorized(req, res, 'Enter a bearer token.');
    // The API server decides whether the token is valid (401) — its authorization is checked per view later.
    const probe = await getJson(opts.api, { token }, '/api');
    if (probe.status === 401) return unauthorized(req, res, 'The API server did not accept this token.');
    if (probe.status !== 200) return unauthorized(req, res, `The API server answered HTTP ${probe.status}.`);
    const tag = createHash('sha256').update(token).digest('hex').slice(0, 8);
    return signedIn(res, sessions.create({ token }, `token sha256:${tag}…`));
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://dashboard.invalid');
    const path = url.pathname.slice(DASHBOARD_PREFIX.length) || '/';
    if (path === '/login') return login(req, res, url);
    const session = sessions.fromCookieHeader(req.headers.cookie);
    if (!session) return unauthorized(req, res);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      if (!sameOrigin(req.headers, req.headers.host) || !csrfMatches(session, req.headers['x-coffer-csrf'])) {
        return json(res, 403, { error: 'cross-site request refused (missing or wrong X-Coffer-CSRF)' });
      }
      if (path === '/api/lab/run' && req.method === 'POST') {
        if (!session.operator) {
          return json(res, 403, { error: 'Not allowed: running the lab starts processes on this machine; only a session opened with the one-time sign-in link may.' });
        }
        let sel: { rows?: unknown; columns?: unknown };
        try {
          sel = JSON.parse(await readBody(req, 4096)) as { rows?: unknown; columns?: unknown };
        } catch {
          return json(res, 400, { error: 'want a JSON body {"rows": "...", "columns": "..."}' });
        }
        const str = (v: unknown) => (typeof v === 'string' && v.trim() ? v.trim() : undefined);
        const refused = lab.start({ ...(str(sel.rows) ? { rows: str(sel.rows) } : {}), ...(str(sel.columns) ? { columns: str(sel.columns) } : {}) });
        return refused ? json(res, refused.includes('already') ? 409 : 400, { error: refused }) : json(res, 202, { started: true });
      }
      if (path === '/logout' && req.method === 'POST') {
        sessions.delete(session.id);
        live.endSession(session.id);
        res.writeHead(204, { ...SECURITY_HEADERS, 'Set-Cookie': CLEARED_SESSION_COOKIE }).end();
        return;
      }
      return json(res, 405, { error: 'method not allowed' });
    }
    if (path === '/') return send(res, 200, await asset('index.html'), 'text/html; charset=utf-8');
    const assetName = /^\/assets\/([a-z.]+)$/.exec(path)?.[1];
    if (assetName && ASSETS[assetName]) return send(res, 200, await asset(assetName), ASSETS[assetName]);
    const cred = session.credential;
    switch (path) {
      case '/api/session':
        return json(res, 200, { user: session.label, csrf: session.csrf });
      case '/api/encryption':
        return json(res, 200, await encryptionView(opts.api, cred, opts.scan));
      case '/api/encryption/keys': {
        const filter = keyFilter(url.searchParams);
        const resource = url.searchParams.get('resource') ?? '';
        if (!filter || !/^[a-z0-9.-]{1,253}$/.test(resource)) {
          return json(res, 400, { error: `want resource=<name>&filter=stale|plaintext|unknown|writer:<label>, got resource=${JSON.stringify(resource)}` });
        }
        return json(res, 200, await storageKeysView(opts.api, cred, opts.scan, { resource, filter }));
      }
      case '/api/external-secrets':
        return json(res, 200, await externalSecretsView(opts.api, cred));
      case '/api/metrics':
        return json(res, 200, await live.series(session));
      case '/api/stream':
        return live.open(session, req, res);
      case '/api/lab':
        return json(res, 200, { ...lab.view(), canRun: session.operator });
    }
    return json(res, 404, { error: `no dashboard page ${JSON.stringify(path)}` });
  }

  return {
    handle(req, res) {
      route(req, res).catch((e: unknown) => {
        opts.logger.warn({ path: (req.url ?? '').split('?')[0], error: e instanceof Error ? e.message : String(e) }, 'dashboard request failed');
        if (!res.headersSent) json(res, 502, { error: `the dashboard could not reach the API server: ${e instanceof Error ? e.message : String(e)}` });
        else res.destroy();
      });
    },
    oneTimeLoginUrl: (baseUrl) => `${baseUrl}${DASHBOARD_PREFIX}/login?once=${sessions.oneTimeToken}`,
    close: () => {
      clearTimeout(labTimer);
      lab.close();
      live.close();
    },
  };
}
