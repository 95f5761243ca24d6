// Go's encoding/pem Decode and Encode, as ESO's filterPEM, filterCertChain and certSANs use them: Decode finds the
// next well-formed block (a block with a bad END line or base64 body is skipped, and a BEGIN counts only at the start
// or after a newline); Encode writes headers sorted (Proc-Type first) and the body in 64-column lines.
import { decodeBase64Std, GoDecodeError } from './encoding.js';

export interface PemBlock {
  type: string;
  headers: Record<string, string>;
  bytes: Buffer;
}

const PEM_START = '\n-----BEGIN ';
const PEM_END = '\n-----END ';
const DASHES = '-----';

/** A line without its \n or \r\n and trailing spaces/tabs, and the text after it. */
function getLine(data: string): [string, string] {
  let i = data.indexOf('\n');
  let j: number;
  if (i < 0) {
    i = data.length;
    j = i;
  } else {
    j = i + 1;
    if (i > 0 && data[i - 1] === '\r') i--;
  }
  return [data.slice(0, i).replace(/[ \t]+$/, ''), data.slice(j)];
}

/** pem.Decode: the next block and the rest, or no block and the whole input. */
export function decodePem(data: string): { block: PemBlock | undefined; rest: string } {
  let rest = data;
  for (;;) {
    if (rest.startsWith(PEM_START.slice(1))) rest = rest.slice(PEM_START.length - 1);
    else {
      const at = rest.indexOf(PEM_START);
      if (at < 0) return { block: undefined, rest: data };
      rest = rest.slice(at + PEM_START.length);
    }
    let typeLine: string;
    [typeLine, rest] = getLine(rest);
    if (!typeLine.endsWith(DASHES)) continue;
    typeLine = typeLine.slice(0, -DASHES.length);
    const headers: Record<string, string> = {};
    let headerCount = 0;
    for (;;) {
      if (rest.length === 0) return { block: undefined, rest: data };
      const [line, next] = getLine(rest);
      const colon = line.indexOf(':');
      if (colon < 0) break;
      headers[line.slice(0, colon).trim()] = line.slice(colon + 1).trim();
      headerCount++;
      rest = next;
    }
    let endIndex: number;
    let trailerIndex: number;
    if (headerCount === 0 && rest.startsWith(PEM_END.slice(1))) {
      endIndex = 0;
      trailerIndex = PEM_END.length - 1;
    } else {
      endIndex = rest.indexOf(PEM_END);
      trailerIndex = endIndex + PEM_END.length;
    }
    if (endIndex < 0) continue;
    const trailerLength = typeLine.length + DASHES.length;
    const trailer = rest.slice(trailerIndex, trailerIndex + trailerLength);
    if (trailer.length < trailerLength || !trailer.startsWith(typeLine) || !trailer.endsWith(DASHES)) continue;
    if (getLine(rest.slice(trailerIndex + trailerLength))[0].length !== 0) continue;
    let bytes: Buffer;
    try {
      bytes = decodeBase64Std(rest.slice(0, endIndex).replace(/[ \t]/g, ''));
    } catch (e) {
      if (e instanceof GoDecodeError) continue;
      throw e;
    }
    return { block: { type: typeLine, headers, bytes }, rest: getLine(rest.slice(endIndex + PEM_END.length - 1))[1] };
  }
}

/** pem.EncodeToMemory. */
export function encodePem(block: PemBlock): string {
  let out = `-----BEGIN ${block.type}-----\n`;
  const keys = Object.keys(block.headers);
  if (keys.length > 0) {
    const ordered = [...keys.filter((k) => k === 'Proc-Type'), ...keys.filter((k) => k !== 'Proc-Type').sort()];
    for (const k of ordered) out += `${k}: ${block.headers[k]}\n`;
    out += '\n';
  }
  const body = block.bytes.toString('base64');
  for (let i = 0; i < body.length; i += 64) out += `${body.slice(i, i + 64)}\n`;
  return `${out}-----END ${block.type}-----\n`;
}
