// In-process KMS plugins for tests, modelled on upstream's base64 mock (apiserver testing/v2/kms_plugin_mock.go):
// the "KEK" is base64, so the upstream vectors (EDEK = ASCII base64 of the DEK or seed) decrypt through them.
// Unlike the upstream mock, Decrypt checks the key ID and annotations it is given, as a real KMS binds them to the
// ciphertext; that is what lets a tamper test see a flipped key-ID byte rejected.
import type {
  CallOptions,
  KmsV1Service,
  KmsV2EncryptResponse,
  KmsV2Service,
  KmsV2StatusResponse,
} from '../../kms/kms-service.js';

export const FAKE_ANNOTATION_KEY = 'local-kek.kms.kubernetes.io';
export const FAKE_ANNOTATION_VALUE = 'encrypted-local-kek';

export function fakeAnnotations(): Record<string, Uint8Array> {
  return { [FAKE_ANNOTATION_KEY]: Buffer.from(FAKE_ANNOTATION_VALUE) };
}

function base64Wrap(plain: Uint8Array): Buffer {
  return Buffer.from(Buffer.from(plain).toString('base64'), 'latin1');
}

/** Strict: Node's base64 decoder skips bad characters, a KMS must not accept a damaged ciphertext. */
function base64Unwrap(cipher: Uint8Array): Buffer {
  const text = Buffer.from(cipher).toString('latin1');
  const plain = Buffer.from(text, 'base64');
  if (plain.toString('base64') !== text) throw new Error('fake kms: ciphertext is not canonical base64');
  return plain;
}

function checkSignal(opts: CallOptions | undefined): void {
  if (opts?.signal?.aborted) throw new Error('fake kms: call aborted');
}

function sameAnnotations(a: Record<string, Uint8Array>, b: Record<string, Uint8Array>): boolean {
  const keys = Object.keys(a).sort();
  const other = Object.keys(b).sort();
  if (keys.join('\n') !== other.join('\n')) return false;
  return keys.every((k) => Buffer.from(a[k]!).equals(Buffer.from(b[k]!)));
}

export class FakeKmsV2Service implements KmsV2Service {
  healthz = 'ok';
  version = 'v2';
  annotations = fakeAnnotations();
  /** When set, Encrypt answers with this key ID rather than the Status one (a plugin rotating mid-probe). */
  encryptKeyId: string | undefined;
  statusError: Error | undefined;
  encryptError: Error | undefined;
  decryptError: Error | undefined;
  readonly calls = { status: 0, encrypt: 0, decrypt: 0 };
  /** The very buffers handed to Encrypt and returned by Decrypt, so tests can check they were zero-filled. */
  readonly encryptPlaintexts: Uint8Array[] = [];
  readonly decryptResults: Uint8Array[] = [];
  readonly decryptRequests: { uid: string; keyId: string; annotations: Record<string, Uint8Array> }[] = [];
  closed = false;
  private currentKeyId = '1';
  private readonly issuedKeyIds = new Set(['1']);

  get keyId(): string {
    return this.currentKeyId;
  }

  /** The plugin's KEK rotation: Status and Encrypt report the new ID, data under old IDs still decrypts. */
  set keyId(id: string) {
    this.currentKeyId = id;
    this.issuedKeyIds.add(id);
  }

  async status(opts?: CallOptions): Promise<KmsV2StatusResponse> {
    this.calls.status++;
    checkSignal(opts);
    if (this.statusError) throw this.statusError;
    return { version: this.version, healthz: this.healthz, keyId: this.currentKeyId };
  }

  async encrypt(plaintext: Uint8Array, opts: CallOptions & { uid: string }): Promise<KmsV2EncryptResponse> {
    this.calls.encrypt++;
    checkSignal(opts);
    if (this.encryptError) throw this.encryptError;
    this.encryptPlaintexts.push(plaintext);
    const keyId = this.encryptKeyId ?? this.currentKeyId;
    this.issuedKeyIds.add(keyId);
    return { ciphertext: base64Wrap(plaintext), keyId, annotations: { ...this.annotations } };
  }

  async decrypt(
    ciphertext: Uint8Array,
    opts: CallOptions & { uid: string; keyId: string; annotations: Record<string, Uint8Array> },
  ): Promise<Uint8Array> {
    this.calls.decrypt++;
    checkSignal(opts);
    this.decryptRequests.push({ uid: opts.uid, keyId: opts.keyId, annotations: opts.annotations });
    if (this.decryptError) throw this.decryptError;
    if (!this.issuedKeyIds.has(opts.keyId)) throw new Error('fake kms: unknown key id');
    if (!sameAnnotations(opts.annotations, this.annotations)) throw new Error('fake kms: annotations do not match');
    const plain = base64Unwrap(ciphertext);
    this.decryptResults.push(plain);
    return plain;
  }

  close(): void {
    this.closed = true;
  }
}

export class FakeKmsV1Service implements KmsV1Service {
  encryptError: Error | undefined;
  decryptError: Error | undefined;
  readonly calls = { encrypt: 0, decrypt: 0 };
  readonly encryptPlaintexts: Uint8Array[] = [];
  readonly decryptResults: Uint8Array[] = [];
  closed = false;

  async encrypt(plain: Uint8Array, opts?: CallOptions): Promise<Uint8Array> {
    this.calls.encrypt++;
    checkSignal(opts);
    if (this.encryptError) throw this.encryptError;
    this.encryptPlaintexts.push(plain);
    return base64Wrap(plain);
  }

  async decrypt(cipher: Uint8Array, opts?: CallOptions): Promise<Uint8Array> {
    this.calls.decrypt++;
    checkSignal(opts);
    if (this.decryptError) throw this.decryptError;
    const plain = base64Unwrap(cipher);
    this.decryptResults.push(plain);
    return plain;
  }

  close(): void {
    this.closed = true;
  }
}
