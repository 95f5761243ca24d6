// Where each request on a kept-alive connection begins: HTTP/1.1 message framing (RFC 9112 section 6: a head ended by
// an empty line, then a body of Content-Length bytes or in chunked transfer coding) followed over the bytes Node's
// parser has consumed. The LIST fallback (http-edge.ts) needs it: when the parser rejects the "S" of "LIST", it has
// already consumed "LI" - right after the previous request's last byte, which may be a body's "}" as well as a line end.
//
// It reads framing only. Input Node's parser would refuse (conflicting lengths, an unknown transfer coding, a line over
// the limit) makes it give up ('lost'), and then no fallback happens: the parser's refusal stands.

/** Longer than any line Node's parser accepts (its whole head is limited to 16 KiB by default). */
const MAX_LINE = 64 * 1024;

type State = 'between' | 'head' | 'body' | 'chunk-size' | 'chunk-data' | 'chunk-end' | 'trailers' | 'lost';

export class RequestFraming {
  private state: State = 'between';
  /** The line being read (latin1), without its line end. */
  private line = '';
  /** Lines of the current head read so far; the request line is the first. */
  private headLines = 0;
  private contentLength: number | undefined;
  private chunked = false;
  /** Body or chunk bytes still to come. */
  private remaining = 0;

  /** Follows the framing over the next bytes of the connection, in order. */
  push(bytes: Buffer): void {
    let i = 0;
    while (i < bytes.length && this.state !== 'lost') {
      if (this.state === 'between') {
        // Empty lines before a request line are skipped, as Node's parser skips them (RFC 9112 section 2.2).
        if (bytes[i] === 0x0d || bytes[i] === 0x0a) {
          i++;
          continue;
        }
        this.startRequest();
      }
      if (this.state === 'body' || this.state === 'chunk-data') {
        const n = Math.min(this.remaining, bytes.length - i);
        this.remaining -= n;
        i += n;
        if (this.remaining === 0) this.state = this.state === 'body' ? 'between' : 'chunk-end';
        continue;
      }
      const lf = bytes.indexOf(0x0a, i);
      const end = lf < 0 ? bytes.length : lf;
      if (this.line.length + (end - i) > MAX_LINE) return void (this.state = 'lost');
      this.line += bytes.toString('latin1', i, end);
      i = end;
      if (lf < 0) break;
      i++;
      const line = this.line.endsWith('\r') ? this.line.slice(0, -1) : this.line;
      this.line = '';
      this.endLine(line);
    }
  }

  /**
   * Follows `n` bytes without seeing them, when they all lie inside a body or a chunk's data (true); false, having
   * followed nothing, when they may hold framing. Spares a copy of a long body's packets, which only need counting.
   */
  skipBody(n: number): boolean {
    if ((this.state !== 'body' && this.state !== 'chunk-data') || n > this.remaining) return false;
    this.remaining -= n;
    if (this.remaining === 0) this.state = this.state === 'body' ? 'between' : 'chunk-end';
    return true;
  }

  /**
   * True when the request in progress has consumed exactly `method` so far: its first bytes, with no line end yet.
   * Asked once the bytes the parser consumed have been pushed.
   */
  consumedExactly(method: string): boolean {
    return this.state === 'head' && this.headLines === 0 && this.line === method;
  }

  private startRequest(): void {
    this.state = 'head';
    this.line = '';
    this.headLines = 0;
    this.contentLength = undefined;
    this.chunked = false;
  }

  private endLine(line: string): void {
    switch (this.state) {
      case 'head':
        if (this.headLines++ === 0) return;
        if (line !== '') return this.header(line);
        if (this.chunked) this.state = 'chunk-size';
        else if (this.contentLength) [this.state, this.remaining] = ['body', this.contentLength];
        else this.state = 'between';
        return;
      case 'chunk-size': {
        const size = /^([0-9a-fA-F]{1,8})[ \t]*(?:;.*)?$/.exec(line);
        if (!size) return void (this.state = 'lost');
        this.remaining = parseInt(size[1]!, 16);
        this.state = this.remaining === 0 ? 'trailers' : 'chunk-data';
        return;
      }
      case 'chunk-end':
        this.state = line === '' ? 'chunk-size' : 'lost';
        return;
      case 'trailers':
        if (line === '') this.state = 'between';
        return;
    }
  }

  private header(line: string): void {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === 'content-length') {
      // A second Content-Length, even an equal one, is refused by Node's parser (HPE_UNEXPECTED_CONTENT_LENGTH).
      if (!/^\d{1,15}$/.test(value) || this.contentLength !== undefined) this.state = 'lost';
      else this.contentLength = Number(value);
    } else if (name === 'transfer-encoding') {
      // Only chunked as the final coding frames a request body (RFC 9112 section 6.3); Node's parser refuses the rest.
      if (value.toLowerCase().split(',').at(-1)!.trim() !== 'chunked') this.state = 'lost';
      else this.chunked = true;
    }
    if (this.chunked && this.contentLength !== undefined) this.state = 'lost';
  }
}
