// generators.external-secrets.io Password and UUID, referenced from an ExternalSecret's dataFrom[].sourceRef
// .generatorRef: each refresh generates new values, as ESO does. Password follows ESO's PasswordSpec (defaults:
// length 24, digits and symbols 25% of the length, no repeated characters) and sethvargo/go-password's rules and
// error texts, which ESO uses; UUID gives a random (v4) UUID under the key "uuid".
import { randomInt, randomUUID } from 'node:crypto';
import { InvalidError } from '../../lib/errors.js';
import { encodeBase32Std } from '../../lib/go/encoding.js';
import type { GeneratorResource } from '../kube-api.js';
import type { ObjectReader } from './object-reader.js';

export const GENERATOR_GROUP = 'generators.external-secrets.io';

export interface GeneratorRef {
  apiVersion?: string;
  kind?: string;
  name?: string;
}

interface PasswordSpec {
  length?: number;
  digits?: number;
  symbols?: number;
  symbolCharacters?: string;
  noUpper?: boolean;
  allowRepeat?: boolean;
  secretKeys?: string[];
  encoding?: string;
}

const KINDS: Readonly<Record<string, GeneratorResource>> = { Password: 'passwords', UUID: 'uuids' };
const LOWER = 'abcdefghijklmnopqrstuvwxyz';
const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const DIGITS = '0123456789';
const SYMBOLS = '~!@#$%^&*()_+`-={}|[]\\:"<>?,./';
// A password is a Secret value: far below the object size limit, far above any real use.
const MAX_LENGTH = 4096;

export async function generate(ref: GeneratorRef, namespace: string, reader: ObjectReader, signal: AbortSignal): Promise<Record<string, Buffer>> {
  const resource = ref.kind ? KINDS[ref.kind] : undefined;
  if (!resource || (ref.apiVersion && !ref.apiVersion.startsWith(`${GENERATOR_GROUP}/`))) {
    throw new InvalidError(`generator ${ref.apiVersion ?? ''} kind ${JSON.stringify(ref.kind)} is not supported by Coffer (supported: Password, UUID)`);
  }
  if (!ref.name) throw new InvalidError('generatorRef.name is required');
  const obj = (await reader.generator(resource, namespace, ref.name, { signal })) as { spec?: PasswordSpec } | undefined;
  if (!obj) throw new InvalidError(`unable to get generator: ${resource}.${GENERATOR_GROUP} "${ref.name}" not found`);
  if (resource === 'uuids') return { uuid: Buffer.from(randomUUID()) };
  const spec = obj.spec ?? {};
  const out: Record<string, Buffer> = {};
  for (const key of spec.secretKeys ?? ['password']) out[key] = Buffer.from(encode(generatePassword(spec), spec.encoding ?? 'raw'));
  return out;
}

export function generatePassword(spec: PasswordSpec): string {
  const length = spec.length ?? 24;
  const digits = spec.digits ?? Math.floor(length * 0.25);
  const symbols = spec.symbols ?? Math.floor(length * 0.25);
  if (!Number.isInteger(length) || length < 0 || length > MAX_LENGTH) throw new InvalidError(`spec.length: must be an integer from 0 to ${MAX_LENGTH}, got ${length}`);
  const letters = length - digits - symbols;
  // go-password's errors
  if (letters < 0) throw new InvalidError('number of digits and symbols must be less than total length');
  const letterSet = spec.noUpper ? LOWER : LOWER + UPPER;
  const symbolSet = spec.symbolCharacters ?? SYMBOLS;
  if (!spec.allowRepeat && letters > letterSet.length) throw new InvalidError('number of letters exceeds available letters and repeats are not allowed');
  if (!spec.allowRepeat && digits > DIGITS.length) throw new InvalidError('number of digits exceeds available digits and repeats are not allowed');
  if (!spec.allowRepeat && symbols > symbolSet.length) throw new InvalidError('number of symbols exceeds available symbols and repeats are not allowed');
  let result = '';
  const insert = (count: number, set: string) => {
    for (let i = 0; i < count; i++) {
      let c: string;
      do c = set[randomInt(set.length)]!;
      while (!spec.allowRepeat && result.includes(c));
      const at = randomInt(result.length + 1);
      result = result.slice(0, at) + c + result.slice(at);
    }
  };
  insert(letters, letterSet);
  insert(digits, DIGITS);
  insert(symbols, symbolSet);
  return result;
}

function encode(password: string, encoding: string): string {
  const b = Buffer.from(password);
  switch (encoding) {
    case 'raw': return password;
    case 'base64': return b.toString('base64');
    case 'base64url': return b.toString('base64url');
    case 'hex': return b.toString('hex');
    case 'base32': return encodeBase32Std(b);
    default: throw new InvalidError(`spec.encoding: unsupported value ${JSON.stringify(encoding)}: supported values: "base64", "base64url", "base32", "hex", "raw"`);
  }
}

