// The KMS operations Coffer uses (TrentService over JSON 1.1): CreateKey, CreateAlias, UpdateAlias, DescribeKey,
// EnableKey, DisableKey, ScheduleKeyDeletion, Encrypt, Decrypt. Behaviour and error texts follow the AWS KMS API
// reference and moto's moto/kms/models.py + exceptions.py: a ciphertext blob names the key that made it (so Decrypt
// needs no KeyId), the encryption context is authenticated data (a different context is InvalidCiphertextException),
// a disabled key answers DisabledException and a key pending deletion KMSInvalidStateException.
import { createCipheriv, createDecipheriv, randomBytes, randomUUID } from 'node:crypto';
import { AwsApiError, optionalString, requireString, validation } from './aws-errors.js';

export type KeyState = 'Enabled' | 'Disabled' | 'PendingDeletion';

interface KmsKey {
  id: string;
  arn: string;
  material: Buffer;
  state: KeyState;
  created: number;
  description: string;
}

/** KMS caps Encrypt's plaintext at 4096 bytes (API reference, Encrypt: Plaintext length constraints). */
const MAX_PLAINTEXT = 4096;
const BLOB_MAGIC = Buffer.from([0x01, 0x02, 0x02, 0x00]);

export class KmsService {
  readonly keys = new Map<string, KmsKey>();
  /** `alias/name` → key id. */
  readonly aliases = new Map<string, string>();

  constructor(
    private readonly region: string,
    private readonly account: string,
  ) {}

  private aliasArn(alias: string): string {
    return `arn:aws:kms:${this.region}:${this.account}:${alias}`;
  }

  /** KeyId may be a key id, key ARN, alias name or alias ARN (API reference, "KeyId" of Encrypt). */
  resolve(keyId: string): KmsKey {
    let id = keyId;
    const arnPrefix = `arn:aws:kms:${this.region}:${this.account}:`;
    if (id.startsWith(arnPrefix)) id = id.slice(arnPrefix.length);
    else if (id.startsWith('arn:')) throw new AwsApiError('NotFoundException', `Invalid arn ${keyId}`);
    if (id.startsWith('alias/')) {
      const target = this.aliases.get(id);
      if (!target) throw new AwsApiError('NotFoundException', `Alias ${this.aliasArn(id)} is not found.`);
      id = target;
    } else if (id.startsWith('key/')) id = id.slice(4);
    const key = this.keys.get(id);
    if (!key) throw new AwsApiError('NotFoundException', `Key '${arnPrefix}key/${id}' does not exist`);
    return key;
  }

  private usable(key: KmsKey): void {
    if (key.state === 'Disabled') throw new AwsApiError('DisabledException', `${key.arn} is disabled.`);
    if (key.state === 'PendingDeletion') throw new AwsApiError('KMSInvalidStateException', `${key.arn} is pending deletion.`);
  }

  createKey(description = ''): KmsKey {
    const id = randomUUID();
    const key: KmsKey = { id, arn: `arn:aws:kms:${this.region}:${this.account}:key/${id}`, material: randomBytes(32), state: 'Enabled', created: Date.now() / 1000, description };
    this.keys.set(id, key);
    return key;
  }

  private metadata(k: KmsKey): Record<string, unknown> {
    return {
      AWSAccountId: this.account, KeyId: k.id, Arn: k.arn, CreationDate: k.created, Enabled: k.state === 'Enabled', Description: k.description,
      KeyUsage: 'ENCRYPT_DECRYPT', KeyState: k.state, KeyManager: 'CUSTOMER', KeySpec: 'SYMMETRIC_DEFAULT', CustomerMasterKeySpec: 'SYMMETRIC_DEFAULT',
      EncryptionAlgorithms: ['SYMMETRIC_DEFAULT'], Origin: 'AWS_KMS', MultiRegion: false,
    };
  }

  private setAlias(input: Record<string, unknown>, create: boolean): Record<string, unknown> {
    const alias = requireString(input, 'AliasName');
    if (!/^alias\/[a-zA-Z0-9:/_-]{1,250}$/.test(alias) || alias.startsWith('alias/aws/')) {
      throw validation(`1 validation error detected: Value '${alias}' at 'aliasName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$`);
    }
    if (create && this.aliases.has(alias)) throw new AwsApiError('AlreadyExistsException', `An alias with the name ${this.aliasArn(alias)} already exists`);
    if (!create && !this.aliases.has(alias)) throw new AwsApiError('NotFoundException', `Alias ${this.aliasArn(alias)} is not found.`);
    const target = requireString(input, 'TargetKeyId');
    if (target.startsWith('alias/') || target.includes(':alias/')) throw validation('Aliases must refer to keys. Not aliases');
    this.aliases.set(alias, this.resolve(target).id);
    return {};
  }

