// Random bytes for values that are stored in the clear anyway (GCM nonces, KMS v2 HKDF info). node:crypto's
// randomBytes costs about as much per call as sealing 1 KiB, so these come from a pool filled in 4 KiB batches.
// Never use this for keys, DEKs or seeds: the pool keeps upcoming bytes in memory.
import { randomFillSync } from 'node:crypto';

const POOL_SIZE = 4096;
const pool = Buffer.allocUnsafeSlow(POOL_SIZE);
let offset = POOL_SIZE;

/** A fresh copy of n unpredictable bytes (n ≤ 4096); each pool byte is handed out once. */
export function publicRandomBytes(n: number): Buffer {
  if (offset + n > POOL_SIZE) {
    randomFillSync(pool);
    offset = 0;
  }
  const out = Buffer.allocUnsafe(n);
  pool.copy(out, 0, offset, offset + n);
  offset += n;
  return out;
}
