// kube-apiserver's storage transformation counter (apiserver pkg/storage/value/metrics.go):
// apiserver_storage_transformation_operations_total{resource, transformation_type, transformer_prefix, status}.
// The prefix is the outermost provider's (`k8s:enc:aesgcm:v1:`, `k8s:enc:kms:v2:<name>:`), `identity` for plaintext;
// status is "OK" or the gRPC-style code upstream derives from the error ("Unknown" for a non-gRPC error).
//
// Counted twice per create with the garbage collector's informer running (to_storage at the write, from_storage when
// the informer takes the object), so a count costs one Map lookup: prom-client's Counter.inc copies the labels, checks
// each name and hashes the sorted pairs on every call (about 2% of an HTTPS create's CPU, issue 16). The counts reach
// the Counter when it is read (its collect hook), in the order first counted, as src/apiserver/request-series.ts does.
import { Counter, type Registry } from 'prom-client';

export type TransformationType = 'from_storage' | 'to_storage';

export const TRANSFORMATION_OPERATIONS_TOTAL = 'apiserver_storage_transformation_operations_total';

const ENC = Buffer.from('k8s:enc:');
const PREFIXES = /^k8s:enc:(?:(?:aescbc|aesgcm|secretbox):v1:|kms:v[12]:[^:]*:)/;

/**
 * Prefixes the expression matched so far, tried byte by byte first: a value that starts with one of them has it as its
 * match (the expression reads nothing past the colon that ends a prefix), and a LIST of encrypted values then makes
 * no string of each value's head. A configuration names a few providers; the bound is for values written elsewhere.
 */
const matched: { bytes: Buffer; text: string }[] = [];
const MAX_MATCHED = 16;

function startsWith(stored: Uint8Array, bytes: Uint8Array): boolean {
  // length, read once: a Buffer's byteLength getter in the loop's test cost ten times the comparisons.
  const n = bytes.length;
  if (stored.length < n) return false;
  for (let i = 0; i < n; i++) if (stored[i] !== bytes[i]) return false;
  return true;
}

/** The provider prefix a stored value starts with, as the metric labels it. */
export function transformerPrefixOf(stored: Uint8Array): string {
  // Every prefix starts with "k8s:enc:"; identity's protobuf starts with "k8s\0" and JSON with "{".
  if (!startsWith(stored, ENC)) return 'identity';
  for (let i = 0; i < matched.length; i++) if (startsWith(stored, matched[i]!.bytes)) return matched[i]!.text;
  // Prefixes are short ASCII; only the head of the value is looked at (and never logged).
  const head = Buffer.from(stored.buffer, stored.byteOffset, Math.min(stored.byteLength, 300)).toString('latin1');
  const text = PREFIXES.exec(head)?.[0];
  if (text === undefined) return 'identity';
  if (matched.length < MAX_MATCHED) matched.push({ bytes: Buffer.from(text, 'latin1'), text });
  return text;
}

function statusOf(err: unknown): string {
  // gRPC errors carry a numeric code; upstream prints its name. Anything else is "Unknown", as status.Code(err) gives.
  const code = (err as { code?: unknown } | undefined)?.code;
  const names = ['OK', 'Canceled', 'Unknown', 'InvalidArgument', 'DeadlineExceeded', 'NotFound', 'AlreadyExists', 'PermissionDenied',
    'ResourceExhausted', 'FailedPrecondition', 'Aborted', 'OutOfRange', 'Unimplemented', 'Internal', 'Unavailable', 'DataLoss', 'Unauthenticated'];
  return typeof code === 'number' && names[code] !== undefined ? names[code] : 'Unknown';
}

type Label = 'resource' | 'transformation_type' | 'transformer_prefix' | 'status';
type Labels = Record<Label, string>;

/** A Counter whose reset (Registry.resetMetrics) also drops the counts not handed over yet. */
class PendingCounter extends Counter<Label> {
  constructor(
    private readonly pending: Map<string, { labels: Labels; n: number }>,
    config: ConstructorParameters<typeof Counter<Label>>[0],
  ) {
    super(config);
  }

  override reset(): void {
    // Metric's constructor calls reset before this class's fields are set.
    this.pending?.clear();
    super.reset();
  }
}

export class TransformationMetrics {
  readonly counter: Counter<Label>;
  /** Counts since the Counter was last read, by the label values joined. */
  private readonly pending = new Map<string, { labels: Labels; n: number }>();

  /** Registers the counter in `registry` when given (e.g. the HTTP server's /metrics registry); standalone otherwise. */
  constructor(opts: { registry?: Registry } = {}) {
    const pending = this.pending;
    this.counter = new PendingCounter(pending, {
      name: TRANSFORMATION_OPERATIONS_TOTAL,
      help:
        "Total number of transformations. Successful transformation will have a status 'OK' and a varied status string " +
        'when the transformation fails.',
      labelNames: ['resource', 'transformation_type', 'transformer_prefix', 'status'] as const,
      registers: opts.registry ? [opts.registry] : [],
      collect() {
        for (const p of pending.values()) this.inc(p.labels, p.n);
        pending.clear();
      },
    });
  }

  record(resource: string, type: TransformationType, prefix: string, err?: unknown): void {
    const status = err === undefined ? 'OK' : statusOf(err);
    // Only the prefix (read from a stored value) may hold a newline, and it sits between fields that cannot: unique.
    const key = `${resource}\n${type}\n${prefix}\n${status}`;
    const p = this.pending.get(key);
    if (p) p.n++;
    else this.pending.set(key, { labels: { resource, transformation_type: type, transformer_prefix: prefix, status }, n: 1 });
  }

  /** Current counts, for tests and for renderers that do not use prom-client's registry. */
  async snapshot(): Promise<{ labels: Record<string, string>; value: number }[]> {
    const { values } = await this.counter.get();
    return values.map((v) => ({ labels: Object.fromEntries(Object.entries(v.labels).map(([k, x]) => [k, String(x)])), value: v.value }));
  }
}
