// Identifiers that are credentials (tokens, secret IDs) or name one (accessors): uniformly random base62, so they
// survive copy-paste and shells unquoted, like Vault's `hvs.` tokens.
import { randomBytes, randomUUID } from 'node:crypto';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** n base62 characters (about 5.95 bits each) from the operating system's CSPRNG, without modulo bias. */
export function randomBase62(n: number): string {
  let out = '';
  while (out.length < n) {
    for (const b of randomBytes(n * 2)) {
      if (b < 248 && out.length < n) out += ALPHABET[b % 62]; // 248 = 4 * 62: larger bytes would bias the result
    }
  }
  return out;
}

/** A UUID-shaped identifier, the form Vault uses for AppRole role and secret IDs. */
export function randomId(): string {
  return randomUUID();
}
