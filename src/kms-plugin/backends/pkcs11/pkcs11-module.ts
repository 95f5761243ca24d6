// One loaded PKCS#11 library per path and process. C_Initialize may run only once per library and process
// (a second call fails with CKR_CRYPTOKI_ALREADY_INITIALIZED), so every key manager and the rotate command that use
// the same library share it, counted by reference.
import pkcs11js from 'pkcs11js';
import { UnavailableError } from '../../../lib/errors.js';

export type Pkcs11 = pkcs11js.PKCS11;
export type Handle = Buffer;
/** The pkcs11js constants (CKA_*, CKM_*, CKR_*, ...). Imported as the default export: the package is CommonJS and
 * Node's named-export detection misses the constants. */
export const ck = pkcs11js;

const RV_NAMES = new Map<number, string>();
for (const [name, value] of Object.entries(pkcs11js)) {
  if (name.startsWith('CKR_') && typeof value === 'number' && !RV_NAMES.has(value)) RV_NAMES.set(value, name);
}

/** The CK_RV of a failed call, or undefined for errors that did not come from the library. */
export function pkcs11ReturnValue(e: unknown): number | undefined {
  return e instanceof pkcs11js.Pkcs11Error ? e.code : undefined;
}

/** `CKR_PIN_INCORRECT` for a library error, the message otherwise. Never contains call arguments. */
export function describePkcs11Error(e: unknown): string {
  const rv = pkcs11ReturnValue(e);
  if (rv !== undefined) return RV_NAMES.get(rv) ?? `CK_RV 0x${rv.toString(16)}`;
  return e instanceof Error ? e.message : String(e);
}

// Return values after which the session (or the whole library state) is gone and a fresh session may succeed:
// the token was pulled or re-initialised, the library was finalised, or the login was lost.
const CONNECTION_LOST = new Set(
  [
    'CKR_SESSION_HANDLE_INVALID',
    'CKR_SESSION_CLOSED',
    'CKR_DEVICE_REMOVED',
    'CKR_DEVICE_ERROR',
    'CKR_TOKEN_NOT_PRESENT',
    'CKR_TOKEN_NOT_RECOGNIZED',
    'CKR_SLOT_ID_INVALID',
    'CKR_USER_NOT_LOGGED_IN',
    'CKR_CRYPTOKI_NOT_INITIALIZED',
    'CKR_OBJECT_HANDLE_INVALID',
    'CKR_KEY_HANDLE_INVALID',
  ].map((n) => (pkcs11js as unknown as Record<string, number>)[n]),
);

export function isConnectionLost(e: unknown): boolean {
  const rv = pkcs11ReturnValue(e);
  return rv !== undefined && CONNECTION_LOST.has(rv);
}

export class Pkcs11Module {
  /** Bumped by every re-initialisation: session and object handles from an older generation are meaningless (the
   * library restarts its numbering, so an old handle could name another application's session or key). */
  generation = 0;
  private refs = 0;

  private constructor(
    readonly path: string,
    readonly lib: Pkcs11,
  ) {}

  private static readonly loaded = new Map<string, Pkcs11Module>();

  static acquire(path: string): Pkcs11Module {
    let m = Pkcs11Module.loaded.get(path);
    if (!m) {
      const lib = new pkcs11js.PKCS11();
      try {
        lib.load(path);
        lib.C_Initialize();
      } catch (e) {
        throw new UnavailableError(`cannot load PKCS#11 module ${path}: ${describePkcs11Error(e)}`, { cause: e });
      }
      m = new Pkcs11Module(path, lib);
      Pkcs11Module.loaded.set(path, m);
    }
    m.refs++;
    return m;
  }

  /**
   * Finalises and re-initialises the library so it sees tokens created or re-inserted since it was loaded (SoftHSM
   * reads its token directory only in C_Initialize). Every session of this process on this library ends.
   */
  rescan(): void {
    try {
      this.lib.C_Finalize();
    } catch {
      // Already finalised or broken: C_Initialize below decides.
    }
    this.generation++;
    try {
      this.lib.C_Initialize();
    } catch (e) {
      throw new UnavailableError(`cannot re-initialise PKCS#11 module ${this.path}: ${describePkcs11Error(e)}`, {
        cause: e,
      });
    }
  }

  release(): void {
    if (--this.refs > 0) return;
    Pkcs11Module.loaded.delete(this.path);
    try {
      this.lib.C_Finalize();
    } catch {
      // Shutting down: nothing left to protect.
    }
    try {
      this.lib.close();
    } catch {
      // Same.
    }
  }
}
