// kube-apiserver's list continue token (apiserver pkg/storage/continue.go): base64url without padding of
// {"v":"meta.k8s.io/v1","rv":<revision>,"start":"<next key relative to the list prefix>"}. The revision pins later pages
// to the first page's snapshot; rv -1 means "continue at the current state" (handed out when the snapshot is gone).
import { posix } from 'node:path';

export class ContinueTokenError extends Error {}

const GENERIC = 'continue key is not valid';

export function encodeContinue(nextKey: string, keyPrefix: string, revision: number): string {
  if (!nextKey.startsWith(keyPrefix) || nextKey === keyPrefix) {
    throw new Error('unable to encode next field: the key and key prefix do not match');
  }
  const json = JSON.stringify({ v: 'meta.k8s.io/v1', rv: revision, start: nextKey.slice(keyPrefix.length) });
  return Buffer.from(json, 'utf8').toString('base64url');
}

const BASE64URL_CHAR = /[A-Za-z0-9_-]/;

/** Go's base64.RawURLEncoding.DecodeString, strict: the alphabet only, no padding, no dangling 6 bits. */
function decodeRawUrl(text: string): Buffer {
  for (let i = 0; i < text.length; i++) {
    if (!BASE64URL_CHAR.test(text[i]!)) throw new ContinueTokenError(`${GENERIC}: illegal base64 data at input byte ${i}`);
  }
  if (text.length % 4 === 1) throw new ContinueTokenError(`${GENERIC}: illegal base64 data at input byte ${text.length - 1}`);
  return Buffer.from(text, 'base64url');
}

/** Returns the absolute key to continue from and the revision to read at (-1 or positive). */
export function decodeContinue(token: string, keyPrefix: string): { startKey: string; revision: number } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(decodeRawUrl(token).toString('utf8'));
  } catch (err) {
    if (err instanceof ContinueTokenError) throw err;
    throw new ContinueTokenError(`${GENERIC}: invalid character in JSON`);
  }
  const c = (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? parsed : {}) as Record<string, unknown>;
  if (c.v !== 'meta.k8s.io/v1') {
    throw new ContinueTokenError(`${GENERIC} server does not recognize this encoded version ${JSON.stringify(typeof c.v === 'string' ? c.v : '')}`);
  }
  const rv = c.rv;
  if (typeof rv !== 'number' || !Number.isSafeInteger(rv) || rv === 0) {
    throw new ContinueTokenError(`${GENERIC}: incorrect encoded start resourceVersion (version meta.k8s.io/v1)`);
  }
  const start = c.start;
  if (typeof start !== 'string' || start === '') {
    throw new ContinueTokenError(`${GENERIC}: encoded start key empty (version meta.k8s.io/v1)`);
  }
  // A client could try to climb out of the listed prefix ("../"); as upstream, a start that Go's path.Clean would change
  // (dot segments, double or trailing slashes) is refused.
  const key = start.startsWith('/') ? start : `/${start}`;
  if (posix.normalize(key) !== key || (key.length > 1 && key.endsWith('/'))) {
    throw new ContinueTokenError(`${GENERIC}: ${start}`);
  }
  return { startKey: keyPrefix + key.slice(1), revision: rv };
}
