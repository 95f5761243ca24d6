// ESO's ObjectHash: lowercase hex SHA3-224 over Go's fmt.Sprintf("%+v", x). Reproducing the exact text lets Coffer
// adopt Secrets that ESO already manages (same data-hash annotation, same created-by label) without rewriting them.
import { createHash } from 'node:crypto';

function sha3(text: string | Buffer): string {
  return createHash('sha3-224').update(text).digest('hex');
}

/** Go's `%+v` of a map[string][]byte: `map[k:[1 2 3] k2:[]]`, keys in byte order, nil/empty → `map[]`. */
export function formatGoByteMap(data: Readonly<Record<string, Uint8Array>>): string {
  const keys = Object.keys(data).sort(compareBytes);
  return `map[${keys.map((k) => `${k}:[${Array.from(data[k]!).join(' ')}]`).join(' ')}]`;
}

/** Go's `%+v` of a map[string]string: `map[k:v k2:v2]`. */
export function formatGoStringMap(data: Readonly<Record<string, string>> | undefined): string {
  const keys = Object.keys(data ?? {}).sort(compareBytes);
  return `map[${keys.map((k) => `${k}:${data![k]}`).join(' ')}]`;
}

/** Hash of a Secret's data, as the `reconcile.external-secrets.io/data-hash` annotation holds it. */
export function hashSecretData(data: Readonly<Record<string, Uint8Array>>): string {
  return sha3(formatGoByteMap(data));
}

/** Hash of a plain string (the created-by label hashes "<namespace>/<name>"). */
export function hashString(text: string): string {
  return sha3(text);
}

/** Hash of `{annotations:map[..] labels:map[..]}`, the second half of status.syncedResourceVersion. */
export function hashLabelsAndAnnotations(labels?: Record<string, string>, annotations?: Record<string, string>): string {
  return sha3(`{annotations:${formatGoStringMap(annotations)} labels:${formatGoStringMap(labels)}}`);
}

/** Go sorts map keys by byte order, which differs from UTF-16 order for astral and some BMP characters. */
export function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}
