// kube-apiserver's "first provider writes, any matching provider reads" list (upstream value.NewPrefixTransformers).
// The same list is used at two levels: providers (`k8s:enc:aescbc:v1:`, ...) and, inside aes/secretbox, keys
// (`<keyname>:`). Staleness at every level is what makes `kubectl replace` re-encrypt data after a rotation.
import { AggregateDecryptError, DecryptError, InvalidError } from '../lib/errors.js';
import type { FromStorageResult, TransformContext, Transformer } from './transformer.js';

export const NO_MATCHING_PREFIX = 'no matching prefix found';
export const NO_MATCHING_AES_KEY = 'no matching key was found for the provided AES transformer';
export const NO_MATCHING_SECRETBOX_KEY = 'no matching key was found for the provided Secretbox transformer';

export interface PrefixTransformerEntry {
  /** Bytes that stored values of this entry start with; empty for identity. A string is taken as UTF-8. */
  readonly prefix: Uint8Array | string;
  readonly transformer: Transformer;
  /** How operators name this entry in `via` (e.g. `aescbc`, `key "key1"`). */
  readonly label?: string;
}

/** A transformer that can put a given prefix in front of its output itself, saving the list a copy per write. */
export interface PrefixWritingTransformer extends Transformer {
  toStorageAfter(prefix: Uint8Array, data: Uint8Array, ctx: TransformContext): Promise<Uint8Array>;
}

function writesPrefix(t: Transformer): t is PrefixWritingTransformer {
  return typeof (t as Partial<PrefixWritingTransformer>).toStorageAfter === 'function';
}

interface Entry {
  readonly prefix: Buffer;
  readonly transformer: Transformer;
  readonly label: string;
}

function hasPrefix(data: Uint8Array, prefix: Buffer): boolean {
  if (data.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) {
    if (data[i] !== prefix[i]) return false;
  }
  return true;
}

function asError(thrown: unknown): Error {
  return thrown instanceof Error ? thrown : new DecryptError(String(thrown));
}

export class PrefixTransformers implements Transformer {
  private readonly entries: readonly Entry[];
  private readonly noMatchMessage: string;

  /** `noMatchMessage` is the error when no entry's prefix matches (upstream passes a different one per level). */
  constructor(entries: readonly PrefixTransformerEntry[], opts: { noMatchMessage?: string } = {}) {
    if (entries.length === 0) throw new InvalidError('a prefix transformer list needs at least one entry');
    this.entries = entries.map((e) => ({
      prefix: typeof e.prefix === 'string' ? Buffer.from(e.prefix, 'utf8') : Buffer.from(e.prefix),
      transformer: e.transformer,
      label: e.label ?? (typeof e.prefix === 'string' ? e.prefix : Buffer.from(e.prefix).toString('utf8')),
    }));
    this.noMatchMessage = opts.noMatchMessage ?? NO_MATCHING_PREFIX;
  }

  async fromStorage(data: Uint8Array, ctx: TransformContext): Promise<FromStorageResult> {
    const errors: Error[] = [];
    for (let i = 0; i < this.entries.length; i++) {
      const { prefix, transformer, label } = this.entries[i]!;
      if (!hasPrefix(data, prefix)) continue;
      try {
        const result = await transformer.fromStorage(data.subarray(prefix.length), ctx);
        return { data: result.data, stale: result.stale || i !== 0, via: [label, ...(result.via ?? [])] };
      } catch (thrown) {
        // Identity placed before an encrypting provider (to migrate away from encryption) refuses encrypted values;
        // upstream moves on silently so the next provider can read them, and its error is never reported.
        if (prefix.length === 0) continue;
        // Several entries may share a prefix (two aescbc providers): keep trying, report every failure.
        errors.push(asError(thrown));
      }
    }
    if (errors.length === 1) throw errors[0]!;
    if (errors.length > 1) throw new AggregateDecryptError(errors);
    throw new DecryptError(this.noMatchMessage);
  }

  async toStorage(data: Uint8Array, ctx: TransformContext): Promise<Uint8Array> {
    const { prefix, transformer } = this.entries[0]!;
    if (prefix.length === 0) return transformer.toStorage(data, ctx);
    if (writesPrefix(transformer)) return transformer.toStorageAfter(prefix, data, ctx);
    const inner = await transformer.toStorage(data, ctx);
    const out = Buffer.allocUnsafe(prefix.length + inner.length);
    prefix.copy(out, 0);
    out.set(inner, prefix.length);
    return out;
  }

  /** Zero-fills the keys of every entry that holds some (a replaced configuration); unusable afterwards. */
  destroy(): void {
    for (const { transformer } of this.entries) {
      (transformer as Partial<{ destroy(): void }>).destroy?.();
    }
  }
}
