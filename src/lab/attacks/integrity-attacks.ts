// Integrity attacks with datastore write access. The question is not "what can be read" but "does the API server
// notice": after the tampering the API server is restarted (nothing cached) and asked for the Secret; it either
// refuses (an authenticated cipher bound to the storage key) or serves forged data.
//  - relocate: the stored value of Secret A is written at Secret B's key (AES-GCM and KMS v2 bind the key as AAD).
//  - replay: an older stored value of the same key is written back (nothing binds the revision: every provider serves
//    it, as upstream's would).
//  - bit-flip: one bit flipped inside the data value. AES-CBC has no MAC: flipping bit i of ciphertext block n garbles
//    plaintext block n and flips bit i of block n+1 - the attacker picks a block inside the (long) data value, whose
//    position follows from public lengths. Authenticated ciphers refuse any flip.
import { parseStoredValue } from '../decrypt-trial.js';

/** The datastore, as an attacker with write access sees it. */
export interface DatastoreWriter {
  get(key: string, opts?: { revision?: number }): Promise<{ value: Buffer; revision: number } | undefined>;
  put(key: string, value: Buffer): Promise<void>;
}

/** The Secrets the lab plants for integrity trials (their values are secrets too, and never printed). */
export interface IntegrityFixtures {
  namespace: string;
  relocateFrom: { name: string; key: string; value: Buffer };
  relocateTo: { name: string; key: string; value: Buffer };
  replay: { name: string; key: string; value: Buffer; oldValue: Buffer; oldRevision: number };
  bitFlip: { name: string; key: string; value: Buffer };
}

export interface TamperPlan {
  /** The Secret to read back through the API server. */
  name: string;
  /** What the attacker wrote, for evidence. */
  describe: string;
  /** Given the served data value: is it the attacker's forgery (rather than the legitimate value)? */
  forged(served: Buffer): boolean;
}

export interface IntegrityAttack {
  id: 'relocate' | 'replay' | 'bit-flip';
  requires: ['datastore-write'];
  tamper(w: DatastoreWriter, f: IntegrityFixtures): Promise<TamperPlan>;
}

async function current(w: DatastoreWriter, key: string): Promise<Buffer> {
  const got = await w.get(key);
  if (!got) throw new Error(`${key} is not in the datastore`);
  return got.value;
}

export const relocateAttack: IntegrityAttack = {
  id: 'relocate',
  requires: ['datastore-write'],
  async tamper(w, f) {
    await w.put(f.relocateTo.key, await current(w, f.relocateFrom.key));
    return {
      name: f.relocateTo.name,
      describe: `stored value of ${f.relocateFrom.key} written at ${f.relocateTo.key}`,
      forged: (served) => served.equals(f.relocateFrom.value),
    };
  },
};

export const replayAttack: IntegrityAttack = {
  id: 'replay',
  requires: ['datastore-write'],
  async tamper(w, f) {
    const old = await w.get(f.replay.key, { revision: f.replay.oldRevision });
    if (!old) throw new Error(`${f.replay.key} has no value at revision ${f.replay.oldRevision}`);
    await w.put(f.replay.key, old.value);
    return {
      name: f.replay.name,
      describe: `value of ${f.replay.key} at revision ${f.replay.oldRevision} written back`,
      forged: (served) => served.equals(f.replay.oldValue),
    };
  },
};

/** Where to flip: see the header. Exported for tests. */
export function bitFlipOffset(value: Buffer): number {
  const format = parseStoredValue(value);
  switch (format.kind) {
    case 'aescbc':
      // Ciphertext block 4 from the end: its plaintext and the next block's both lie inside a data value of >= 80 bytes.
      return value.length - 64 + 5;
    case 'kms-v2': {
      const data = format.object.encryptedData;
      return data.byteOffset - value.byteOffset + Math.floor(data.length / 2);
    }
    default:
      return value.length - 40;
  }
}

export const bitFlipAttack: IntegrityAttack = {
  id: 'bit-flip',
  requires: ['datastore-write'],
  async tamper(w, f) {
    const value = Buffer.from(await current(w, f.bitFlip.key));
    const at = bitFlipOffset(value);
    value[at]! ^= 0x01;
    await w.put(f.bitFlip.key, value);
    return {
      name: f.bitFlip.name,
      describe: `bit 0 of byte ${at} of ${value.length} flipped at ${f.bitFlip.key}`,
      forged: (served) => !served.equals(f.bitFlip.value),
    };
  },
};

export const INTEGRITY_ATTACKS: readonly IntegrityAttack[] = [relocateAttack, replayAttack, bitFlipAttack];