  private aad(input: Record<string, unknown>): Buffer {
    const ctx = input.EncryptionContext;
    if (ctx === undefined || ctx === null) return Buffer.alloc(0);
    if (typeof ctx !== 'object' || Array.isArray(ctx)) throw validation('EncryptionContext must be a map of strings');
    const entries = Object.entries(ctx as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    if (entries.some(([, v]) => typeof v !== 'string')) throw validation('EncryptionContext must be a map of strings');
    return Buffer.from(JSON.stringify(entries));
  }

  private encrypt(input: Record<string, unknown>): Record<string, unknown> {
    const key = this.resolve(requireString(input, 'KeyId'));
    const plaintext = Buffer.from(requireString(input, 'Plaintext'), 'base64');
    if (plaintext.length === 0 || plaintext.length > MAX_PLAINTEXT) {
      throw validation(`1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member must have length between 1 and ${MAX_PLAINTEXT}`);
    }
    this.usable(key);
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', key.material, iv);
    c.setAAD(this.aad(input));
    const body = Buffer.concat([c.update(plaintext), c.final(), c.getAuthTag()]);
    // A blob names its key, as real KMS blobs do; moto's is key id ‖ iv ‖ ciphertext ‖ tag in the same spirit.
    const blob = Buffer.concat([BLOB_MAGIC, Buffer.from(key.id), iv, body]);
    return { CiphertextBlob: blob.toString('base64'), KeyId: key.arn, EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' };
  }

  private decrypt(input: Record<string, unknown>): Record<string, unknown> {
    const blob = Buffer.from(requireString(input, 'CiphertextBlob'), 'base64');
    // AWS answers a blob it cannot parse or authenticate with InvalidCiphertextException and no detail.
    const invalid = () => new AwsApiError('InvalidCiphertextException', '');
    if (blob.length < BLOB_MAGIC.length + 36 + 12 + 16 || !blob.subarray(0, 4).equals(BLOB_MAGIC)) throw invalid();
    const id = blob.subarray(4, 40).toString('latin1');
    const key = this.keys.get(id);
    if (!key) throw invalid();
    const requested = optionalString(input, 'KeyId');
    if (requested !== undefined && this.resolve(requested).id !== key.id) {
      throw new AwsApiError('IncorrectKeyException', 'The key ID in the request does not identify a CMK that can perform this operation.');
    }
    this.usable(key);
    const d = createDecipheriv('aes-256-gcm', key.material, blob.subarray(40, 52));
    d.setAAD(this.aad(input));
    d.setAuthTag(blob.subarray(blob.length - 16));
    let plaintext: Buffer;
    try {
      plaintext = Buffer.concat([d.update(blob.subarray(52, blob.length - 16)), d.final()]);
    } catch {
      throw invalid();
    }
    return { KeyId: key.arn, Plaintext: plaintext.toString('base64'), EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' };
  }

  handle(action: string, input: Record<string, unknown>): Record<string, unknown> {
    switch (action) {
      case 'CreateKey':
        return { KeyMetadata: this.metadata(this.createKey(optionalString(input, 'Description'))) };
      case 'DescribeKey':
        return { KeyMetadata: this.metadata(this.resolve(requireString(input, 'KeyId'))) };
      case 'CreateAlias':
        return this.setAlias(input, true);
      case 'UpdateAlias':
        return this.setAlias(input, false);
      case 'EnableKey':
      case 'DisableKey': {
        const key = this.resolve(requireString(input, 'KeyId'));
        if (key.state === 'PendingDeletion') throw new AwsApiError('KMSInvalidStateException', `${key.arn} is pending deletion.`);
        key.state = action === 'EnableKey' ? 'Enabled' : 'Disabled';
        return {};
      }
      case 'ScheduleKeyDeletion': {
        const key = this.resolve(requireString(input, 'KeyId'));
        key.state = 'PendingDeletion';
        return { KeyId: key.arn, KeyState: key.state };
      }
      case 'Encrypt':
        return this.encrypt(input);
      case 'Decrypt':
        return this.decrypt(input);
      default:
        throw new AwsApiError('UnknownOperationException', '');
    }
  }
}
