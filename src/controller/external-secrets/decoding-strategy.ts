// ESO's decodingStrategy (runtime/decoding): None, Base64, Base64URL, Auto. Go's decoders are strict (padding
// required, only CR/LF skipped); Node's Buffer.from(s, 'base64') is lenient, so Auto would decode values that ESO
// keeps as they are. Strictness is what makes Auto agree with ESO.
import { InvalidError } from '../../lib/errors.js';

export type DecodingStrategy = 'None' | 'Base64' | 'Base64URL' | 'Auto';

const STD = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const URL = /^(?:[A-Za-z0-9_-]{4})*(?:[A-Za-z0-9_-]{2}==|[A-Za-z0-9_-]{3}=)?$/;

function decodeStrict(value: Uint8Array, alphabet: RegExp, encoding: 'base64' | 'base64url'): Buffer | undefined {
  const text = Buffer.from(value).toString('latin1').replace(/[\r\n]/g, '');
  if (!alphabet.test(text)) return undefined;
  return Buffer.from(text, encoding);
}

/** Decodes one value; throws InvalidError with Go's wording when a strict strategy cannot decode it. */
export function decodeValue(value: Uint8Array, strategy: string | undefined): Buffer {
  switch (strategy ?? '') {
    case '':
    case 'None':
      return Buffer.from(value);
    case 'Base64': {
      const out = decodeStrict(value, STD, 'base64');
      if (!out) throw new InvalidError('illegal base64 data');
      return out;
    }
    case 'Base64URL': {
      const out = decodeStrict(value, URL, 'base64url');
      if (!out) throw new InvalidError('illegal base64url data');
      return out;
    }
    case 'Auto':
      return decodeStrict(value, STD, 'base64') ?? decodeStrict(value, URL, 'base64url') ?? Buffer.from(value);
    default:
      throw new InvalidError(`decoding strategy ${strategy} is not supported`);
  }
}

/** Decodes every value of a map, naming the key that failed (never its value). */
export function decodeMap(data: Record<string, Buffer>, strategy: string | undefined): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  for (const [k, v] of Object.entries(data)) {
    try {
      out[k] = decodeValue(v, strategy);
    } catch (e) {
      throw new InvalidError(`error applying decoding strategy ${strategy} to data: failure decoding key ${k}: ${(e as Error).message}`);
    }
  }
  return out;
}

/** nullBytePolicy Fail: binary values with NUL are refused, keys checked in sorted order as ESO does. */
export function checkNullBytes(data: Record<string, Buffer>, policy: string | undefined): void {
  if (policy !== 'Fail') return;
  for (const k of Object.keys(data).sort()) {
    if (data[k]!.includes(0)) {
      throw new InvalidError(
        `fetched secret value for key "${k}" contains null bytes; use a text-safe format such as PEM/base64 or leave nullBytePolicy unset for intentional binary data`,
      );
    }
  }
}
