// The API server's TLS listener: HTTP/2 (ALPN `h2`) and HTTP/1.1 from one handler, as kube-apiserver serves both.
// HTTP/2 gets kube's limits (k8s.io/apiserver pkg/server/secure_serving.go): 250 concurrent streams per connection,
// a 256 KiB read frame size and per-stream receive window ("at least 99% of serialized resources ... were smaller than
// 256kb"), a connection window of that times the stream count, and the header list size Go's http2 server derives from
// kube's MaxHeaderBytes of 1 MiB (golang.org/x/net/http2 adjustHTTP1MaxHeaderSize: plus 10 fields of 32 bytes).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createSecureServer, type Http2SecureServer, type Http2ServerRequest, type Http2ServerResponse, type ServerHttp2Session } from 'node:http2';
import type { TLSSocket } from 'node:tls';

const RESOURCE_BODY_99_PERCENTILE = 256 * 1024;
const MAX_CONCURRENT_STREAMS = 250;
/** kube-apiserver's IdleTimeout ("matches http.DefaultTransport keep-alive timeout"). */
export const IDLE_TIMEOUT_MS = 90_000;

export const HTTP2_SETTINGS = {
  maxConcurrentStreams: MAX_CONCURRENT_STREAMS,
  maxFrameSize: RESOURCE_BODY_99_PERCENTILE,
  initialWindowSize: RESOURCE_BODY_99_PERCENTILE,
  maxHeaderListSize: (1 << 20) + 10 * 32,
} as const;

/** kube's MaxUploadBufferPerConnection: every stream may fill its window at once. */
const CONNECTION_WINDOW = RESOURCE_BODY_99_PERCENTILE * MAX_CONCURRENT_STREAMS;

export type Handler = (req: IncomingMessage, res: ServerResponse) => void;

export interface SecureServer {
  server: Http2SecureServer;
  /**
   * Stops accepting connections, sends HTTP/2 connections a GOAWAY, waits (at most graceMs) for in-flight requests
   * to end, then closes every connection left (idle HTTP/1.1 keep-alives included).
   */
  close(graceMs: number): Promise<void>;
}

export function createSecureApiServer(tls: { cert: string; key: string }, handler: Handler): SecureServer {
  const sockets = new Set<TLSSocket>();
  const sessions = new Set<ServerHttp2Session>();
  let inFlight = 0;
  let drained: (() => void) | undefined;
  // The HTTP/2 compatibility request and response have the members the handler uses, with HTTP/1's meaning.
  // One 'close' listener function for every response (it comes once per response), not a closure per request.
  const closed = () => {
    if (--inFlight === 0) drained?.();
  };
  const serve = (req: IncomingMessage, res: ServerResponse) => {
    inFlight++;
    res.on('close', closed);
    handler(req, res);
  };
  const server = createSecureServer(
    { cert: tls.cert, key: tls.key, allowHTTP1: true, settings: HTTP2_SETTINGS },
    serve as unknown as (req: Http2ServerRequest, res: Http2ServerResponse) => void,
  );
  // kube's IdleTimeout for HTTP/1.1 keep-alive connections (Node's compatibility server sets none).
  (server as unknown as { keepAliveTimeout: number }).keepAliveTimeout = IDLE_TIMEOUT_MS;
  server.on('secureConnection', (socket: TLSSocket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  server.on('session', (session: ServerHttp2Session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
    // Node's connection window is 64 KiB whatever the stream windows are; kube's covers every stream.
    session.once('localSettings', () => session.setLocalWindowSize(CONNECTION_WINDOW));
  });
  // A client's broken connection is its own affair (as net/http logs and drops it); it must not end the server.
  server.on('sessionError', () => undefined);

  return {
    server,
    async close(graceMs) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const session of sessions) session.close();
      if (inFlight > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, graceMs);
          drained = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      for (const session of sessions) session.destroy();
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}
