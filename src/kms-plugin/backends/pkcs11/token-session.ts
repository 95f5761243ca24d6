// One logged-in read-write session on the configured token, reused for every call and reopened when the token or
// the library lost it. pkcs11js calls are synchronous (they block the event loop), so each use is a short run of
// calls inside one synchronous callback: nothing else can interleave with a multi-part operation on the session.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { CofferError, UnavailableError } from '../../../lib/errors.js';
import { describeToken, type TokenSelector } from './pkcs11-config.js';
import { ck, describePkcs11Error, isConnectionLost, pkcs11ReturnValue, Pkcs11Module, type Handle } from './pkcs11-module.js';

export interface OpenSession {
  readonly lib: Pkcs11Module['lib'];
  readonly handle: Handle;
  readonly slot: Handle;
  /** Changes whenever the session is replaced: object handles cached under another epoch must be looked up again. */
  readonly epoch: number;
  /** Mechanisms the token offers (C_GetMechanismList), read once per session. */
  readonly mechanisms: ReadonlySet<number>;
}

export class TokenSession {
  private current: OpenSession | undefined;
  private generation = -1;
  private epochs = 0;
  /** Fingerprint of PIN file content the token rejected: never sent again, since repeated failures lock tokens. */
  private rejectedPin: string | undefined;
  /** The open in progress, shared by concurrent callers so that they do not each open (and leak) a session. */
  private opening: Promise<OpenSession> | undefined;

  constructor(
    private readonly module: Pkcs11Module,
    private readonly token: TokenSelector,
    private readonly pinFile: string,
    private readonly logger?: Logger,
  ) {}

  get where(): string {
    return `${describeToken(this.token)} of ${this.module.path}`;
  }

  /**
   * Runs `fn` on the session, opening it first if needed. When the call fails because the session is gone (token
   * pulled, library re-initialised, login lost), it reopens once and runs `fn` again; PKCS#11 encrypt/decrypt/find
   * calls have no side effect that a retry could repeat harmfully.
   */
  async use<T>(fn: (s: OpenSession) => T): Promise<T> {
    const first = await this.open();
    try {
      return fn(first);
    } catch (e) {
      if (!isConnectionLost(e)) throw e;
      this.logger?.warn({ err: describePkcs11Error(e), token: this.where }, 'pkcs11 session lost; reopening');
      this.drop();
    }
    try {
      return fn(await this.open());
    } catch (e) {
      if (!isConnectionLost(e)) throw e;
      this.drop();
      throw new UnavailableError(`${this.where}: the session was lost again after reopening: ${describePkcs11Error(e)}`, {
        cause: e,
      });
    }
  }

  /** Ends the session; the next `use` opens a new one. */
  drop(): void {
    const s = this.current;
    this.current = undefined;
    if (s && this.generation === this.module.generation) {
      try {
        s.lib.C_CloseSession(s.handle);
      } catch {
        // Already gone with the token; nothing to release.
      }
    }
  }

  private async open(): Promise<OpenSession> {
    if (this.current && this.generation === this.module.generation) return this.current;
    this.current = undefined;
    this.opening ??= this.openNew()
      .catch((e: unknown) => {
        if (e instanceof CofferError) throw e;
        throw new UnavailableError(`${this.where}: ${describePkcs11Error(e)}`, { cause: e });
      })
      .finally(() => (this.opening = undefined));
    return this.opening;
  }

  private async openNew(): Promise<OpenSession> {
    const lib = this.module.lib;
    const pin = await this.readPin();
    let slot = this.findSlot();
    if (!slot) {
      // SoftHSM (and some HSM libraries) see tokens created or re-inserted after C_Initialize only after a rescan.
      this.module.rescan();
      slot = this.findSlot();
    }
    if (!slot) throw new UnavailableError(`${this.where}: not found (present tokens: ${this.presentTokens()})`);
    this.generation = this.module.generation;
    let handle: Handle;
    try {
      handle = lib.C_OpenSession(slot, ck.CKF_SERIAL_SESSION | ck.CKF_RW_SESSION);
    } catch (e) {
      throw new UnavailableError(`${this.where}: cannot open a session: ${describePkcs11Error(e)}`, { cause: e });
    }
    try {
      this.login(handle, pin);
      const session: OpenSession = {
        lib,
        handle,
        slot,
        epoch: ++this.epochs,
        mechanisms: new Set(lib.C_GetMechanismList(slot)),
      };
      this.current = session;
      return session;
    } catch (e) {
      try {
        lib.C_CloseSession(handle);
      } catch {
        // The session failed to log in; closing is best effort.
      }
      throw e;
    }
  }

