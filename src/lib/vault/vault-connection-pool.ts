// The Vault client's kept-alive HTTP/1.1 connections to one server: one request at a time on each, the most recently
// used idle one first (as node:http's Agent with scheduling 'lifo'), a new one when none is idle. Written for the
// client rather than taken from node:http because a call through ClientRequest, its Agent and IncomingMessage stream
// cost the KMS plugin's vault-transit calls about twice a bare round trip's CPU (docs/performance.md, "vault-transit →
// key server, sixth pass"): here a call is one socket write of a head built from kept parts and the response read
// straight off the socket's data events (http1-response-reader.ts).
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { Http1ResponseReader, type Http1Response } from './http1-response-reader.js';

/**
 * An idle connection is closed after this long: below the 5 s keep-alive timeout of a Node server such as
 * `coffer keyserver` (http.Server's keepAliveTimeout), so the client, not the server, ends it and a request is not
 * sent on a connection the server is closing at that moment. node:http's global Agent closed its idle sockets after 5 s.
 */
export const IDLE_MS = 4000;
/** Idle connections kept; more (after a burst) are closed at once. */
const MAX_IDLE = 64;

export interface PoolTarget {
  https: boolean;
  hostname: string;
  port: number;
  ca?: Buffer | undefined;
}

/** One call on a connection: what it expects, and where its outcome goes. */
interface Exchange {
  reader: Http1ResponseReader;
  done(res: Http1Response): void;
  fail(e: Error): void;
}

class Connection {
  exchange: Exchange | undefined;
  idleSince = 0;
  private error: Error | undefined;

  constructor(
    readonly socket: Socket | TLSSocket,
    private readonly pool: ConnectionPool,
  ) {
    socket.on('data', (d: Buffer) => this.onData(d));
    socket.on('error', (e: Error) => {
      this.error ??= e;
    });
    socket.on('end', () => socket.destroy());
    socket.on('close', () => this.onClose());
  }

  private onData(d: Buffer): void {
    const x = this.exchange;
    if (!x) {
      // Bytes nobody asked for (a server's 408, say): the connection cannot be trusted with the next request.
      this.socket.destroy();
      return;
    }
    let res: Http1Response | undefined;
    try {
      res = x.reader.push(d);
    } catch (e) {
      this.exchange = undefined;
      this.socket.destroy();
      x.fail(e as Error);
      return;
    }
    if (res) {
      this.exchange = undefined;
      if (res.keepAlive) this.pool.release(this);
      else this.socket.destroy();
      x.done(res);
    }
  }

  private onClose(): void {
    this.pool.forget(this);
    const x = this.exchange;
    if (!x) return;
    this.exchange = undefined;
    const res = this.error ? undefined : x.reader.end();
    if (res) x.done(res);
    else x.fail(this.error ?? Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
  }
}

export class ConnectionPool {
  private readonly idle: Connection[] = [];
  private readonly all = new Set<Connection>();
  private sweeping: NodeJS.Timeout | undefined;
  /** The last TLS session the server gave, offered on the next connection to resume it (as node:https's Agent does). */
  private session: Buffer | undefined;

  constructor(private readonly target: PoolTarget) {}

  /**
   * Sends `head` (and body, already in it) and reads the answer. The returned function aborts the call: its
   * connection is closed and `fail` is not called.
   */
  send(request: string, noBody: boolean, maxBodyBytes: number, done: (res: Http1Response) => void, fail: (e: Error) => void): () => void {
    const conn = this.take();
    conn.exchange = { reader: new Http1ResponseReader(noBody, maxBodyBytes), done, fail };
    conn.socket.ref();
    conn.socket.write(request);
    return () => {
      conn.exchange = undefined;
      conn.socket.destroy();
    };
  }

  /** Closes every connection, idle or busy (calls in flight fail). */
  close(): void {
    for (const c of this.all) c.socket.destroy();
    this.idle.length = 0;
    if (this.sweeping) clearTimeout(this.sweeping);
    this.sweeping = undefined;
  }

  private take(): Connection {
    const now = performance.now();
    for (let c = this.idle.pop(); c; c = this.idle.pop()) {
      if (c.socket.destroyed || now - c.idleSince >= IDLE_MS) {
        c.socket.destroy();
        continue;
      }
      return c;
    }
    return this.open();
  }

  private open(): Connection {
    const t = this.target;
    let socket: Socket | TLSSocket;
    if (t.https) {
      const tls = tlsConnect({
        host: t.hostname,
        port: t.port,
        // SNI names a host, never an address (RFC 6066 section 3), as node:https sends it.
        ...(isIP(t.hostname) ? {} : { servername: t.hostname }),
        ...(t.ca ? { ca: t.ca } : {}),
        ...(this.session ? { session: this.session } : {}),
      });
      tls.on('session', (s: Buffer) => (this.session = s));
      socket = tls;
    } else {
      socket = netConnect({ host: t.hostname, port: t.port });
    }
    // No Nagle delay: a request is one write, and its answer is what the call waits for (a TLS socket passes this to
    // its TCP handle).
    socket.setNoDelay(true);
    const conn = new Connection(socket, this);
    this.all.add(conn);
    return conn;
  }

  /** A connection whose answer is complete and which may carry another request. */
  release(c: Connection): void {
    if (this.idle.length >= MAX_IDLE) {
      c.socket.destroy();
      return;
    }
    c.idleSince = performance.now();
    c.socket.unref(); // an idle connection does not keep the process alive
    this.idle.push(c);
    this.sweeping ??= setTimeout(() => this.sweep(), IDLE_MS).unref();
  }

  /** A connection that closed. */
  forget(c: Connection): void {
    this.all.delete(c);
    const i = this.idle.indexOf(c);
    if (i >= 0) this.idle.splice(i, 1);
  }

  /** Closes the connections idle for IDLE_MS; one timer per pool, not one per connection. */
  private sweep(): void {
    this.sweeping = undefined;
    const now = performance.now();
    for (const c of [...this.idle]) if (now - c.idleSince >= IDLE_MS) c.socket.destroy();
    const oldest = this.idle[0];
    if (oldest) this.sweeping = setTimeout(() => this.sweep(), Math.max(1, IDLE_MS - (now - oldest.idleSince))).unref();
  }
}
