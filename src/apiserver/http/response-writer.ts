// Writes API responses as kube-apiserver does: compact JSON (or YAML when asked), `Content-Type` always set (client-node
// refuses a body without one), and errors as `Status` objects whose HTTP code is the Status code (k8s.io/apiserver
// pkg/endpoints/handlers/responsewriters).
import type { ServerResponse } from 'node:http';
import { stringify as toYaml } from 'yaml';
import { ApiStatusError, opaqueInternalError, type Status } from '../api-status.js';
import { JSON_REPRESENTATION, type Representation } from './media-type.js';

export interface WriteOptions {
  pretty?: boolean;
  headers?: Record<string, string | string[]>;
}

export function encodeBody(body: unknown, rep: Representation, pretty = false): { text: string; contentType: string } {
  if (rep.format === 'yaml') return { text: toYaml(body, { lineWidth: 0 }), contentType: 'application/yaml' };
  return { text: JSON.stringify(body, null, pretty ? 2 : undefined) + (pretty ? '\n' : ''), contentType: 'application/json' };
}

export function writeObject(res: ServerResponse, code: number, body: unknown, rep: Representation = JSON_REPRESENTATION, opts: WriteOptions = {}): void {
  const { text, contentType } = encodeBody(body, rep, opts.pretty);
  const length = Buffer.byteLength(text);
  // (No spread of an absent opts.headers on every response.)
  res.writeHead(code, opts.headers ? { ...opts.headers, 'Content-Type': contentType, 'Content-Length': length } : { 'Content-Type': contentType, 'Content-Length': length });
  res.end(text);
}

/** A body already encoded as compact JSON (what writeObject writes for it). */
export function writeJson(res: ServerResponse, code: number, body: Buffer): void {
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': body.byteLength });
  res.end(body);
}

export function writeText(res: ServerResponse, code: number, text: string, headers: Record<string, string> = {}): void {
  res.writeHead(code, { ...headers, 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' });
  res.end(text);
}

/** Go's http.NotFound, which kube answers for paths it does not serve; kubectl maps it to "could not find the requested resource". */
export function writeNotFoundPage(res: ServerResponse): void {
  writeText(res, 404, '404 page not found\n');
}

/**
 * The Status for any thrown value. ApiStatusErrors are written as they are; anything else (a TypeError, a driver's
 * text, a parser's message quoting request bytes) is a 500 without its text, so neither internals nor a Secret value
 * can echo back. The handler logs the detail.
 */
export function statusOf(err: unknown): Status {
  return err instanceof ApiStatusError ? err.status : opaqueInternalError(err).status;
}

export function writeError(res: ServerResponse, err: unknown, rep: Representation = JSON_REPRESENTATION): void {
  const status = statusOf(err);
  if (res.headersSent) {
    res.end(); // a stream already started (a watch): the client sees the end of the body
    return;
  }
  const headers: Record<string, string> = {};
  if (status.details?.retryAfterSeconds !== undefined) headers['Retry-After'] = String(status.details.retryAfterSeconds);
  // Warnings set before the failure (unknown fields) are kept, as kube does.
  writeObject(res, status.code, status, { format: rep.format }, { headers });
}