  private login(handle: Handle, pin: { text: string; fingerprint: string }): void {
    try {
      // pkcs11js takes the PIN only as a JS string (which cannot be wiped); nothing keeps it after this call.
      this.module.lib.C_Login(handle, ck.CKU_USER, pin.text);
    } catch (e) {
      const rv = pkcs11ReturnValue(e);
      // Login state belongs to the application, not the session: another session of this process is logged in.
      if (rv === ck.CKR_USER_ALREADY_LOGGED_IN) return;
      if (rv === ck.CKR_PIN_INCORRECT || rv === ck.CKR_PIN_INVALID || rv === ck.CKR_PIN_LEN_RANGE) {
        this.rejectedPin = pin.fingerprint;
        throw new UnavailableError(
          `${this.where}: login failed: the PIN in ${this.pinFile} was rejected (${describePkcs11Error(e)}); ` +
            'it is not tried again until that file changes, so that retries do not lock the token',
          { cause: e },
        );
      }
      throw new UnavailableError(`${this.where}: login failed: ${describePkcs11Error(e)}`, { cause: e });
    }
  }

  /** Read at every login, so a PIN changed on the token and in the file is picked up without a restart. */
  private async readPin(): Promise<{ text: string; fingerprint: string }> {
    let bytes: Buffer;
    try {
      bytes = await readFile(this.pinFile);
    } catch (e) {
      throw new UnavailableError(`cannot read pinFile ${this.pinFile}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, {
        cause: e,
      });
    }
    try {
      let end = bytes.length;
      if (bytes[end - 1] === 0x0a) end--;
      if (bytes[end - 1] === 0x0d) end--;
      if (end === 0) throw new UnavailableError(`pinFile ${this.pinFile} is empty`);
      const fingerprint = createHash('sha256').update(bytes.subarray(0, end)).digest('hex');
      if (fingerprint === this.rejectedPin) {
        throw new UnavailableError(
          `${this.where}: the PIN in ${this.pinFile} was rejected by the token; waiting for the file to change`,
        );
      }
      return { text: bytes.toString('utf8', 0, end), fingerprint };
    } finally {
      bytes.fill(0);
    }
  }

  private findSlot(): Handle | undefined {
    const lib = this.module.lib;
    const matches: Handle[] = [];
    for (const slot of lib.C_GetSlotList(true)) {
      if ('slot' in this.token) {
        if (slotNumber(slot) === this.token.slot) return slot;
        continue;
      }
      const info = lib.C_GetTokenInfo(slot);
      if ((info.flags & ck.CKF_TOKEN_INITIALIZED) !== 0 && info.label.trimEnd() === this.token.tokenLabel) matches.push(slot);
    }
    if (matches.length > 1) {
      throw new UnavailableError(
        `${this.where}: several tokens carry this label (slots ${matches.map(slotNumber).join(', ')}); set slot instead`,
      );
    }
    return matches[0];
  }

  private presentTokens(): string {
    try {
      const lib = this.module.lib;
      const labels = lib
        .C_GetSlotList(true)
        .map((s) => ({ slot: slotNumber(s), info: lib.C_GetTokenInfo(s) }))
        .filter(({ info }) => (info.flags & ck.CKF_TOKEN_INITIALIZED) !== 0)
        .map(({ slot, info }) => `slot ${slot} ${JSON.stringify(info.label.trimEnd())}`);
      return labels.length > 0 ? labels.join(', ') : 'none';
    } catch (e) {
      return `unknown: ${describePkcs11Error(e)}`;
    }
  }
}

/** CK_SLOT_ID is a native unsigned long; pkcs11js hands it over as its little-endian bytes. */
export function slotNumber(slot: Handle): number {
  return Number(slot.length >= 8 ? slot.readBigUInt64LE(0) : BigInt(slot.readUInt32LE(0)));
}
