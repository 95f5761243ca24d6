// Reads one HTTP/1.1 response off a kept-alive connection, for the Vault client's own connection pool
// (vault-connection-pool.ts): the status, the body (framed by Content-Length, chunked, or read to the connection's
// end) and whether the connection may carry the next request. Framing as RFC 9112 section 6.3 has a client read it:
// 1xx answers are skipped, 204 and 304 (and answers to HEAD) have no body, Transfer-Encoding wins over Content-Length
// and a transfer coding other than a final `chunked` is read until the connection closes. Anything it cannot frame
// is a protocol error, and the connection is not used again.

/** Node's default --max-http-header-size: a head larger than this is refused, as node:http's client refuses it. */
export const MAX_HEAD_BYTES = 16 * 1024;

const CRLF2 = Buffer.from('\r\n\r\n', 'latin1');
const STATUS_LINE = /^HTTP\/1\.([01]) (\d{3})(?: |$)/;

export class HttpProtocolError extends Error {
  readonly code = 'HPE_INVALID_RESPONSE';
}

export interface Http1Response {
  status: number;
  body: Buffer;
  /** The connection may carry another request. */
  keepAlive: boolean;
}

type BodyFraming = { kind: 'length'; left: number } | { kind: 'chunked' } | { kind: 'close' };

export class Http1ResponseReader {
  private head: Buffer | undefined;
  private status = 0;
  private keepAlive = true;
  private framing: BodyFraming | undefined;
  private readonly chunks: Buffer[] = [];
  private size = 0;
  /** Chunked framing: bytes not yet decoded (a chunk-size line or a chunk cut between packets). */
  private pending: Buffer | undefined;
  /** Chunked framing: data bytes left in the current chunk, then its CRLF; -1 between chunks, -2 in the trailers. */
  private chunkLeft = -1;

  constructor(
    private readonly noBody: boolean,
    private readonly maxBodyBytes: number,
  ) {}

  /** Bytes received; returns the response once it is complete. Throws HttpProtocolError on a response it cannot frame. */
  push(data: Buffer): Http1Response | undefined {
    if (this.framing === undefined) {
      const buf = this.head ? Buffer.concat([this.head, data]) : data;
      const end = buf.indexOf(CRLF2);
      if (end < 0) {
        if (buf.length > MAX_HEAD_BYTES) throw new HttpProtocolError('response head too large');
        this.head = buf;
        return undefined;
      }
      this.head = undefined;
      if (end > MAX_HEAD_BYTES) throw new HttpProtocolError('response head too large');
      const rest = buf.subarray(end + 4);
      if (!this.readHead(buf.toString('latin1', 0, end))) return rest.length > 0 ? this.push(rest) : undefined; // a 1xx
      const framing = this.framing as BodyFraming | undefined;
      if (framing?.kind === 'length' && framing.left === 0) {
        if (rest.length > 0) throw new HttpProtocolError('bytes after the response');
        return this.done();
      }
      if (rest.length === 0) return undefined;
      data = rest;
    }
    const framing = this.framing!;
    if (framing.kind === 'length') {
      if (data.length > framing.left) throw new HttpProtocolError('bytes after the response');
      this.add(data);
      framing.left -= data.length;
      return framing.left === 0 ? this.done() : undefined;
    }
    if (framing.kind === 'close') {
      this.add(data);
      return undefined;
    }
    return this.pushChunked(data);
  }

  /** The connection ended: completes a body read to the end; anything else is cut off (undefined). */
  end(): Http1Response | undefined {
    return this.framing?.kind === 'close' ? this.done() : undefined;
  }

  /** Whether any byte of the response has arrived (a connection closed before that may never have seen the request). */
  get started(): boolean {
    return this.head !== undefined || this.framing !== undefined;
  }

