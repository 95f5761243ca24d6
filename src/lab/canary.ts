// Canaries: random, unique Secret values planted through the API. An attack "recovers" a canary when its exact bytes
// turn up in what the attack obtained. Nothing the lab prints ever holds a canary: evidence names canaries by index
// and by a short SHA-256 fingerprint, and the forms searched for (raw, base64, UTF-16) are derived here only.
import { createHash, randomBytes } from 'node:crypto';

export interface Canary {
  /** 1-based, for evidence ("canary #2"). */
  index: number;
  /** Where it was planted: namespace/name and data key. */
  namespace: string;
  name: string;
  dataKey: string;
  /** The secret bytes. Never printed. */
  value: Buffer;
  /** `sha256:<12 hex>` of the value: safe to print, lets an auditor match evidence across reports. */
  fingerprint: string;
}

export const CANARY_NAMESPACE = 'lab-canaries';

/** Long enough that a chance match in hundreds of MB of memory is impossible (2^-256 per position). */
const CANARY_BYTES = 32;

export function fingerprint(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex').slice(0, 12)}`;
}

/**
 * Printable values (hex with a fixed tag), so the API server's JSON carries them as base64 of ASCII - the common case
 * for real Secrets (passwords, tokens) - and a search also finds them in UTF-16 strings.
 */
export function makeCanaries(count: number, prefix = 'canary'): Canary[] {
  return Array.from({ length: count }, (_, i) => {
    const value = Buffer.from(`cc-${randomBytes(CANARY_BYTES).toString('hex')}`, 'latin1');
    return { index: i + 1, namespace: CANARY_NAMESPACE, name: `${prefix}-${i + 1}`, dataKey: 'value', value, fingerprint: fingerprint(value) };
  });
}

export type CanaryForm = 'raw' | 'base64' | 'utf16le' | 'base64-utf16le';

export interface CanaryNeedle {
  canary: Canary;
  form: CanaryForm;
  bytes: Buffer;
}

/** Every form in which a canary can sit in memory or on disk. */
export function needlesFor(canaries: readonly Canary[]): CanaryNeedle[] {
  return canaries.flatMap((canary) => {
    const b64 = canary.value.toString('base64');
    return [
      { canary, form: 'raw' as const, bytes: canary.value },
      { canary, form: 'base64' as const, bytes: Buffer.from(b64, 'latin1') },
      { canary, form: 'utf16le' as const, bytes: Buffer.from(canary.value.toString('latin1'), 'utf16le') },
      { canary, form: 'base64-utf16le' as const, bytes: Buffer.from(b64, 'utf16le') },
    ];
  });
}

export interface CanaryHit {
  canary: Canary;
  form: CanaryForm;
  /** Offset of the first hit in the searched buffer. */
  offset: number;
  /** How many times this form occurs. */
  occurrences: number;
}

/**
 * Finds canaries in a buffer; `limit` caps the occurrences counted per form (counting is for evidence only). Needles
 * sharing their first 3 bytes (all canaries of one form: `cc-`, `Y2M`, ...) are found with one scan of the buffer,
 * which matters for memory dumps of hundreds of MiB.
 */
export function findCanaries(haystack: Uint8Array, canaries: readonly Canary[], limit = 1000): CanaryHit[] {
  const buf = Buffer.isBuffer(haystack) ? haystack : Buffer.from(haystack.buffer, haystack.byteOffset, haystack.byteLength);
  const byPrefix = new Map<string, CanaryNeedle[]>();
  for (const n of needlesFor(canaries)) {
    const p = n.bytes.subarray(0, 3).toString('hex');
    const list = byPrefix.get(p);
    if (list) list.push(n);
    else byPrefix.set(p, [n]);
  }
  const found = new Map<CanaryNeedle, CanaryHit>();
  for (const needles of byPrefix.values()) {
    const prefix = needles[0]!.bytes.subarray(0, 3);
    for (let at = buf.indexOf(prefix); at >= 0; at = buf.indexOf(prefix, at + 1)) {
      for (const n of needles) {
        if (at + n.bytes.length > buf.length || buf.compare(n.bytes, 0, n.bytes.length, at, at + n.bytes.length) !== 0) continue;
        const hit = found.get(n);
        if (!hit) found.set(n, { canary: n.canary, form: n.form, offset: at, occurrences: 1 });
        else if (hit.occurrences < limit) hit.occurrences++;
      }
    }
  }
  return [...found.values()];
}

/** True when some canary (in any form) is in `text`: the lab's own output is checked with this before it is written. */
export function containsCanary(text: string | Uint8Array, canaries: readonly Canary[]): boolean {
  const buf = typeof text === 'string' ? Buffer.from(text, 'utf8') : Buffer.from(text);
  return findCanaries(buf, canaries, 1).length > 0;
}
