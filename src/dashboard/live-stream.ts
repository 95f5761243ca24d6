// Live updates for an open page, pushed as server-sent events: the page is told which view changed and fetches it
// again (through the same authorization). Changes come from watches, not polling: the store's watch (or the
// configuration file's) for the encryption view, the API server's watch of ExternalSecrets, stores and Events as the
// user. The one timer is the /metrics sampler that draws the charts, as any Prometheus scrape does.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { watchEvents, type ApiTarget } from './api-client.js';
import { canList, scrapeMetrics, type MetricsPoint, type NotAllowed } from './dashboard-data.js';
import type { EncryptionScanProvider } from './encryption-scan.js';
import type { Session } from './sessions.js';

const SERIES_POINTS = 120;
const HEARTBEAT_MS = 25_000;
const MAX_STREAMS_PER_SESSION = 8;
const DEBOUNCE_MS = 250;
const WATCHED = ['/apis/external-secrets.io/v1/externalsecrets', '/apis/external-secrets.io/v1/secretstores', '/apis/external-secrets.io/v1/clustersecretstores', '/api/v1/events'];

interface LiveOptions {
  api: ApiTarget;
  scan?: EncryptionScanProvider;
  kmsPluginUrl?: string;
  logger: Logger;
  sampleIntervalMs: number;
}

interface Sampler {
  points: MetricsPoint[];
  denied?: NotAllowed;
  /** When the KMS plugin's key_id hash last changed, as seen by this sampler. */
  keyIdChangedAt: number | null;
  timer?: NodeJS.Timeout;
  streams: number;
}

/** Calls `fn` once, `ms` after the last of a burst of calls. */
function debounce(fn: () => void, ms: number): () => void {
  let t: NodeJS.Timeout | undefined;
  return () => {
    clearTimeout(t);
    t = setTimeout(fn, ms);
  };
}

export class LiveStreams {
  private readonly samplers = new Map<string, Sampler>();
  private readonly streams = new Map<string, Set<{ write(topic: string): void; end(): void }>>();

  constructor(private readonly opts: LiveOptions) {}

  /** The metrics series of a session (starting its sampler if the page has no stream open yet). */
  async series(session: Session): Promise<{ points: MetricsPoint[]; keyIdChangedAt: number | null; kmsKnown: boolean } | NotAllowed> {
    // Without an open stream (no page listening) one scrape answers, and no sampler is left running.
    const s = this.samplers.get(session.id) ?? { points: [], keyIdChangedAt: null, streams: 0 };
    if (s.points.length === 0 && !s.denied) await this.sample(s, session);
    return s.denied ?? { points: s.points, keyIdChangedAt: s.keyIdChangedAt, kmsKnown: this.opts.kmsPluginUrl !== undefined };
  }

  private sampler(session: Session): Sampler {
    let s = this.samplers.get(session.id);
    if (!s) {
      const timer = setInterval(() => void this.sample(s!, session).then(() => this.push(session.id, 'metrics')), this.opts.sampleIntervalMs);
      timer.unref();
      s = { points: [], keyIdChangedAt: null, timer, streams: 0 };
      this.samplers.set(session.id, s);
    }
    return s;
  }

  private async sample(s: Sampler, session: Session): Promise<void> {
    try {
      const p = await scrapeMetrics(this.opts.api, session.credential, this.opts.kmsPluginUrl);
      if ('allowed' in p) {
        s.denied = p;
        return;
      }
      delete s.denied;
      // A sample where the plugin did not answer has no key_id; that is no change of key.
      const before = [...s.points].reverse().find((x) => x.kmsHealth?.keyId)?.kmsHealth?.keyId;
      if (before && p.kmsHealth?.keyId && before !== p.kmsHealth.keyId) s.keyIdChangedAt = p.t;
      s.points.push(p);
      if (s.points.length > SERIES_POINTS) s.points.shift();
    } catch (e) {
      this.opts.logger.debug({ error: e instanceof Error ? e.message : String(e) }, 'dashboard: metrics sample failed');
    }
  }

  private push(sessionId: string, topic: string): void {
    for (const c of this.streams.get(sessionId) ?? []) c.write(topic);
  }

  /** Tells every open page that a view shared by all sessions changed. */
  broadcast(topic: string): void {
    for (const id of this.streams.keys()) this.push(id, topic);
  }

  /** GET /dashboard/api/stream: an EventSource stream of `changed` events naming a view. */
  open(session: Session, req: IncomingMessage, res: ServerResponse): void {
    const open = this.streams.get(session.id) ?? new Set();
    if (open.size >= MAX_STREAMS_PER_SESSION) {
      res.writeHead(429, { 'Content-Type': 'application/json' }).end(JSON.stringify({ error: `at most ${MAX_STREAMS_PER_SESSION} live streams per session` }));
      return;
    }
    const ac = new AbortController();
    this.streams.set(session.id, open);
    const sampler = this.sampler(session);
    sampler.streams++;
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
      'Content-Security-Policy': "default-src 'none'",
    });
    res.flushHeaders();
    const write = (topic: string) => {
      if (!res.writableEnded) res.write(`event: changed\ndata: ${JSON.stringify(topic)}\n\n`);
    };
    const encryption = debounce(() => write('encryption'), DEBOUNCE_MS);
    const external = debounce(() => write('external-secrets'), DEBOUNCE_MS);
    const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS);
    const stream = { write, end: () => end() };
    open.add(stream);
    const end = () => {
      if (ac.signal.aborted) return;
      ac.abort();
      clearInterval(heartbeat);
      open.delete(stream);
      if (--sampler.streams === 0) {
        clearInterval(sampler.timer);
        this.samplers.delete(session.id);
      }
      res.end();
    };
    req.once('close', end);
    res.once('close', end);
    write('hello');

    const { scan, api } = this.opts;
    if (scan) {
      // The scan reads the store directly; only users allowed to list Secrets get its change notices.
      void canList(api, session.credential, 'secrets', ac.signal)
        .then((denied) => {
          if (!denied && !ac.signal.aborted) scan.watch(encryption, ac.signal);
        })
        .catch(() => undefined);
    }
    for (const path of WATCHED) void this.follow(session, path, external, ac.signal);
  }

  /** Keeps a watch open as the user (re-opened when the server ends it); stops on 401/403 or when the page goes. */
  private async follow(session: Session, path: string, onChange: () => void, signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const status = await watchEvents(this.opts.api, session.credential, `${path}?watch=1`, onChange, signal);
      if (status === 401 || status === 403 || status === 404) return;
      if (!signal.aborted) await new Promise((r) => setTimeout(r, 1000));
    }
  }

  endSession(sessionId: string): void {
    for (const c of this.streams.get(sessionId) ?? []) c.end();
  }

  close(): void {
    for (const set of this.streams.values()) for (const c of set) c.end();
    for (const s of this.samplers.values()) clearInterval(s.timer);
  }
}