  /** Parses the head; false for an interim (1xx) answer, which the final one follows. */
  private readHead(text: string): boolean {
    const lines = text.split('\r\n');
    const m = STATUS_LINE.exec(lines[0]!);
    if (!m) throw new HttpProtocolError('not an HTTP/1.x status line');
    const status = Number(m[2]);
    if (status < 200 && status !== 101) return false;
    if (status === 101) throw new HttpProtocolError('unexpected protocol switch');
    let length: number | undefined;
    let chunked = false;
    let otherCoding = false;
    let connection = '';
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i]!;
      const colon = line.indexOf(':');
      if (colon <= 0) throw new HttpProtocolError('malformed header line');
      const name = line.slice(0, colon).toLowerCase();
      if (name === 'content-length') {
        const value = line.slice(colon + 1).trim();
        if (!/^\d{1,15}$/.test(value) || (length !== undefined && length !== Number(value))) throw new HttpProtocolError('invalid Content-Length');
        length = Number(value);
      } else if (name === 'transfer-encoding') {
        const codings = line.slice(colon + 1).toLowerCase().split(',').map((c) => c.trim()).filter((c) => c !== '');
        chunked = codings[codings.length - 1] === 'chunked';
        otherCoding = !chunked;
      } else if (name === 'connection') {
        connection += `${line.slice(colon + 1).toLowerCase()},`;
      }
    }
    this.status = status;
    const tokens = connection.split(',').map((t) => t.trim());
    this.keepAlive = m[1] === '1' ? !tokens.includes('close') : tokens.includes('keep-alive');
    if (this.noBody || status === 204 || status === 304) this.framing = { kind: 'length', left: 0 };
    else if (chunked) this.framing = { kind: 'chunked' };
    else if (otherCoding || length === undefined) {
      this.framing = { kind: 'close' };
      this.keepAlive = false;
    } else {
      if (length > this.maxBodyBytes) throw new HttpProtocolError(`response larger than ${this.maxBodyBytes} bytes`);
      this.framing = { kind: 'length', left: length };
    }
    return true;
  }

  private pushChunked(data: Buffer): Http1Response | undefined {
    let buf = this.pending ? Buffer.concat([this.pending, data]) : data;
    this.pending = undefined;
    for (;;) {
      if (this.chunkLeft > 0) {
        // Data of the current chunk, then its CRLF (counted in chunkLeft as 2 more bytes).
        const dataLeft = this.chunkLeft - 2;
        if (dataLeft > 0) {
          const take = Math.min(dataLeft, buf.length);
          this.add(buf.subarray(0, take));
          this.chunkLeft -= take;
          buf = buf.subarray(take);
          if (buf.length === 0) return undefined;
        }
        if (buf.length < this.chunkLeft) {
          this.pending = buf;
          return undefined;
        }
        if (buf.toString('latin1', 0, this.chunkLeft) !== '\r\n'.slice(2 - this.chunkLeft)) throw new HttpProtocolError('chunk not followed by CRLF');
        buf = buf.subarray(this.chunkLeft);
        this.chunkLeft = -1;
        continue;
      }
      const eol = buf.indexOf('\r\n', 0, 'latin1');
      if (eol < 0) {
        if (buf.length > 4096) throw new HttpProtocolError('chunk line too long');
        this.pending = buf.length > 0 ? buf : undefined;
        return undefined;
      }
      const line = buf.toString('latin1', 0, eol);
      buf = buf.subarray(eol + 2);
      if (this.chunkLeft === -2) {
        // Trailer fields are read and dropped; an empty line ends the response.
        if (line !== '') continue;
        if (buf.length > 0) throw new HttpProtocolError('bytes after the response');
        return this.done();
      }
      const size = /^([0-9A-Fa-f]{1,8})[ \t]*(?:;.*)?$/.exec(line);
      if (!size) throw new HttpProtocolError('invalid chunk size');
      const n = parseInt(size[1]!, 16);
      this.chunkLeft = n === 0 ? -2 : n + 2;
    }
  }

  private add(data: Buffer): void {
    this.size += data.length;
    if (this.size > this.maxBodyBytes) throw new HttpProtocolError(`response larger than ${this.maxBodyBytes} bytes`);
    this.chunks.push(data);
  }

  private done(): Http1Response {
    const body = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    return { status: this.status, body, keepAlive: this.keepAlive };
  }
}
