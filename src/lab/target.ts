// What a deployment exposes, one handle per capability. An attack is handed a Target restricted to the capabilities
// it declares (restrictTarget), so a disk attack cannot peek at the memory dump, and a combination gets exactly two.
import type { Capability } from './capability.js';
import type { StoredValue } from './decrypt-trial.js';
import type { Loot } from './loot.js';
import type { MemoryDump } from './memory-dump.js';

export interface DiskHandle {
  /** Root of the simulated node disk (read-only by convention; attacks copy what they need to `scratch`). */
  root: string;
}

export interface RamHandle {
  dump: MemoryDump;
  /** The stored bytes the process can read (its datastore's values). */
  values: StoredValue[];
}

export interface DatastoreHandle {
  /** The Secrets' stored values. */
  values: StoredValue[];
  /** The external-secrets.io objects (SecretStores, ExternalSecrets): they name key servers and token Secrets. */
  objects: StoredValue[];
  /** How they were read, for evidence ("etcd get --prefix /registry/secrets/ at http://..."). */
  how: string;
}

export interface KmsServerHandle {
  /** What the key server is (the real `coffer keyserver`, or the placeholder plugin) - stated in the evidence. */
  describe: string;
  /** Everything full control of the key server yields: its data, its root key, the unwrap it permits. */
  takeOver(signal: AbortSignal): Promise<Loot>;
}

export interface KmsSocketHandle {
  /** `unix:///path/kms.sock` */
  endpoint: string;
}

export interface Target {
  row: string;
  variant: string;
  /** A private directory each attack may write to (copies, its own etcd). */
  scratch: string;
  /** Where AWS is (the test double standing in for AWS's public endpoints): known to every attacker, no capability. */
  awsEndpoint?: string;
  disk?: DiskHandle;
  ram?: RamHandle;
  etcd?: DatastoreHandle;
  'kms-server'?: KmsServerHandle;
  'config-file'?: { path: string };
  'kms-socket'?: KmsSocketHandle;
}

type HandleKey = Exclude<keyof Target, 'row' | 'variant' | 'scratch' | 'awsEndpoint'>;

const HANDLE_OF: Partial<Record<Capability, HandleKey>> = {
  disk: 'disk',
  ram: 'ram',
  etcd: 'etcd',
  'kms-server': 'kms-server',
  'config-file': 'config-file',
  'kms-socket': 'kms-socket',
};

/** A copy of `full` holding only the handles of `caps`. */
export function restrictTarget(full: Target, caps: readonly Capability[], scratch: string): Target {
  const t: Target = { row: full.row, variant: full.variant, scratch, ...(full.awsEndpoint ? { awsEndpoint: full.awsEndpoint } : {}) };
  for (const c of caps) {
    const k = HANDLE_OF[c];
    if (k && full[k] !== undefined) (t as unknown as Record<string, unknown>)[k] = full[k];
  }
  return t;
}
