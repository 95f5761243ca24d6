// kube-apiserver's storage transformation counter (apiserver pkg/storage/value/metrics.go):
// apiserver_storage_transformation_operations_total{resource, transformation_type, transformer_prefix, status}.
// The prefix is the outermost provider's (`k8s:enc:aesgcm:v1:`, `k8s:enc:kms:v2:<name>:`), `identity` for plaintext;
// status is "OK" or the gRPC-style code upstream derives from the error ("Unknown" for a non-gRPC error).
import { Counter, type Registry } from 'prom-client';

export type TransformationType = 'from_storage' | 'to_storage';

export const TRANSFORMATION_OPERATIONS_TOTAL = 'apiserver_storage_transformation_operations_total';

const PREFIXES = /^k8s:enc:(?:(?:aescbc|aesgcm|secretbox):v1:|kms:v[12]:[^:]*:)/;

/** The provider prefix a stored value starts with, as the metric labels it. */
export function transformerPrefixOf(stored: Uint8Array): string {
  // Prefixes are short ASCII; only the head of the value is looked at (and never logged).
  const head = Buffer.from(stored.buffer, stored.byteOffset, Math.min(stored.byteLength, 300)).toString('latin1');
  return PREFIXES.exec(head)?.[0] ?? 'identity';
}

function statusOf(err: unknown): string {
  // gRPC errors carry a numeric code; upstream prints its name. Anything else is "Unknown", as status.Code(err) gives.
  const code = (err as { code?: unknown } | undefined)?.code;
  const names = ['OK', 'Canceled', 'Unknown', 'InvalidArgument', 'DeadlineExceeded', 'NotFound', 'AlreadyExists', 'PermissionDenied',
    'ResourceExhausted', 'FailedPrecondition', 'Aborted', 'OutOfRange', 'Unimplemented', 'Internal', 'Unavailable', 'DataLoss', 'Unauthenticated'];
  return typeof code === 'number' && names[code] !== undefined ? names[code] : 'Unknown';
}

export class TransformationMetrics {
  readonly counter: Counter<'resource' | 'transformation_type' | 'transformer_prefix' | 'status'>;

  /** Registers the counter in `registry` when given (e.g. the HTTP server's /metrics registry); standalone otherwise. */
  constructor(opts: { registry?: Registry } = {}) {
    this.counter = new Counter({
      name: TRANSFORMATION_OPERATIONS_TOTAL,
      help:
        "Total number of transformations. Successful transformation will have a status 'OK' and a varied status string " +
        'when the transformation fails.',
      labelNames: ['resource', 'transformation_type', 'transformer_prefix', 'status'] as const,
      registers: opts.registry ? [opts.registry] : [],
    });
  }

  record(resource: string, type: TransformationType, prefix: string, err?: unknown): void {
    this.counter.inc({ resource, transformation_type: type, transformer_prefix: prefix, status: err === undefined ? 'OK' : statusOf(err) });
  }

  /** Current counts, for tests and for renderers that do not use prom-client's registry. */
  async snapshot(): Promise<{ labels: Record<string, string>; value: number }[]> {
    const { values } = await this.counter.get();
    return values.map((v) => ({ labels: Object.fromEntries(Object.entries(v.labels).map(([k, x]) => [k, String(x)])), value: v.value }));
  }
}
