// Checks every backend makes before it writes, so bad input fails the same way on SQLite and on etcd, and fails
// before any byte reaches the store (a half-refused request must not leave a revision behind).
import { InvalidError } from '../lib/errors.js';

/** Where kube-apiserver keeps its objects (--etcd-prefix default); stores refuse writes elsewhere. */
export const DEFAULT_KEY_PREFIX = '/registry/';

/**
 * etcd's default --max-request-bytes (1.5 MiB). A larger value would be refused by a default etcd anyway; refusing it
 * on SQLite too keeps the two backends interchangeable.
 */
export const MAX_VALUE_BYTES = 1572864;

// A lone UTF-16 surrogate would be stored as U+FFFD and collide with a different key.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Throws InvalidError unless the key is a non-empty, well-formed key strictly under the prefix. */
export function validateKey(key: string, opts: { prefix: string }): void {
  if (typeof key !== 'string' || key.length === 0) throw new InvalidError('key must not be empty');
  if (!key.startsWith(opts.prefix) || key.length === opts.prefix.length) {
    throw new InvalidError(`key ${JSON.stringify(key)} is not under the store's prefix ${JSON.stringify(opts.prefix)}`);
  }
  if (LONE_SURROGATE.test(key)) throw new InvalidError(`key ${JSON.stringify(key)} is not valid Unicode`);
}

/** validateKey plus the value's type and size. The message names the key and the size, never the value. */
export function validateWrite(key: string, value: Uint8Array, opts: { prefix: string }): void {
  validateKey(key, opts);
  if (!(value instanceof Uint8Array)) throw new InvalidError(`value for ${JSON.stringify(key)} must be bytes`);
  if (value.byteLength > MAX_VALUE_BYTES) {
    throw new InvalidError(
      `value for ${JSON.stringify(key)} is ${value.byteLength} bytes, over the ${MAX_VALUE_BYTES}-byte limit ` +
        `(etcd's default request size)`,
    );
  }
}
