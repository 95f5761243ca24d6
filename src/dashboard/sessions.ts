// Dashboard sign-in, as Jupyter does it: a one-time link printed at start, or a bearer token pasted into the sign-in
// form (as the Kubernetes Dashboard does). Either makes a server-side session; the browser only gets a random id in an
// HttpOnly, Secure, SameSite=Strict cookie (`__Host-`: this host only, path /), never the API credential.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ApiCredential } from './api-client.js';

export const SESSION_COOKIE = '__Host-coffer-dashboard';
const SESSION_TTL_MS = 12 * 3600_000;
const MAX_SESSIONS = 1000;

export interface Session {
  id: string;
  /** Sent back by the page in X-Coffer-CSRF on every non-GET request (the cookie alone is never enough). */
  csrf: string;
  /** The API credential requests of this session use; stays on the server. */
  credential: ApiCredential;
  /** Shown in the page: "kubeconfig user" or "token …(last 4 chars of its hash)". */
  label: string;
  /** Opened with the one-time link: the operator who started the server (may run the lab on this machine). */
  operator: boolean;
  expires: number;
}

const digest = (s: string) => createHash('sha256').update(s).digest();

export class Sessions {
  private readonly sessions = new Map<string, Session>();
  private loginToken = randomBytes(32).toString('base64url');

  constructor(private readonly now: () => number = Date.now) {}

  /** The current one-time sign-in token (a new one replaces it once used). */
  get oneTimeToken(): string {
    return this.loginToken;
  }

  /** True, and the token replaced, when `token` is the current one-time token. */
  consumeOneTimeToken(token: string): boolean {
    if (!timingSafeEqual(digest(token), digest(this.loginToken))) return false;
    this.loginToken = randomBytes(32).toString('base64url');
    return true;
  }

  create(credential: ApiCredential, label: string, operator = false): Session {
    this.prune();
    if (this.sessions.size >= MAX_SESSIONS) {
      // The oldest session goes first; Map keeps insertion order.
      this.sessions.delete(this.sessions.keys().next().value!);
    }
    const s: Session = { id: randomBytes(32).toString('base64url'), csrf: randomBytes(24).toString('base64url'), credential, label, operator, expires: this.now() + SESSION_TTL_MS };
    this.sessions.set(s.id, s);
    return s;
  }

  /** The session of a request's Cookie header, if valid. */
  fromCookieHeader(header: string | undefined): Session | undefined {
    const id = cookieValue(header, SESSION_COOKIE);
    if (!id) return undefined;
    const s = this.sessions.get(id);
    if (!s || s.expires <= this.now()) {
      if (s) this.sessions.delete(id);
      return undefined;
    }
    return s;
  }

  delete(id: string): void {
    this.sessions.delete(id);
  }

  private prune(): void {
    const now = this.now();
    for (const [id, s] of this.sessions) if (s.expires <= now) this.sessions.delete(id);
  }
}

export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

export function sessionCookie(s: Session): string {
  return `${SESSION_COOKIE}=${s.id}; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=${Math.floor(SESSION_TTL_MS / 1000)}`;
}

export const CLEARED_SESSION_COOKIE = `${SESSION_COOKIE}=; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=0`;

/** CSRF check for a request that changes something: same-origin by Fetch Metadata or Origin, and the session's token. */
export function sameOrigin(headers: Record<string, string | string[] | undefined>, host: string | undefined): boolean {
  // Browsers send Fetch Metadata; with Referrer-Policy no-referrer a form post's Origin is "null", so the header
  // decides when present, and Origin only for older clients.
  const site = headers['sec-fetch-site'];
  if (typeof site === 'string') return site === 'same-origin';
  const origin = headers.origin;
  return typeof origin === 'string' && host !== undefined && origin === `https://${host}`;
}

export function csrfMatches(s: Session, header: string | string[] | undefined): boolean {
  return typeof header === 'string' && timingSafeEqual(digest(header), digest(s.csrf));
}
