// One unary call to a KMS plugin with kube-apiserver's client behaviour: wait for the socket to be ready, but never
// past the per-call timeout (WaitForReady(true) plus a deadline), cancellable, and errors that name the endpoint and
// method but never carry the request's bytes.
import * as grpc from '@grpc/grpc-js';
import { CofferError, UnavailableError } from '../lib/errors.js';
import { CALLER_SECRET_METADATA } from './kms-service.js';

/** A plugin answered with a gRPC error other than "unreachable". */
export class KmsCallError extends CofferError {
  readonly code: grpc.status;
  constructor(message: string, code: grpc.status) {
    super(message);
    this.code = code;
  }
}

type UnaryMethod = (
  request: unknown,
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
  callback: (error: grpc.ServiceError | null, response?: unknown) => void,
) => grpc.ClientUnaryCall;

export function callUnary<Res>(
  client: grpc.Client,
  method: string,
  request: object,
  opts: { endpoint: string; timeoutMs: number; signal?: AbortSignal | undefined; callerSecret?: string | undefined },
): Promise<Res> {
  return new Promise<Res>((resolve, reject) => {
    if (opts.signal?.aborted) {
      reject(new UnavailableError(`KMS plugin ${method} at ${opts.endpoint} was cancelled`));
      return;
    }
    const fn = (client as unknown as Record<string, UnaryMethod>)[method]!.bind(client);
    const metadata = new grpc.Metadata({ waitForReady: true });
    if (opts.callerSecret) metadata.set(CALLER_SECRET_METADATA, opts.callerSecret);
    const call = fn(request, metadata, { deadline: Date.now() + opts.timeoutMs }, (error, response) => {
      untrack?.();
      if (error) reject(toKmsError(error, method, opts.endpoint));
      else resolve(response as Res);
    });
    const untrack = opts.signal ? track(opts.signal, call) : undefined;
  });
}

/**
 * In-flight calls by the signal that cancels them. A transformer passes its one close signal to every call it makes,
 * so a listener per call piled up on it under load (MaxListenersExceededWarning past 10 in flight); a signal gets one
 * listener, however many calls share it.
 */
const callsBySignal = new WeakMap<AbortSignal, Set<grpc.ClientUnaryCall>>();

function track(signal: AbortSignal, call: grpc.ClientUnaryCall): () => void {
  let calls = callsBySignal.get(signal);
  if (!calls) {
    const set = new Set<grpc.ClientUnaryCall>();
    callsBySignal.set(signal, set);
    signal.addEventListener('abort', () => set.forEach((c) => c.cancel()), { once: true });
    calls = set;
  }
  calls.add(call);
  return () => calls.delete(call);
}

function toKmsError(error: grpc.ServiceError, method: string, endpoint: string): Error {
  const code = grpc.status[error.code] ?? String(error.code);
  if (error.code === grpc.status.UNAVAILABLE || error.code === grpc.status.DEADLINE_EXCEEDED) {
    return new UnavailableError(`KMS plugin at ${endpoint} is unreachable: ${method}: ${code}: ${error.details}`, {
      cause: error,
    });
  }
  if (error.code === grpc.status.CANCELLED) {
    return new UnavailableError(`KMS plugin ${method} at ${endpoint} was cancelled`, { cause: error });
  }
  return new KmsCallError(`KMS plugin ${method} failed: ${code}: ${error.details}`, error.code);
}
