// The key server's listen address: host:port (IPv6 in brackets), port 0 for any free port. Plain HTTP is allowed only
// on loopback, because tokens and plaintexts travel in request bodies and headers.
import { isIP } from 'node:net';
import { InvalidError } from '../lib/errors.js';

export function parseListenAddress(listen: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d+)$/.exec(listen);
  if (!m) throw new InvalidError(`want host:port, got ${JSON.stringify(listen)}`, { field: 'listen' });
  const port = Number(m[3]);
  if (port > 65535) throw new InvalidError(`port ${port} out of range`, { field: 'listen' });
  return { host: m[1] ?? (m[2] || '127.0.0.1'), port };
}

export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  if (isIP(host) === 6) return host === '::1' || /^::ffff:127\./i.test(host);
  return false;
}

/** A URL naming the bound address, as clients (and VAULT_ADDR) spell it. */
export function addressUrl(scheme: 'http' | 'https', host: string, port: number): string {
  return `${scheme}://${isIP(host) === 6 ? `[${host}]` : host}:${port}`;
}
