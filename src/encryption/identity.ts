// The identity provider (upstream identity.NewEncryptCheckTransformer): values are stored verbatim. Reads refuse
// anything that looks encrypted, so a resource left on the default identity — or identity listed first while
// migrating away from encryption — never hands ciphertext to a client as if it were the object.
import { DecryptError } from '../lib/errors.js';
import type { FromStorageResult, TransformContext, Transformer } from './transformer.js';

const ENCRYPTED_PREFIX = Buffer.from('k8s:enc:', 'utf8');

export class IdentityTransformer implements Transformer {
  async fromStorage(data: Uint8Array, _ctx: TransformContext): Promise<FromStorageResult> {
    if (data.length >= ENCRYPTED_PREFIX.length && ENCRYPTED_PREFIX.equals(data.subarray(0, ENCRYPTED_PREFIX.length))) {
      throw new DecryptError('identity transformer tried to read encrypted data');
    }
    return { data, stale: false };
  }

  async toStorage(data: Uint8Array, _ctx: TransformContext): Promise<Uint8Array> {
    return data;
  }
}
