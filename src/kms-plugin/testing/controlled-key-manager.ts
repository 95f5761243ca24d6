// A KeyManager for tests that wraps a real one and can be told to go down, hang, or report another status, and that
// counts the calls it receives (to prove Status is cached, or which multi member was asked).
import { UnavailableError } from '../../lib/errors.js';
import type { KeyManager, KeyManagerCallOptions, KeyManagerEncryptResult, KeyManagerStatus } from '../key-manager.js';

export class ControlledKeyManager implements KeyManager {
  down = false;
  /** Resolve calls only after this many ms (a slow member); aborts still end them. */
  delayMs = 0;
  /** Replace what status() answers (after the inner status ran). */
  statusOverride: Partial<KeyManagerStatus> | undefined;
  readonly calls = { status: 0, encrypt: 0, decrypt: 0 };

  constructor(
    private readonly inner: KeyManager,
    readonly name = inner.name,
  ) {}

  private async gate(signal: AbortSignal): Promise<void> {
    if (this.delayMs > 0) {
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(resolve, this.delayMs);
        signal.addEventListener('abort', () => {
          clearTimeout(t);
          reject(new UnavailableError(`${this.name}: timed out`));
        }, { once: true });
      });
    }
    if (this.down) throw new UnavailableError(`${this.name}: backend is down (test)`);
  }

  async status(opts: { signal: AbortSignal }): Promise<KeyManagerStatus> {
    this.calls.status++;
    await this.gate(opts.signal);
    return { ...(await this.inner.status(opts)), ...this.statusOverride };
  }

  async encrypt(plaintext: Uint8Array, opts: KeyManagerCallOptions): Promise<KeyManagerEncryptResult> {
    this.calls.encrypt++;
    await this.gate(opts.signal);
    return this.inner.encrypt(plaintext, opts);
  }

  async decrypt(ciphertext: Uint8Array, opts: KeyManagerCallOptions & { keyId: string; annotations: Record<string, Uint8Array> }): Promise<Uint8Array> {
    this.calls.decrypt++;
    await this.gate(opts.signal);
    return this.inner.decrypt(ciphertext, opts);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
