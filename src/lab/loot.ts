// What an attack obtained with its capabilities, before anyone counts canaries in it: raw bytes (files, a memory
// dump), stored values, key candidates and KMS oracles. Attacks produce loot; the judge (judge.ts) turns loot into a
// Finding. Keeping the two apart means an attack cannot claim a recovery it did not make, and a combination of two
// capabilities is exactly the union of their loot.
import type { EncryptedObject } from '../kms/kms-v2-encrypted-object.js';
import type { StoredValue } from './decrypt-trial.js';
import type { KeyCandidate } from './key-candidates.js';

export interface Blob {
  /** e.g. "disk: coffer/store/coffer.db", "ram dump of coffer up (pid 123)". */
  label: string;
  bytes: Buffer;
  /** Names an offset inside the blob (a memory region, a file offset). */
  locate?: (offset: number) => string;
  /**
   * Obtained by reusing a credential found in the loot (a token replayed against a key server), not read directly:
   * the judge lists direct evidence first.
   */
  credentialReuse?: boolean;
}

/** Something that unwraps a KMS v2 EDEK (seed) for the attacker: the plugin's socket, or the key server's root key. */
export interface KeyOracle {
  name: string;
  unwrap(o: EncryptedObject, providerName: string, signal: AbortSignal): Promise<Buffer | undefined>;
}

export interface Loot {
  blobs: Blob[];
  values: StoredValue[];
  keys: KeyCandidate[];
  oracles: KeyOracle[];
  /** What the attack did that is worth stating even when it recovers nothing. */
  notes: string[];
  /** Set when the capability has nothing to act on in this deployment (the cell is n/a). */
  notApplicable?: string;
  /** Set when the component the attack needs is not built yet (the cell is not measured). */
  unavailable?: string;
}

export function emptyLoot(): Loot {
  return { blobs: [], values: [], keys: [], oracles: [], notes: [] };
}

export function mergeLoot(parts: readonly Loot[]): Loot {
  return {
    blobs: parts.flatMap((p) => p.blobs),
    values: parts.flatMap((p) => p.values),
    keys: parts.flatMap((p) => p.keys),
    oracles: parts.flatMap((p) => p.oracles),
    notes: parts.flatMap((p) => p.notes),
  };
}
