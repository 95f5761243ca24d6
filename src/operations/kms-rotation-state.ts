// The state file of `coffer rotate kms-v2` (`<config>.kms-rotation.json`), read by the command itself to continue
// where it stopped and by `coffer rotate status` and the dashboard to show where a KEK rotation stands. Kept apart
// from rotate-kms.ts so that reading the stage loads no gRPC client.
import { readFile } from 'node:fs/promises';
import { CofferError } from '../lib/errors.js';

export type KmsRotationStage = 'rotated' | 'reencrypted' | 'finished';

export interface KmsRotationState {
  coffer: 'kms-rotation';
  version: 1;
  stage: KmsRotationStage;
  /** sha256 of the key_id before the rotation (key_ids are not secret, but reports use the hash as upstream logs do). */
  before: string;
  /** The Transit key's latest version after the rotation (keyserver backend). */
  latestVersion?: number;
}

/** What is left to do at each stage; every step is `coffer rotate kms-v2` again, which continues from the file. */
export const KMS_ROTATION_NEXT: Record<KmsRotationStage, string> = {
  rotated: 'coffer rotate kms-v2 (continues: re-encrypts what the old key_id wrote)',
  reencrypted: 'coffer rotate kms-v2 (continues: raises the Transit key min_decryption_version)',
  finished: 'nothing (KEK rotation finished; coffer rotate kms-v2 --again starts the next one)',
};

export const kmsStateFileOf = (config: string) => `${config}.kms-rotation.json`;

export async function readKmsRotationState(config: string): Promise<KmsRotationState | undefined> {
  const text = await readFile(kmsStateFileOf(config), 'utf8').catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return undefined;
    throw e;
  });
  if (text === undefined) return undefined;
  let state: Partial<KmsRotationState>;
  try {
    state = JSON.parse(text) as Partial<KmsRotationState>;
  } catch {
    state = {};
  }
  if (state.coffer !== 'kms-rotation' || state.version !== 1 || !state.stage || !(state.stage in KMS_ROTATION_NEXT)) {
    throw new CofferError(`${kmsStateFileOf(config)} is not a coffer kms-v2 rotation state file`);
  }
  return state as KmsRotationState;
}
