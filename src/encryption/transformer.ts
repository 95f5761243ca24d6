// The same two operations as k8s.io/apiserver's value.Transformer: bytes to storage and back, bound to a context
// whose authenticated data is the storage key (`/registry/secrets/<ns>/<name>`).

export interface TransformContext {
  readonly authenticatedData: Uint8Array;
  /**
   * The storage key as text, when the context was made from one (contextForKey): KMS v2's derived-key cache is indexed
   * by it, as upstream's by the authenticated data, without decoding the bytes again per value.
   */
  readonly storageKey?: string;
}

export interface FromStorageResult {
  data: Uint8Array;
  /** True when the value should be rewritten: not written by the first provider/key, or by an older KMS key. */
  stale: boolean;
  /** Which providers and keys read the value, outermost first (e.g. `aescbc`, `key "key1"`); for operators' tools. */
  via?: readonly string[];
}

export interface Transformer {
  fromStorage(data: Uint8Array, ctx: TransformContext): Promise<FromStorageResult>;
  toStorage(data: Uint8Array, ctx: TransformContext): Promise<Uint8Array>;
}

export function contextForKey(storageKey: string): TransformContext {
  return { authenticatedData: Buffer.from(storageKey, 'utf8'), storageKey };
}
