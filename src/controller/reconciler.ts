// Level-based reconciliation, like controller-runtime: the key says what to look at, never what happened, so a
// missed or duplicated event cannot leave the world wrong — the next reconcile of the key converges it.
import { CofferError } from '../lib/errors.js';

export interface ObjectKey {
  namespace: string; // "" for cluster-scoped objects
  name: string;
}

export interface ReconcileResult {
  requeueAfterMs?: number;
}

export interface Reconciler {
  reconcile(key: ObjectKey, opts: { signal: AbortSignal }): Promise<ReconcileResult>;
}

/** Thrown by a reconciler when retrying cannot help (invalid spec); the key waits for the next change. */
export class TerminalError extends CofferError {}

export function formatKey(key: ObjectKey): string {
  return key.namespace ? `${key.namespace}/${key.name}` : key.name;
}

export function parseKey(text: string): ObjectKey {
  const i = text.indexOf('/');
  return i < 0 ? { namespace: '', name: text } : { namespace: text.slice(0, i), name: text.slice(i + 1) };
}
